/**
 * First middleware: gives the request its id (a sane incoming x-request-id, else a new UUID),
 * echoes it on the response, and writes exactly one `request completed` line when the response
 * is done or the connection dies.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { RequestContext } from './context.js';

/** Anything else (too long, control characters, header-injection attempts) is replaced. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const ctx: RequestContext = {
      requestId,
      startedAt: process.hrtime.bigint(),
      client: undefined,
      operation: undefined,
      transactionId: undefined,
      idempotency: 'none',
      upstream: undefined,
      problem: undefined,
    };
    res.locals.ctx = ctx;
    metrics.inFlight.inc();
    res.setHeader('x-request-id', requestId);

    let done = false;
    const complete = () => {
      if (done) return;
      done = true;
      const durationMs = Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
      // A connection closed before the response finished is reported as 499 (client closed).
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.inFlight.dec();
      metrics.requests.inc({ operation: ctx.operation ?? 'none', status });
      logger.info(
        {
          requestId,
          method: req.method,
          path: req.path,
          client: ctx.client,
          operation: ctx.operation,
          transactionId: ctx.transactionId,
          idempotency: ctx.idempotency,
          upstream: ctx.upstream,
          problem: ctx.problem,
          status,
          durationMs: Math.round(durationMs * 100) / 100,
        },
        'request completed',
      );
    };
    res.once('finish', complete);
    res.once('close', complete);
    next();
  };
}
