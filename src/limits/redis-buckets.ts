/**
 * Token buckets in Redis, shared by every replica: one script takes from all of a request's
 * buckets atomically, on Redis' own clock (replicas' clocks may differ). The keys share one hash
 * tag, so the script runs on one Cluster slot; they live under the store's key prefix, on the same
 * Redis (single, Sentinel or Cluster). A bucket is a hash {t: tokens, ts: ms}, expiring once it
 * would be full again (its state is then the default).
 */
import type { RedisClient } from '../idempotency/redis-client.js';
import { BucketsUnavailableError, type Bucket, type TakeResult, type TokenBuckets } from './token-buckets.js';

/** KEYS the buckets; ARGV rate and burst of each. Returns {1, remaining...} or {0, refused index, retry ms, remaining...}. */
const TAKE_LUA = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tokens = {}
local remaining = {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 't', 'ts')
  local t, ts = tonumber(state[1]), tonumber(state[2])
  if t == nil or ts == nil then t = burst else t = math.min(burst, t + math.max(0, now - ts) * rate / 1000) end
  tokens[i] = t
  remaining[i] = math.floor(t)
end
for i = 1, #KEYS do
  if tokens[i] < 1 then
    local rate = tonumber(ARGV[2 * i - 1])
    return {0, i - 1, math.max(1, math.ceil((1 - tokens[i]) * 1000 / rate)), unpack(remaining)}
  end
end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local left = tokens[i] - 1
  redis.call('HSET', key, 't', tostring(left), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((burst - left) * 1000 / rate) + 1000)
  remaining[i] = math.floor(left)
end
return {1, unpack(remaining)}
`;

interface TakeCommand {
  rateLimitTake(numberOfKeys: number, ...args: Array<string | number>): Promise<number[]>;
}

export class RedisBuckets implements TokenBuckets {
  readonly #redis: RedisClient & TakeCommand;
  readonly #prefix: string;

  /** `prefix`: the store's key prefix; the buckets live under `<prefix>{rl}`. */
  constructor(redis: RedisClient, prefix: string) {
    redis.defineCommand('rateLimitTake', { lua: TAKE_LUA });
    this.#redis = redis as RedisClient & TakeCommand;
    this.#prefix = `${prefix}{rl}`;
  }

  async take(buckets: readonly Bucket[]): Promise<TakeResult> {
    let reply: number[];
    try {
      reply = await this.#redis.rateLimitTake(
        buckets.length,
        ...buckets.map((b) => this.#prefix + b.key),
        ...buckets.flatMap((b) => [b.ratePerSecond, b.burst]),
      );
    } catch (err) {
      throw new BucketsUnavailableError(`redis rate limit failed: ${(err as Error).message}`, { cause: err });
    }
    if (reply[0] === 1) return { taken: true, remaining: reply.slice(1).map(Number) };
    return { taken: false, refusedBy: Number(reply[1]), retryAfterMs: Number(reply[2]), remaining: reply.slice(3).map(Number) };
  }

  /** Commands fail fast while the connection is down (no offline queue): wait for it once, at start-up. */
  async ready(timeoutMs: number): Promise<void> {
    if (this.#redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
