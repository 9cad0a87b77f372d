/**
 * One behavioural contract for every IdempotencyStore, run against each store x codec. The gateway
 * relies on exactly these semantics whichever store is configured.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IdempotencyStore, StoredResponse, StoreTimings } from '../../src/idempotency/store.js';

const LONG: StoreTimings = { lockTtlMs: 10_000, consumedTtlMs: 10_000 };
const SHORT_LOCK: StoreTimings = { lockTtlMs: 150, consumedTtlMs: 10_000 };
const SHORT_CONSUMED: StoreTimings = { lockTtlMs: 10_000, consumedTtlMs: 300 };
/** Comfortably past each short TTL, so expiry is certain, not raced. */
const PAST_LOCK_MS = 300;
const PAST_CONSUMED_MS = 450;

const RESPONSE: StoredResponse = {
  status: 201,
  contentType: 'application/json; charset=utf-8',
  body: '{"status_code":0,"response_data":{"pmt_ref_no":"12345","note":"é ✓ 😀"}}',
};
const OTHER_RESPONSE: StoredResponse = { status: 200, contentType: 'application/xml', body: '<r>b</r>' };

export function describeStoreContract(name: string, makeStore: (timings: StoreTimings) => IdempotencyStore | Promise<IdempotencyStore>): void {
  describe(`IdempotencyStore contract: ${name}`, () => {
    const opened: IdempotencyStore[] = [];
    const open = async (timings: StoreTimings = LONG): Promise<IdempotencyStore> => {
      const store = await makeStore(timings);
      opened.push(store);
      return store;
    };
    const newKey = (): string => `key-${randomUUID()}`;

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    /** Claims `key` and asserts it was claimed; returns the owner token. */
    async function claimOwned(store: IdempotencyStore, key: string, fp: string): Promise<string> {
      const result = await store.claim(key, fp);
      assert.equal(result.state, 'claimed');
      assert.ok(result.state === 'claimed');
      return result.token;
    }

    it('ping resolves', async () => {
      const store = await open();
      await store.ping();
    });

    it('claim on an empty key claims it with a token', async () => {
      const store = await open();
      const result = await store.claim(newKey(), 'fp1');
      assert.equal(result.state, 'claimed');
      assert.ok(result.state === 'claimed' && typeof result.token === 'string' && result.token.length >= 16);
    });

    it('tokens differ between claims', async () => {
      const store = await open();
      const a = await claimOwned(store, newKey(), 'fp1');
      const b = await claimOwned(store, newKey(), 'fp1');
      assert.notEqual(a, b);
    });

    it('a second claim sees in_progress, with sameFingerprint telling the fingerprints apart', async () => {
      const store = await open();
      const key = newKey();
      await claimOwned(store, key, 'fp1');
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'in_progress', sameFingerprint: true });
      assert.deepEqual(await store.claim(key, 'fp2'), { state: 'in_progress', sameFingerprint: false });
    });

    it('complete by the owner stores the response; a same-fingerprint claim replays it exactly', async () => {
      const store = await open();
      const key = newKey();
      const token = await claimOwned(store, key, 'fp1');
      assert.equal(await store.complete(key, token, RESPONSE), true);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
      // Replay is repeatable, not one-shot.
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
    });

    it('a different fingerprint on a consumed key gets sameFingerprint false and no response', async () => {
      const store = await open();
      const key = newKey();
      const token = await claimOwned(store, key, 'fp1');
      assert.equal(await store.complete(key, token, RESPONSE), true);
      const result = await store.claim(key, 'fp2');
      assert.deepEqual(result, { state: 'consumed', sameFingerprint: false });
      assert.equal('response' in result, false);
    });

    it('complete and release by a wrong token return false and leave the claim unchanged', async () => {
      const store = await open();
      const key = newKey();
      const token = await claimOwned(store, key, 'fp1');
      assert.equal(await store.complete(key, randomUUID(), OTHER_RESPONSE), false);
      assert.equal(await store.release(key, randomUUID()), false);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'in_progress', sameFingerprint: true });
      // The owner still holds it.
      assert.equal(await store.complete(key, token, RESPONSE), true);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
    });

    it('a consumed record cannot be completed again or released, even by its former owner', async () => {
      const store = await open();
      const key = newKey();
      const token = await claimOwned(store, key, 'fp1');
      assert.equal(await store.complete(key, token, RESPONSE), true);
      assert.equal(await store.complete(key, token, OTHER_RESPONSE), false);
      assert.equal(await store.release(key, token), false);
      assert.equal(await store.release(key, randomUUID()), false);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
    });

    it('complete and release on an unknown key return false', async () => {
      const store = await open();
      const key = newKey();
      assert.equal(await store.complete(key, randomUUID(), RESPONSE), false);
      assert.equal(await store.release(key, randomUUID()), false);
      await claimOwned(store, key, 'fp1'); // and nothing was created
    });

    it('release by the owner deletes the claim: the next claim claims again, any fingerprint', async () => {
      const store = await open();
      const key = newKey();
      const token = await claimOwned(store, key, 'fp1');
      assert.equal(await store.release(key, token), true);
      assert.equal(await store.release(key, token), false);
      const again = await claimOwned(store, key, 'fp2');
      assert.notEqual(again, token);
    });

    it('an expired lock makes the key claimable again', async () => {
      const store = await open(SHORT_LOCK);
      const key = newKey();
      await claimOwned(store, key, 'fp1');
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'in_progress', sameFingerprint: true });
      await sleep(PAST_LOCK_MS);
      await claimOwned(store, key, 'fp1');
    });

    it("owner token: after A's lock expires and B claims, A can neither complete nor release", async () => {
      const store = await open(SHORT_LOCK);
      const key = newKey();
      const tokenA = await claimOwned(store, key, 'fp1');
      await sleep(PAST_LOCK_MS);
      const tokenB = await claimOwned(store, key, 'fp1');
      assert.notEqual(tokenA, tokenB);
      assert.equal(await store.complete(key, tokenA, OTHER_RESPONSE), false);
      assert.equal(await store.release(key, tokenA), false);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'in_progress', sameFingerprint: true });
      assert.equal(await store.complete(key, tokenB, RESPONSE), true);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
    });

    it('an expired consumed record makes the key claimable again', async () => {
      const store = await open(SHORT_CONSUMED);
      const key = newKey();
      const token = await claimOwned(store, key, 'fp1');
      assert.equal(await store.complete(key, token, RESPONSE), true);
      assert.equal((await store.claim(key, 'fp1')).state, 'consumed');
      await sleep(PAST_CONSUMED_MS);
      await claimOwned(store, key, 'fp2');
    });

    it('50 concurrent claims on one key: exactly one claims, the rest see in_progress', async () => {
      const store = await open();
      const key = newKey();
      const results = await Promise.all(Array.from({ length: 50 }, () => store.claim(key, 'fp1')));
      assert.equal(results.filter((r) => r.state === 'claimed').length, 1);
      assert.equal(results.filter((r) => r.state === 'in_progress' && r.sameFingerprint).length, 49);
    });

    it('leaveUnresolved by the owner: a same-fingerprint claim takes the key over, told it is unresolved; another fingerprint is refused', async () => {
      const store = await open();
      const key = newKey();
      const token = await claimOwned(store, key, 'fp1');
      assert.equal(await store.leaveUnresolved(key, token), true);
      assert.deepEqual(await store.claim(key, 'fp2'), { state: 'unresolved', sameFingerprint: false });
      const takeover = await store.claim(key, 'fp1');
      assert.ok(takeover.state === 'claimed' && takeover.unresolved === true, JSON.stringify(takeover));
      assert.notEqual(takeover.token, token);
      // Taken over, it is an ordinary claim: held for everyone else, settled by its new owner only.
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'in_progress', sameFingerprint: true });
      assert.equal(await store.complete(key, token, OTHER_RESPONSE), false);
      assert.equal(await store.complete(key, takeover.token, RESPONSE), true);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
    });

    it('a taken-over unresolved claim can be left unresolved again, or released (then the next claim is a plain one)', async () => {
      const store = await open();
      const key = newKey();
      assert.equal(await store.leaveUnresolved(key, await claimOwned(store, key, 'fp1')), true);
      const first = await store.claim(key, 'fp1');
      assert.ok(first.state === 'claimed' && first.unresolved === true);
      assert.equal(await store.leaveUnresolved(key, first.token), true);
      const second = await store.claim(key, 'fp1');
      assert.ok(second.state === 'claimed' && second.unresolved === true);
      assert.equal(await store.release(key, second.token), true);
      const plain = await store.claim(key, 'fp2');
      assert.ok(plain.state === 'claimed' && plain.unresolved === undefined, JSON.stringify(plain));
    });

    it('leaveUnresolved by a wrong token, on a consumed record or on an unknown key returns false and changes nothing', async () => {
      const store = await open();
      const key = newKey();
      const token = await claimOwned(store, key, 'fp1');
      assert.equal(await store.leaveUnresolved(key, randomUUID()), false);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'in_progress', sameFingerprint: true });
      assert.equal(await store.complete(key, token, RESPONSE), true);
      assert.equal(await store.leaveUnresolved(key, token), false);
      assert.deepEqual(await store.claim(key, 'fp1'), { state: 'consumed', sameFingerprint: true, response: RESPONSE });
      const other = newKey();
      assert.equal(await store.leaveUnresolved(other, randomUUID()), false);
      await claimOwned(store, other, 'fp1');
    });

    it('50 concurrent claims on an unresolved key: exactly one takes it over', async () => {
      const store = await open();
      const key = newKey();
      assert.equal(await store.leaveUnresolved(key, await claimOwned(store, key, 'fp1')), true);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.claim(key, 'fp1')));
      assert.equal(results.filter((r) => r.state === 'claimed' && r.unresolved === true).length, 1);
      assert.equal(results.filter((r) => r.state === 'in_progress' && r.sameFingerprint).length, 49);
    });

    it('an unresolved record expires with the consumed TTL', async () => {
      const store = await open(SHORT_CONSUMED);
      const key = newKey();
      assert.equal(await store.leaveUnresolved(key, await claimOwned(store, key, 'fp1')), true);
      assert.deepEqual(await store.claim(key, 'fp2'), { state: 'unresolved', sameFingerprint: false });
      await sleep(PAST_CONSUMED_MS);
      const fresh = await store.claim(key, 'fp2');
      assert.ok(fresh.state === 'claimed' && fresh.unresolved === undefined);
    });

    it('keys are independent', async () => {
      const store = await open();
      const [k1, k2] = [newKey(), newKey()];
      const t1 = await claimOwned(store, k1, 'fp1');
      await claimOwned(store, k2, 'fp1');
      assert.equal(await store.complete(k1, t1, RESPONSE), true);
      assert.deepEqual(await store.claim(k2, 'fp1'), { state: 'in_progress', sameFingerprint: true });
    });
  });
}
