/**
 * Idempotency on transactionId through the gateway (docs/contract.md, Idempotency), against both
 * stores: the table, consume vs release for each outcome class, PCI stripping in replays,
 * encryption at rest, and a storm of identical requests reaching Galileo once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { gatewaySuite, txId, uniqueSsn } from '../helpers/harness.js';
import { asForm, exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { deleteByPrefix } from '../../scripts/lib/redis-keys.js';
import { gatewayRecordKey } from '../helpers/redis-records.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ENCRYPTION_KEY = randomBytes(32).toString('base64');

const STORES: Array<{ name: string; env: () => Record<string, string> }> = [
  { name: 'memory store', env: () => ({ IDEMPOTENCY_STORE: 'memory' }) },
  {
    name: 'redis store (encrypted)',
    env: () => ({
      IDEMPOTENCY_STORE: 'redis',
      REDIS_URL,
      IDEMPOTENCY_KEY_PREFIX: `test:gw:${randomBytes(6).toString('hex')}:`,
      IDEMPOTENCY_ENCRYPTION_KEY: ENCRYPTION_KEY,
    }),
  },
];

for (const store of STORES) {
  describe(`idempotency through the gateway (${store.name})`, () => {
    const env = store.env();
    const suite = gatewaySuite({ ...env, GALILEO_TIMEOUT_MS: '600', GALILEO_MAX_RETRIES: '1' }, { pciEnabled: true });
    after(async () => {
      if (env.IDEMPOTENCY_KEY_PREFIX) {
        const redis = new Redis(REDIS_URL);
        await deleteByPrefix(redis, env.IDEMPOTENCY_KEY_PREFIX);
        await redis.quit();
      }
    });

    const account = () => ({ transactionId: txId('acct'), prodId: 501, firstName: 'Ada', lastName: 'Lovelace', idType: 2, id: uniqueSsn() });
    const ivr = () => ({ ...exampleBody('createIvrCall'), transactionId: txId('ivr') });
    const post = (operationId: string, body: Record<string, unknown>) => request(suite.gw.url).post(pathOf(operationId)).send(body);
    const received = (transactionId: string) => suite.sim.requests().filter((r) => r.params.transactionId === transactionId).length;
    const outcomeOf = (transactionId: string) =>
      suite.gw.logs.filter((l) => l.msg === 'request completed' && l.transactionId === transactionId).map((l) => l.idempotency);

    it('a repeated request is replayed: same status, content type and body, Idempotent-Replayed, no second call', async () => {
      const body = account();
      const first = await post('createAccount', body);
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      const second = await post('createAccount', body);
      assert.equal(second.status, 200);
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.equal(second.headers['content-type'], first.headers['content-type']);
      const [a, b] = [JSON.parse(first.text), JSON.parse(second.text)];
      assert.equal(b.rtoken, a.rtoken, 'a replay is the original response, not a new call');
      assert.equal(b.response_data[0].pmt_ref_no, a.response_data[0].pmt_ref_no);
      assert.equal(received(body.transactionId), 1);
      assert.deepEqual(outcomeOf(body.transactionId), ['forwarded', 'replayed']);
    });

    it('a JSON and a form request with the same values, in any key order, are the same request', async () => {
      const body = ivr();
      const first = await post('createIvrCall', body);
      assert.equal(first.status, 200);
      // Envelopes with status 12 (unknown account) release the key; use a consumed one instead.
      suite.sim.addFault({ fault: { type: 'respond', statusCode: 0 }, match: { transactionId: String(body.transactionId) + '-x' } });
      const reordered = Object.fromEntries(Object.entries({ ...body, transactionId: `${body.transactionId}-x` }).reverse());
      const json = await post('createIvrCall', reordered);
      assert.equal(json.status, 200, json.text);
      const form = await request(suite.gw.url)
        .post(pathOf('createIvrCall'))
        .type('form')
        .send(asForm({ ...body, transactionId: `${body.transactionId}-x` }));
      assert.equal(form.headers['idempotent-replayed'], 'true', form.text);
      assert.equal(form.text, json.text);
      assert.equal(received(`${body.transactionId}-x`), 1);
    });

    it('the same transactionId with a different payload -> 422 idempotency_key_reused, nothing forwarded', async () => {
      const body = account();
      assert.equal((await post('createAccount', body)).status, 200);
      const res = await post('createAccount', { ...body, prodId: 502 });
      assert.equal(res.status, 422);
      assert.equal(JSON.parse(res.text).code, 'idempotency_key_reused');
      assert.equal(received(body.transactionId), 1);
    });

    it('the same request asked for as XML is a different request (422), not a JSON replay', async () => {
      const body = account();
      assert.equal((await post('createAccount', body)).status, 200);
      const res = await request(suite.gw.url).post(pathOf('createAccount')).set('response-content-type', 'xml').send(body);
      assert.equal(res.status, 422);
    });

    it('while the first call is in flight: same payload -> 409 with Retry-After, different -> 422', async () => {
      const body = account();
      suite.sim.addFault({ fault: { type: 'latency', ms: 400 }, match: { transactionId: body.transactionId } });
      const first = post('createAccount', body).then((r) => r); // supertest sends on then()
      await new Promise((resolve) => setTimeout(resolve, 100));
      const same = await post('createAccount', body);
      assert.equal(same.status, 409, same.text);
      assert.equal(same.headers['retry-after'], '1');
      assert.equal(JSON.parse(same.text).code, 'idempotency_in_progress');
      const different = await post('createAccount', { ...body, prodId: 777 });
      assert.equal(different.status, 422);
      assert.equal((await first).status, 200);
      assert.equal(received(body.transactionId), 1);
    });

    const CONSUMED = [0, '407-11', '407-13', '407-14', '407-15'];
    const RELEASED = [2, 24, '407-02', '407-04'];
    for (const statusCode of CONSUMED) {
      it(`Galileo status ${statusCode} consumes the key: the retry is a replay`, async () => {
        const body = account();
        suite.sim.addFault({ fault: { type: 'respond', statusCode }, match: { transactionId: body.transactionId } });
        const first = await post('createAccount', body);
        assert.equal(JSON.parse(first.text).status_code, statusCode);
        const again = await post('createAccount', body);
        assert.equal(again.headers['idempotent-replayed'], 'true');
        assert.equal(received(body.transactionId), 1);
      });
    }
    for (const statusCode of RELEASED) {
      it(`Galileo status ${statusCode} releases the key: the retry is forwarded`, async () => {
        const body = account();
        suite.sim.addFault({ fault: { type: 'respond', statusCode }, match: { transactionId: body.transactionId } });
        const first = await post('createAccount', body);
        assert.equal(JSON.parse(first.text).status_code, statusCode);
        const again = await post('createAccount', body);
        assert.equal(again.headers['idempotent-replayed'], undefined);
        assert.equal(received(body.transactionId), 2);
      });
    }

    it('the outcome is read from XML responses too (407-14 consumed, 2 released)', async () => {
      for (const [statusCode, calls] of [
        ['407-14', 1],
        [2, 2],
      ] as const) {
        const body = account();
        suite.sim.addFault({ fault: { type: 'respond', statusCode }, match: { transactionId: body.transactionId } });
        const send = () => request(suite.gw.url).post(pathOf('createAccount')).set('response-content-type', 'xml').send(body);
        const first = await send();
        assert.match(first.text, new RegExp(`<status_code>${statusCode}</status_code>`));
        const again = await send();
        assert.equal(again.headers['content-type'], first.headers['content-type']);
        assert.equal(received(body.transactionId), calls, `status ${statusCode}`);
      }
    });

    for (const [name, fault, status] of [
      ['a timeout', { type: 'no_answer' }, 504],
      ['edge 503s', { type: 'edge', status: 503 }, 502],
      ['a malformed body', { type: 'malformed' }, 502],
      ['a reset after the body', { type: 'reset_after_body' }, 502],
    ] as const) {
      it(`${name} (${status}) releases the key: the retry is forwarded`, async () => {
        const body = account();
        const rule = suite.sim.addFault({ fault, match: { transactionId: body.transactionId } });
        const first = await post('createAccount', body);
        assert.equal(first.status, status, first.text);
        const callsAfterFirst = received(body.transactionId);
        suite.sim.clearFaults();
        assert.ok(rule.id !== undefined);
        const again = await post('createAccount', body);
        assert.equal(again.status, 200, again.text);
        assert.equal(received(body.transactionId), callsAfterFirst + 1);
      });
    }

    it('PCI data is not kept: a replay has card_number (unmasked), expiry_date and card_security_code as null', async () => {
      const body = account();
      const first = JSON.parse((await post('createAccount', body)).text);
      const card = first.response_data[0];
      assert.match(card.card_number, /^\d{16}$/, 'the simulator should return a full PAN in pciEnabled mode');
      assert.ok(card.expiry_date && card.card_security_code);
      const replay = await post('createAccount', body);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.ok(!replay.text.includes(card.card_number) && !replay.text.includes(`"${card.card_security_code}"`));
      const again = JSON.parse(replay.text).response_data[0];
      assert.equal(again.card_number, null);
      assert.equal(again.expiry_date, null);
      assert.equal(again.card_security_code, null);
      assert.equal(again.pmt_ref_no, card.pmt_ref_no, 'non-PCI fields are replayed');
    });

    it('an answer holding a card number outside the PCI fields is withheld: never replayed, never forwarded twice', async () => {
      // The caller put a card number where Galileo echoes it back.
      for (const format of ['json', 'xml']) {
        const body = { ...account(), providerTransactionId: '4111 1111 1111 1111' };
        const first = await post('createAccount', body).set('response-content-type', format);
        assert.equal(first.status, 200, first.text);
        const retry = await post('createAccount', body).set('response-content-type', format);
        assert.equal(retry.status, 410, retry.text);
        const problem = JSON.parse(retry.text);
        assert.equal(problem.code, 'idempotency_replay_withheld');
        assert.match(problem.detail, /could hold card data/);
        assert.ok(!retry.text.replace(/[^0-9]/g, '').includes('4111111111'), retry.text);
        assert.equal(received(body.transactionId), 1, 'Galileo was called again');
      }
    });

    it('50 simultaneous identical requests reach Galileo exactly once', async () => {
      const body = account();
      suite.sim.addFault({ fault: { type: 'latency', ms: 150 }, match: { transactionId: body.transactionId } });
      const responses = await Promise.all(Array.from({ length: 50 }, () => post('createAccount', body)));
      assert.equal(received(body.transactionId), 1);
      const statuses = responses.map((r) => r.status);
      assert.ok(
        statuses.every((s) => s === 200 || s === 409),
        JSON.stringify(statuses),
      );
      assert.equal(responses.filter((r) => r.status === 200 && r.headers['idempotent-replayed'] === undefined).length, 1);
    });

    if (store.name.startsWith('redis')) {
      it('stored responses are encrypted at rest: the raw Redis record holds no plaintext body', async () => {
        const body = account();
        const res = JSON.parse((await post('createAccount', body)).text);
        const redis = new Redis(REDIS_URL);
        try {
          const raw = JSON.stringify(await redis.hgetall(gatewayRecordKey(env.IDEMPOTENCY_KEY_PREFIX!, 'createAccount', body.transactionId)));
          assert.match(raw, /consumed/);
          for (const secret of [res.rtoken, res.response_data[0].pmt_ref_no, 'status_code']) assert.ok(!raw.includes(secret), `${secret} stored in plaintext`);
        } finally {
          await redis.quit();
        }
      });
    }
  });
}
