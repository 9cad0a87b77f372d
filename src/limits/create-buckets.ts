/**
 * The one place that picks where the rate limits' buckets live: with the idempotency records (in
 * this process, or in the same Redis under the same key prefix, so every replica shares them).
 */
import type { Config } from '../config.js';
import { createRedisClient } from '../idempotency/redis-client.js';
import { MemoryBuckets } from './memory-buckets.js';
import { RedisBuckets } from './redis-buckets.js';
import type { TokenBuckets } from './token-buckets.js';

/** On Redis only when a limit needs the buckets: the connection is one of their own. */
export function createBuckets(config: Pick<Config, 'galileo' | 'clients' | 'idempotency'>): TokenBuckets {
  const { idempotency } = config;
  const limited = config.galileo.maxRequestsPerSecond > 0 || (config.clients ?? []).some((c) => c.rateLimit !== undefined);
  if (idempotency.store === 'memory' || !limited) return new MemoryBuckets();
  return new RedisBuckets(createRedisClient(idempotency.redis, { commandTimeoutMs: idempotency.commandTimeoutMs }), idempotency.keyPrefix);
}
