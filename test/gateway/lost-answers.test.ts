/**
 * Lost answers resolved with Galileo's own record (docs/contract.md, Lost answers): a call whose
 * answer never came back after the request may have reached Galileo, or a Galileo 24, is looked up
 * with getCallStatus. Exactly one call executes, the caller learns its status code and rtoken, a
 * retry is not forwarded again, and an unknown outcome never becomes a bare 24. Faults come from
 * the simulator, which answers getCallStatus from the calls it ran.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { CREDENTIALS, gatewaySuite, startTestGateway, txId, uniqueSsn, type Simulator } from '../helpers/harness.js';
import { asWire, pathOf } from '../../scripts/lib/examples.js';
import { adminClient, deleteByPrefix } from '../../scripts/lib/redis-keys.js';
import { metricValue } from '../helpers/metrics-text.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const account = (transactionId = txId('lost')) => ({ transactionId, prodId: 501, firstName: 'Grace', lastName: 'Hopper', idType: 2, id: uniqueSsn() });

/** What Galileo received for this transactionId: the operation's own calls, and the lookups naming it. */
function received(sim: Simulator, transactionId: string) {
  const all = sim.requests();
  return {
    calls: all.filter((r) => r.operation === 'createAccount' && r.params.transactionId === transactionId).length,
    lookups: all.filter((r) => r.operation === 'getCallStatus' && r.params.requestTransactionId === transactionId).length,
  };
}

