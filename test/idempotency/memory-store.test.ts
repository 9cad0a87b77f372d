/** MemoryStore specifics beyond the shared contract: the maxEntries bound, and the codec at rest. */
import assert from 'node:assert/strict';
import { plainCodec, type ResponseCodec } from '../../src/idempotency/codec.js';
import { MemoryStore } from '../../src/idempotency/memory-store.js';
import { StoreUnavailableError, type StoredResponse } from '../../src/idempotency/store.js';

const RESPONSE: StoredResponse = { status: 200, contentType: 'application/json', body: '{"ok":true}' };
const timings = { lockTtlMs: 1000, consumedTtlMs: 5000 };

/** A store on a hand-driven clock. */
function storeWithClock(maxEntries: number, codec: ResponseCodec = plainCodec) {
  const clock = { now: 0 };
  const store = new MemoryStore({ timings, maxEntries, codec, now: () => clock.now });
  return { store, clock };
}

async function claimToken(store: MemoryStore, key: string): Promise<string> {
  const result = await store.claim(key, 'fp');
  assert.ok(result.state === 'claimed', `expected ${key} to be claimed, got ${result.state}`);
  return result.token;
}

async function consume(store: MemoryStore, key: string): Promise<void> {
  assert.equal(await store.complete(key, await claimToken(store, key), RESPONSE), true);
}

