/**
 * Token buckets in this process (the memory store's companion): each replica has its own. A bucket
 * untouched for the time it takes to refill completely is full again, so it is forgotten.
 */
import { msUntilToken, refilled, type Bucket, type TakeResult, type TokenBuckets } from './token-buckets.js';

interface State {
  tokens: number;
  at: number;
  /** When the bucket is full again: from then on its state is the default and may be dropped. */
  fullAt: number;
}

export class MemoryBuckets implements TokenBuckets {
  readonly #states = new Map<string, State>();
  #swept = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async take(buckets: readonly Bucket[]): Promise<TakeResult> {
    const now = this.now();
    this.#sweep(now);
    const tokens = buckets.map((bucket) => {
      const state = this.#states.get(bucket.key);
      return state === undefined ? bucket.burst : refilled(state.tokens, now - state.at, bucket);
    });
    const refusedBy = tokens.findIndex((t) => t < 1);
    if (refusedBy !== -1) {
      return { taken: false, refusedBy, retryAfterMs: msUntilToken(tokens[refusedBy]!, buckets[refusedBy]!), remaining: tokens.map(Math.floor) };
    }
    buckets.forEach((bucket, i) => {
      const left = tokens[i]! - 1;
      this.#states.set(bucket.key, { tokens: left, at: now, fullAt: now + ((bucket.burst - left) * 1000) / bucket.ratePerSecond });
    });
    return { taken: true, remaining: tokens.map((t) => Math.floor(t - 1)) };
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#states.clear();
  }

  /** At most once a minute: buckets full again by now are dropped (their state is the default). */
  #sweep(now: number): void {
    if (now - this.#swept < 60_000) return;
    this.#swept = now;
    for (const [key, state] of this.#states) if (state.fullAt <= now) this.#states.delete(key);
  }
}
