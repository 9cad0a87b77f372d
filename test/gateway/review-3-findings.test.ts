/**
 * The third security review (docs/hardening.md, "Third review"), each finding reproduced against
 * the real gateway on a real Redis: card numbers in any writing of a transactionId (2), a key
 * rotation (3), a shared store without a fingerprint key (4), records written by someone with Redis
 * access (6), answers the replay filter cannot vouch for (7), secrets in start-up refusals (9).
 * Findings 1 and 5 are in hostile-network.test.ts, 10 and the config side of 3, 4, 9 in
 * unit/config.test.ts, 7's unit cases in unit/pci.test.ts, 11 in review-findings, 12 in client/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import request from 'supertest';
import { pathOf } from '../../scripts/lib/examples.js';
import { gatewayClients, gatewaySuite, startTestGateway, txId, uniqueSsn, type TestGateway } from '../helpers/harness.js';
import { spawnGateway } from '../helpers/process.js';
import { deleteByPrefix } from '../../scripts/lib/redis-keys.js';
import { gatewayRecordKey } from '../helpers/redis-records.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEYS = { old: 'review-3-old-key-0123456789abcdef', next: 'review-3-new-key-0123456789abcdef', other: 'review-3-other-key-0123456789abc' };
const CLIENTS = gatewayClients([
  { name: 'onboarding', key: [KEYS.next, KEYS.old] },
  { name: 'other', key: KEYS.other },
]);

/** Every run of digits in the text, in any script, separators and all removed. */
function digitsOf(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\p{Nd}/gu, (d) => String(d.codePointAt(0)! & 0xf))
    .replace(/[^0-9]/g, '');
}

