/**
 * The one place that picks a store implementation; everything else sees IdempotencyStore.
 */
import { aesGcmCodec, parseEncryptionKey, plainCodec } from './codec.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore, createRedisClient } from './redis-store.js';
import type { IdempotencyStore, StoreTimings } from './store.js';

export interface StoreOptions {
  kind: 'memory' | 'redis';
  redisUrl: string;
  keyPrefix: string;
  maxEntries: number;
  /** base64 of 32 bytes: stored responses are then encrypted with AES-256-GCM. */
  encryptionKey: string | undefined;
  timings: StoreTimings;
  /** How long a Redis command may take before the store counts as unavailable. */
  commandTimeoutMs?: number;
}

export function createStore(options: StoreOptions): IdempotencyStore {
  const codec = options.encryptionKey === undefined ? plainCodec : aesGcmCodec(parseEncryptionKey(options.encryptionKey));
  if (options.kind === 'memory') {
    return new MemoryStore({ timings: options.timings, maxEntries: options.maxEntries, codec });
  }
  const redis = createRedisClient(options.redisUrl, { commandTimeoutMs: options.commandTimeoutMs ?? 1000 });
  return new RedisStore({ redis, keyPrefix: options.keyPrefix, timings: options.timings, codec });
}

/**
 * A claim must outlive the worst-case upstream call (every attempt timing out, plus backoff),
 * or a second request could be forwarded while the first is still in flight.
 */
export function lockTtlMs(timeoutMs: number, maxRetries: number, backoffMs: number): number {
  const attempts = maxRetries + 1;
  const backoff = backoffMs * (2 ** maxRetries - 1);
  // The margin covers the claim-to-call and answer-to-record steps (milliseconds normally).
  return attempts * timeoutMs + backoff + 2_000;
}
