/** Renders a GatewayError as RFC 9457 application/problem+json. */
import type { Response } from 'express';
import { PROBLEMS, type GatewayError } from '../errors.js';
import { context } from './context.js';
import { lingerOnClose } from './lingering-close.js';

/** The problem document itself, for Express responses and for raw sockets alike. */
export function problemBody(error: GatewayError, requestId: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      type: `/problems/${error.code}`,
      title: PROBLEMS[error.code].title,
      status: error.status,
      detail: error.detail,
      code: error.code,
      requestId,
      ...(error.options.errors ? { errors: error.options.errors } : {}),
      ...(error.options.galileo ? { galileo: error.options.galileo } : {}),
    }),
  );
}

/**
 * `waitForBody`: an answer given before the body was read waits one turn of the event loop, so that
 * a body which arrived with the headers (already in the gateway's buffers: Node parses it just
 * after the request event) completes, and the connection can be kept; any other body is never
 * read. Off where the socket is already failing (socket-answers.ts).
 */
export function sendProblem(res: Response, error: GatewayError, options: { waitForBody?: boolean } = {}): void {
  const ctx = context(res);
  ctx.problem = error.code;
  const payload = problemBody(error, ctx.requestId);
  for (const [name, value] of Object.entries(error.options.headers ?? {})) res.setHeader(name, value);
  res.status(error.status);
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('content-length', payload.length);
  if (options.waitForBody && !res.req.complete) {
    setImmediate(() => send(res, payload));
    return;
  }
  send(res, payload);
}

function send(res: Response, payload: Buffer): void {
  if (res.writableEnded || res.destroyed) return;
  // Answered before the body was read (401, 403, 404, 405, 413, 415, 417, 429, a timeout): the
  // connection closes after the answer, so a refused caller cannot make the gateway read its body;
  // it lingers a moment first, so the caller still reads the answer (lingering-close.ts).
  if (!res.req.complete) {
    res.setHeader('connection', 'close');
    lingerOnClose(res.req.socket);
  }
  res.end(payload);
}
