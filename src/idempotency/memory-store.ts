/**
 * In-process store: one Map, every operation synchronous inside, so each transition is atomic within
 * this process (the Promise is only for the shared interface). Not shared between replicas.
 * Responses go through the codec, so encryption at rest applies here too (heap dumps, core files).
 */
import { randomUUID } from 'node:crypto';
import type { ResponseCodec } from './codec.js';
import {
  StoreUnavailableError,
  type ClaimResult,
  type IdempotencyStore,
  type StoredResponse,
  type StoreTimings,
} from './store.js';

export interface MemoryStoreOptions {
  timings: StoreTimings;
  /** Upper bound on records held (IDEMPOTENCY_MAX_ENTRIES). */
  maxEntries: number;
  codec: ResponseCodec;
  /** Clock in ms, for tests. Default: monotonic, so a wall-clock step never stretches or cuts a TTL. */
  now?: () => number;
}

type MemoryRecord =
  | { state: 'in_progress'; fingerprint: string; token: string; expiresAt: number }
  | { state: 'consumed'; fingerprint: string; encodedResponse: string; expiresAt: number };

export class MemoryStore implements IdempotencyStore {
  readonly #records = new Map<string, MemoryRecord>();
  readonly #timings: StoreTimings;
  readonly #maxEntries: number;
  readonly #codec: ResponseCodec;
  readonly #now: () => number;
  #closed = false;

  constructor(options: MemoryStoreOptions) {
    const { timings, maxEntries } = options;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('MemoryStore: maxEntries must be a positive integer');
    if (!(timings.lockTtlMs > 0) || !(timings.consumedTtlMs > 0)) throw new RangeError('MemoryStore: TTLs must be positive');
    this.#timings = { ...timings };
    this.#maxEntries = maxEntries;
    this.#codec = options.codec;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Number of records held, expired ones included until they are swept. For metrics and tests. */
  get size(): number {
    return this.#records.size;
  }

  claim(key: string, fingerprint: string): Promise<ClaimResult> {
    return settle(() => {
      this.#assertOpen();
      const now = this.#now();
      const record = this.#live(key, now);
      if (record?.state === 'in_progress') {
        return { state: 'in_progress', sameFingerprint: record.fingerprint === fingerprint };
      }
      if (record?.state === 'consumed') {
        if (record.fingerprint !== fingerprint) return { state: 'consumed', sameFingerprint: false };
        return { state: 'consumed', sameFingerprint: true, response: this.#codec.decode(record.encodedResponse) };
      }
      this.#makeRoom(now);
      const token = randomUUID();
      this.#records.set(key, { state: 'in_progress', fingerprint, token, expiresAt: now + this.#timings.lockTtlMs });
      return { state: 'claimed', token };
    });
  }

  complete(key: string, token: string, response: StoredResponse): Promise<boolean> {
    return settle(() => {
      this.#assertOpen();
      const now = this.#now();
      const record = this.#live(key, now);
      if (record?.state !== 'in_progress' || record.token !== token) return false;
      const encodedResponse = this.#codec.encode(response);
      // Re-insert so Map order among consumed records is completion order = expiry order,
      // which makes "oldest consumed first" eviction evict the soonest-to-expire.
      this.#records.delete(key);
      this.#records.set(key, {
        state: 'consumed',
        fingerprint: record.fingerprint,
        encodedResponse,
        expiresAt: now + this.#timings.consumedTtlMs,
      });
      return true;
    });
  }

  release(key: string, token: string): Promise<boolean> {
    return settle(() => {
      this.#assertOpen();
      const record = this.#live(key, this.#now());
      if (record?.state !== 'in_progress' || record.token !== token) return false;
      this.#records.delete(key);
      return true;
    });
  }

  ping(): Promise<void> {
    return settle(() => this.#assertOpen());
  }

  /** Nothing to report: the bound above is the only way it drops records, and never a live claim. */
  inspect(): Promise<[]> {
    return settle(() => {
      this.#assertOpen();
      return [];
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#records.clear();
    return Promise.resolve();
  }

  /** The record if it has not expired; an expired one is deleted and reads as absent. */
  #live(key: string, now: number): MemoryRecord | undefined {
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    if (record.expiresAt > now) return record;
    this.#records.delete(key);
    return undefined;
  }

  /**
   * Before inserting at capacity: sweep expired records, then evict the oldest consumed ones.
   * A live in_progress claim is never evicted (that would let a duplicate through): if only live
   * claims remain, refuse, and the gateway fails closed.
   */
  #makeRoom(now: number): void {
    if (this.#records.size < this.#maxEntries) return;
    for (const [key, record] of this.#records) {
      if (record.expiresAt <= now) this.#records.delete(key);
    }
    for (const [key, record] of this.#records) {
      if (this.#records.size < this.#maxEntries) return;
      if (record.state === 'consumed') this.#records.delete(key);
    }
    if (this.#records.size >= this.#maxEntries) {
      throw new StoreUnavailableError(`memory store full: ${this.#maxEntries} live in-progress claims`);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('memory store is closed');
  }
}

/** Runs synchronous work and turns a throw into a rejection, keeping the interface promise-only. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof StoreUnavailableError ? error : new StoreUnavailableError('memory store failed', { cause: error }));
  }
}
