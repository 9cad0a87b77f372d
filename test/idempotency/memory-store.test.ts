/** MemoryStore specifics beyond the shared contract: the maxEntries and maxBytes bounds, and the codec at rest. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { plainCodec, type ResponseCodec } from '../../src/idempotency/codec.js';
import { CLAIM_OVERHEAD_BYTES, MemoryStore, RECORD_OVERHEAD_BYTES } from '../../src/idempotency/memory-store.js';
import type { RecordOverheadResult } from '../../scripts/bench/memory-store.js';
import { StoreUnavailableError, WITHHELD_NO_ROOM, type StoredResponse } from '../../src/idempotency/store.js';

const run = promisify(execFile);

const RESPONSE: StoredResponse = { status: 200, contentType: 'application/json', body: '{"ok":true}' };
const timings = { lockTtlMs: 1000, consumedTtlMs: 5000 };

/** A store on a hand-driven clock. */
function storeWithClock(maxEntries: number, codec: ResponseCodec = plainCodec, maxBytes = 2 ** 30) {
  const clock = { now: 0 };
  const store = new MemoryStore({ timings, maxEntries, maxBytes, codec, now: () => clock.now });
  return { store, clock };
}

async function claimToken(store: MemoryStore, key: string): Promise<string> {
  const result = await store.claim(key, 'fp');
  assert.ok(result.state === 'claimed', `expected ${key} to be claimed, got ${result.state}`);
  return result.token;
}

async function consume(store: MemoryStore, key: string, response = RESPONSE): Promise<void> {
  assert.equal(await store.complete(key, await claimToken(store, key), response), true);
}

