/**
 * The Node HTTP server in front of the app, set up so that every answer goes through the gateway:
 * the requests Node would answer on its own (an `Expect` other than 100-continue, an HTTP/1.1
 * request without Host, a `100 Continue` before authentication) reach the app, and what never
 * becomes a request (a parse error, a timeout, oversize headers, a CONNECT) is answered by
 * socket-answers.ts. Timeouts and connection bounds keep a client from holding its resources.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { limitConnections, type ConnectionLimits } from './connections.js';
import { onClientError, onConnectRequest } from './socket-answers.js';

export interface HttpServerOptions extends ConnectionLimits {
  /** A whole request (headers and body) must arrive within this: else 408. */
  requestTimeoutMs: number;
  /** The headers must arrive within this: else 408. */
  headersTimeoutMs: number;
}

export function createHttpServer(app: RequestListener, options: HttpServerOptions, logger: Logger, metrics: Metrics): Server {
  const server = createServer(
    {
      // Longer than load balancers' idle timeouts (60 s on AWS ALB): the balancer, not the
      // gateway, should close an idle connection, or it may send a request on a socket we are
      // closing (a 502).
      keepAliveTimeout: 65_000,
      // A slow client may not hold a connection for Node's default five minutes (408 instead),
      // and the timeouts are checked every second, not every 30.
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: 1_000,
      // Node would answer a missing Host with its bare 400: request-head.ts answers it.
      requireHostHeader: false,
    },
    app,
  );
  server.on('clientError', onClientError(logger, metrics));
  server.on('connect', onConnectRequest(logger, metrics));
  // Without these listeners Node answers `Expect` itself, before authentication: 100 Continue to
  // anyone, or 417 while it goes on reading the body. parse-body.ts sends the 100 once the caller
  // and the headers have passed; request-head.ts answers any other expectation with 417.
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
  server.on('checkExpectation', (req, res) => server.emit('request', req, res));
  limitConnections(server, options, logger, metrics);
  return server;
}

/** Listens, and says where: the bound address and a URL to reach it (loopback for 0.0.0.0). */
export async function listen(server: Server, port: number, host: string): Promise<{ address: AddressInfo; url: string }> {
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  return { address, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}` };
}