describe('lost answers resolved with getCallStatus', () => {
  const suite = gatewaySuite({ GALILEO_TIMEOUT_MS: '400', GALILEO_MAX_RETRIES: '1' });
  const post = (body: Record<string, unknown>) => request(suite.gw.url).post(pathOf('createAccount')).send(body);
  const logLine = (transactionId: string) => suite.gw.logs.filter((l) => l.msg === 'request completed' && l.transactionId === transactionId).at(-1) as any;

  it('reset after Galileo ran the call: 502 upstream_answer_lost with status 0 and rtoken; the retry replays it and is not forwarded', async () => {
    const body = account();
    suite.sim.addFault({ fault: { type: 'reset_after_body', execute: true }, match: { transactionId: body.transactionId }, times: 1 });
    const res = await post(body);
    assert.equal(res.status, 502, res.text);
    const problem = JSON.parse(res.text);
    assert.equal(problem.code, 'upstream_answer_lost');
    assert.equal(problem.galileo.executed, true);
    assert.equal(problem.galileo.statusCode, 0);
    assert.match(problem.galileo.rtoken, UUID);
    assert.deepEqual(received(suite.sim, body.transactionId), { calls: 1, lookups: 1 });
    // The rtoken Galileo reported is on the request line, and the lookup has its own line.
    assert.equal(logLine(body.transactionId).upstream.rtoken, problem.galileo.rtoken);
    assert.deepEqual(logLine(body.transactionId).lostAnswer, problem.galileo);
    const lookedUp = suite.gw.logs.find((l) => l.msg === 'lost answer looked up' && l.requestId === problem.requestId) as any;
    assert.equal(lookedUp.result, 'executed');
    assert.equal(lookedUp.cause, 'upstream_unavailable');

    for (let i = 0; i < 2; i++) {
      const retry = await post(body);
      assert.equal(retry.status, 502, retry.text);
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.deepEqual(JSON.parse(retry.text).galileo, problem.galileo);
    }
    assert.deepEqual(received(suite.sim, body.transactionId), { calls: 1, lookups: 1 });
  });

  it('a timeout after Galileo ran the call is resolved the same way (502, not a bare 504)', async () => {
    const body = account();
    suite.sim.addFault({ fault: { type: 'no_answer', execute: true }, match: { transactionId: body.transactionId }, times: 1 });
    const res = await post(body);
    assert.equal(res.status, 502, res.text);
    assert.deepEqual(
      { code: JSON.parse(res.text).code, executed: JSON.parse(res.text).galileo.executed, statusCode: JSON.parse(res.text).galileo.statusCode },
      { code: 'upstream_answer_lost', executed: true, statusCode: 0 },
    );
    const retry = await post(body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(received(suite.sim, body.transactionId).calls, 1);
  });

  it('a timeout whose call the record does not show yet: "unknown", and the retry asks again first (forwarded only if still not run)', async () => {
    const never = account();
    suite.sim.addFault({ fault: { type: 'no_answer' }, match: { transactionId: never.transactionId }, times: 1 });
    const first = await post(never);
    assert.equal(first.status, 504, first.text);
    assert.deepEqual(JSON.parse(first.text).galileo, { executed: 'unknown' });
    const retry = await post(never);
    assert.equal(retry.status, 200, retry.text);
    assert.deepEqual(received(suite.sim, never.transactionId), { calls: 2, lookups: 2 });

    // Galileo runs it after the lookup (slower than the timeout): the retry's lookup sees it and it is not sent again.
    const late = account();
    suite.sim.addFault({ fault: { type: 'latency', ms: 600 }, match: { transactionId: late.transactionId }, times: 1 });
    const lateFirst = await post(late);
    assert.deepEqual([lateFirst.status, JSON.parse(lateFirst.text).galileo], [504, { executed: 'unknown' }]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const lateRetry = await post(late);
    assert.equal(lateRetry.status, 502, lateRetry.text);
    assert.deepEqual([JSON.parse(lateRetry.text).galileo.executed, JSON.parse(lateRetry.text).galileo.statusCode], [true, 0]);
    assert.equal(received(suite.sim, late.transactionId).calls, 1);
  });

  it('a call Galileo never ran: the failure says executed false, the key is released and the retry succeeds', async () => {
    const body = account();
    suite.sim.addFault({ fault: { type: 'reset_after_body', execute: false }, match: { transactionId: body.transactionId }, times: 1 });
    const res = await post(body);
    assert.equal(res.status, 502, res.text);
    assert.equal(JSON.parse(res.text).code, 'upstream_unavailable');
    assert.deepEqual(JSON.parse(res.text).galileo, { executed: false });
    const retry = await post(body);
    assert.equal(retry.status, 200, retry.text);
    assert.equal(JSON.parse(retry.text).status_code, 0);
    assert.deepEqual(received(suite.sim, body.transactionId), { calls: 2, lookups: 1 });
  });

  it('getCallStatus failing: executed "unknown"; the retry asks again before anything is forwarded, and never ends as a bare 24', async () => {
    const body = account();
    suite.sim.addFault({ fault: { type: 'edge', status: 503 }, match: { operation: 'getCallStatus' } });
    suite.sim.addFault({ fault: { type: 'reset_after_body', execute: true }, match: { transactionId: body.transactionId }, times: 1 });
    const first = await post(body);
    assert.equal(first.status, 502, first.text);
    assert.equal(JSON.parse(first.text).code, 'upstream_unavailable');
    assert.deepEqual(JSON.parse(first.text).galileo, { executed: 'unknown' });

    // Still no record to read: nothing is forwarded, the caller is told so.
    const second = await post(body);
    assert.equal(second.status, 502, second.text);
    assert.equal(JSON.parse(second.text).code, 'upstream_answer_lost');
    assert.deepEqual(JSON.parse(second.text).galileo, { executed: 'unknown' });
    assert.equal(received(suite.sim, body.transactionId).calls, 1);

    // Galileo's record readable again: the retry learns the outcome, and is still not forwarded.
    suite.sim.clearFaults();
    const third = await post(body);
    assert.equal(third.status, 502, third.text);
    const problem = JSON.parse(third.text);
    assert.equal(problem.code, 'upstream_answer_lost');
    assert.equal(problem.galileo.executed, true);
    assert.equal(problem.galileo.statusCode, 0);
    assert.equal(received(suite.sim, body.transactionId).calls, 1);
    const fourth = await post(body);
    assert.equal(fourth.headers['idempotent-replayed'], 'true');
    assert.equal(received(suite.sim, body.transactionId).calls, 1);
  });

  it('a lost answer whose call changed nothing (407-02): the caller learns the code, and the retry is forwarded as Galileo allows', async () => {
    const first = account();
    assert.equal((await post(first)).status, 200);
    // Same customer id: Galileo refuses a second account for it (407-02), which changes nothing.
    const body = { ...first, transactionId: txId('lost-refused') };
    suite.sim.addFault({ fault: { type: 'reset_after_body', execute: true }, match: { transactionId: body.transactionId }, times: 1 });
    const res = await post(body);
    assert.equal(res.status, 502, res.text);
    assert.equal(JSON.parse(res.text).code, 'upstream_answer_lost');
    assert.equal(JSON.parse(res.text).galileo.statusCode, '407-02');
    const retry = await post(body);
    assert.equal(retry.status, 200, retry.text);
    assert.equal(JSON.parse(retry.text).status_code, '407-02');
    assert.equal(received(suite.sim, body.transactionId).calls, 2);
  });

  it("Galileo's 24 for a transactionId whose success the gateway never recorded: looked up, never a bare 24", async () => {
    const body = account();
    // The call ran at Galileo without the gateway settling it (as after a crash mid-call).
    const direct = await fetch(`${suite.sim.url}/createAccount`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'response-content-type': 'json' },
      body: new URLSearchParams({
        ...asWire(body),
        apiLogin: CREDENTIALS.apiLogin,
        apiTransKey: CREDENTIALS.apiTransKey,
        providerId: String(CREDENTIALS.providerId),
      }),
    });
    assert.equal(((await direct.json()) as { status_code: number }).status_code, 0);
    const res = await post(body);
    assert.equal(res.status, 502, res.text);
    const problem = JSON.parse(res.text);
    assert.equal(problem.code, 'upstream_answer_lost');
    assert.deepEqual([problem.galileo.executed, problem.galileo.statusCode], [true, 0]);
    const retry = await post(body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(received(suite.sim, body.transactionId), { calls: 2, lookups: 1 });
  });

  it('the resolutions are counted by result', async () => {
    const metrics = (await request(suite.gw.url).get('/metrics')).text;
    assert.ok(metricValue(metrics, 'gateway_lost_answers_total', { operation: 'createAccount', result: 'executed' }) >= 4);
    assert.ok(metricValue(metrics, 'gateway_lost_answers_total', { operation: 'createAccount', result: 'not_executed' }) >= 2);
    assert.ok(metricValue(metrics, 'gateway_lost_answers_total', { operation: 'createAccount', result: 'unknown' }) >= 2);
    assert.ok(metricValue(metrics, 'gateway_lost_answer_resolution_seconds_count', { result: 'executed' }) >= 4);
  });

  it('getCallStatus itself is a read: forwarded every time, never claimed, replayed or looked up', async () => {
    const body = account();
    assert.equal((await post(body)).status, 200);
    const lookup = { transactionId: txId('read'), requestTransactionId: body.transactionId, requestMethodName: 'createAccount' };
    const ask = () => request(suite.gw.url).post(pathOf('getCallStatus')).send(lookup);
    const first = await ask();
    assert.equal(first.status, 200, first.text);
    const answer = JSON.parse(first.text);
    assert.equal(answer.status_code, 0);
    assert.deepEqual(
      answer.response_data.api_calls.map((c: { status_code: string }) => c.status_code),
      ['0'],
    );
    assert.equal(logLine(lookup.transactionId).idempotency, 'none');
    // The same transactionId again reaches Galileo, whose own duplicate rule covers every endpoint: its 24 comes back as it is.
    const second = await ask();
    assert.equal(second.headers['idempotent-replayed'], undefined);
    assert.equal(JSON.parse(second.text).status_code, 24);
    assert.equal(suite.sim.requests().filter((r) => r.operation === 'getCallStatus' && r.params.transactionId === lookup.transactionId).length, 2);
    assert.equal(received(suite.sim, lookup.transactionId).lookups, 0);
  });
});

describe('lost answers with GALILEO_RESOLVE_ATTEMPTS=0', () => {
  const suite = gatewaySuite({ GALILEO_TIMEOUT_MS: '400', GALILEO_RESOLVE_ATTEMPTS: '0' });

  it('are released as before: no lookup, no galileo member, and the retry gets Galileo’s own 24', async () => {
    const body = account();
    suite.sim.addFault({ fault: { type: 'reset_after_body', execute: true }, match: { transactionId: body.transactionId }, times: 1 });
    const res = await request(suite.gw.url).post(pathOf('createAccount')).send(body);
    assert.equal(res.status, 502, res.text);
    assert.equal(JSON.parse(res.text).galileo, undefined);
    const retry = await request(suite.gw.url).post(pathOf('createAccount')).send(body);
    assert.equal(JSON.parse(retry.text).status_code, 24);
    assert.deepEqual(received(suite.sim, body.transactionId), { calls: 2, lookups: 0 });
  });
});

describe('lost answers across two replicas on one Redis', () => {
  const prefix = `test:lost:${randomBytes(6).toString('hex')}:`;
  const env = {
    IDEMPOTENCY_STORE: 'redis',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    IDEMPOTENCY_KEY_PREFIX: prefix,
    GALILEO_TIMEOUT_MS: '400',
  };
  const a = gatewaySuite(env);
  let b: Awaited<ReturnType<typeof startTestGateway>>;
  before(async () => {
    b = await startTestGateway(a.sim.url, env);
  });
  after(async () => {
    await b?.stop();
    const redis = adminClient();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  it('the replica that lost the answer could not ask; the other replica, retried, resolves it and does not forward', async () => {
    const body = account();
    a.sim.addFault({ fault: { type: 'edge', status: 503 }, match: { operation: 'getCallStatus' } });
    a.sim.addFault({ fault: { type: 'reset_after_body', execute: true }, match: { transactionId: body.transactionId }, times: 1 });
    const lost = await request(a.gw.url).post(pathOf('createAccount')).send(body);
    assert.deepEqual(JSON.parse(lost.text).galileo, { executed: 'unknown' });
    a.sim.clearFaults();

    const retried = await request(b.url).post(pathOf('createAccount')).send(body);
    assert.equal(retried.status, 502, retried.text);
    assert.equal(JSON.parse(retried.text).galileo.statusCode, 0);
    const again = await request(a.gw.url).post(pathOf('createAccount')).send(body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(JSON.parse(again.text).galileo, JSON.parse(retried.text).galileo);
    assert.equal(received(a.sim, body.transactionId).calls, 1);
  });
});
