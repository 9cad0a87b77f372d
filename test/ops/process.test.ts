/**
 * The gateway as a real process (docs/contract.md, Configuration and shutdown): start-up lines,
 * readiness and graceful shutdown on SIGTERM/SIGINT with a request in flight, the drain bound, and
 * bad configuration refused with one message naming the variable.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { CREDENTIALS, sha256, txId, uniqueSsn, type Simulator } from '../helpers/harness.js';
import { gatewayProcessSuite, probe, spawnGateway, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { metricValue } from '../helpers/metrics-text.js';
import { rawConnection } from '../helpers/raw-http.js';

describe('ops: the gateway process', function () {
  this.timeout(30_000);
  const suite = gatewayProcessSuite();
  let sim: Simulator;
  before(() => (sim = suite.sim));

  const galileoEnv = () => suite.galileoEnv();
  const accountBody = () => ({ ...exampleBody('createAccount'), transactionId: txId('proc'), id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` });
  const reachedGalileo = suite.reachedGalileo;
  const messages = (proc: GatewayProcess) => proc.logs().map((l) => String(l.msg));

  describe('start-up', () => {
    it('logs `gateway started` with url, store, auth and the Galileo origin, and no credentials', async () => {
      const key = 'process-test-bearer-key-0123456789';
      const proc = await startGatewayProcess(suite.galileoEnv({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'a', keySha256: sha256(key), operations: ['*'] }]) }));
      const started = proc.logs().find((l) => l.msg === 'gateway started')!;
      assert.match(proc.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(started.level, 30);
      assert.equal(started.store, 'memory');
      assert.equal(started.auth, true);
      assert.equal(started.galileo, sim.origin);
      assert.deepEqual(
        proc.logs().filter((l) => l.level !== 30),
        [],
        'no warnings when configured',
      );
      assert.equal((await request(proc.url).get('/healthz')).status, 200);
      const ready = await request(proc.url).get('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ready', checks: { config: 'ok', store: 'ok' } });

      proc.signal('SIGTERM');
      assert.deepEqual(await proc.exited, { code: 0, signal: null });
      for (const secret of [CREDENTIALS.apiTransKey, CREDENTIALS.apiLogin, key, sha256(key)]) {
        assert.ok(!proc.stdout().includes(secret) && !proc.stderr().includes(secret), `${secret} was logged`);
      }
      assert.equal(proc.stderr(), '');
    });

    it('warns when caller auth is off and when the embedded simulator is used', async () => {
      const proc = await startGatewayProcess({});
      const warnings = proc
        .logs()
        .filter((l) => l.level === 40)
        .map((l) => String(l.msg));
      assert.equal(warnings.length, 2, warnings.join('\n'));
      assert.match(warnings.join('\n'), /GALILEO_BASE_URL is not set: using the embedded Galileo simulator/);
      assert.match(warnings.join('\n'), /caller authentication is OFF \(in front of the embedded simulator\)/);
      const started = proc.logs().find((l) => l.msg === 'gateway started')!;
      assert.equal(started.auth, false);
      assert.match(String(started.galileo), /^http:\/\/127\.0\.0\.1:\d+$/);
      proc.signal('SIGTERM');
      assert.equal((await proc.exited).code, 0);
      assert.ok(!proc.stdout().includes(CREDENTIALS.apiTransKey), 'the simulator credentials were logged');
    });
  });

  describe('shutdown', () => {
    it('SIGTERM: readiness 503 at once, no new connections, the in-flight request answered, exit 0', async () => {
      const proc = await startGatewayProcess({ ...galileoEnv(), GALILEO_TIMEOUT_MS: '5000' });
      const body = accountBody();
      sim.addFault({ fault: { type: 'latency', ms: 1500 }, match: { transactionId: body.transactionId } });

      const conn = await rawConnection(proc.url);
      conn.send('POST', pathOf('createAccount'), { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      await reachedGalileo(body.transactionId);
      assert.equal(metricValue((await request(proc.url).get('/metrics')).text, 'gateway_in_flight_requests'), 2);

      proc.signal('SIGTERM');
      await proc.waitForLog((l) => l.msg === 'gateway stopping');
      // The connection already open still reaches the app: readiness says 503 while draining.
      conn.send('GET', '/readyz');
      // A new connection is refused (or, had it slipped in, told 503).
      const second = await probe(`${proc.url}/readyz`);
      assert.ok(second === 'ECONNREFUSED' || second === 503, `second request got ${second}`);

      const [answered, readiness] = await conn.responses(2);
      const answeredAt = Date.now();
      assert.equal(answered!.status, 200, answered!.body);
      const envelope = JSON.parse(answered!.body);
      assert.equal(envelope.status_code, 0, answered!.body);
      assert.equal(envelope.echo.transaction_id, body.transactionId);
      assert.equal(readiness!.status, 503);
      assert.deepEqual(JSON.parse(readiness!.body), { status: 'not ready', checks: { config: 'ok', store: 'ok', shutdown: 'in progress' } });

      assert.deepEqual(await proc.exited, { code: 0, signal: null });
      // The kept-alive connection does not hold the drain until its keep-alive timeout (5 s).
      assert.ok(Date.now() - answeredAt < 2000, `exit ${Date.now() - answeredAt} ms after the last response`);
      await conn.closed;

      const order = messages(proc);
      const completed = proc.logs().findIndex((l) => l.msg === 'request completed' && l.transactionId === body.transactionId);
      assert.ok(order.indexOf('gateway stopping') < completed && completed < order.indexOf('gateway stopped'), order.join('\n'));
      assert.equal(proc.logs()[completed]!.status, 200);
      assert.equal(proc.logs().find((l) => l.msg === 'gateway stopped')!.drained, true);
      assert.equal(proc.stderr(), '');
    });

    it('SIGINT with a request slower than SHUTDOWN_DRAIN_MS: the drain is bounded, the request cut, exit 0', async () => {
      const proc = await startGatewayProcess({ ...galileoEnv(), GALILEO_TIMEOUT_MS: '20000', SHUTDOWN_DRAIN_MS: '300' });
      const body = accountBody();
      sim.addFault({ fault: { type: 'latency', ms: 10_000 }, match: { transactionId: body.transactionId } });
      const conn = await rawConnection(proc.url);
      conn.send('POST', pathOf('createAccount'), { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      await reachedGalileo(body.transactionId);

      const signalledAt = Date.now();
      proc.signal('SIGINT');
      assert.deepEqual(await proc.exited, { code: 0, signal: null });
      assert.ok(Date.now() - signalledAt < 3000, `took ${Date.now() - signalledAt} ms`);
      await conn.closed;
      await assert.rejects(conn.responses(1, 100));

      assert.ok(messages(proc).includes('drain timeout reached: closing remaining connections'), messages(proc).join('\n'));
      const cut = proc.logs().filter((l) => l.msg === 'request completed' && l.transactionId === body.transactionId);
      assert.equal(cut.length, 1, proc.stdout());
      assert.equal(cut[0]!.status, 499);
      assert.equal(proc.logs().find((l) => l.msg === 'gateway stopped')!.drained, false);
    });
  });

  describe('bad configuration', () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['GALILEO_TIMEOUT_MS', { GALILEO_TIMEOUT_MS: 'abc' }],
      ['GALILEO_BASE_URL', { NODE_ENV: 'production' }],
      ['GATEWAY_CLIENTS', { GATEWAY_CLIENTS: 'not json' }],
      ['PORT', { PORT: '99999' }],
      ['IDEMPOTENCY_ENCRYPTION_KEY', { IDEMPOTENCY_ENCRYPTION_KEY: 'too-short' }],
    ];
    // All started at once: each is a whole Node start-up.
    let exits: Array<Promise<{ proc: GatewayProcess; code: number | null }>> = [];
    before(() => {
      exits = cases.map(([, env]) => {
        const proc = spawnGateway({ PORT: '0', HOST: '127.0.0.1', ...env });
        return proc.exited.then(({ code }) => ({ proc, code }));
      });
    });

    cases.forEach(([variable, env], i) => {
      it(`${Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}: exit 1, one stderr line naming ${variable}`, async () => {
        const { proc, code } = await exits[i]!;
        assert.equal(code, 1, proc.stdout() + proc.stderr());
        const lines = proc.stderr().trimEnd().split('\n');
        assert.equal(lines.length, 1, proc.stderr());
        assert.match(lines[0]!, new RegExp(`^galileo-gateway: invalid configuration: ${variable}: `));
        assert.ok(!proc.logs().some((l) => l.msg === 'gateway started'));
      });
    });
  });
});