/** An answer whose body is `bytes` characters. */
const answerOf = (bytes: number, char = 'x'): StoredResponse => ({ ...RESPONSE, body: `{"data":"${char.repeat(bytes - 11)}"}` });

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

  describe('maxBytes bound', () => {
    it('an answer too large for the whole store is withheld without evicting the answers already kept', async () => {
      const { store } = storeWithClock(100, plainCodec, 16 * 1024);
      for (const key of ['a', 'b']) assert.equal(await store.complete(key, await claimToken(store, key), RESPONSE), true);
      const big = { ...RESPONSE, body: 'x'.repeat(32 * 1024) };
      assert.equal(await store.complete('c', await claimToken(store, 'c'), big), true);
      for (const key of ['a', 'b']) assert.deepEqual(await store.claim(key, 'fp'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
      const c = await store.claim('c', 'fp');
      // Marked as the store's own want of room: the replay's problem says so, not "could hold card data".
      assert.ok(c.state === 'consumed' && c.sameFingerprint && c.response.withheld === WITHHELD_NO_ROOM, JSON.stringify(c));
    });

    it('a takeover of an unresolved record refused for want of room leaves the record unresolved', async () => {
      const { store } = storeWithClock(100, plainCodec, 4 * 1024);
      assert.equal(await store.leaveUnresolved('u', await claimToken(store, 'u')), true);
      // Live claims fill what is left: the next claim, the takeover included, is refused (503).
      const held: string[] = [];
      for (let i = 0; ; i++) {
        const found = await store.claim(`held-${i}`, 'fp').catch(() => undefined);
        if (found === undefined) break;
        held.push(`held-${i}`);
      }
      assert.ok(held.length >= 1);
      await assert.rejects(store.claim('u', 'fp'), StoreUnavailableError);
      assert.deepEqual(await store.claim('u', 'other'), { state: 'unresolved', sameFingerprint: false });
    });

    it('counts each record as its fixed overhead plus its characters (two bytes each beyond Latin-1)', async () => {
      const { store } = storeWithClock(100);
      const token = await claimToken(store, 'k1');
      assert.equal(store.bytes, CLAIM_OVERHEAD_BYTES + 'k1'.length + 'fp'.length);
      const latin = answerOf(1000, 'é');
      assert.equal(await store.complete('k1', token, latin), true);
      assert.equal(store.bytes, RECORD_OVERHEAD_BYTES + 'k1fp'.length + plainCodec.encode(latin, { key: 'k1', fingerprint: 'fp' }).length);
      const wide = answerOf(1000, '€');
      await consume(store, 'k2', wide);
      const wideBytes = RECORD_OVERHEAD_BYTES + 'k2fp'.length + 2 * plainCodec.encode(wide, { key: 'k2', fingerprint: 'fp' }).length;
      assert.equal(store.bytes, RECORD_OVERHEAD_BYTES + 'k1fp'.length + plainCodec.encode(latin, { key: 'k1', fingerprint: 'fp' }).length + wideBytes);
      await store.release('k3', await claimToken(store, 'k3'));
      assert.equal(store.size, 2, 'a released claim counts no more');
      assert.equal((await store.claim('k1', 'fp')).state, 'consumed');
      assert.equal(store.size, 2);
    });

    it('large answers evict the oldest consumed ones first, and the bytes held never exceed the bound', async () => {
      const maxBytes = 64 * 1024;
      const { store, clock } = storeWithClock(1000, plainCodec, maxBytes);
      for (let i = 0; i < 20; i++) {
        clock.now = i;
        await consume(store, `k${i}`, answerOf(10 * 1024));
        assert.ok(store.bytes <= maxBytes, `${store.bytes} bytes held after ${i + 1} answers`);
      }
      // 10 KiB answers in 64 KiB: the last five or six are kept, the oldest went first.
      assert.ok(store.size >= 5 && store.size <= 6, `${store.size} records`);
      for (let i = 20 - store.size; i < 20; i++) assert.equal((await store.claim(`k${i}`, 'fp')).state, 'consumed', `k${i}`);
      await claimToken(store, 'k0'); // evicted: claimable again
    });

    it('evicts unresolved records after the consumed ones, and never a live claim', async () => {
      const record = (key: string) => RECORD_OVERHEAD_BYTES + key.length + 2;
      const answer = answerOf(1200);
      const claimBytes = CLAIM_OVERHEAD_BYTES + 4;
      // Room for three claims, not three and the unresolved record; the consumed one (larger than a
      // claim, smaller than two) fits beside one claim and the unresolved record.
      const maxBytes = 3 * claimBytes + record('u1') - 1;
      const { store } = storeWithClock(100, plainCodec, maxBytes);
      await claimToken(store, 'l1');
      await store.leaveUnresolved('u1', await claimToken(store, 'u1'));
      await consume(store, 'c1', answer);
      await claimToken(store, 'l2'); // evicts c1, not u1
      assert.equal(store.size, 3);
      assert.equal((await store.claim('u1', 'other')).state, 'unresolved');
      await claimToken(store, 'l3'); // then u1
      assert.equal(store.size, 3);
      assert.equal(store.bytes, 3 * claimBytes);
      await assert.rejects(store.claim('u1', 'fp'), StoreUnavailableError); // four live claims do not fit
      for (const key of ['l1', 'l2', 'l3']) assert.deepEqual(await store.claim(key, 'fp'), { state: 'in_progress', sameFingerprint: true });
    });

    it('full of live claims: a claim fails closed, the claims stand', async () => {
      const maxBytes = CLAIM_OVERHEAD_BYTES * 4;
      const { store } = storeWithClock(100, plainCodec, maxBytes);
      for (const key of ['k1', 'k2', 'k3']) await claimToken(store, key);
      await assert.rejects(store.claim('k4', 'fp'), (e: unknown) => e instanceof StoreUnavailableError && /bytes/.test(e.message));
      assert.equal(store.size, 3);
      for (const key of ['k1', 'k2', 'k3']) assert.deepEqual(await store.claim(key, 'fp'), { state: 'in_progress', sameFingerprint: true });
    });

    it('an answer with no room beside the live claims is kept withheld: the key stays consumed, within the bound', async () => {
      const maxBytes = CLAIM_OVERHEAD_BYTES * 4;
      const { store } = storeWithClock(100, plainCodec, maxBytes);
      await claimToken(store, 'k1');
      await claimToken(store, 'k2');
      await consume(store, 'k3', answerOf(8 * 1024));
      assert.ok(store.bytes <= maxBytes, `${store.bytes} bytes`);
      const found = await store.claim('k3', 'fp');
      assert.ok(found.state === 'consumed' && found.sameFingerprint, found.state);
      assert.equal(found.response.body, '');
      assert.equal(found.response.status, 200);
      assert.match(found.response.withheld ?? '', /IDEMPOTENCY_MAX_BYTES/);
    });

    it('the heap its records take stays within what it counts (heap used after a full GC)', async function () {
      this.timeout(60_000);
      // In a process of its own: in the suite's, other tests' servers allocate between the two heap readings.
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/bench/memory-store.ts', '--record-overhead', '20000']);
      const { bytesPerRecord, counted } = JSON.parse(stdout) as RecordOverheadResult;
      assert.ok(bytesPerRecord.claimWithStaleEntries <= counted.claim, JSON.stringify(bytesPerRecord));
      assert.ok(bytesPerRecord.consumed <= counted.record, JSON.stringify(bytesPerRecord));
      assert.ok(bytesPerRecord.unresolved <= counted.record, JSON.stringify(bytesPerRecord));
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
    const maxBytes = 2 ** 20;
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new MemoryStore({ timings, maxEntries, maxBytes, codec: plainCodec }), RangeError);
    }
    for (const bytes of [0, CLAIM_OVERHEAD_BYTES, 2 ** 20 + 0.5, Number.NaN]) {
      assert.throws(() => new MemoryStore({ timings, maxEntries: 1, maxBytes: bytes, codec: plainCodec }), RangeError);
    }
    assert.throws(() => new MemoryStore({ timings: { lockTtlMs: 0, consumedTtlMs: 1 }, maxEntries: 1, maxBytes, codec: plainCodec }), RangeError);
  });
});
