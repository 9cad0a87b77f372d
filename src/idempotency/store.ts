/**
 * The idempotency persistence interface. Knows nothing of HTTP or Galileo: a key, a fingerprint,
 * an opaque stored response. Modelled on AWS Powertools' idempotency record: explicit states,
 * one interface, stores behind it (memory-store.ts, redis-store.ts).
 *
 * State machine for one key:  (none) --claim--> in_progress --complete--> consumed
 *                                                     \--release / lock expiry--> (none)
 *                                                     \--leaveUnresolved--> unresolved --claim (same fingerprint)--> in_progress
 * consumed and unresolved expire after the store's consumedTtlMs. `unresolved`: the call may have
 * run and nobody knows yet; the next claim with the same fingerprint takes it over (and is told).
 */

/** The response kept for replay. The store never looks inside it; a codec turns it into bytes. */
export interface StoredResponse {
  status: number;
  contentType: string;
  body: string;
  /**
   * Set (to why) when the answer itself is not kept: the record stays consumed, so the call is
   * never repeated, but a replay gets a problem instead of the body (which is then empty).
   */
  withheld?: string;
}

/** The `withheld` reason of an answer the store itself had no room for (not one that could hold card data). */
export const WITHHELD_NO_ROOM = 'the memory store had no room for it (IDEMPOTENCY_MAX_BYTES)';

/** What `claim` found, or that it claimed the key. */
export type ClaimResult =
  /**
   * No live record, or an unresolved one with this fingerprint (`unresolved`: the outcome of an
   * earlier call under this key is still to be found out): an in_progress record now exists, owned by `token`.
   */
  | { state: 'claimed'; token: string; unresolved?: true }
  /** Unresolved under another fingerprint. */
  | { state: 'unresolved'; sameFingerprint: false }
  /** Someone else holds a live claim. */
  | { state: 'in_progress'; sameFingerprint: boolean }
  /** Already consumed. `response` is decoded only when the fingerprint matches. */
  | { state: 'consumed'; sameFingerprint: true; response: StoredResponse }
  | { state: 'consumed'; sameFingerprint: false };

export interface IdempotencyStore {
  /** Atomically create an in_progress record (expiring after the lock TTL) unless a live one exists. */
  claim(key: string, fingerprint: string): Promise<ClaimResult>;
  /** in_progress -> consumed, only while `token` still owns the claim. False when it does not. */
  complete(key: string, token: string, response: StoredResponse): Promise<boolean>;
  /** Delete the claim, only while `token` still owns it. False when it does not. */
  release(key: string, token: string): Promise<boolean>;
  /** in_progress -> unresolved, only while `token` still owns the claim. False when it does not. */
  leaveUnresolved(key: string, token: string): Promise<boolean>;
  /** Resolves when the store is usable; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /**
   * Reads the store's own settings that could make it lose claims (e.g. an eviction policy), for
   * the start-up checks. Rejects with StoreUnavailableError when the store cannot be reached.
   */
  inspect(): Promise<StoreFinding[]>;
  close(): Promise<void>;
}

/** A setting of the store that can make it forget claims. */
export type StoreFinding =
  /** The server may evict keys under memory pressure (any maxmemory-policy but noeviction). */
  | { code: 'eviction_policy'; server: string; policy: string }
  /** The policy could not be read (managed services often refuse CONFIG): unknown, not refused. */
  | { code: 'eviction_policy_unknown'; server: string; reason: string };

/** What a store reports on its own, outside any call: the server logs these. */
export type StoreEvent =
  /**
   * The store may have lost acknowledged writes (`server_changed`: another server process now
   * holds the data, after a restart or a failover; `epoch_missing`: the data is gone), so new
   * claims in `buckets` buckets are refused for `fencedMs`.
   */
  | { type: 'writes_may_be_lost'; reason: string; buckets: number; fencedMs: number }
  /** The result of inspect() changed (at start-up, or on a reconnection to another server). */
  | { type: 'findings'; findings: StoreFinding[]; refusing: boolean };

/** Settings every store shares. */
export interface StoreTimings {
  /** How long an in_progress claim lives: longer than the worst-case upstream call. */
  lockTtlMs: number;
  /** How long a consumed response is replayed. */
  consumedTtlMs: number;
}

/** The store cannot be reached or holds a record it cannot read: the gateway fails closed (503). */
export class StoreUnavailableError extends Error {
  override readonly name: string = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The store may have lost claims (a restart, a failover): a call claimed before the loss may still
 * be running, so new claims are refused until `retryAfterMs` has passed.
 */
export class StoreFencedError extends StoreUnavailableError {
  override readonly name: string = 'StoreFencedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}
