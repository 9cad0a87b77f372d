/**
 * First middleware: gives the request its id (a sane incoming x-request-id, else a new UUID),
 * echoes it on the response, and writes exactly one `request completed` line when the response
 * is done or the connection dies. The line is built field by field (never from the request);
 * the only caller texts on it are the transactionId (validated, caller-chosen), the request id
 * and the path, and the last two cannot carry a card number.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { loggableId, loggablePath } from '../logger.js';
import { holdsLongNumber } from '../sensitive-numbers.js';
import type { Metrics } from '../metrics.js';
import { createContext } from './context.js';
import { isLingering } from './lingering-close.js';

/** Anything else (too long, control characters, header-injection attempts) is replaced. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Nine digits or more, whatever separates them (4111-1111-1111-1111, 123.45.6789), could be an
 * SSN, a PRN or a PAN: such an id is replaced, not logged (the caller still gets the new id back).
 * A UUID is kept as it is (its digits may line up across its dashes, but it is an id).
 */
function requestIdFrom(incoming: string | string[] | undefined): string {
  if (incoming === undefined) return randomUUID();
  const sane = typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) && !holdsLongNumber(incoming, 9);
  return sane ? incoming : randomUUID();
}

/** The response a connection is working on, for errors Node reports on the socket (client-error.ts). */
const responseOnSocket = new WeakMap<Duplex, Response>();

export function responseInFlight(socket: Duplex): Response | undefined {
  return responseOnSocket.get(socket);
}

export function requestContext(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    // A request pipelined behind one refused before its body was read: the connection is closing.
    if (isLingering(req.socket)) {
      req.socket.destroy();
      return;
    }
    const requestId = requestIdFrom(req.headers['x-request-id']);
    // originalUrl: routers rewrite req.url on the way, never this.
    const url = req.originalUrl;
    const ctx = createContext(res, requestId);
    metrics.inFlight.inc();
    res.setHeader('x-request-id', requestId);

    const socket = req.socket;
    responseOnSocket.set(socket, res);
    // 'close' comes last whether the response finished or the connection died first.
    res.once('close', () => {
      if (responseOnSocket.get(socket) === res) responseOnSocket.delete(socket);
      const durationMs = Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
      // A connection closed before the response finished is reported as 499 (client closed).
      const status = res.writableFinished ? res.statusCode : 499;
      const operation = ctx.operation ?? 'none';
      metrics.inFlight.dec();
      metrics.requests.inc({ operation, status });
      metrics.requestDuration.observe({ operation, status }, durationMs / 1000);
      logger.info(
        {
          requestId,
          method: req.method,
          path: loggablePath(pathOf(url)),
          client: ctx.client,
          operation: ctx.operation,
          transactionId: ctx.transactionId === undefined ? undefined : loggableId(ctx.transactionId),
          idempotency: ctx.idempotency,
          upstream: ctx.upstream,
          // What Galileo's record said of a lost answer: executed, its status code and rtoken.
          lostAnswer: ctx.lostAnswer?.galileo,
          problem: ctx.problem,
          status,
          durationMs: Math.round(durationMs * 100) / 100,
        },
        'request completed',
      );
    });
    next();
  };
}

/** The path of a request target: origin-form (the usual `/a/b?q`) or absolute-form (`http://h/a/b`). */
function pathOf(url: string): string {
  if (!url.startsWith('/')) {
    try {
      return new URL(url).pathname;
    } catch {
      return url;
    }
  }
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
