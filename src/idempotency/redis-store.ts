/**
 * Redis store, shared by any number of gateway replicas, on one server, Sentinel or Cluster (the
 * client comes from redis-client.ts). Keys are spread over BUCKETS hash-tagged buckets; one record
 * is one hash, each transition one Lua script on the keys of one bucket (redis-scripts.ts), so it
 * is atomic and runs on one Cluster slot. Claims are guarded against lost writes (a restart, a
 * failover): see redis-scripts.ts. Every Redis failure surfaces as StoreUnavailableError: the
 * gateway fails closed.
 */
import { randomUUID } from 'node:crypto';
import type { ResponseCodec } from './codec.js';
import { masters, serverName, type RedisClient } from './redis-client.js';
import { CLAIM_LUA, COMPLETE_LUA, LEAVE_UNRESOLVED_LUA, PROBE_LUA, RELEASE_LUA } from './redis-scripts.js';
import {
  StoreFencedError,
  StoreUnavailableError,
  type ClaimResult,
  type IdempotencyStore,
  type StoredResponse,
  type StoreEvent,
  type StoreFinding,
  type StoreTimings,
} from './store.js';

/** Enough buckets to spread records evenly over a cluster's masters; few enough to probe them all at once. */
export const BUCKETS = 1024;

export interface RedisStoreOptions {
  /** Owned by the store from now on: close() closes it. */
  redis: RedisClient;
  keyPrefix: string;
  timings: StoreTimings;
  codec: ResponseCodec;
  /** The client's command timeout: bounds the wait for a first connection and for WAIT. */
  commandTimeoutMs: number;
  /** Replicas that must acknowledge a claim (WAIT) before it counts; 0 = do not wait. */
  minReplicasAck?: number;
  /** 'refuse': while a master may evict keys, every claim fails (503). 'warn': report only. */
  evictionPolicy?: 'refuse' | 'warn';
  onEvent?: (event: StoreEvent) => void;
}

/** The methods defineCommand adds (EVALSHA, falling back to EVAL after a script-cache flush). */
interface ScriptCommands {
  idempotencyClaim(
    record: string,
    epoch: string,
    fence: string,
    fp: string,
    token: string,
    lockTtlMs: number,
    known: string,
    maxResp: number,
  ): Promise<string[]>;
  idempotencyProbe(epoch: string, fence: string, lockTtlMs: number, known: string): Promise<string[]>;
  idempotencyComplete(record: string, token: string, resp: string, consumedTtlMs: number): Promise<number>;
  idempotencyRelease(record: string, token: string): Promise<number>;
  idempotencyLeaveUnresolved(record: string, token: string, unresolvedTtlMs: number): Promise<number>;
}
type ScriptPipeline = {
  idempotencyClaim(...args: Parameters<ScriptCommands['idempotencyClaim']>): ScriptPipeline;
  wait(n: number, ms: number): ScriptPipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
};

/**
 * The largest stored response a claim reads back: the gateway never stores more than a few KiB
 * (galileo/pci.ts withholds anything over 256 KiB), so a larger one was written by someone else.
 */
const MAX_RECORD_BYTES = 2 * 1024 * 1024;

export class RedisStore implements IdempotencyStore {
  readonly #redis: RedisClient & ScriptCommands;
  readonly #keyPrefix: string;
  readonly #timings: StoreTimings;
  readonly #codec: ResponseCodec;
  readonly #commandTimeoutMs: number;
  readonly #minReplicasAck: number;
  readonly #refuseEviction: boolean;
  readonly #onEvent: (event: StoreEvent) => void;
  /** Buckets whose epoch key this client has seen: a missing one there is a loss, not a new bucket. */
  readonly #known = new Uint8Array(BUCKETS);
  #everReady: boolean;
  #firstReady: Promise<void> | undefined;
  #sweep: Promise<void> | undefined;
  #sweepAgain = false;
  /** Why claims are refused whatever the records say (an evicting maxmemory-policy), if they are. */
  #refusal: string | undefined;
  #inspectedAt = 0;
  #lastFindings = '';
  /** Why the client cannot connect (WRONGPASS, a TLS error, ECONNREFUSED), for failure messages. */
  #connectionError: string | undefined;

