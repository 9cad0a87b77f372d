/**
 * Redis going away and coming back, on a private redis-server (never the shared one): calls fail
 * fast with StoreUnavailableError while it is down, and the SAME store recovers without a restart.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { plainCodec } from '../../src/idempotency/codec.js';
import { createRedisClient, RedisStore } from '../../src/idempotency/redis-store.js';
import { StoreUnavailableError } from '../../src/idempotency/store.js';
import { SpareRedis, until } from '../helpers/redis-server.js';

const FAIL_FAST_BOUND_MS = 2000; // correctness bound: "does not hang", not a performance target
const timings = { lockTtlMs: 10_000, consumedTtlMs: 10_000 };

describe('RedisStore outage and recovery', () => {
  const redis = new SpareRedis();
  let store: RedisStore | undefined;

  before(() => redis.start());

  after(async () => {
    await store?.close();
    await redis.dispose();
  });

  it('fails fast while Redis is down and recovers on the same store object', async () => {
    store = new RedisStore({
      redis: createRedisClient(redis.url, { commandTimeoutMs: 500 }),
      keyPrefix: 'outage:',
      timings,
      codec: plainCodec,
    });
    assert.equal((await store.claim(`k-${randomUUID()}`, 'fp')).state, 'claimed');
    await store.ping();

    await redis.kill();

    for (const [name, call] of [
      ['claim', () => store!.claim(`k-${randomUUID()}`, 'fp')],
      ['ping', () => store!.ping()],
      ['complete', () => store!.complete('k', 'token', { status: 200, contentType: 'a', body: 'b' })],
      ['release', () => store!.release('k', 'token')],
    ] as const) {
      const started = Date.now();
      await assert.rejects(call(), StoreUnavailableError, name);
      const elapsed = Date.now() - started;
      assert.ok(elapsed < FAIL_FAST_BOUND_MS, `${name} took ${elapsed} ms while Redis was down`);
    }

    await redis.start();

    // The client reconnects by itself (retryStrategy); the restarted server has an empty script
    // cache, so this also proves EVALSHA falls back to EVAL.
    await until('store.ping to succeed again', 10_000, () => store!.ping().then(() => true, () => undefined));
    const result = await store.claim(`k-${randomUUID()}`, 'fp');
    assert.equal(result.state, 'claimed');
    assert.ok(result.state === 'claimed');
    assert.equal(await store.complete(`k-none`, result.token, { status: 200, contentType: 'a', body: 'b' }), false);
  });
});
