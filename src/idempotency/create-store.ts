/**
 * The one place that picks a store implementation (and, through redis-client.ts, a Redis
 * topology); everything else sees IdempotencyStore.
 */
import type { Config } from '../config.js';
import { aesGcmCodec, plainCodec, type RingKey } from './codec.js';
import { MemoryStore } from './memory-store.js';
import { createRedisClient, type RedisConnection } from './redis-client.js';
import { RedisStore } from './redis-store.js';
import type { IdempotencyStore, StoreEvent, StoreTimings } from './store.js';

/** What every store takes, then what each kind takes of its own. */
interface CommonOptions {
  /** Keys (the first encrypts, all decrypt; parsed by config.ts): stored responses are then encrypted with AES-256-GCM. */
  keyRing: readonly RingKey[] | undefined;
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
  commandTimeoutMs: number;
  /** Replicas that must acknowledge a claim before the call is forwarded (Redis WAIT). */
  minReplicasAck?: number;
  /** 'refuse' (production): a Redis that may evict keys refuses claims. */
  evictionPolicy?: 'refuse' | 'warn';
  onEvent?: (event: StoreEvent) => void;
}

export function createStore(options: StoreOptions): IdempotencyStore {
  const codec = options.keyRing === undefined ? plainCodec : aesGcmCodec(options.keyRing);
  if (options.kind === 'memory') {
    return new MemoryStore({ timings: options.timings, maxEntries: options.maxEntries, maxBytes: options.maxBytes, codec });
  }
  const { commandTimeoutMs } = options;
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
 * The store the configuration names (config.ts, `idempotency`). Its claims live `lockTtlMs`
 * (worked out from Galileo's bounds, which this module knows nothing of); in production a Redis
 * that may evict keys refuses claims instead of only saying so.
 */
export function storeFromConfig(config: Pick<Config, 'idempotency' | 'production'>, lockTtlMs: number, onEvent: (event: StoreEvent) => void): IdempotencyStore {
  const settings = config.idempotency;
  const common = { keyRing: settings.keyRing, timings: { lockTtlMs, consumedTtlMs: settings.ttlSeconds * 1000 } };
  if (settings.store === 'memory') return createStore({ ...common, kind: 'memory', maxEntries: settings.maxEntries, maxBytes: settings.maxBytes });
  return createStore({
    ...common,
    kind: 'redis',
    redis: settings.redis,
    keyPrefix: settings.keyPrefix,
    commandTimeoutMs: settings.commandTimeoutMs,
    minReplicasAck: settings.minReplicasAck,
    evictionPolicy: config.production ? 'refuse' : 'warn',
    onEvent,
  });
}
