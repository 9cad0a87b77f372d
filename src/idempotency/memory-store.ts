/**
 * In-process store: one Map, every operation synchronous inside, so each transition is atomic within
 * this process (the Promise is only for the shared interface). Not shared between replicas.
 * Responses go through the codec, so encryption at rest applies here too (heap dumps, core files).
 */
import { randomUUID } from 'node:crypto';
import type { ResponseCodec } from './codec.js';
import { StoreUnavailableError, WITHHELD_NO_ROOM, type ClaimResult, type IdempotencyStore, type StoredResponse, type StoreTimings } from './store.js';

export interface MemoryStoreOptions {
  timings: StoreTimings;
  /** Upper bound on records held (IDEMPOTENCY_MAX_ENTRIES). */
  maxEntries: number;
  /**
   * Upper bound on the heap the records take (IDEMPOTENCY_MAX_BYTES): each record counts a fixed
   * overhead (CLAIM_OVERHEAD_BYTES, RECORD_OVERHEAD_BYTES) plus its strings (key, fingerprint,
   * encoded response).
   */
  maxBytes: number;
  codec: ResponseCodec;
  /** Clock in ms, for tests. Default: monotonic, so a wall-clock step never stretches or cuts a TTL. */
  now?: () => number;
}

/**
 * The heap a record takes beyond its strings' characters (the Map entry, the record, its place in
 * the queue, the string headers; for a claim, its token and the emptied queue entries that
 * released claims leave, up to three per live one: see ExpiringRecords#compact). Measured with
 * scripts/bench/memory-store.ts (measureRecordOverhead: heap used after a full GC, per record,
 * minus the characters counted) on Node 24.22: 776 bytes per live claim at its worst, 218 per
 * consumed record, 195 per unresolved one; rounded up. A claim counts more than the consumed
 * record it becomes, so completing one always fits (see complete).
 */
export const CLAIM_OVERHEAD_BYTES = 1024;
export const RECORD_OVERHEAD_BYTES = 256;

type Claim = { fingerprint: string; token: string; expiresAt: number; bytes: number };
type Consumed = { fingerprint: string; encodedResponse: string; expiresAt: number; bytes: number };
type Unresolved = { fingerprint: string; expiresAt: number; bytes: number };

/**
 * One set of records per state. Every claim lives lockTtlMs and every consumed record
 * consumedTtlMs, on a monotonic clock, so each set's insertion order is its expiry order: the
 * expired records are always at the front, and making room looks at the front only (amortised
 * O(1) per claim, where one map had to be scanned whole once full: 0.91 ms per claim at 100,000
 * entries). See ExpiringRecords for why the order is not the Map's own.
 */
export class MemoryStore implements IdempotencyStore {
  readonly #claims = new ExpiringRecords<Claim>();
  readonly #consumed = new ExpiringRecords<Consumed>();
  readonly #unresolved = new ExpiringRecords<Unresolved>();
  readonly #timings: StoreTimings;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #codec: ResponseCodec;
  readonly #now: () => number;
  #closed = false;

