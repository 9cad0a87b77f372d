/**
 * Requests Node's HTTP parser refuses before any middleware runs (a CR, LF or NUL in a header
 * value, a malformed request line, oversized headers): without this they get Node's bare
 * "400 Bad Request" with no problem body, no x-request-id and no log line (found by fuzzing).
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { problemBody } from './problem.js';

export function onClientError(logger: Logger, metrics: Metrics) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    // A connection reset by the caller is no request: nothing to answer, nothing to log.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const requestId = randomUUID();
    const error = new GatewayError('invalid_request', 'The request is not valid HTTP.', {
      errors: [{ field: 'headers', message: 'could not be parsed (control character, malformed line or too large)' }],
    });
    const body = problemBody(error, requestId);
    socket.end(
      `HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: ${body.length}\r\n` +
        `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body.toString()}`,
    );
    metrics.requests.inc({ operation: 'none', status: 400 });
    logger.info({ requestId, idempotency: 'none', problem: error.code, status: 400, parseError: err.code }, 'request completed');
  };
}
