/** Unknown paths, wrong methods, and the one place errors become responses. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { loggableError, loggablePath } from '../logger.js';
import { sendProblem } from './problem.js';
import { contextIfAny } from './context.js';

export const notFound: RequestHandler = (req) => {
  // The path as logged: a card number in it is masked here too.
  throw new GatewayError('not_found', `No endpoint at ${loggablePath(req.path)}.`);
};

export function methodNotAllowed(allowed: string): RequestHandler {
  return (req) => {
    throw new GatewayError('method_not_allowed', `${req.method} is not allowed here; use ${allowed}.`, { headers: { allow: allowed } });
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    // A bug (anything but a GatewayError): logged once with the request id; the caller gets no
    // stack trace. Only type, message and stack, digit runs masked: an error object can carry
    // request data (an axios config holds the body), a message can quote the input.
    const logBug = (msg: string) => logger.error({ requestId: contextIfAny(res)?.requestId, err: loggableError(err) }, msg);
    if (res.headersSent) {
      if (!(err instanceof GatewayError)) logBug('unhandled error after the response started: connection closed');
      res.destroy();
      return;
    }
    if (err instanceof GatewayError) {
      sendProblem(res, err, { waitForBody: true });
      return;
    }
    logBug('unhandled error');
    sendProblem(res, new GatewayError('internal_error', 'An internal error occurred. Quote the requestId when reporting it.'));
  };
}
