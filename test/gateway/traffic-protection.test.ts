/**
 * Traffic protection (docs/contract.md, Traffic protection) against real gateways, a real Redis
 * and the real simulator: per-client token buckets (one budget across replicas on Redis), the
 * Galileo-wide budget, the circuit breaker driven by the simulator's faults, the bulkhead, and a
 * limiter whose Redis goes away. A refusal is decided before the body is read, claims nothing and
 * forwards nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import request from 'supertest';
import { pathOf } from '../../scripts/lib/examples.js';
import { gatewayClients, simulatorSuite, txId, uniqueSsn, type TestGateway } from '../helpers/harness.js';
import { SpareRedis } from '../../scripts/lib/redis-server.js';
import { adoptPrefix, deleteByPrefix } from '../../scripts/lib/redis-keys.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEYS = { batch: 'traffic-batch-key-0123456789abcdef', quiet: 'traffic-quiet-key-0123456789abcdef' };
const clients = (batchLimit: { requestsPerSecond: number; burst: number } | undefined) =>
  gatewayClients([
    { name: 'batch', key: KEYS.batch, rateLimit: batchLimit },
    { name: 'quiet', key: KEYS.quiet },
  ]);
const account = (prefix = 'traffic') => ({ transactionId: txId(prefix), prodId: 501, firstName: 'Ada', lastName: 'Lovelace', idType: 2, id: uniqueSsn() });

describe('traffic protection (real gateways, real Redis)', function () {
  this.timeout(60_000);
  const suite = simulatorSuite();
  const prefixes: string[] = [];
  const gateway = (env: Record<string, string>) => suite.startGateway(env);
  const redisEnv = () => {
    const prefix = `test:traffic:${randomBytes(6).toString('hex')}:`;
    prefixes.push(prefix);
    return { IDEMPOTENCY_STORE: 'redis', REDIS_URL, IDEMPOTENCY_KEY_PREFIX: prefix };
  };
  const post = (gw: TestGateway, body: object, key = KEYS.batch) =>
    request(gw.url).post(pathOf('createAccount')).set('authorization', `Bearer ${key}`).send(body);
  const calls = (transactionId: string) => suite.sim.requests().filter((r) => r.params.transactionId === transactionId).length;

  after(async () => {
    const redis = new Redis(REDIS_URL);
    for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  it('a client over its limit gets 429 with Retry-After and RateLimit fields, nothing claimed or forwarded; another client is unaffected', async () => {
    const gw = await gateway({ GATEWAY_CLIENTS: clients({ requestsPerSecond: 2, burst: 3 }) });
    const bodies = Array.from({ length: 6 }, () => account('burst'));
    const [batch, quiet] = await Promise.all([
      Promise.all(bodies.map((b) => post(gw, b))),
      Promise.all(Array.from({ length: 6 }, () => post(gw, account('quiet'), KEYS.quiet))),
    ]);
    assert.deepEqual(batch.map((r) => r.status).sort(), [200, 200, 200, 429, 429, 429]);
    assert.deepEqual(
      quiet.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
      'the other client has no limit of its own',
    );
    const passed = batch.find((r) => r.status === 200)!;
    assert.equal(passed.headers['ratelimit-policy'], '"client";q=3;w=2');
    assert.match(String(passed.headers.ratelimit), /^"client";r=[0-2];t=[0-9]+$/);
    const refused = batch.filter((r) => r.status === 429);
    for (const r of refused) {
      const problem = JSON.parse(r.text);
      assert.equal(problem.code, 'rate_limited');
      assert.match(problem.detail, /over its own rate limit \(2 requests a second, bursts of 3\)/);
      assert.match(String(r.headers['retry-after']), /^[1-9]\d*$/);
      assert.equal(r.headers['ratelimit-policy'], '"client";q=3;w=2');
      assert.match(String(r.headers.ratelimit), /^"client";r=0;t=\d+$/);
    }
    // Nothing of a refused request was claimed or forwarded: the same transactionId goes through later.
    const refusedIds = bodies.filter((_, i) => batch[i]!.status === 429);
    for (const body of refusedIds) assert.equal(calls(body.transactionId), 0);
    await sleep(Number(refused[0]!.headers['retry-after']) * 1000 + 100);
    const later = await post(gw, refusedIds[0]!);
    assert.equal(later.status, 200, later.text);
    assert.equal(later.headers['idempotent-replayed'], undefined);
    assert.equal(calls(refusedIds[0]!.transactionId), 1);
    // Counted by client and limit; one line when the limit starts refusing.
    const metrics = await request(gw.url).get('/metrics');
    assert.match(metrics.text, /gateway_traffic_refusals_total\{reason="rate_limited",client="batch",limit="client"\} 3/);
    assert.equal(gw.logs.filter((l) => l.msg === 'rate limit refusing requests' && l.client === 'batch').length, 1);
    // The next request that passes says it stopped.
    assert.ok(gw.logs.some((l) => l.msg === 'rate limit no longer refusing' && l.client === 'batch' && l.refused === 3));
  });

  it('a client far over its limit: one line when refusing starts, none while the odd request still passes, one when it stops', async () => {
    const gw = await gateway({ GATEWAY_CLIENTS: clients({ requestsPerSecond: 5, burst: 1 }) });
    const lines = (msg: string) => gw.logs.filter((l) => l.msg === msg && l.client === 'batch');
    // 25 a second for 2 s: five times the limit, so about one request in five still passes.
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      statuses.push((await post(gw, account('flood'))).status);
      await sleep(40);
    }
    assert.ok(statuses.filter((s) => s === 200).length >= 3, `some requests pass: ${statuses.join(' ')}`);
    assert.ok(statuses.filter((s) => s === 429).length >= 25, `most are refused: ${statuses.join(' ')}`);
    assert.equal(lines('rate limit refusing requests').length, 1);
    assert.equal(lines('rate limit no longer refusing').length, 0, 'a request passing mid-flood does not end the episode');
    await sleep(1100);
    assert.equal((await post(gw, account('after'))).status, 200);
    assert.equal(lines('rate limit no longer refusing').length, 1);
    assert.equal(lines('rate limit no longer refusing')[0]!.refused, statuses.filter((s) => s === 429).length);
  });

  it('a refused request is answered before its body is read; a body that came with its headers keeps the connection', async () => {
    const gw = await gateway({ GATEWAY_CLIENTS: clients({ requestsPerSecond: 0.1, burst: 1 }) });
    assert.equal((await post(gw, account())).status, 200);
    const port = Number(new URL(gw.url).port);
    /** Writes `text` at once on a fresh socket; resolves with everything read until `answers` status lines or the close. */
    const raw = (text: string, answers: number) =>
      new Promise<{ text: string; closed: boolean }>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
        let got = '';
        const done = (closed: boolean) => {
          socket.destroy();
          resolve({ text: got, closed });
        };
        socket.on('data', (d: Buffer) => {
          got += d.toString('latin1');
          if ((got.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= answers && got.endsWith('}')) done(false);
        });
        socket.on('close', () => done(true));
        socket.on('error', reject);
        setTimeout(() => reject(new Error(`no answer: ${got}`)), 5000).unref();
      });
    const head = (length: number) =>
      `POST ${pathOf('createAccount')} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.batch}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    // 64 MiB declared, none of it sent: the answer cannot wait for the body, and the connection closes.
    const unsent = await raw(head(64 * 1024 * 1024), 1);
    assert.match(unsent.text, /^HTTP\/1\.1 429 /);
    assert.match(unsent.text, /\r\nconnection: close/i);
    assert.match(unsent.text, /\r\nretry-after: \d+/i);
    // Two small requests in one write: both answered 429 on the same connection.
    const body = JSON.stringify(account());
    const both = await raw(head(body.length) + body + head(body.length) + body, 2);
    assert.equal((both.text.match(/HTTP\/1\.1 429 /g) ?? []).length, 2, both.text);
    assert.doesNotMatch(both.text, /connection: close/i);
  });

  it('on Redis, one client has one budget however many replicas it reaches', async () => {
    const env = { ...redisEnv(), GATEWAY_CLIENTS: clients({ requestsPerSecond: 0.5, burst: 4 }) };
    const [a, b] = [await gateway(env), await gateway(env)];
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(i % 2 === 0 ? a : b, account('replicas'))));
    assert.equal(answers.filter((r) => r.status === 200).length, 4, answers.map((r) => r.status).join(','));
    assert.equal(answers.filter((r) => r.status === 429).length, 6, answers.map((r) => `${r.status} ${r.text.slice(0, 200)}`).join('\n'));
  });

  it('the Galileo budget holds across two replicas: what the simulator receives per second stays within it', async () => {
    const env = { ...redisEnv(), GATEWAY_CLIENTS: clients(undefined), GALILEO_MAX_REQUESTS_PER_SECOND: '5' };
    const [a, b] = [await gateway(env), await gateway(env)];
    const tag = `budget-${randomBytes(3).toString('hex')}`;
    const started = Date.now();
    const statuses: number[] = [];
    // Four workers, two per replica, for about 2.5 s: far more than 5 a second.
    await Promise.all(
      [a, b, a, b].map(async (gw, w) => {
        while (Date.now() - started < 2500) {
          const r = await post(gw, account(tag), w % 2 === 0 ? KEYS.batch : KEYS.quiet);
          statuses.push(r.status);
          if (r.status === 429) {
            const problem = JSON.parse(r.text);
            assert.match(problem.detail, /budget for calls to Galileo, shared by every client/);
            assert.ok(!/batch|quiet/.test(problem.detail), "never another client's name");
            assert.equal(r.headers['ratelimit-policy'], '"galileo";q=5;w=1');
          }
          await sleep(20);
        }
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    const received = suite.sim.requests().filter((r) => String(r.params.transactionId).startsWith(tag));
    // A full bucket (5) at the start, then 5 a second.
    assert.ok(received.length <= 5 + Math.ceil(5 * elapsed) + 1, `${received.length} calls in ${elapsed} s`);
    assert.ok(received.length >= 10, `the budget is used: ${received.length}`);
    assert.ok(statuses.filter((s) => s === 429).length > 20, 'the rest was refused');
    const perSecond = new Map<number, number>();
    for (const r of received) {
      const second = Math.floor((Date.parse(r.receivedAt) - started) / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    for (const [second, n] of perSecond) assert.ok(n <= (second === 0 ? 10 : 6), `second ${second}: ${n} calls`);
  });

  it('the breaker opens after consecutive failures, refuses at once, lets one trial through, and closes', async () => {
    const gw = await gateway({ GATEWAY_CLIENTS: clients(undefined), GALILEO_CIRCUIT_FAILURES: '3', GALILEO_CIRCUIT_OPEN_MS: '800', GALILEO_MAX_RETRIES: '0' });
    suite.sim.addFault({ fault: { type: 'edge', status: 503 } });
    for (let i = 0; i < 3; i++) assert.equal((await post(gw, account('breaker'))).status, 502);
    const refusedBody = account('breaker');
    const started = Date.now();
    const refused = await post(gw, refusedBody);
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(refused.text).code, 'upstream_circuit_open');
    assert.equal(refused.headers['retry-after'], '1');
    assert.ok(Date.now() - started < 200, 'refused at once');
    assert.equal(calls(refusedBody.transactionId), 0);
    assert.match((await request(gw.url).get('/metrics')).text, /gateway_galileo_circuit_state 1/);
    // Open again after a failed trial.
    await sleep(850);
    assert.equal((await post(gw, account('breaker'))).status, 502, 'the trial reaches Galileo and fails');
    assert.equal((await post(gw, account('breaker'))).status, 503, 'open again');
    // A successful trial closes it.
    suite.sim.clearFaults();
    await sleep(850);
    const trial = await post(gw, refusedBody);
    assert.equal(trial.status, 200, trial.text);
    assert.equal(calls(refusedBody.transactionId), 1);
    assert.equal((await post(gw, account('breaker'))).status, 200);
    assert.match((await request(gw.url).get('/metrics')).text, /gateway_galileo_circuit_state 0/);
    const transitions = gw.logs.filter((l) => /^circuit breaker on Galileo/.test(String(l.msg))).map((l) => l.state);
    assert.deepEqual(transitions, ['open', 'half_open', 'open', 'half_open', 'closed']);
    // Any Galileo envelope is a success: business errors never open it.
    suite.sim.addFault({ fault: { type: 'respond', statusCode: 12 } });
    for (let i = 0; i < 5; i++) assert.equal((await post(gw, account('business'))).status, 200);
    assert.match((await request(gw.url).get('/metrics')).text, /gateway_galileo_circuit_state 0/);
  });

  it('the bulkhead: beyond GALILEO_MAX_IN_FLIGHT a request gets 503 upstream_busy at once, nothing claimed; one log line when it starts refusing, one when it stops', async () => {
    const gw = await gateway({ GATEWAY_CLIENTS: clients(undefined), GALILEO_MAX_IN_FLIGHT: '2' });
    suite.sim.addFault({ fault: { type: 'latency', ms: 400 } });
    const bodies = Array.from({ length: 5 }, () => account('bulkhead'));
    const answers = await Promise.all(bodies.map((b) => post(gw, b)));
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 200, 503, 503, 503]);
    for (const [i, r] of answers.entries()) {
      if (r.status !== 503) continue;
      assert.equal(JSON.parse(r.text).code, 'upstream_busy');
      assert.equal(r.headers['retry-after'], '1');
      assert.equal(calls(bodies[i]!.transactionId), 0);
    }
    // One line when it starts refusing, not one per refusal; one when the calls in flight are over.
    const started = gw.logs.filter((l) => l.msg === 'bulkhead refusing requests');
    assert.deepEqual(
      started.map((l) => [l.level, l.refused, l.maxInFlight]),
      [[40, 1, 2]],
    );
    const stopped = () => gw.logs.filter((l) => l.msg === 'bulkhead no longer refusing');
    for (let i = 0; i < 50 && stopped().length === 0; i++) await sleep(10);
    assert.deepEqual(
      stopped().map((l) => [l.level, l.refused, l.maxInFlight]),
      [[30, 3, 2]],
    );
    assert.ok(gw.logs.indexOf(started[0]!) < gw.logs.indexOf(stopped()[0]!));
    suite.sim.clearFaults();
    const again = await post(gw, bodies[answers.findIndex((r) => r.status === 503)]!);
    assert.equal(again.status, 200, 'the refused transactionId was not claimed');
    assert.equal(stopped().length, 1, 'a request that passes an idle bulkhead logs nothing');
  });

  it('a limiter whose Redis goes away fails closed: 503, nothing forwarded', async () => {
    const spare = new SpareRedis();
    await spare.start();
    const prefix = 'traffic-outage:';
    // A server younger than one lock TTL fences new claims (it cannot tell new from forgetful): adopt it.
    const admin = new Redis(spare.url);
    await adoptPrefix(admin, prefix);
    await admin.quit();
    try {
      const gw = await gateway({
        IDEMPOTENCY_STORE: 'redis',
        REDIS_URL: spare.url,
        IDEMPOTENCY_KEY_PREFIX: prefix,
        GATEWAY_CLIENTS: clients({ requestsPerSecond: 100, burst: 100 }),
      });
      assert.equal((await post(gw, account())).status, 200);
      await spare.kill();
      const body = account('no-redis');
      const refused = await post(gw, body);
      assert.equal(refused.status, 503, refused.text);
      assert.equal(JSON.parse(refused.text).code, 'idempotency_store_unavailable');
      assert.equal(calls(body.transactionId), 0);
      // The quiet client has no limit of its own and no budget applies: the store decides for it.
      const quiet = await post(gw, account(), KEYS.quiet);
      assert.equal(quiet.status, 503, quiet.text + JSON.stringify(gw.logs.slice(-5)));
    } finally {
      await spare.dispose();
    }
  });
});
