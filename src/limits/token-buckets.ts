/**
 * Token buckets, the persistence behind the rate limits (src/http/rate-limit.ts): a bucket holds
 * up to `burst` tokens and refills at `ratePerSecond`; a request takes one token from each of its
 * buckets, from all of them or from none (a request refused by the Galileo budget keeps the
 * client's token). Knows nothing of HTTP or Galileo. Two implementations: memory-buckets.ts (one
 * process) and redis-buckets.ts (shared by every replica, one atomic script).
 */

export interface Bucket {
  /** Names the bucket in the store; the same name on every replica is the same bucket. */
  key: string;
  ratePerSecond: number;
  burst: number;
}

export type TakeResult =
  /** A token was taken from every bucket; `remaining[i]` whole tokens are left in bucket i. */
  | { taken: true; remaining: number[] }
  /** Nothing was taken: bucket `refusedBy` is empty until `retryAfterMs` has passed. */
  | { taken: false; refusedBy: number; retryAfterMs: number; remaining: number[] };

export interface TokenBuckets {
  take(buckets: readonly Bucket[]): Promise<TakeResult>;
  /** Resolves once the buckets can be used (a connection is up), or after `timeoutMs` anyway. */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The buckets cannot be reached: the gateway fails closed, as for the idempotency store. */
export class BucketsUnavailableError extends Error {
  override readonly name = 'BucketsUnavailableError';
}

/** A bucket's tokens after `elapsedMs` of refill, never above its burst. */
export function refilled(tokens: number, elapsedMs: number, bucket: Bucket): number {
  return Math.min(bucket.burst, tokens + (Math.max(0, elapsedMs) * bucket.ratePerSecond) / 1000);
}

/** How long until a bucket holding `tokens` (< 1) holds one. */
export function msUntilToken(tokens: number, bucket: Bucket): number {
  return Math.max(1, Math.ceil(((1 - tokens) * 1000) / bucket.ratePerSecond));
}
