/** RedisStore specifics beyond the shared contract: what lands in Redis, and unreadable records. */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { aesGcmCodec, plainCodec, type ResponseCodec } from '../../src/idempotency/codec.js';
import { RedisStore } from '../../src/idempotency/redis-store.js';
import { StoreUnavailableError, type StoredResponse, type StoreTimings } from '../../src/idempotency/store.js';
import { adminClient, deleteByPrefix, recordKey, REDIS_URL, storeClient, uniquePrefix } from '../../scripts/lib/redis-keys.js';

const SECRET = 'SECRET-PAN-4870931234561264';
const RESPONSE: StoredResponse = { status: 200, contentType: 'application/json', body: `{"card":"${SECRET}"}` };
const timings: StoreTimings = { lockTtlMs: 5_000, consumedTtlMs: 60_000 };

describe('RedisStore', () => {
  const prefix = uniquePrefix('idem-redis');
  const opened: RedisStore[] = [];
  let admin: Redis;

  const open = (codec: ResponseCodec, keyPrefix = prefix): RedisStore => {
    const store = new RedisStore({ redis: storeClient(REDIS_URL), keyPrefix, timings, codec, commandTimeoutMs: 1000 });
    opened.push(store);
    return store;
  };
  const newKey = (): string => `key-${randomUUID()}`;

  async function claimToken(store: RedisStore, key: string, fp = 'fp'): Promise<string> {
    const result = await store.claim(key, fp);
    assert.ok(result.state === 'claimed', `expected claimed, got ${result.state}`);
    return result.token;
  }

  before(() => {
    admin = adminClient();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  after(async () => {
    await deleteByPrefix(admin, prefix);
    await admin.quit();
  });

  it('keeps one hash per record: state, fp, token while in progress', async () => {
    const store = open(plainCodec);
    const key = newKey();
    const token = await claimToken(store, key, 'fp-a');
    assert.deepEqual(await admin.hgetall(recordKey(prefix, key)), { state: 'in_progress', fp: 'fp-a', token });
    const pttl = await admin.pttl(recordKey(prefix, key));
    assert.ok(pttl > 0 && pttl <= timings.lockTtlMs, `in_progress PTTL ${pttl}`);
  });

  it('then state, fp, resp once consumed, with the consumed TTL', async () => {
    const store = open(plainCodec);
    const key = newKey();
    assert.equal(await store.complete(key, await claimToken(store, key, 'fp-a'), RESPONSE), true);
    const raw = await admin.hgetall(recordKey(prefix, key));
    assert.deepEqual(Object.keys(raw).sort(), ['fp', 'resp', 'state']);
    assert.equal(raw.state, 'consumed');
    assert.equal(raw.fp, 'fp-a');
    const pttl = await admin.pttl(recordKey(prefix, key));
    assert.ok(pttl > timings.lockTtlMs && pttl <= timings.consumedTtlMs, `consumed PTTL ${pttl}`);
  });

  it('plainCodec stores the body readable (so the next check can fail)', async () => {
    const store = open(plainCodec);
    const key = newKey();
    assert.equal(await store.complete(key, await claimToken(store, key), RESPONSE), true);
    const raw = await admin.hgetallBuffer(recordKey(prefix, key));
    assert.ok(raw.resp?.toString('utf8').includes(SECRET));
  });

  it('aesGcmCodec stores no plaintext of the body', async () => {
    const store = open(aesGcmCodec([{ id: 'test', key: randomBytes(32) }]));
    const key = newKey();
    assert.equal(await store.complete(key, await claimToken(store, key), RESPONSE), true);
    const raw = await admin.hgetallBuffer(recordKey(prefix, key));
    const everything = Buffer.concat(Object.entries(raw).flatMap(([f, v]) => [Buffer.from(f), v])).toString('latin1');
    assert.equal(everything.includes(SECRET), false);
    assert.equal(everything.includes('4870931234561264'), false);
    assert.equal(everything.includes('card'), false);
    assert.match(raw.resp?.toString('utf8') ?? '', /^v2\.test\./);
    // Replay still returns the exact response.
    assert.deepEqual(await store.claim(key, 'fp'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
  });

  for (const [name, makeCodec] of [
    ['plainCodec', () => plainCodec],
    ['aesGcmCodec', () => aesGcmCodec([{ id: 'test', key: randomBytes(32) }])],
  ] as const) {
    it(`a corrupted resp field rejects a same-fingerprint claim with StoreUnavailableError (${name})`, async () => {
      const store = open(makeCodec());
      const key = newKey();
      assert.equal(await store.complete(key, await claimToken(store, key), RESPONSE), true);
      const resp = (await admin.hget(recordKey(prefix, key), 'resp')) ?? '';
      await admin.hset(recordKey(prefix, key), 'resp', resp.slice(0, -7));
      await assert.rejects(store.claim(key, 'fp'), StoreUnavailableError);
      // A different fingerprint never needs the response.
      assert.deepEqual(await store.claim(key, 'other'), { state: 'consumed', sameFingerprint: false });
    });
  }

  it('a record encrypted with key A cannot be read by a store with key B', async () => {
    const storeA = open(aesGcmCodec([{ id: 'test', key: randomBytes(32) }]));
    const storeB = open(aesGcmCodec([{ id: 'test', key: randomBytes(32) }]));
    const key = newKey();
    assert.equal(await storeA.complete(key, await claimToken(storeA, key), RESPONSE), true);
    await assert.rejects(storeB.claim(key, 'fp'), StoreUnavailableError);
    assert.equal((await storeA.claim(key, 'fp')).state, 'consumed');
  });

  it('a hash it did not write (no state) is an unreadable record, not something to overwrite', async () => {
    const store = open(plainCodec);
    const key = newKey();
    await admin.hset(recordKey(prefix, key), 'foo', 'bar');
    await assert.rejects(store.claim(key, 'fp'), StoreUnavailableError);
    assert.deepEqual(await admin.hgetall(recordKey(prefix, key)), { foo: 'bar' });
  });

  it('a consumed record missing its resp is unreadable', async () => {
    const store = open(plainCodec);
    const key = newKey();
    await admin.hset(recordKey(prefix, key), 'state', 'consumed', 'fp', 'fp');
    await assert.rejects(store.claim(key, 'fp'), StoreUnavailableError);
  });

  it('claims from several clients at once: exactly one wins', async () => {
    const stores = Array.from({ length: 5 }, () => open(plainCodec));
    await Promise.all(stores.map((s) => s.ping()));
    const key = newKey();
    const results = await Promise.all(stores.flatMap((s) => Array.from({ length: 10 }, () => s.claim(key, 'fp'))));
    assert.equal(results.filter((r) => r.state === 'claimed').length, 1);
    assert.equal(results.filter((r) => r.state === 'in_progress').length, 49);
  });

  it('uses its key prefix: stores with different prefixes do not see each other', async () => {
    const a = open(plainCodec, `${prefix}a:`);
    const b = open(plainCodec, `${prefix}b:`);
    const key = newKey();
    await claimToken(a, key);
    await claimToken(b, key);
    assert.equal(await admin.exists(recordKey(`${prefix}a:`, key), recordKey(`${prefix}b:`, key)), 2);
  });

  it('works when called right after construction, before the first connection is up', async () => {
    const store = open(plainCodec); // no ping first: the client is still connecting
    await claimToken(store, newKey());
  });

  it('rejects with StoreUnavailableError (cause kept) once closed; close twice is fine', async () => {
    const store = open(plainCodec);
    await store.ping();
    await store.close();
    await store.close();
    const error = await store.claim(newKey(), 'fp').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof StoreUnavailableError, String(error));
    assert.ok(error.cause instanceof Error);
    await assert.rejects(store.ping(), StoreUnavailableError);
  });
});
