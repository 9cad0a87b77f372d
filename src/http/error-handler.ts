/** Unknown paths, wrong methods, and the one place errors become responses. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { sendProblem } from './problem.js';
import { context } from './context.js';

export const notFound: RequestHandler = (req) => {
  throw new GatewayError('not_found', `No endpoint at ${req.path.slice(0, 200)}.`);
};

export function methodNotAllowed(allowed: string): RequestHandler {
  return (req) => {
    throw new GatewayError('method_not_allowed', `${req.method} is not allowed here; use ${allowed}.`, { headers: { allow: allowed } });
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof GatewayError) {
      sendProblem(res, err);
      return;
    }
    // A bug. Logged once with the request id; the caller gets no stack trace.
    // Only name, message and stack: an error object can carry request data (an axios config holds the body).
    const { name, message, stack } = err instanceof Error ? err : new Error(String(err));
    logger.error({ requestId: context(res)?.requestId, err: { type: name, message, stack } }, 'unhandled error');
    sendProblem(res, new GatewayError('internal_error', 'An internal error occurred. Quote the requestId when reporting it.'));
  };
}