  constructor(options: MemoryStoreOptions) {
    const { timings, maxEntries, maxBytes } = options;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('MemoryStore: maxEntries must be a positive integer');
    if (!Number.isInteger(maxBytes) || maxBytes < CLAIM_OVERHEAD_BYTES * 2)
      throw new RangeError(`MemoryStore: maxBytes must be an integer of at least ${CLAIM_OVERHEAD_BYTES * 2}`);
    if (!(timings.lockTtlMs > 0) || !(timings.consumedTtlMs > 0)) throw new RangeError('MemoryStore: TTLs must be positive');
    this.#timings = { ...timings };
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.#codec = options.codec;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Number of records held, expired ones included until they are swept. For metrics and tests. */
  get size(): number {
    return this.#claims.size + this.#consumed.size + this.#unresolved.size;
  }

  /** Bytes counted against maxBytes, expired records included until they are swept. For metrics and tests. */
  get bytes(): number {
    return this.#claims.bytes + this.#consumed.bytes + this.#unresolved.bytes;
  }

  claim(key: string, fingerprint: string): Promise<ClaimResult> {
    return settle(() => {
      this.#assertOpen();
      const now = this.#now();
      const claim = this.#claims.live(key, now);
      if (claim) return { state: 'in_progress', sameFingerprint: claim.fingerprint === fingerprint };
      const consumed = this.#consumed.live(key, now);
      if (consumed) {
        if (consumed.fingerprint !== fingerprint) return { state: 'consumed', sameFingerprint: false };
        return { state: 'consumed', sameFingerprint: true, response: this.#codec.decode(consumed.encodedResponse, { key, fingerprint }) };
      }
      const unresolved = this.#unresolved.live(key, now);
      if (unresolved && unresolved.fingerprint !== fingerprint) return { state: 'unresolved', sameFingerprint: false };
      const bytes = recordBytes(CLAIM_OVERHEAD_BYTES, key, fingerprint);
      // Room first: a claim refused for want of it leaves the unresolved record as it was.
      this.#makeRoom(now, bytes);
      this.#unresolved.delete(key);
      const token = randomUUID();
      this.#claims.add(key, { fingerprint, token, expiresAt: now + this.#timings.lockTtlMs, bytes });
      return unresolved ? { state: 'claimed', token, unresolved: true } : { state: 'claimed', token };
    });
  }

  complete(key: string, token: string, response: StoredResponse): Promise<boolean> {
    return settle(() => {
      this.#assertOpen();
      const now = this.#now();
      const claim = this.#claims.live(key, now);
      if (claim?.token !== token) return false;
      const where = { key, fingerprint: claim.fingerprint };
      let encodedResponse = this.#codec.encode(response, where);
      this.#claims.delete(key);
      let bytes = recordBytes(RECORD_OVERHEAD_BYTES, key, claim.fingerprint, encodedResponse);
      if (!this.#roomFor(now, bytes)) {
        // The call ran: its key stays consumed (never forwarded again), without the body there is no room for.
        encodedResponse = this.#codec.encode({ status: response.status, contentType: response.contentType, body: '', withheld: WITHHELD_NO_ROOM }, where);
        bytes = recordBytes(RECORD_OVERHEAD_BYTES, key, claim.fingerprint, encodedResponse);
        // Fits in the room the claim counted (its overhead is larger than this record's), freed above.
        this.#roomFor(now, bytes);
      }
      this.#consumed.add(key, { fingerprint: claim.fingerprint, encodedResponse, expiresAt: now + this.#timings.consumedTtlMs, bytes });
      return true;
    });
  }

  release(key: string, token: string): Promise<boolean> {
    return settle(() => {
      this.#assertOpen();
      if (this.#claims.live(key, this.#now())?.token !== token) return false;
      this.#claims.delete(key);
      return true;
    });
  }

  leaveUnresolved(key: string, token: string): Promise<boolean> {
    return settle(() => {
      this.#assertOpen();
      const now = this.#now();
      const claim = this.#claims.live(key, now);
      if (claim?.token !== token) return false;
      this.#claims.delete(key);
      this.#unresolved.add(key, {
        fingerprint: claim.fingerprint,
        expiresAt: now + this.#timings.consumedTtlMs,
        bytes: recordBytes(RECORD_OVERHEAD_BYTES, key, claim.fingerprint),
      });
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
    this.#claims.clear();
    this.#consumed.clear();
    this.#unresolved.clear();
    return Promise.resolve();
  }

  /**
   * Before a claim: drop the expired records at the front of each set; while at capacity (entries
   * or bytes), the oldest consumed one, then the oldest unresolved one. A live claim is never
   * evicted (that would let a duplicate through): if only live claims remain, refuse, and the
   * gateway fails closed.
   */
  #makeRoom(now: number, bytes: number): void {
    if (this.#roomFor(now, bytes)) return;
    throw new StoreUnavailableError(
      this.#consumed.size + this.#unresolved.size === 0 && this.size >= this.#maxEntries
        ? `memory store full: ${this.#maxEntries} live in-progress claims`
        : `memory store full: live in-progress claims hold its ${this.#maxBytes} bytes`,
    );
  }

  /** Evicts as #makeRoom does until one more record of `bytes` fits; false when only live claims are left. */
  #roomFor(now: number, bytes: number): boolean {
    this.#consumed.dropExpired(now);
    this.#unresolved.dropExpired(now);
    this.#claims.dropExpired(now);
    // Live claims alone leave no room: refuse before evicting anything, not after evicting everything.
    if (this.#claims.size >= this.#maxEntries || this.#claims.bytes + bytes > this.#maxBytes) return false;
    while (this.size >= this.#maxEntries || this.bytes + bytes > this.#maxBytes) {
      if (this.#consumed.evictOldest()) continue;
      // An unresolved record goes after the consumed ones: a retry then reaches Galileo, which answers 24 and is resolved then.
      if (this.#unresolved.evictOldest()) continue;
      return false;
    }
    return true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('memory store is closed');
  }
}

/**
 * Records by key, and their insertion order in an array used as a queue. Not the Map's own order:
 * deleting from the front of a JavaScript Map leaves holes that every later walk from the front
 * steps over until the table is rebuilt (measured: 9 µs per claim at a full store, 7x an empty
 * one). The Map and the queue share one entry per record; deleting a record empties its entry,
 * which lets go of the record at once and is skipped when it reaches the front.
 */
class ExpiringRecords<T extends { expiresAt: number; bytes: number }> {
  readonly #byKey = new Map<string, Entry<T>>();
  #order: Array<Entry<T>> = [];
  #head = 0;
  #bytes = 0;

  get size(): number {
    return this.#byKey.size;
  }

  /** The sum of the records' `bytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The record if it has not expired; an expired one is deleted and reads as absent. */
  live(key: string, now: number): T | undefined {
    const record = this.#byKey.get(key)?.record;
    if (record === undefined || record.expiresAt > now) return record;
    this.delete(key);
    return undefined;
  }

  add(key: string, record: T): void {
    this.delete(key);
    const entry = { key, record };
    this.#byKey.set(key, entry);
    this.#bytes += record.bytes;
    this.#order.push(entry);
  }

  delete(key: string): void {
    const entry = this.#byKey.get(key);
    if (entry === undefined) return;
    this.#remove(entry);
    this.#compact();
  }

  clear(): void {
    this.#byKey.clear();
    this.#order = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  /** Deletes the expired records at the front (and skips the entries of records already gone). */
  dropExpired(now: number): void {
    for (let front = this.#front(); front !== undefined && front.record!.expiresAt <= now; front = this.#front()) {
      this.#remove(front);
      this.#head++;
    }
    this.#compact();
  }

  /** Deletes the oldest record; false when there is none. */
  evictOldest(): boolean {
    const front = this.#front();
    if (front === undefined) return false;
    this.#remove(front);
    this.#head++;
    this.#compact();
    return true;
  }

  #remove(entry: Entry<T>): void {
    this.#byKey.delete(entry.key);
    this.#bytes -= entry.record!.bytes;
    entry.record = undefined;
  }

  /** The oldest entry whose record is still there. */
  #front(): Entry<T> | undefined {
    while (this.#head < this.#order.length) {
      const entry = this.#order[this.#head]!;
      if (entry.record !== undefined) return entry;
      this.#head++;
    }
    return undefined;
  }

  /**
   * Drops the consumed front of the queue once it is at least half of it; and the emptied entries
   * (a claim completed long before its lock would have expired) once they outnumber the records
   * twice, so the queue holds at most three entries per record (plus 1024): RECORD_OVERHEAD_BYTES
   * counts them.
   */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
    if (this.#order.length - this.#head > 3 * this.#byKey.size + 1024) {
      this.#order = this.#order.slice(this.#head).filter((entry) => entry.record !== undefined);
      this.#head = 0;
    }
  }
}

/** A record and its key; emptied when the record is deleted (its place in the queue stays until compacted). */
type Entry<T> = { key: string; record: T | undefined };

/** A UTF-16 code unit above Latin-1: V8 then keeps the whole string two bytes a character. */
const BEYOND_LATIN_1 = /[\u0100-\uffff]/;

/**
 * What a record counts against maxBytes: its fixed overhead plus its strings' characters, as V8
 * keeps them (one byte each when all are Latin-1, else two).
 */
function recordBytes(overhead: number, ...strings: string[]): number {
  let bytes = overhead;
  for (const s of strings) bytes += BEYOND_LATIN_1.test(s) ? 2 * s.length : s.length;
  return bytes;
}

/** Runs synchronous work and turns a throw into a rejection, keeping the interface promise-only. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof StoreUnavailableError ? error : new StoreUnavailableError('memory store failed', { cause: error }));
  }
}
