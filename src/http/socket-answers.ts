/**
 * Answers written straight on the socket, where Node's HTTP server gives the gateway no response
 * object: a request that is not valid HTTP (400), headers over Node's size limit (431), a request
 * too slow to arrive within the headers or request timeout (408), a CONNECT (405: the gateway is no
 * proxy). Without these listeners Node would answer with its bare 400/408/431, or cut a CONNECT
 * off, with no problem body, no x-request-id, no log line and no metric (found by fuzzing and by
 * the security reviews). Each answer is problem+json with `connection: close`, one `request
 * completed` line, counted, and the connection closes by lingering (lingering-close.ts).
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { GatewayError, PROBLEMS } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { lingerAndDestroy, lingerOnClose } from './lingering-close.js';
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
      // The connection ends with this answer, whatever state the request was in.
      res.shouldKeepAlive = false;
      lingerOnClose(res.req.socket);
      sendProblem(res, error);
      return;
    }
    writeProblem(socket, error, logger, metrics, { parseError: err.code });
  };
}

/** `server.on('connect')`: a CONNECT request is answered, never tunnelled and never cut off silently. */
export function onConnectRequest(logger: Logger, metrics: Metrics) {
  return (req: IncomingMessage, socket: Duplex): void => {
    const error = new GatewayError('method_not_allowed', 'CONNECT is not allowed: the gateway is not a proxy.', { headers: { allow: 'POST' } });
    writeProblem(socket, error, logger, metrics, { method: req.method });
  };
}

function writeProblem(socket: Duplex, error: GatewayError, logger: Logger, metrics: Metrics, fields: Record<string, unknown>): void {
  const requestId = randomUUID();
  const body = problemBody(error, requestId);
  const { status } = PROBLEMS[error.code];
  const extra = Object.entries(error.options.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `content-type: application/problem+json\r\ncontent-length: ${body.length}\r\n${extra}` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body.toString()}`,
  );
  lingerAndDestroy(socket);
  metrics.requests.inc({ operation: 'none', status });
  logger.info({ requestId, ...fields, idempotency: 'none', problem: error.code, status }, 'request completed');
}
