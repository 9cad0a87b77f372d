/**
 * What a reader (or writer) of the store can learn or do, through real gateways on a real Redis:
 * fingerprints are keyed HMACs; an encrypted record moved onto another transactionId's key is
 * never replayed (and the claim says why in the log); a replay goes only to the client that made
 * the call; and the encryption key rotates on a live two-replica deployment without a 503.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { fingerprint } from '../../src/idempotency/fingerprint.js';
import { pathOf } from '../../scripts/lib/examples.js';
import { gatewayClients, simulatorSuite, txId, type TestGateway } from '../helpers/harness.js';
import { deleteByPrefix } from '../../scripts/lib/redis-keys.js';
import { gatewayRecordKey } from '../helpers/redis-records.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEYS = { A: 'store-reader-client-a-key-0123456789', B: 'store-reader-client-b-key-0123456789' };
const CLIENTS = gatewayClients([
  { name: 'a', key: KEYS.A },
  { name: 'b', key: KEYS.B },
]);
const key64 = () => randomBytes(32).toString('base64');

describe('what a reader of the store learns (real Redis)', function () {
  this.timeout(30_000);
  const prefix = `test:store-reader:${randomBytes(6).toString('hex')}:`;
  const fingerprintKey = key64();
  const [k1, k2] = [key64(), key64()];
  const suite = simulatorSuite();
  let redis: Redis;
  const gateway = (encryptionKey: string) =>
    suite.startGateway({
      GATEWAY_CLIENTS: CLIENTS,
      IDEMPOTENCY_STORE: 'redis',
      REDIS_URL,
      IDEMPOTENCY_KEY_PREFIX: prefix,
      IDEMPOTENCY_ENCRYPTION_KEY: encryptionKey,
      IDEMPOTENCY_FINGERPRINT_KEY: fingerprintKey,
    });
  const post = (gw: TestGateway, body: object, key = KEYS.A) => request(gw.url).post(pathOf('createAccount')).set('authorization', `Bearer ${key}`).send(body);
  const recordOf = async (transactionId: string) => {
    const key = gatewayRecordKey(prefix, 'createAccount', transactionId, fingerprintKey);
    assert.equal(await redis.exists(key), 1, `no record for ${transactionId}`);
    return key;
  };
  const calls = (transactionId: string) => suite.sim.requests().filter((r) => r.params.transactionId === transactionId).length;

  before(() => {
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  it('a fingerprint is a keyed HMAC, not a bare SHA-256 of the request', async () => {
    const gw = await gateway(`k1:${k1}`);
    const body = { transactionId: txId('hmac'), prodId: 501 };
    assert.equal((await post(gw, body)).status, 200);
    const stored = await redis.hget(await recordOf(body.transactionId), 'fp');
    const request_ = { client: 'a', params: body, format: 'json' };
    assert.equal(stored, fingerprint(request_, Buffer.from(fingerprintKey, 'base64')));
    assert.notEqual(stored, createHash('sha256').update(JSON.stringify(request_)).digest('hex'));
  });

  it('a record copied onto another transactionId is never replayed; the claim logs why', async () => {
    const gw = await gateway(`k1:${k1}`);
    const first = { transactionId: txId('moved-from'), prodId: 501 };
    const second = { transactionId: txId('moved-to'), prodId: 501 };
    const original = await post(gw, first);
    assert.equal((await post(gw, second)).status, 200);
    // Another customer's answer, copied over this transactionId's own (and its fingerprint too).
    const [from, to] = [await recordOf(first.transactionId), await recordOf(second.transactionId)];
    await redis.hset(to, 'resp', (await redis.hget(from, 'resp'))!);
    const retry = await post(gw, second);
    assert.equal(retry.status, 503, retry.text);
    assert.ok(!retry.text.includes(JSON.parse(original.text).response_data[0].pmt_ref_no));
    const cause = gw.logs.find((l) => l.requestId === retry.headers['x-request-id'] && l.msg === 'idempotency claim failed: nothing was forwarded');
    assert.match(String(cause?.reason), /moved from another transactionId/);
    assert.equal(calls(second.transactionId), 1, 'never forwarded again');
  });

  it("a replay goes only to the client that made the call: another client's same request is 422, without the body", async () => {
    const gw = await gateway(`k1:${k1}`);
    const body = { transactionId: txId('clients'), prodId: 501 };
    const mine = await post(gw, body, KEYS.A);
    assert.equal(mine.status, 200);
    const theirs = await post(gw, body, KEYS.B);
    assert.equal(theirs.status, 422, theirs.text);
    assert.equal(JSON.parse(theirs.text).code, 'idempotency_key_reused');
    assert.ok(!theirs.text.includes('pmt_ref_no') && !theirs.text.includes(JSON.parse(mine.text).rtoken));
    assert.equal((await post(gw, body, KEYS.A)).headers['idempotent-replayed'], 'true');
    assert.equal(calls(body.transactionId), 1);
  });

  it('the encryption key rotates on two live replicas without a single 503 (README: rotating the encryption key)', async () => {
    const replay = async (gw: TestGateway, body: object) => {
      const res = await post(gw, body);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['idempotent-replayed'], 'true', 'not a replay');
    };
    const written: object[] = [];
    const write = async (gw: TestGateway) => {
      const body = { transactionId: txId('rotate'), prodId: 501 };
      assert.equal((await post(gw, body)).status, 200);
      written.push(body);
    };
    // Each phase: both replicas write, and every record written so far replays on both.
    const phase = async (one: TestGateway, two: TestGateway) => {
      await write(one);
      await write(two);
      for (const body of written) for (const gw of [one, two]) await replay(gw, body);
    };
    const restart = async (gw: TestGateway, ring: string) => {
      await gw.stop();
      return gateway(ring);
    };
    let [one, two] = [await gateway(`k1:${k1}`), await gateway(`k1:${k1}`)];
    await phase(one, two);
    // 1. Add the new key, second (decrypt only), replica by replica.
    one = await restart(one, `k1:${k1},k2:${k2}`);
    await phase(one, two);
    two = await restart(two, `k1:${k1},k2:${k2}`);
    await phase(one, two);
    // 2. Put it first (it now encrypts), replica by replica: the other can read its records.
    one = await restart(one, `k2:${k2},k1:${k1}`);
    await phase(one, two);
    two = await restart(two, `k2:${k2},k1:${k1}`);
    await phase(one, two);
    // 3. Drop the old key only once its records have expired (IDEMPOTENCY_TTL_SECONDS): before
    // that, a retry of an old transactionId is a 503 that names the missing key.
    const early = await restart(one, `k2:${k2}`);
    const old = await post(early, written[0]!);
    assert.equal(old.status, 503);
    assert.match(String(early.logs.find((l) => l.requestId === old.headers['x-request-id'] && l.reason)?.reason), /key id "k1", which the key ring/);
  });
});
