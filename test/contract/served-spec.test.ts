/**
 * The served spec is the callers' contract: every kind of answer the gateway gives is produced
 * here on purpose and judged by an independent validator (Ajv 2020 over
 * generated/gateway.openapi.json, served-spec.ts): every operation in JSON and XML, success,
 * every status code Galileo documents for it (the simulator's `respond` fault), replays, each
 * gateway problem, and the ops endpoints. (Everything else the suite receives is judged after it,
 * by root-hooks.ts.) internal_error is the one problem not produced: it answers a bug.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { PROBLEMS } from '../../src/errors.js';
import { freePort } from '../../scripts/lib/redis-server.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { gatewayClients, gatewaySuite, txId, uniqueSsn, type TestGateway } from '../helpers/harness.js';
import { checkResponse, servedSpec, type ReceivedResponse } from './served-spec.js';

const KEY = 'contract-test-key-0123456789abcdef';
const IVR_ONLY_KEY = 'contract-test-ivr-key-0123456789ab';
const LIMITED_KEY = 'contract-test-limited-key-0123456789';
const galileo = YAML.parse(readFileSync(new URL('../../openapi/galileo.yaml', import.meta.url), 'utf8'));
const globalCodes: Array<string | number> = galileo['x-galileo-global-status-codes'].map((c: { code: number }) => c.code);
const codesOf = (operationId: string): Array<string | number> => [
  ...galileo.paths[`/${operationId}`].post['x-galileo-status-codes'].map((c: { code: string }) => c.code),
  ...globalCodes,
];
const changesState = (operationId: string, code: string | number) =>
  [...galileo.paths[`/${operationId}`].post['x-galileo-status-codes'], ...galileo['x-galileo-global-status-codes']].some(
    (c: { code: string | number; changesState: boolean }) => String(c.code) === String(code) && c.changesState,
  );

describe('contract: every kind of answer conforms to the served spec', function () {
  this.timeout(60_000);
  const clients = gatewayClients([
    { name: 'all', key: KEY },
    { name: 'ivr', key: IVR_ONLY_KEY, operations: ['createIvrCall'] },
  ]);
  const suite = gatewaySuite({ GATEWAY_CLIENTS: clients, GALILEO_TIMEOUT_MS: '300', GALILEO_MAX_RETRIES: '0', BODY_LIMIT: '2kb' });
  let noStore: TestGateway;
  /** Every guard set to trip at once: a client limit of one request, a breaker of one failure, one slot. */
  let guarded: TestGateway;
  let prn: string;
  const seenProblems = new Set<string>();

  /** Sends, then asserts the answer conforms; returns it for further checks. */
  const send = async (
    path: string,
    init: { method?: string; body?: string; type?: string | null; key?: string | null; format?: 'json' | 'xml'; url?: string } = {},
  ): Promise<ReceivedResponse & { json: () => any }> => {
    const headers: Record<string, string> = {};
    if (init.type !== null) headers['content-type'] = init.type ?? 'application/json';
    if (init.key !== null) headers.authorization = `Bearer ${init.key ?? KEY}`;
    if (init.format) headers['response-content-type'] = init.format;
    const res = await fetch(`${init.url ?? suite.gw.url}${path}`, {
      method: init.method ?? 'POST',
      headers,
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const received: ReceivedResponse = {
      method: init.method ?? 'POST',
      url: path,
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body: await res.text(),
    };
    assert.deepEqual(checkResponse(received), [], `${received.method} ${path} -> ${received.status}: ${received.body.slice(0, 400)}`);
    if (/problem/.test(String(received.headers['content-type']))) seenProblems.add(JSON.parse(received.body).code);
    return { ...received, json: () => JSON.parse(received.body) };
  };
  const body = (operationId: string, extra: Record<string, unknown> = {}) => {
    const b: Record<string, unknown> = { ...exampleBody(operationId), transactionId: txId('contract'), ...extra };
    if ('accountNo' in b) b.accountNo = prn;
    if (operationId === 'createAccount') Object.assign(b, { id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` });
    if (operationId === 'modifyOnDemandAlertStatus') Object.assign(b, { actionType: 'F', verificationPin: undefined });
    return b;
  };

  before(async () => {
    // A Redis store nobody listens for: every claim fails closed.
    noStore = await suite.startGateway({ GATEWAY_CLIENTS: clients, IDEMPOTENCY_STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    guarded = await suite.startGateway({
      GATEWAY_CLIENTS: gatewayClients([
        { name: 'all', key: KEY },
        { name: 'limited', key: LIMITED_KEY, rateLimit: { requestsPerSecond: 0.01, burst: 1 } },
      ]),
      GALILEO_CIRCUIT_FAILURES: '1',
      GALILEO_CIRCUIT_OPEN_MS: '60000',
      GALILEO_MAX_IN_FLIGHT: '1',
      GALILEO_MAX_RETRIES: '0',
    });
    const created = await send(pathOf('createAccount'), {
      body: JSON.stringify({ transactionId: txId('setup'), prodId: 501, mobilePhone: '8015556060', mobilePhoneCountryCode: '+1' }),
    });
    prn = created.json().response_data[0].pmt_ref_no;
  });

  for (const operationId of ['createAccount', 'createIvrCall', 'modifyOnDemandAlertStatus']) {
    for (const format of ['json', 'xml'] as const) {
      it(`${operationId} (${format}): a real success, then every status code Galileo documents, and replays`, async () => {
        const success = await send(pathOf(operationId), { body: JSON.stringify(body(operationId)), format });
        assert.equal(success.status, 200);
        for (const code of codesOf(operationId)) {
          const b = body(operationId);
          suite.sim.addFault({ fault: { type: 'respond', statusCode: code }, match: { transactionId: String(b.transactionId) }, times: 1 });
          const first = await send(pathOf(operationId), { body: JSON.stringify(b), format });
          assert.equal(first.status, 200, `${code}: ${first.body}`);
          if (changesState(operationId, code)) {
            const replay = await send(pathOf(operationId), { body: JSON.stringify(b), format });
            assert.equal(replay.headers['idempotent-replayed'], 'true', `${code} was not replayed`);
          }
        }
      });
    }
  }

  it('each gateway problem an operation can answer', async () => {
    const path = pathOf('createAccount');
    assert.equal((await send(path, { body: JSON.stringify({ transactionId: txId(), prodId: 'x' }) })).status, 400);
    assert.equal((await send(path, { body: JSON.stringify({ transactionId: txId(), prodId: 501, apiTransKey: 'x' }) })).status, 400);
    assert.equal((await send(path, { body: '{}', key: null })).status, 401);
    assert.equal((await send(path, { body: '{}', key: IVR_ONLY_KEY })).status, 403);
    assert.equal((await send(path, { body: JSON.stringify({ transactionId: txId(), prodId: 501, userData: 'x'.repeat(3000) }) })).status, 413);
    assert.equal((await send(path, { body: 'x', type: 'text/plain' })).status, 415);

    const reused = body('createAccount');
    await send(path, { body: JSON.stringify(reused) });
    assert.equal((await send(path, { body: JSON.stringify({ ...reused, loadAmount: 1 }) })).status, 422);

    // An answer that echoes a card number is not kept: the retry gets 410.
    const withheld = body('createAccount', { providerTransactionId: '4111-1111-1111-1111' });
    await send(path, { body: JSON.stringify(withheld) });
    assert.equal((await send(path, { body: JSON.stringify(withheld) })).status, 410);

    const slow = body('createAccount');
    suite.sim.addFault({ fault: { type: 'latency', ms: 200 }, match: { transactionId: String(slow.transactionId) }, times: 1 });
    const first = send(path, { body: JSON.stringify(slow) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await send(path, { body: JSON.stringify(slow) })).status, 409);
    await first;

    for (const [fault, status] of [
      [{ type: 'edge', status: 503 }, 502],
      [{ type: 'malformed' }, 502],
      [{ type: 'no_answer' }, 504],
      [{ type: 'reset_after_body', execute: true }, 502], // upstream_answer_lost, with its galileo member
    ] as const) {
      const b = body('createAccount');
      suite.sim.addFault({ fault, match: { transactionId: String(b.transactionId) }, times: 1 });
      assert.equal((await send(path, { body: JSON.stringify(b) })).status, status);
    }
    assert.equal((await send(path, { body: JSON.stringify(body('createAccount')), url: noStore.url })).status, 503);

    // The traffic guards: one slot in flight, a client limit of one, a breaker of one failure.
    const holding = body('createAccount');
    suite.sim.addFault({ fault: { type: 'latency', ms: 300 }, match: { transactionId: String(holding.transactionId) }, times: 1 });
    const held = send(path, { body: JSON.stringify(holding), url: guarded.url });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await send(path, { body: JSON.stringify(body('createAccount')), url: guarded.url })).status, 503); // upstream_busy
    assert.equal((await held).status, 200);
    assert.equal((await send(path, { body: JSON.stringify(body('createAccount')), url: guarded.url, key: LIMITED_KEY })).status, 200);
    assert.equal((await send(path, { body: JSON.stringify(body('createAccount')), url: guarded.url, key: LIMITED_KEY })).status, 429);
    const failing = body('createAccount');
    suite.sim.addFault({ fault: { type: 'edge', status: 503 }, match: { transactionId: String(failing.transactionId) }, times: 1 });
    assert.equal((await send(path, { body: JSON.stringify(failing), url: guarded.url })).status, 502);
    assert.equal((await send(path, { body: JSON.stringify(body('createAccount')), url: guarded.url })).status, 503); // upstream_circuit_open

    const expected = Object.entries(PROBLEMS)
      .filter(([code, info]) => !('routing' in info) && code !== 'internal_error')
      .map(([code]) => code);
    assert.deepEqual([...seenProblems].filter((c) => expected.includes(c)).sort(), expected.sort());
  });

  it('requests that match no operation: 404 for an unknown path, 405 with Allow for another method', async () => {
    assert.equal((await send('/intserv/4.0/getBalance', { body: '{}' })).status, 404);
    const wrongMethod = await send(pathOf('createIvrCall'), { method: 'GET', type: null });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');
  });

  it('the ops endpoints', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json'])
      assert.equal((await send(path, { method: 'GET', type: null, key: null })).status, 200);
    assert.equal((await send('/readyz', { method: 'GET', type: null, key: null, url: noStore.url })).status, 503);
    assert.deepEqual((await send('/openapi.json', { method: 'GET', type: null, key: null })).json(), servedSpec);
  });
});
