/**
 * Redis store, shared by any number of gateway replicas. One record = one hash at keyPrefix + key
 * with fields state, fp, token (in_progress only), resp (consumed only, codec output). Each
 * transition is one Lua script on one key, so it is atomic and Redis Cluster safe.
 * Every Redis failure surfaces as StoreUnavailableError: the gateway fails closed.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ResponseCodec } from './codec.js';
import {
  StoreUnavailableError,
  type ClaimResult,
  type IdempotencyStore,
  type StoredResponse,
  type StoreTimings,
} from './store.js';

/**
 * A client that fails fast while Redis is down (no offline queue, bounded commands) and keeps
 * reconnecting in the background, so the gateway recovers without a restart.
 */
export function createRedisClient(url: string, options: { commandTimeoutMs: number }): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    // A command whose caller already got a timeout must not run later: a late claim would leave
    // an orphan lock blocking the key until lockTtlMs.
    autoResendUnfulfilledCommands: false,
  });
  // Without a listener ioredis' 'error' events would crash the process; each failed call already
  // rejects with StoreUnavailableError, which the caller logs.
  client.on('error', () => {});
  return client;
}

export interface RedisStoreOptions {
  /** Owned by the store from now on: close() closes it. */
  redis: Redis;
  keyPrefix: string;
  timings: StoreTimings;
  codec: ResponseCodec;
}

// KEYS[1] record; ARGV fp, token, lockTtlMs. resp is returned only on a fingerprint match,
// since only then is it replayed.
const CLAIM_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local r = redis.call('HMGET', KEYS[1], 'state', 'fp', 'resp')
  local state, fp, resp = r[1] or '', r[2] or '', r[3] or ''
  if fp ~= ARGV[1] then resp = '' end
  return {state, fp, resp}
end
redis.call('HSET', KEYS[1], 'state', 'in_progress', 'fp', ARGV[1], 'token', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'claimed'}
`;

// KEYS[1] record; ARGV token, resp, consumedTtlMs. Only the token holder may complete.
const COMPLETE_LUA = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'consumed', 'resp', ARGV[2])
  redis.call('HDEL', KEYS[1], 'token')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

// KEYS[1] record; ARGV token. Only the token holder may release.
const RELEASE_LUA = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/** The methods defineCommand adds (EVALSHA, falling back to EVAL after a script-cache flush). */
interface ScriptCommands {
  idempotencyClaim(key: string, fp: string, token: string, lockTtlMs: number): Promise<string[]>;
  idempotencyComplete(key: string, token: string, resp: string, consumedTtlMs: number): Promise<number>;
  idempotencyRelease(key: string, token: string): Promise<number>;
}

export class RedisStore implements IdempotencyStore {
  readonly #redis: Redis & ScriptCommands;
  readonly #keyPrefix: string;
  readonly #timings: StoreTimings;
  readonly #codec: ResponseCodec;
  #everReady: boolean;
  #firstReady: Promise<void> | undefined;
  /** Why the client is not connected (e.g. "connect ECONNREFUSED 10.0.0.5:6379"), for ping's error. */
  #connectionError: string | undefined;

  constructor(options: RedisStoreOptions) {
    const { redis, timings } = options;
    if (!(timings.lockTtlMs > 0) || !(timings.consumedTtlMs > 0)) throw new RangeError('RedisStore: TTLs must be positive');
    redis.defineCommand('idempotencyClaim', { numberOfKeys: 1, lua: CLAIM_LUA });
    redis.defineCommand('idempotencyComplete', { numberOfKeys: 1, lua: COMPLETE_LUA });
    redis.defineCommand('idempotencyRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    this.#redis = redis as Redis & ScriptCommands;
    this.#keyPrefix = options.keyPrefix;
    this.#timings = { lockTtlMs: Math.ceil(timings.lockTtlMs), consumedTtlMs: Math.ceil(timings.consumedTtlMs) };
    this.#codec = options.codec;
    this.#everReady = redis.status === 'ready';
    if (!this.#everReady) redis.once('ready', () => (this.#everReady = true));
    redis.on('error', (err: Error) => (this.#connectionError = err.message));
    redis.on('ready', () => (this.#connectionError = undefined));
  }

  async claim(key: string, fingerprint: string): Promise<ClaimResult> {
    const token = randomUUID();
    const reply = await this.#call('claim', () =>
      this.#redis.idempotencyClaim(this.#keyPrefix + key, fingerprint, token, this.#timings.lockTtlMs),
    );
    const [state, fp, resp] = reply;
    if (state === 'claimed') return { state: 'claimed', token };
    if (state === 'in_progress') return { state: 'in_progress', sameFingerprint: fp === fingerprint };
    if (state === 'consumed') {
      if (fp !== fingerprint) return { state: 'consumed', sameFingerprint: false };
      // An empty resp cannot be a codec output: the record is damaged, not replayable.
      if (!resp) throw new StoreUnavailableError('idempotency record unreadable: consumed without a response');
      return { state: 'consumed', sameFingerprint: true, response: this.#codec.decode(resp) };
    }
    throw new StoreUnavailableError(`idempotency record unreadable: unknown state ${JSON.stringify(state)}`);
  }

  async complete(key: string, token: string, response: StoredResponse): Promise<boolean> {
    const done = await this.#call('complete', () =>
      this.#redis.idempotencyComplete(this.#keyPrefix + key, token, this.#codec.encode(response), this.#timings.consumedTtlMs),
    );
    return done === 1;
  }

  async release(key: string, token: string): Promise<boolean> {
    const done = await this.#call('release', () => this.#redis.idempotencyRelease(this.#keyPrefix + key, token));
    return done === 1;
  }

  async ping(): Promise<void> {
    try {
      await this.#call('ping', () => this.#redis.ping());
    } catch (err) {
      // "Connection is closed" says little: the last connection error says why.
      if (this.#connectionError === undefined) throw err;
      throw new StoreUnavailableError(`${(err as Error).message} (${this.#connectionError})`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.#redis.status === 'end') return;
    try {
      await this.#redis.quit();
    } catch {
      // Redis unreachable: QUIT cannot be sent. Drop the socket and stop reconnecting instead.
      this.#redis.disconnect();
    }
  }

  /** Runs one Redis call; any failure becomes StoreUnavailableError (cause kept). */
  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      await this.#firstConnection();
      return await run();
    } catch (cause) {
      if (cause instanceof StoreUnavailableError) throw cause;
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new StoreUnavailableError(`redis ${operation} failed: ${detail}`, { cause });
    }
  }

  /**
   * Without an offline queue, a command sent while the client is still making its very first
   * connection fails at once. Wait for that first connection (bounded by the command timeout) so a
   * start-up ping does not fail spuriously; after that, outages fail fast.
   */
  async #firstConnection(): Promise<void> {
    if (this.#everReady) return;
    const redis = this.#redis;
    if (redis.status === 'wait') await redis.connect();
    if (redis.status === 'ready' || redis.status === 'end') return;
    // One shared wait, however many calls arrive meanwhile (one listener, not one per call).
    this.#firstReady ??= new Promise<void>((resolve) => {
      const timer = setTimeout(done, redis.options.commandTimeout ?? 1000);
      redis.once('ready', done);
      function done(): void {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      }
    }).finally(() => (this.#firstReady = undefined));
    await this.#firstReady;
  }
}
