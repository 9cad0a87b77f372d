/**
 * The one place that picks a store implementation (and, through redis-client.ts, a Redis
 * topology); everything else sees IdempotencyStore.
 */
import { aesGcmCodec, parseKeyRing, plainCodec } from './codec.js';
import { MemoryStore } from './memory-store.js';
import { createRedisClient, type RedisConnection } from './redis-client.js';
import { RedisStore } from './redis-store.js';
import type { IdempotencyStore, StoreEvent, StoreTimings } from './store.js';

/** What every store takes, then what each kind takes of its own. */
interface CommonOptions {
  /** A key (base64 of 32 bytes) or a key ring (id:base64,...): stored responses are then encrypted with AES-256-GCM. */
  encryptionKey: string | undefined;
  timings: StoreTimings;
}

export type StoreOptions = (CommonOptions & MemoryOptions) | (CommonOptions & RedisOptions);

interface MemoryOptions {
  kind: 'memory';
  maxEntries: number;
  maxBytes: number;
}

interface RedisOptions {
  kind: 'redis';
  redis: RedisConnection;
  keyPrefix: string;
  /** How long a Redis command may take before the store counts as unavailable. */
  commandTimeoutMs?: number;
  /** Replicas that must acknowledge a claim before the call is forwarded (Redis WAIT). */
  minReplicasAck?: number;
  /** 'refuse' (production): a Redis that may evict keys refuses claims. */
  evictionPolicy?: 'refuse' | 'warn';
  onEvent?: (event: StoreEvent) => void;
}

export function createStore(options: StoreOptions): IdempotencyStore {
  const codec = options.encryptionKey === undefined ? plainCodec : aesGcmCodec(parseKeyRing(options.encryptionKey));
  if (options.kind === 'memory') {
    return new MemoryStore({ timings: options.timings, maxEntries: options.maxEntries, maxBytes: options.maxBytes, codec });
  }
  const commandTimeoutMs = options.commandTimeoutMs ?? 1000;
  return new RedisStore({
    redis: createRedisClient(options.redis, { commandTimeoutMs }),
    keyPrefix: options.keyPrefix,
    timings: options.timings,
    codec,
    commandTimeoutMs,
    minReplicasAck: options.minReplicasAck ?? 0,
    evictionPolicy: options.evictionPolicy ?? 'warn',
    ...(options.onEvent && { onEvent: options.onEvent }),
  });
}

/**
 * A claim must outlive the worst-case upstream call (every attempt timing out, plus backoff) and,
 * when the answer is lost, the lookups of its outcome (each a call of the same bound), or a second
 * request could be forwarded while the first is still in flight.
 */
export function lockTtlMs(timeoutMs: number, maxRetries: number, backoffMs: number, lookups = { calls: 0, pausesMs: 0 }): number {
  const attempts = maxRetries + 1;
  const call = attempts * timeoutMs + backoffMs * (2 ** maxRetries - 1);
  // The margin covers the claim-to-call and answer-to-record steps (milliseconds normally).
  return call * (1 + lookups.calls) + lookups.pausesMs + 2_000;
}
