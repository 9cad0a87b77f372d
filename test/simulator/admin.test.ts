/** The admin API and the simulator methods: request log, state, reset, clock; and main.ts. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulator, type RecordedRequest, type RunningSimulator, type StateSnapshot } from '../../src/simulator/server.js';
import { accountWithMobile, admin, call, CREDENTIAL_FIELDS, form, post, rawForm, rawPost, tid } from './helpers.js';

describe('simulator: admin API', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ port: 0 });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  it('GET /__sim/requests lists every /intserv request in order, raw body and parsed params', async () => {
    const transactionId = tid();
    await post(sim, 'createAccount', { prodId: 501, transactionId, firstName: 'Ann Marie' });
    await fetch(`${sim.origin}/intserv/4.0/nothing`, { method: 'POST', body: 'x=1' });
    await fetch(`${sim.origin}/elsewhere`); // not under /intserv: not logged
    const reply = await admin(sim, 'GET', 'requests');
    assert.equal(reply.status, 200);
    const log = reply.json as RecordedRequest[];
    assert.equal(log.length, 2);
    const [first, second] = log;
    assert.equal(first?.operation, 'createAccount');
    assert.equal(first?.method, 'POST');
    assert.equal(first?.path, '/intserv/4.0/createAccount');
    assert.equal(first?.headers['response-content-type'], 'json');
    assert.equal(first?.body, form({ ...CREDENTIAL_FIELDS, transactionId, prodId: 501, firstName: 'Ann Marie' }));
    assert.deepEqual(first?.params, { ...CREDENTIAL_FIELDS, transactionId, prodId: '501', firstName: 'Ann Marie' });
    assert.equal(first?.statusCode, 0);
    assert.ok(!Number.isNaN(Date.parse(first?.receivedAt ?? '')));
    assert.equal(second?.operation, 'nothing');
    assert.equal(second?.statusCode, -4);
    assert.deepEqual(sim.requests(), log, 'the method returns the same log');
    assert.equal((await admin(sim, 'DELETE', 'requests')).status, 204);
    assert.deepEqual((await admin(sim, 'GET', 'requests')).json, []);
  });

  it('records faulted requests too (on arrival, before the fault)', async () => {
    await admin(sim, 'POST', 'faults', { fault: { type: 'edge', status: 502 }, times: 1 });
    const body = rawForm({ prodId: 501 });
    await rawPost(`${sim.url}/createAccount`, body);
    const [entry] = sim.requests();
    assert.equal(entry?.fault, 'edge');
    assert.equal(entry?.body, body);
    assert.equal(entry?.statusCode, undefined);
  });

  it('GET /__sim/state summarises accounts (PAN masked) and POST /__sim/reset forgets everything', async () => {
    const prn = await accountWithMobile(sim);
    const snapshot = (await admin(sim, 'GET', 'state')).json as StateSnapshot;
    assert.equal(snapshot.accounts.length, 1);
    const [account] = snapshot.accounts;
    assert.equal(account?.prn, prn);
    assert.match(account?.pan ?? '', /^487093X{6}\d{4}$/);
    assert.deepEqual(account?.phones, { primary: null, other: null, mobile: '8015556060' });
    assert.deepEqual(account?.onDemandAlerts, { status: 'none', mobileCarrierId: null, lastPin: null, pinExpiresAt: null });
    assert.equal(snapshot.consumedTransactionIds, 1);
    assert.deepEqual(sim.snapshot().accounts, snapshot.accounts);

    assert.equal((await admin(sim, 'POST', 'reset')).status, 204);
    const after = (await admin(sim, 'GET', 'state')).json as StateSnapshot;
    assert.deepEqual([after.accounts, after.consumedTransactionIds, sim.requests().length], [[], 0, 0]);
  });

  it('the clock can be advanced and reset', async () => {
    const before = Date.parse(((await admin(sim, 'GET', 'clock')).json as { now: string }).now);
    const moved = await admin(sim, 'POST', 'clock', { advanceMs: 3_600_000 });
    assert.ok(Date.parse((moved.json as { now: string }).now) - before >= 3_600_000);
    assert.equal((await admin(sim, 'POST', 'clock', { advanceMs: 'soon' })).status, 400);
    sim.reset();
    assert.ok(Date.parse(sim.snapshot().now) - before < 3_600_000);
  });

  it('unknown admin routes and bad JSON are answered, not crashed on', async () => {
    assert.equal((await admin(sim, 'GET', 'nothing')).status, 404);
    const res = await fetch(`${sim.origin}/__sim/faults`, { method: 'POST', body: '{oops' });
    assert.equal(res.status, 400);
    assert.equal((await admin(sim, 'GET', 'accounts/123456789012/pin')).status, 404);
  });

  it('createSimulator credentials option: only the configured credentials log in', async () => {
    const custom = await startSimulator({ port: 0, credentials: { apiLogin: 'other', apiTransKey: 'k2', providerId: 42 } });
    try {
      assert.equal((await call(custom, 'createAccount', { prodId: 501 })).status_code, 4);
      const env = await call(custom, 'createAccount', { prodId: 501, apiLogin: 'other', apiTransKey: 'k2', providerId: 42 });
      assert.equal(env.status_code, 0);
    } finally {
      await custom.close();
    }
  });
});

describe('simulator: npm run simulator (main.ts)', () => {
  it('prints its base URL and credentials, applies SIMULATOR_FAULTS, stops on SIGTERM', async function () {
    this.timeout(20000);
    const main = fileURLToPath(new URL('../../src/simulator/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, SIMULATOR_PORT: '0', SIMULATOR_FAULTS: JSON.stringify([{ fault: { type: 'edge', status: 503 } }]) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const match = /listening: (\S+)/.exec(out);
          if (match?.[1] && out.includes('providerId=')) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/intserv\/4\.0$/);
      assert.match(out, /apiLogin=sim-login apiTransKey=simTransKey0001 providerId=9999/);
      const res = await fetch(`${url}/createAccount`, { method: 'POST', body: rawForm({ prodId: 501 }) });
      assert.equal(res.status, 503);
      await res.text();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
