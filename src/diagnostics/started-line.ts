/**
 * The `gateway started` line (docs/operations.md): where the gateway listens, what it stands on
 * (store, encryption, Galileo's origin, caller authentication, tracing) and the Node version, so that one
 * line answers "what is running here". Never a password: the Redis address is described, and
 * Galileo is given by its origin only.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { describeConnection } from '../idempotency/redis-client.js';

export function logStarted(
  logger: Logger,
  facts: { config: Config; address: AddressInfo; url: string; galileoUrl: string; warmUpMs: number | undefined },
): void {
  const { config, address } = facts;
  logger.info(
    {
      address: address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`,
      url: facts.url,
      store: config.idempotency.store,
      ...(config.idempotency.store === 'redis' && { redis: describeConnection(config.idempotency.redis) }),
      encrypted: config.idempotency.keyRing !== undefined,
      galileo: new URL(facts.galileoUrl).origin,
      auth: config.clients !== undefined,
      tracing: config.tracing.export === undefined ? false : { protocol: config.tracing.export.protocol, sampler: config.tracing.sampler.name },
      warmUpMs: facts.warmUpMs,
      node: process.version,
    },
    'gateway started',
  );
}