describe('MemoryStore', () => {
  describe('maxEntries bound', () => {
    it('evicts expired records before any live one', async () => {
      const { store, clock } = storeWithClock(3);
      await consume(store, 'k1'); // consumed, live until 5000
      await claimToken(store, 'k2'); // in_progress, lock expires at 1000
      await consume(store, 'k3');
      clock.now = 1500;
      await claimToken(store, 'k4');
      assert.equal(store.size, 3);
      // Both consumed records survived: only the expired claim made room.
      assert.equal((await store.claim('k1', 'fp')).state, 'consumed');
      assert.equal((await store.claim('k3', 'fp')).state, 'consumed');
      assert.deepEqual(await store.claim('k4', 'fp'), { state: 'in_progress', sameFingerprint: true });
    });

    it('then evicts the oldest consumed record, never a live claim', async () => {
      const { store, clock } = storeWithClock(3);
      await claimToken(store, 'k1'); // live claim, the oldest entry
      await consume(store, 'k2');
      clock.now = 10;
      await consume(store, 'k3');
      await claimToken(store, 'k4'); // full, nothing expired: k2 goes
      assert.equal(store.size, 3);
      assert.deepEqual(await store.claim('k1', 'fp'), { state: 'in_progress', sameFingerprint: true });
      assert.equal((await store.claim('k3', 'fp')).state, 'consumed');
      assert.deepEqual(await store.claim('k4', 'fp'), { state: 'in_progress', sameFingerprint: true });
      await claimToken(store, 'k2'); // evicted, so claimable again (this evicts k3)
      assert.equal(store.size, 3);
    });

    it('orders consumed records by completion, so the soonest to expire goes first', async () => {
      const { store, clock } = storeWithClock(3);
      const t1 = await claimToken(store, 'k1');
      const t2 = await claimToken(store, 'k2');
      assert.equal(await store.complete('k2', t2, RESPONSE), true); // completed first
      clock.now = 10;
      assert.equal(await store.complete('k1', t1, RESPONSE), true);
      await consume(store, 'k3');
      await claimToken(store, 'k4');
      assert.equal((await store.claim('k1', 'fp')).state, 'consumed');
      assert.equal(store.size, 3);
      await claimToken(store, 'k2'); // k2 was the one evicted
    });

    it('full of live claims: claim fails closed and the claims stand', async () => {
      const { store, clock } = storeWithClock(2);
      const t1 = await claimToken(store, 'k1');
      await claimToken(store, 'k2');
      await assert.rejects(store.claim('k3', 'fp'), StoreUnavailableError);
      assert.equal(store.size, 2);
      assert.deepEqual(await store.claim('k1', 'fp'), { state: 'in_progress', sameFingerprint: true });
      // Reads of existing keys still work while full.
      assert.equal(await store.complete('k1', t1, RESPONSE), true);
      // Once a lock expires, the sweep makes room.
      clock.now = 1001;
      await claimToken(store, 'k3');
    });
  });

  describe('expiry', () => {
    it('an expired record reads as absent and is deleted', async () => {
      const { store, clock } = storeWithClock(10);
      const token = await claimToken(store, 'k1');
      clock.now = 999;
      assert.equal(store.size, 1);
      assert.deepEqual(await store.claim('k1', 'fp'), { state: 'in_progress', sameFingerprint: true });
      clock.now = 1000; // lockTtlMs reached: expired
      assert.equal(await store.complete('k1', token, RESPONSE), false);
      assert.equal(store.size, 0);
    });

    it('a consumed record lives consumedTtlMs from completion', async () => {
      const { store, clock } = storeWithClock(10);
      const token = await claimToken(store, 'k1');
      clock.now = 900;
      assert.equal(await store.complete('k1', token, RESPONSE), true);
      clock.now = 5899;
      assert.equal((await store.claim('k1', 'fp')).state, 'consumed');
      clock.now = 5900;
      await claimToken(store, 'k1');
    });
  });

  it('keeps responses only in codec form, bound to their key and fingerprint, and surfaces decode failures as StoreUnavailableError', async () => {
    const encoded: string[] = [];
    let corrupt = false;
    const spy: ResponseCodec = {
      encode: (r, where) => {
        assert.deepEqual(where, { key: 'k1', fingerprint: 'fp' });
        const s = `enc:${plainCodec.encode(r, where)}`;
        encoded.push(s);
        return s;
      },
      decode: (s, where) => {
        assert.deepEqual(where, { key: 'k1', fingerprint: 'fp' });
        if (corrupt) throw new StoreUnavailableError('unreadable');
        assert.ok(s.startsWith('enc:'), 'decode receives what encode produced');
        return plainCodec.decode(s.slice(4), where);
      },
    };
    const { store } = storeWithClock(10, spy);
    await consume(store, 'k1');
    assert.equal(encoded.length, 1);
    assert.deepEqual(await store.claim('k1', 'fp'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
    corrupt = true;
    await assert.rejects(store.claim('k1', 'fp'), StoreUnavailableError);
    // A different fingerprint never decodes.
    assert.deepEqual(await store.claim('k1', 'other'), { state: 'consumed', sameFingerprint: false });
  });

  it('wraps a codec that throws something else as StoreUnavailableError', async () => {
    const broken: ResponseCodec = {
      encode: () => {
        throw new Error('boom');
      },
      decode: () => RESPONSE,
    };
    const { store } = storeWithClock(10, broken);
    const token = await claimToken(store, 'k1');
    const error = await store.complete('k1', token, RESPONSE).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof StoreUnavailableError);
    assert.equal((error.cause as Error).message, 'boom');
    assert.deepEqual(await store.claim('k1', 'fp'), { state: 'in_progress', sameFingerprint: true });
  });

  it('rejects every call once closed', async () => {
    const { store } = storeWithClock(10);
    await claimToken(store, 'k1');
    await store.close();
    await assert.rejects(store.ping(), StoreUnavailableError);
    await assert.rejects(store.claim('k1', 'fp'), StoreUnavailableError);
    await assert.rejects(store.release('k1', 'x'), StoreUnavailableError);
  });

  it('validates its options', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new MemoryStore({ timings, maxEntries, codec: plainCodec }), RangeError);
    }
    assert.throws(() => new MemoryStore({ timings: { lockTtlMs: 0, consumedTtlMs: 1 }, maxEntries: 1, codec: plainCodec }), RangeError);
  });
});