describe('security review 3 (real gateway, real Redis)', function () {
  this.timeout(60_000);
  const prefix = `test:review-3:${randomBytes(6).toString('hex')}:`;
  const suite = gatewaySuite({
    GATEWAY_CLIENTS: CLIENTS,
    IDEMPOTENCY_STORE: 'redis',
    REDIS_URL,
    IDEMPOTENCY_KEY_PREFIX: prefix,
    IDEMPOTENCY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  });
  let redis: Redis;
  before(() => {
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });
  const post = (body: object, key = KEYS.next) => request(suite.gw.url).post(pathOf('createAccount')).set('authorization', `Bearer ${key}`).send(body);
  const account = (transactionId: string) => ({ transactionId, prodId: 501, firstName: 'Ada', lastName: 'Lovelace', idType: 2, id: uniqueSsn() });
  const calls = (transactionId: string) => suite.sim.requests().filter((r) => r.params.transactionId === transactionId).length;

  it('2: a card number or SSN in any writing of a transactionId is masked in the log, never a Redis key, never replayed', async () => {
    const run = randomBytes(2).toString('hex').replace(/[0-9]/g, 'x');
    const ids = [
      `4111111111111111-01-${run}`,
      `4111-1111-1111-1111/2026-12-03-${run}`,
      `ssn 123-45-6789-2 ${run}`,
      `4111 -- 1111 -- 1111 -- 1111 ${run}`,
      `４１１１１１１１１１１１１１１１-${run}`,
      `٤١١١١١١١١١١١١١١١-${run}`,
    ];
    for (const transactionId of ids) {
      const body = account(transactionId);
      const first = await post(body);
      assert.equal(first.status, 200, `${transactionId}: ${first.text}`);
      const retry = await post(body);
      assert.equal(retry.status, 410, `${transactionId}: a retry is withheld, not replayed: ${retry.text}`);
      assert.equal(calls(transactionId), 1, transactionId);
      assert.equal(await redis.exists(gatewayRecordKey(prefix, 'createAccount', transactionId)), 1, 'the record is under the HMAC of its identity');
    }
    const keys = await redis.keys(`${prefix}*`);
    const logs = suite.gw.rawLogs.join('');
    for (const transactionId of ids) {
      const digits = digitsOf(transactionId);
      assert.ok(!keys.some((k) => digitsOf(k).includes(digits.slice(0, 9))), `a Redis key holds the digits of ${transactionId}`);
      assert.ok(!digitsOf(logs).includes(digits.slice(0, 9)), `the log holds the digits of ${transactionId}`);
    }
    // A path is masked however its digits are separated, in the log and in the 404's detail.
    const notFound = await request(suite.gw.url).post('/intserv/4.0/4111----1111----1111----1111').set('authorization', `Bearer ${KEYS.next}`).send({});
    assert.equal(notFound.status, 404);
    assert.ok(!digitsOf(notFound.text).includes('41111111'), notFound.text);
    assert.ok(!digitsOf(suite.gw.rawLogs.join('')).includes('411111111111'), 'the 404 path is masked in the log');
  });

  it('3: a retry with the rotated key is the same client: replayed, not a 422', async () => {
    const body = account(txId('rotation'));
    const first = await post(body, KEYS.old);
    assert.equal(first.status, 200, first.text);
    const retry = await post(body, KEYS.next);
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(calls(body.transactionId), 1);
    // Another client is still another request.
    assert.equal((await post(body, KEYS.other)).status, 422);
  });

  it('6: a record rewritten by someone with Redis access fails closed (503, logged), never forwards', async () => {
    const tampered = [
      ['state claimed', ['state', 'claimed']],
      ['state fenced', ['state', 'fenced']],
      ['state garbage', ['state', 'x'.repeat(100)]],
      ['fingerprint too long', ['fp', 'f'.repeat(10_000)]],
      ['a 3 MB response', ['resp', 'r'.repeat(3 * 1024 * 1024)]],
    ] as const;
    for (const [what, [field, value]] of tampered) {
      const body = account(txId('tampered'));
      assert.equal((await post(body)).status, 200);
      const key = gatewayRecordKey(prefix, 'createAccount', body.transactionId);
      await redis.hset(key, field, value);
      if (field === 'resp') await redis.hset(key, 'state', 'consumed');
      const answers = await Promise.all(Array.from({ length: 6 }, () => post(body)));
      for (const answer of answers) {
        assert.equal(answer.status, 503, `${what}: ${answer.status} ${answer.text}`);
        assert.equal(JSON.parse(answer.text).code, 'idempotency_store_unavailable');
        assert.match(String(answer.headers['retry-after']), /^[1-9][0-9]*$/, `${what}: Retry-After ${answer.headers['retry-after']}`);
      }
      assert.equal(calls(body.transactionId), 1, `${what}: forwarded again`);
      assert.ok(
        suite.gw.logs.some((l) => l.msg === 'idempotency claim failed: nothing was forwarded' && /unreadable/.test(String(l.reason))),
        what,
      );
    }
    // A key of another type in the record's place: the same.
    const body = account(txId('not-a-hash'));
    const key = gatewayRecordKey(prefix, 'createAccount', body.transactionId);
    await redis.set(key, 'claimed', 'PX', 60_000);
    assert.equal((await post(body)).status, 503);
    assert.equal(calls(body.transactionId), 0);
  });

  describe('7: an answer the replay filter cannot vouch for is withheld, and the call is never repeated', () => {
    let upstream: http.Server;
    let upstreamGw: TestGateway;
    let served = 0;
    let answer = '';
    before(async () => {
      upstream = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          served++;
          res.setHeader('content-type', 'application/json');
          res.end(answer);
        });
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
      upstreamGw = await startTestGateway(url, { GATEWAY_CLIENTS: CLIENTS, IDEMPOTENCY_STORE: 'redis', REDIS_URL, IDEMPOTENCY_KEY_PREFIX: prefix });
    });
    after(async () => {
      await upstreamGw.stop();
      await new Promise((resolve) => upstream.close(resolve));
    });
    // A whole createAccount answer as the spec describes it, plus what the case adds.
    const envelope = (extra: string) =>
      `{"status_code":0,"status":"Success","processing_time":0.1,"response_data":[{"pmt_ref_no":"074100000001","product_id":"501","galileo_account_number":"1000000001","cip":null,"card_id":"10001","new_emboss_uuid":"29a79058-9823-4dd3-a048-4b2131fd8735","card_number":"487093XXXXXX0015","expiry_date":null,"card_security_code":null,"emboss_line_2":null,"billing_cycle_day":2${extra}}],"echo":{"provider_transaction_id":"","provider_timestamp":null,"transaction_id":"t"},"rtoken":"8cc16de0-5eda-4e2a-968e-3b08fce6f778","system_timestamp":"2026-12-03 10:36:54"}`;

    for (const [what, body] of [
      ['a duplicated member, the full PAN first', envelope(',"emboss_line_2":"4111111111111111","emboss_line_2":"ok"')],
      ['a CVV behind a duplicated null', envelope('').replace('"card_security_code":null', '"card_security_code":"123","card_security_code":null')],
      ['JSON nested 10,000 deep', envelope(`,"x":${'['.repeat(10_000)}${']'.repeat(10_000)}`)],
    ] as const) {
      it(what, async () => {
        answer = body;
        served = 0;
        const request1 = account(txId('scan'));
        const first = await request(upstreamGw.url).post(pathOf('createAccount')).set('authorization', `Bearer ${KEYS.next}`).send(request1);
        assert.equal(first.status, 200, 'the caller gets the live answer');
        assert.equal(first.text, body);
        const again = await request(upstreamGw.url).post(pathOf('createAccount')).set('authorization', `Bearer ${KEYS.next}`).send(request1);
        assert.equal(again.status, 410, again.text);
        assert.equal(JSON.parse(again.text).code, 'idempotency_replay_withheld');
        assert.equal(served, 1, 'forwarded once');
      });
    }
  });

  it('4 and 9: a Redis store without a fingerprint key refuses to start whatever NODE_ENV says; no refusal prints a secret', async () => {
    for (const NODE_ENV of [undefined, 'development']) {
      // Named but undefined: the harness adds no key of its own, and the process gets none.
      const env = { ...(NODE_ENV && { NODE_ENV }), IDEMPOTENCY_STORE: 'redis', REDIS_URL, IDEMPOTENCY_FINGERPRINT_KEY: undefined } as unknown as Record<
        string,
        string
      >;
      const proc = spawnGateway(env);
      const exit = await proc.exited;
      assert.notEqual(exit.code, 0);
      assert.match(proc.stderr() + proc.stdout(), /IDEMPOTENCY_FINGERPRINT_KEY: is required with IDEMPOTENCY_STORE=redis/);
    }
    const [k1, k2] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    const proc = spawnGateway({ IDEMPOTENCY_ENCRYPTION_KEY: `${k1}:${k2}` });
    const exit = await proc.exited;
    assert.notEqual(exit.code, 0);
    const output = proc.stderr() + proc.stdout();
    assert.match(output, /IDEMPOTENCY_ENCRYPTION_KEY/);
    for (const secret of [k1, k2, k1.slice(0, 12), k2.slice(0, 12)]) assert.ok(!output.includes(secret), `the refusal prints a secret: ${output}`);
  });
});
