/**
 * Requests Node's HTTP server refuses before (or instead of) the middleware: a request that is not
 * valid HTTP (400), headers over Node's size limit (431), a request too slow to arrive within the
 * headers or request timeout (408). Without this they would get Node's bare answers with no
 * problem body, no x-request-id and no log line (found by fuzzing). The connection is always
 * closed: a client that cannot send a valid request in time does not keep a socket.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { GatewayError, PROBLEMS } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { problemBody, sendProblem } from './problem.js';
import { responseInFlight } from './request-context.js';

function problemFor(code: string | undefined): GatewayError {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new GatewayError('request_timeout', 'The request did not arrive within the time allowed.', {
        errors: [{ field: 'request', message: 'did not arrive in time' }],
      });
    case 'HPE_HEADER_OVERFLOW':
      return new GatewayError('headers_too_large', 'The request headers are larger than the server accepts.', {
        errors: [{ field: 'headers', message: 'are too large' }],
      });
    default:
      return new GatewayError('invalid_request', 'The request is not valid HTTP.', {
        errors: [{ field: 'headers', message: 'could not be parsed (control character or malformed line)' }],
      });
  }
}

export function onClientError(logger: Logger, metrics: Metrics) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    // A connection reset by the caller is no request: nothing to answer, nothing to log.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const error = problemFor(err.code);
    // A request whose headers arrived is answered through its response (one log line, its id).
    const res = responseInFlight(socket);
    if (res && !res.headersSent) {
      res.once('finish', () => socket.destroy());
      sendProblem(res, error);
      return;
    }
    const requestId = randomUUID();
    const body = problemBody(error, requestId);
    const { status } = PROBLEMS[error.code];
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `content-type: application/problem+json\r\ncontent-length: ${body.length}\r\n` +
        `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body.toString()}`,
    );
    metrics.requests.inc({ operation: 'none', status });
    logger.info({ requestId, idempotency: 'none', problem: error.code, status, parseError: err.code }, 'request completed');
  };
}
