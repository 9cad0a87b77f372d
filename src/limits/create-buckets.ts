/**
 * The one place that picks where the rate limits' buckets live: with the idempotency records (in
 * this process, or in the same Redis under the same key prefix, so every replica shares them).
 */
import { createRedisClient, type RedisConnection } from '../idempotency/redis-client.js';
import { MemoryBuckets } from './memory-buckets.js';
import { RedisBuckets } from './redis-buckets.js';
import type { TokenBuckets } from './token-buckets.js';

export function createBuckets(
  options: { kind: 'memory' } | { kind: 'redis'; redis: RedisConnection; keyPrefix: string; commandTimeoutMs: number },
): TokenBuckets {
  if (options.kind === 'memory') return new MemoryBuckets();
  return new RedisBuckets(createRedisClient(options.redis, { commandTimeoutMs: options.commandTimeoutMs }), options.keyPrefix);
}
