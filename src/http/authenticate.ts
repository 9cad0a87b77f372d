/**
 * Caller authentication, before the body is read (an unauthenticated caller gets 401 whatever it
 * sends). Keys are configured as SHA-256 hashes; the presented key is hashed and compared in
 * constant time against every client, so timing reveals neither which client nor how much matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ConfigError, type ClientConfig } from '../config.js';
import { GatewayError } from '../errors.js';
import { context } from './context.js';

/** The scheme is case-insensitive (RFC 9110): "bearer" and "BEARER" are Bearer too. */
const BEARER = /^Bearer +([\x21-\x7e]{1,512})$/i;

export interface Authenticator {
  /** Middleware for one operation. */
  forOperation(operation: string): RequestHandler;
}

export function createAuthenticator(clients: ClientConfig[] | undefined, operations: readonly string[]): Authenticator {
  if (clients === undefined) {
    return {
      forOperation: (operation) => (_req, res, next) => {
        const ctx = context(res);
        ctx.client = 'anonymous';
        ctx.operation = operation;
        next();
      },
    };
  }
  for (const client of clients) {
    const unknown = client.operations.find((op) => op !== '*' && !operations.includes(op));
    if (unknown !== undefined) {
      throw new ConfigError('GATEWAY_CLIENTS', `client "${client.name}" lists unknown operation "${unknown}" (known: ${operations.join(', ')}, or "*")`);
    }
  }
  // Every hash of every client (a client rotating its key has two), each compared every time.
  const known = clients.flatMap((c) => c.keySha256.map((hash) => ({ ...c, hash: Buffer.from(hash, 'hex') })));

  const identify = (header: string | undefined) => {
    const match = header === undefined ? null : BEARER.exec(header);
    if (!match) return undefined;
    const presented = createHash('sha256').update(match[1]!).digest();
    let found: (typeof known)[number] | undefined;
    for (const client of known) {
      if (timingSafeEqual(presented, client.hash) && found === undefined) found = client;
    }
    return found;
  };

  return {
    forOperation: (operation) => (req, res, next) => {
      const ctx = context(res);
      ctx.operation = operation;
      const client = identify(req.headers.authorization);
      if (client === undefined) {
        throw new GatewayError('unauthenticated', 'Send Authorization: Bearer <key> with a key issued to your service.', {
          headers: { 'www-authenticate': 'Bearer realm="galileo-gateway"' },
        });
      }
      ctx.client = client.name;
      if (!client.operations.includes('*') && !client.operations.includes(operation)) {
        throw new GatewayError('forbidden', `Client "${client.name}" may not call ${operation}.`);
      }
      next();
    },
  };
}
