/**
 * Several middleware run as one: each calls `next` to go on, throws or passes an error to stop,
 * exactly as in an Express route (a rejected promise is an error too). An operation's steps are
 * one route handler this way instead of a dozen router layers, each of which Express dispatches,
 * matches and wraps on every request (measured: bench/hotspots.md).
 */
import type { RequestHandler } from 'express';

export function inSequence(handlers: readonly RequestHandler[]): RequestHandler {
  const count = handlers.length;
  return (req, res, done) => {
    let index = 0;
    const next = (err?: unknown): void => {
      if (err) return done(err);
      if (index === count) return done();
      const handler = handlers[index++]!;
      try {
        const returned: unknown = handler(req, res, next);
        if (returned instanceof Promise) returned.then(undefined, (reason: unknown) => next(reason ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown ?? new Error('thrown without a value'));
      }
    };
    next();
  };
}
