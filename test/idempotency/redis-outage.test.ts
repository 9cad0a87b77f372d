/**
 * Redis going away and coming back, on a private redis-server (never the shared one): calls fail
 * fast with StoreUnavailableError while it is down; a server that comes back without its data
 * (no persistence) fences new claims for one lock TTL, since a claim it forgot may still be in
 * flight; then the SAME store works again without a restart.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { plainCodec } from '../../src/idempotency/codec.js';
import { RedisStore } from '../../src/idempotency/redis-store.js';
import { StoreFencedError, StoreUnavailableError, type IdempotencyStore, type StoreEvent } from '../../src/idempotency/store.js';
import { SpareRedis, until } from '../../scripts/lib/redis-server.js';
import { storeClient } from '../../scripts/lib/redis-keys.js';

const FAIL_FAST_BOUND_MS = 2000; // correctness bound: "does not hang", not a performance target
const LOCK_TTL_MS = 1500;
const timings = { lockTtlMs: LOCK_TTL_MS, consumedTtlMs: 10_000 };
const response = { status: 200, contentType: 'a', body: 'b' };

/** Claims `key`, expecting the fence; returns how long the store said it lasts. */
async function fenced(store: IdempotencyStore, key: string): Promise<number> {
  const error = await store.claim(key, 'fp').then(
    (r) => assert.fail(`expected the claim to be refused, got ${r.state}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof StoreFencedError, String(error));
  assert.ok(error.retryAfterMs > 0 && error.retryAfterMs <= LOCK_TTL_MS, `fence of ${error.retryAfterMs} ms`);
  return error.retryAfterMs;
}

describe('RedisStore outage, restart without persistence, and recovery', () => {
  const redis = new SpareRedis();
  const events: StoreEvent[] = [];
  let store: RedisStore | undefined;

  before(async () => {
    await redis.start();
    store = new RedisStore({
      redis: storeClient(redis.url, 500),
      keyPrefix: 'outage:',
      timings,
      codec: plainCodec,
      commandTimeoutMs: 1000,
      onEvent: (e) => events.push(e),
    });
  });

  after(async () => {
    await store?.close();
    await redis.dispose();
  });

  it('a server younger than one lock TTL: new claims wait until a lock TTL after its start (an empty store cannot be told from one that forgot)', async () => {
    // The same key, so the same bucket: another bucket's fence is computed when it is first used,
    // from an uptime Redis rounds down to the second, and may end a little later.
    const key = `k-${randomUUID()}`;
    const waitMs = await fenced(store!, key);
    await sleep(waitMs + 50);
    assert.equal((await store!.claim(key, 'fp')).state, 'claimed');
  });

  it('fails fast while Redis is down; restarted empty, it refuses new claims for one lock TTL in every bucket, then recovers', async () => {
    const held = `k-${randomUUID()}`;
    const heldClaim = await store!.claim(held, 'fp');
    assert.ok(heldClaim.state === 'claimed');
    await store!.ping();

    await redis.kill();

    for (const [name, call] of [
      ['claim', () => store!.claim(`k-${randomUUID()}`, 'fp')],
      ['ping', () => store!.ping()],
      ['complete', () => store!.complete('k', 'token', response)],
      ['release', () => store!.release('k', 'token')],
      ['inspect', () => store!.inspect()],
    ] as const) {
      const started = Date.now();
      await assert.rejects(call(), StoreUnavailableError, name);
      const elapsed = Date.now() - started;
      assert.ok(elapsed < FAIL_FAST_BOUND_MS, `${name} took ${elapsed} ms while Redis was down`);
    }

    events.length = 0;
    await redis.start();
    // The client reconnects by itself (retryStrategy); the restarted server has an empty script
    // cache, so this also proves EVALSHA falls back to EVAL.
    await until('store.ping to succeed again', 10_000, () =>
      store!.ping().then(
        () => true,
        () => undefined,
      ),
    );

    // The held claim is gone with the server's memory, and its call may still be running: the
    // same key, and any other, is refused, whichever bucket it falls in.
    await fenced(store!, held);
    for (let i = 0; i < 20; i++) await fenced(store!, `k-${randomUUID()}`);
    assert.equal(await store!.complete(held, heldClaim.token, response), false, 'the forgotten claim cannot complete');

    // The reconnection probed every bucket and said so, once per reason.
    const lost = await until('the loss to be reported', 5000, async () => {
      const found = events.filter((e) => e.type === 'writes_may_be_lost');
      return found.reduce((n, e) => n + e.buckets, 0) >= 1000 ? found : undefined;
    });
    assert.ok(
      lost.every((e) => e.reason === 'epoch_missing' && e.fencedMs > 0 && e.fencedMs <= LOCK_TTL_MS),
      JSON.stringify(lost),
    );

    await sleep(LOCK_TTL_MS + 50);
    const result = await store!.claim(held, 'fp');
    assert.ok(result.state === 'claimed');
    assert.equal(await store!.complete(held, result.token, response), true);
  });
});