  constructor(options: RedisStoreOptions) {
    const { redis, timings } = options;
    if (!(timings.lockTtlMs > 0) || !(timings.consumedTtlMs > 0)) throw new RangeError('RedisStore: TTLs must be positive');
    redis.defineCommand('idempotencyClaim', { numberOfKeys: 3, lua: CLAIM_LUA });
    redis.defineCommand('idempotencyProbe', { numberOfKeys: 2, lua: PROBE_LUA });
    redis.defineCommand('idempotencyComplete', { numberOfKeys: 1, lua: COMPLETE_LUA });
    redis.defineCommand('idempotencyRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    redis.defineCommand('idempotencyLeaveUnresolved', { numberOfKeys: 1, lua: LEAVE_UNRESOLVED_LUA });
    this.#redis = redis as RedisClient & ScriptCommands;
    this.#keyPrefix = options.keyPrefix;
    this.#timings = { lockTtlMs: Math.ceil(timings.lockTtlMs), consumedTtlMs: Math.ceil(timings.consumedTtlMs) };
    this.#codec = options.codec;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#minReplicasAck = options.minReplicasAck ?? 0;
    this.#refuseEviction = options.evictionPolicy === 'refuse';
    this.#onEvent = options.onEvent ?? (() => {});
    this.#everReady = redis.status === 'ready';
    redis.on('error', (err: Error) => (this.#connectionError = err.message));
    redis.on('ready', () => {
      this.#connectionError = undefined;
      // A reconnection may be to another server (a restart, a Sentinel failover): probe every
      // bucket now, so the fence starts at once rather than at each bucket's next claim.
      if (this.#everReady) this.#startSweep();
      this.#everReady = true;
      // The server may have changed, and its settings with it.
      this.inspect().catch(() => {});
    });
  }

  async claim(key: string, fingerprint: string): Promise<ClaimResult> {
    const bucket = bucketOf(key);
    // The token carries the claim's fingerprint: complete() binds the encrypted response to it
    // (the codec's associated data) without reading the record back first.
    const token = `${randomUUID()}.${fingerprint}`;
    const { reply, acked } = await this.#call('claim', async () => {
      await this.#assertNotRefused();
      return this.#runClaim(bucket, key, fingerprint, token);
    });
    this.#known[bucket] = 1;
    const [verdict, fp, resp, detected] = reply;
    switch (verdict) {
      case 'CLAIMED':
      case 'RECLAIMED': {
        const unresolved = verdict === 'RECLAIMED';
        if (acked !== undefined && acked < this.#minReplicasAck) {
          // Not durable enough to forward on: give the key back (as it was) so a retry is not blocked by it.
          await (unresolved ? this.leaveUnresolved(key, token) : this.release(key, token)).catch(() => false);
          throw new StoreUnavailableError(`redis claim acknowledged by ${acked} of the ${this.#minReplicasAck} replicas required`);
        }
        return unresolved ? { state: 'claimed', token, unresolved } : { state: 'claimed', token };
      }
      case 'HELD':
        return { state: 'in_progress', sameFingerprint: fp === fingerprint };
      case 'UNRESOLVED': // the script answers it for another fingerprint only (its own is RECLAIMED)
        return { state: 'unresolved', sameFingerprint: false };
      case 'CONSUMED':
        if (fp !== fingerprint) return { state: 'consumed', sameFingerprint: false };
        return { state: 'consumed', sameFingerprint: true, response: this.#codec.decode(resp!, { key, fingerprint }) };
      case 'FENCED': {
        // Here fp is the fence's remaining ms and resp its reason.
        const ms = Number(fp);
        if (!Number.isSafeInteger(ms) || ms <= 0) break;
        if (detected) this.#lossDetected(detected, 1, ms);
        throw new StoreFencedError(`the store may have lost writes (${resp}): new claims are refused for ${ms} ms`, ms);
      }
      case 'BAD':
        throw new StoreUnavailableError(`idempotency record unreadable: ${fp}`);
    }
    throw new StoreUnavailableError('idempotency claim script gave an answer it never gives');
  }

  async complete(key: string, token: string, response: StoredResponse): Promise<boolean> {
    const fingerprint = token.slice(token.indexOf('.') + 1);
    const encoded = this.#codec.encode(response, { key, fingerprint });
    const done = await this.#call('complete', () =>
      this.#redis.idempotencyComplete(this.#keys(bucketOf(key), key).record, token, encoded, this.#timings.consumedTtlMs),
    );
    return done === 1;
  }

  async release(key: string, token: string): Promise<boolean> {
    const done = await this.#call('release', () => this.#redis.idempotencyRelease(this.#keys(bucketOf(key), key).record, token));
    return done === 1;
  }

  async leaveUnresolved(key: string, token: string): Promise<boolean> {
    const done = await this.#call('leaveUnresolved', () =>
      this.#redis.idempotencyLeaveUnresolved(this.#keys(bucketOf(key), key).record, token, this.#timings.consumedTtlMs),
    );
    return done === 1;
  }

  async ping(): Promise<void> {
    await this.#call('ping', async () => {
      await this.#assertNotRefused();
      await this.#redis.ping();
    });
  }

  async inspect(): Promise<StoreFinding[]> {
    const findings = await this.#call('inspect', async () => {
      const servers = masters(this.#redis);
      if (servers.length === 0) throw new StoreUnavailableError('no master is known yet');
      return (await Promise.all(servers.map(evictionFinding))).filter((f) => f !== undefined);
    });
    this.#inspectedAt = Date.now();
    const evicting = findings.filter((f) => f.code === 'eviction_policy');
    this.#refusal =
      this.#refuseEviction && evicting.length > 0
        ? `maxmemory-policy ${evicting.map((f) => `${f.policy} on ${f.server}`).join(', ')} can evict idempotency records; claims are refused until it is noeviction`
        : undefined;
    const summary = JSON.stringify(findings);
    if (summary !== this.#lastFindings) {
      this.#lastFindings = summary;
      this.#onEvent({ type: 'findings', findings, refusing: this.#refusal !== undefined });
    }
    return findings;
  }

  async close(): Promise<void> {
    try {
      if (this.#redis.status !== 'end') await this.#redis.quit();
    } catch {
      // Redis unreachable: QUIT cannot be sent. disconnect() below drops the socket instead.
    } finally {
      // Also stops reconnecting, and closes what quit() leaves open: the connections ioredis'
      // Sentinel failover detector keeps to every sentinel.
      this.#redis.disconnect();
    }
  }

  /** While refusing, the policy is read again (at most every 5 s), so fixing it on the server ends the refusal. */
  async #assertNotRefused(): Promise<void> {
    if (this.#refusal === undefined) return;
    if (Date.now() - this.#inspectedAt > 5000) await this.inspect();
    if (this.#refusal !== undefined) throw new StoreUnavailableError(this.#refusal);
  }

  /** The claim script, followed on the same connection by WAIT when replicas must acknowledge it. */
  async #runClaim(bucket: number, key: string, fingerprint: string, token: string): Promise<{ reply: string[]; acked?: number }> {
    const k = this.#keys(bucket, key);
    const args = [k.record, k.epoch, k.fence, fingerprint, token, this.#timings.lockTtlMs, this.#known[bucket] ? '1' : '0', MAX_RECORD_BYTES] as const;
    if (this.#minReplicasAck === 0) return { reply: await this.#redis.idempotencyClaim(...args) };
    // A pipeline goes to the node of its keys (on a Cluster too), so WAIT covers this very write.
    const pipeline = this.#redis.pipeline() as unknown as ScriptPipeline;
    const results = await pipeline
      .idempotencyClaim(...args)
      .wait(this.#minReplicasAck, Math.max(1, Math.floor(this.#commandTimeoutMs / 2)))
      .exec();
    const [claimed, waited] = results ?? [];
    if (!claimed || !waited) throw new StoreUnavailableError('redis claim pipeline returned nothing');
    if (claimed[0]) throw claimed[0];
    if (waited[0]) throw waited[0];
    return { reply: claimed[1] as string[], acked: Number(waited[1]) };
  }

  #keys(bucket: number, key: string): { record: string; epoch: string; fence: string } {
    const tag = `${this.#keyPrefix}{${bucket}}`;
    return { record: `${tag}r:${key}`, epoch: `${tag}epoch`, fence: `${tag}fence` };
  }

  #lossDetected(reason: string, buckets: number, fencedMs: number): void {
    this.#onEvent({ type: 'writes_may_be_lost', reason, buckets, fencedMs });
    // One bucket found it: the others on that server lost the same writes. Fence them now.
    this.#startSweep();
  }

  /** Probes every bucket (one at a time per sweep; a request during one runs one more). */
  #startSweep(): void {
    if (this.#sweep) {
      this.#sweepAgain = true;
      return;
    }
    this.#sweep = (async () => {
      do {
        this.#sweepAgain = false;
        await this.#probeAll();
      } while (this.#sweepAgain && this.#redis.status !== 'end');
    })().finally(() => (this.#sweep = undefined));
  }

  async #probeAll(): Promise<void> {
    const found = new Map<string, { buckets: number; fencedMs: number }>();
    await Promise.all(
      Array.from({ length: BUCKETS }, async (_, bucket) => {
        const k = this.#keys(bucket, '');
        try {
          const [ms, , detected] = await this.#redis.idempotencyProbe(k.epoch, k.fence, this.#timings.lockTtlMs, this.#known[bucket] ? '1' : '0');
          this.#known[bucket] = 1;
          if (!detected) return;
          const entry = found.get(detected) ?? { buckets: 0, fencedMs: 0 };
          found.set(detected, { buckets: entry.buckets + 1, fencedMs: Math.max(entry.fencedMs, Number(ms)) });
        } catch {
          // Unreachable again: the next reconnection sweeps again, and claims guard themselves.
        }
      }),
    );
    for (const [reason, { buckets, fencedMs }] of found) this.#onEvent({ type: 'writes_may_be_lost', reason, buckets, fencedMs });
  }

  /** Runs one Redis call; any failure becomes StoreUnavailableError (cause kept). */
  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      await this.#firstConnection();
      return await run();
    } catch (cause) {
      if (cause instanceof StoreUnavailableError) throw cause;
      const detail = cause instanceof Error ? cause.message : String(cause);
      // "Stream isn't writeable" says little; the last connection error says why.
      const why = this.#redis.status !== 'ready' && this.#connectionError !== undefined ? ` (connection: ${this.#connectionError})` : '';
      throw new StoreUnavailableError(`redis ${operation} failed: ${detail}${why}`, { cause });
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
      const timer = setTimeout(done, this.#commandTimeoutMs);
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

/** FNV-1a over the key's UTF-16 code units: cheap, and spreads similar keys over buckets. */
export function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}

/**
 * maxmemory-policy of one master, from INFO (which managed services allow) or else CONFIG GET.
 * Records expire, so even the volatile-* policies may evict them: only noeviction is safe. A
 * server refusing both (an error reply) leaves it unknown; a failed connection rejects.
 */
async function evictionFinding(server: Parameters<typeof serverName>[0]): Promise<StoreFinding | undefined> {
  const name = serverName(server);
  let policy: string | undefined;
  let reason = 'INFO memory does not report it';
  try {
    policy = /^maxmemory_policy:(\S+)/m.exec(await server.info('memory'))?.[1];
  } catch (err) {
    reason = `INFO refused: ${refusal(err)}`;
  }
  if (policy === undefined) {
    try {
      policy = ((await server.config('GET', 'maxmemory-policy')) as string[])[1];
    } catch (err) {
      return { code: 'eviction_policy_unknown', server: name, reason: `${reason}; CONFIG GET refused: ${refusal(err)}` };
    }
  }
  if (policy === undefined) return { code: 'eviction_policy_unknown', server: name, reason };
  return policy === 'noeviction' ? undefined : { code: 'eviction_policy', server: name, policy };
}

/** The server's error reply (NOPERM, unknown command); anything else is an outage and propagates. */
function refusal(err: unknown): string {
  if ((err as Error | undefined)?.name !== 'ReplyError') throw err;
  return (err as Error).message;
}
