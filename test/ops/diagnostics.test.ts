/**
 * What the gateway tells its operators, read from real processes' output: the address it bound,
 * a Galileo base URL with the wrong path, Galileo refusing the gateway's own configuration
 * (credentials 4, IP 21, API usage 17), the idempotency store unreachable at start and at run
 * time and its recovery, Galileo's rtoken and processing_time on the request line, and the
 * request-duration histogram. Never a credential or password in any of it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { CREDENTIALS, sha256, txId, uniqueSsn, type Simulator } from '../helpers/harness.js';
import { gatewayProcessSuite, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { freePort, SpareRedis, until } from '../../scripts/lib/redis-server.js';
import { metricValue } from '../helpers/metrics-text.js';

const KEY = 'diagnostics-test-key-0123456789abcdef';

describe('ops: diagnostics (real processes)', function () {
  this.timeout(30_000);
  const suite = gatewayProcessSuite();
  let sim: Simulator;
  before(() => (sim = suite.sim));

  // Auth on (as in production): no warning about it in these tests' output.
  const galileoEnv = (overrides: Record<string, string> = {}) =>
    suite.galileoEnv({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'diag', keySha256: sha256(KEY), operations: ['*'] }]), ...overrides });
  const post = (proc: { url: string }, operationId: string, body: object) =>
    request(proc.url).post(pathOf(operationId)).set('authorization', `Bearer ${KEY}`).send(body);
  const ivrBody = () => ({ ...exampleBody('createIvrCall'), transactionId: txId('diag') });
  const accountBody = () => ({ ...exampleBody('createAccount'), transactionId: txId('diag'), id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` });
  const stop = async (proc: GatewayProcess) => {
    proc.signal('SIGTERM');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  describe('start-up', () => {
    it('`gateway started` shows the address actually bound and how long the warm-up took', async () => {
      const proc = await startGatewayProcess({ ...galileoEnv(), HOST: '0.0.0.0' });
      const started = proc.logs().find((l) => l.msg === 'gateway started')!;
      const port = new URL(proc.url).port;
      assert.equal(started.address, `0.0.0.0:${port}`);
      assert.equal(proc.url, `http://127.0.0.1:${port}`);
      assert.equal(typeof started.warmUpMs, 'number');
      assert.deepEqual(
        proc.logs().filter((l) => Number(l.level) >= 40),
        [],
        'no warning for a correct configuration',
      );
      await stop(proc);
    });

    it('a GALILEO_BASE_URL whose path is not /intserv/4.0 is warned about, naming the path', async () => {
      const proc = await startGatewayProcess(galileoEnv({ GALILEO_BASE_URL: `${sim.origin}/intserv/v4/` }));
      const warnings = proc.logs().filter((l) => l.level === 40);
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(String(warnings[0]!.msg), /^GALILEO_BASE_URL's path is "\/intserv\/v4", not Galileo's \/intserv\/4\.0/);
      assert.equal(warnings[0]!.galileo, `${sim.origin}/intserv/v4`);
      await stop(proc);
    });
  });

  describe('Galileo refusing the configuration', () => {
    it("credentials (4): the caller gets Galileo's answer; an error line names the variables, never their values; a counter; bounded repeats", async () => {
      const wrongKey = 'wrongTransKey01';
      const proc = await startGatewayProcess(galileoEnv({ GALILEO_API_TRANS_KEY: wrongKey, PROBLEM_LOG_INTERVAL_MS: '1000' }));
      for (let i = 0; i < 5; i++) {
        const res = await post(proc, 'createIvrCall', ivrBody());
        assert.equal(res.status, 200);
        assert.equal(res.body.status_code, 4, res.text);
      }
      const first = await proc.waitForLog((l) => l.level === 50);
      assert.equal(first.msg, 'Galileo refused the API login: check GALILEO_API_LOGIN and GALILEO_API_TRANS_KEY');
      assert.equal(first.refusal, 'galileo_login_failed');
      assert.equal(first.statusCode, 4);
      assert.equal(first.operation, 'createIvrCall');
      assert.equal(first.occurrences, 1);
      assert.equal(proc.logs().filter((l) => l.level === 50).length, 1, 'one line for five refusals within the interval');

      await sleep(1100);
      await post(proc, 'createIvrCall', ivrBody());
      const errors = await until('a repeated error line', 5000, async () => {
        const lines = proc.logs().filter((l) => l.level === 50);
        return lines.length === 2 ? lines : undefined;
      });
      assert.equal(errors[1]!.occurrences, 5, 'the repeat counts the refusals since the last line');
      assert.ok(Number(errors[1]!.sinceMs) >= 1000);

      const metrics = (await request(proc.url).get('/metrics')).text;
      assert.equal(metricValue(metrics, 'gateway_galileo_config_errors_total', { operation: 'createIvrCall', status_code: '4' }), 6);
      await stop(proc);
      for (const secret of [wrongKey, CREDENTIALS.apiLogin]) assert.ok(!proc.stdout().includes(secret), `${secret} was logged`);
    });

    it('IP (21) and API usage (17): one error line each, per operation; an ordinary answer ends it with one info line', async () => {
      const proc = await startGatewayProcess(galileoEnv());
      sim.addFault({ fault: { type: 'respond', statusCode: 21 }, match: { operation: 'createAccount' }, times: 2 });
      sim.addFault({ fault: { type: 'respond', statusCode: 17 }, match: { operation: 'createIvrCall' }, times: 1 });
      for (let i = 0; i < 2; i++) assert.equal((await post(proc, 'createAccount', accountBody())).body.status_code, 21);
      assert.equal((await post(proc, 'createIvrCall', ivrBody())).body.status_code, 17);

      const ip = await proc.waitForLog((l) => l.refusal === 'galileo_ip_not_registered');
      assert.equal(ip.level, 50);
      assert.match(String(ip.msg), /outbound IP address/);
      assert.equal(ip.operation, 'createAccount');
      const usage = await proc.waitForLog((l) => l.refusal === 'galileo_api_usage_invalid');
      assert.equal(usage.level, 50);
      assert.match(String(usage.msg), /GALILEO_PROVIDER_ID/);
      assert.equal(proc.logs().filter((l) => l.level === 50).length, 2);

      assert.equal((await post(proc, 'createAccount', accountBody())).body.status_code, 0);
      const recovered = await proc.waitForLog((l) => l.msg === 'Galileo answers createAccount normally again');
      assert.equal(recovered.level, 30);
      assert.equal(recovered.refusal, 'galileo_ip_not_registered');
      assert.equal(recovered.occurrences, 2);
      assert.ok(!proc.logs().some((l) => l.msg === 'Galileo answers createIvrCall normally again'), 'createIvrCall had no ordinary answer yet');

      const metrics = (await request(proc.url).get('/metrics')).text;
      assert.equal(metricValue(metrics, 'gateway_galileo_config_errors_total', { operation: 'createAccount', status_code: '21' }), 2);
      assert.equal(metricValue(metrics, 'gateway_galileo_config_errors_total', { operation: 'createIvrCall', status_code: '17' }), 1);
      await stop(proc);
    });
  });

  describe('the idempotency store unreachable', () => {
    const password = 'spare-redis-password-8f3k2';
    let redis: SpareRedis;
    afterEach(async () => redis?.dispose());

    it('at start: an error line naming the store and its address (no password) before `gateway started`; a line when it answers', async () => {
      redis = new SpareRedis({ args: ['--requirepass', password] });
      redis.port = await freePort(); // not started yet: nothing listens there
      const proc = await startGatewayProcess({
        ...galileoEnv(),
        IDEMPOTENCY_STORE: 'redis',
        REDIS_URL: `redis://:${password}@127.0.0.1:${redis.port}/0`,
        STORE_CHECK_INTERVAL_MS: '100',
        PROBLEM_LOG_INTERVAL_MS: '500',
        // A Redis started after the gateway is new to it: claims wait one lock TTL (its data may
        // have been lost). A short timeout keeps that TTL short.
        GALILEO_TIMEOUT_MS: '500',
        GALILEO_MAX_RETRIES: '0',
      });
      const messages = proc.logs().map((l) => String(l.msg));
      const unreachable = proc.logs().find((l) => l.level === 50)!;
      assert.ok(messages.indexOf(String(unreachable.msg)) < messages.indexOf('gateway started'), messages.join('\n'));
      assert.equal(unreachable.msg, 'idempotency store unreachable: requests are refused with 503 until it answers');
      assert.equal(unreachable.store, 'redis');
      assert.equal(unreachable.address, `redis://127.0.0.1:${redis.port}/0`);
      assert.match(String(unreachable.reason), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${redis.port}`));
      assert.equal((await request(proc.url).get('/readyz')).status, 503);
      assert.equal((await post(proc, 'createIvrCall', ivrBody())).status, 503);
      assert.equal(metricValue((await request(proc.url).get('/metrics')).text, 'gateway_idempotency_store_up'), 0);

      await redis.start();
      const recovered = await proc.waitForLog((l) => l.msg === 'idempotency store reachable again', 10_000);
      assert.equal(recovered.level, 30);
      assert.equal(recovered.store, 'redis');
      assert.equal(recovered.address, `redis://127.0.0.1:${redis.port}/0`);
      assert.equal(typeof recovered.downMs, 'number');
      assert.equal((await request(proc.url).get('/readyz')).status, 200);
      let status = 503;
      for (let i = 0; i < 60 && status === 503; i++) {
        status = (await post(proc, 'createIvrCall', ivrBody())).status;
        if (status === 503) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status, 200);
      assert.equal(metricValue((await request(proc.url).get('/metrics')).text, 'gateway_idempotency_store_up'), 1);

      await stop(proc);
      assert.ok(!proc.stdout().includes(password) && !proc.stderr().includes(password), 'the Redis password was logged');
    });

    it('at run time: noticed between requests, repeated at most once per PROBLEM_LOG_INTERVAL_MS while it lasts, one line on recovery', async () => {
      redis = new SpareRedis({ args: ['--requirepass', password] });
      await redis.start();
      const proc = await startGatewayProcess({
        ...galileoEnv(),
        IDEMPOTENCY_STORE: 'redis',
        REDIS_URL: `redis://:${password}@127.0.0.1:${redis.port}`,
        IDEMPOTENCY_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
        STORE_CHECK_INTERVAL_MS: '100',
        PROBLEM_LOG_INTERVAL_MS: '500',
      });
      assert.deepEqual(
        proc.logs().filter((l) => Number(l.level) >= 40),
        [],
      );

      await redis.kill();
      const down = await proc.waitForLog((l) => l.level === 50, 5000);
      assert.equal(down.address, `redis://127.0.0.1:${redis.port}/0`);
      // About 15 failed checks in 1.5 s: one line when it started, then at most one per 500 ms.
      await sleep(1500);
      const lines = proc.logs().filter((l) => l.level === 50);
      assert.ok(lines.length >= 2 && lines.length <= 5, `${lines.length} error lines in 1.5 s`);
      assert.ok(Number(lines.at(-1)!.failedChecks) > 1, 'a repeat counts the failed checks since the last line');
      assert.ok(Number(lines.at(-1)!.sinceMs) >= 500);

      await redis.start();
      const recovered = await proc.waitForLog((l) => l.msg === 'idempotency store reachable again', 10_000);
      assert.ok(Number(recovered.downMs) >= 1500, `downMs ${recovered.downMs}`);
      assert.equal(proc.logs().filter((l) => l.msg === 'idempotency store reachable again').length, 1);
      await stop(proc);
      assert.ok(!proc.stdout().includes(password), 'the Redis password was logged');
    });
  });

  describe('the request line and metrics', () => {
    it("Galileo's rtoken and processing_time (JSON and XML) on the request line; a request-duration histogram by operation and status", async () => {
      const proc = await startGatewayProcess(galileoEnv());
      const json = await post(proc, 'createIvrCall', ivrBody());
      const xml = await post(proc, 'createIvrCall', ivrBody()).set('response-content-type', 'xml');
      assert.match(xml.headers['content-type']!, /xml/);
      const envelopes = [
        { res: json, rtoken: json.body.rtoken as string, time: json.body.processing_time as number },
        { res: xml, rtoken: /<rtoken>([^<]+)<\/rtoken>/.exec(xml.text)![1]!, time: Number(/<processing_time>([^<]+)<\/processing_time>/.exec(xml.text)![1]) },
      ];
      for (const { res, rtoken, time } of envelopes) {
        assert.match(rtoken, /^[0-9a-f-]{36}$/);
        const line = await proc.waitForLog((l) => l.msg === 'request completed' && l.requestId === res.headers['x-request-id']);
        const upstream = line.upstream as Record<string, unknown>;
        assert.equal(upstream.rtoken, rtoken);
        assert.equal(upstream.processingTime, time);
      }
      await request(proc.url).get('/healthz');

      const metrics = (await request(proc.url).get('/metrics')).text;
      assert.equal(metricValue(metrics, 'gateway_request_duration_seconds_count', { operation: 'createIvrCall', status: '200' }), 2);
      assert.equal(metricValue(metrics, 'gateway_request_duration_seconds_count', { operation: 'none', status: '200' }), 1);
      assert.equal(metricValue(metrics, 'gateway_request_duration_seconds_bucket', { operation: 'createIvrCall', status: '200', le: '+Inf' }), 2);
      await stop(proc);
    });
  });
});
