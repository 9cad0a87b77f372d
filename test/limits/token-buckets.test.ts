/**
 * The token buckets behind the rate limits, both implementations against one contract (memory,
 * and Redis on a real server, on its own clock): a burst, the refill rate, all or nothing across a
 * request's buckets, the wait until the next token, independent keys.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { MemoryBuckets } from '../../src/limits/memory-buckets.js';
import { RedisBuckets } from '../../src/limits/redis-buckets.js';
import type { Bucket, TokenBuckets } from '../../src/limits/token-buckets.js';
import { deleteByPrefix } from '../../scripts/lib/redis-keys.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const IMPLEMENTATIONS: Array<{ name: string; open: (prefix: string) => Promise<TokenBuckets> }> = [
  { name: 'MemoryBuckets', open: async () => new MemoryBuckets() },
  {
    name: 'RedisBuckets',
    open: async (prefix) => {
      const buckets = new RedisBuckets(new Redis(REDIS_URL, { enableOfflineQueue: false }), prefix);
      await buckets.ready(2000);
      return buckets;
    },
  },
];

for (const { name, open } of IMPLEMENTATIONS) {
  describe(`token buckets: ${name}`, () => {
    const prefix = `test:buckets:${randomBytes(6).toString('hex')}:`;
    let buckets: TokenBuckets;
    before(async () => {
      buckets = await open(prefix);
    });
    after(async () => {
      await buckets.close();
      const redis = new Redis(REDIS_URL);
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    });
    const bucket = (label: string, ratePerSecond: number, burst: number): Bucket => ({
      key: `${label}-${randomBytes(4).toString('hex')}`,
      ratePerSecond,
      burst,
    });

    it('a full bucket allows its burst at once, then refuses with the wait until the next token', async () => {
      const b = bucket('burst', 2, 3);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await buckets.take([b]));
      assert.deepEqual(
        results.slice(0, 3).map((r) => r.taken),
        [true, true, true],
      );
      assert.deepEqual(
        results.slice(0, 3).map((r) => r.remaining[0]),
        [2, 1, 0],
      );
      const refused = results[3]!;
      assert.equal(refused.taken, false);
      if (refused.taken) return;
      assert.equal(refused.refusedBy, 0);
      // One token at 2 a second: at most 500 ms away (less, for the time the takes took).
      assert.ok(refused.retryAfterMs > 300 && refused.retryAfterMs <= 500, String(refused.retryAfterMs));
    });

    it('refills at its rate, never above its burst', async () => {
      // 2 a second: a token every 500 ms, so a loaded machine's delays between takes cannot refill one.
      const b = bucket('refill', 2, 2);
      assert.ok((await buckets.take([b])).taken);
      assert.ok((await buckets.take([b])).taken);
      assert.equal((await buckets.take([b])).taken, false);
      await sleep(600); // one token
      assert.ok((await buckets.take([b])).taken);
      assert.equal((await buckets.take([b])).taken, false);
      await sleep(2600); // five tokens' worth, but the bucket holds two
      const results = [await buckets.take([b]), await buckets.take([b]), await buckets.take([b])];
      assert.deepEqual(
        results.map((r) => r.taken),
        [true, true, false],
      );
    });

    it('all or nothing: a request refused by its second bucket keeps the token of the first', async () => {
      const own = bucket('own', 1, 5);
      const shared = bucket('shared', 0.1, 1);
      assert.ok((await buckets.take([own, shared])).taken);
      const refused = await buckets.take([own, shared]);
      assert.equal(refused.taken, false);
      if (!refused.taken) assert.equal(refused.refusedBy, 1);
      // own still has 4: nothing was taken from it by the refused request.
      const alone = await buckets.take([own]);
      assert.ok(alone.taken);
      assert.equal(alone.remaining[0], 3);
    });

    it('keys are independent', async () => {
      const [a, b] = [bucket('a', 0.1, 1), bucket('b', 0.1, 1)];
      assert.ok((await buckets.take([a])).taken);
      assert.equal((await buckets.take([a])).taken, false);
      assert.ok((await buckets.take([b])).taken);
    });
  });
}
