/**
 * Redis passwords never leave the gateway process: real processes with the right password in
 * REDIS_URL, a wrong one in REDIS_PASSWORD_FILE, and a configuration error; every byte they write
 * is searched for the passwords (plain and percent-encoded).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { CREDENTIALS, startTestSimulator, txId, type Simulator } from '../helpers/harness.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { killAllGatewayProcesses, spawnGateway, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { SpareRedis } from '../../scripts/lib/redis-server.js';
import { adoptPrefix, plainClient } from '../../scripts/lib/redis-keys.js';

const PASSWORD = 'Redis-Pa55:w/rd@%top-secret';
const WRONG = 'Wrong-Pa55:w/rd@%also-secret';
const PREFIX = 'creds-test:';

describe('Redis credentials stay in the process (real gateway processes)', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'gw-redis-creds-'));
  const redis = new SpareRedis({ args: ['--user', 'gateway', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '--user', 'default', 'off'] });
  let sim: Simulator;

  before(async () => {
    [sim] = await Promise.all([startTestSimulator(), redis.start()]);
    const admin = plainClient(`redis://gateway:${encodeURIComponent(PASSWORD)}@${redis.address}`);
    await adoptPrefix(admin, PREFIX);
    admin.disconnect();
  });
  after(async () => {
    await killAllGatewayProcesses();
    await sim?.close();
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (redisEnv: Record<string, string>) => ({
    GATEWAY_AUTH: 'off',
    GALILEO_BASE_URL: sim.url,
    GALILEO_API_LOGIN: CREDENTIALS.apiLogin,
    GALILEO_API_TRANS_KEY: CREDENTIALS.apiTransKey,
    GALILEO_PROVIDER_ID: String(CREDENTIALS.providerId),
    IDEMPOTENCY_STORE: 'redis',
    IDEMPOTENCY_KEY_PREFIX: PREFIX,
    LOG_LEVEL: 'debug',
    ...redisEnv,
  });
  const assertNoPassword = (proc: GatewayProcess) => {
    const output = proc.stdout() + proc.stderr();
    for (const secret of [PASSWORD, WRONG, encodeURIComponent(PASSWORD), encodeURIComponent(WRONG), 'top-secret', 'also-secret']) {
      assert.equal(output.includes(secret), false, `the output holds ${secret}`);
    }
  };
  const call = (url: string) =>
    request(url)
      .post(pathOf('createIvrCall'))
      .send({ ...exampleBody('createIvrCall'), transactionId: txId('creds') });

  it('right password in REDIS_URL, wrong one in REDIS_PASSWORD_FILE, both in two places: served, refused (503 naming no secret), stopped at start-up', async () => {
    const wrongFile = join(dir, 'wrong-password');
    writeFileSync(wrongFile, `${WRONG}\n`);
    const [good, bad] = await Promise.all([
      startGatewayProcess(env({ REDIS_URL: `redis://gateway:${encodeURIComponent(PASSWORD)}@${redis.address}` })),
      startGatewayProcess(env({ REDIS_URL: `redis://${redis.address}`, REDIS_USERNAME: 'gateway', REDIS_PASSWORD_FILE: wrongFile })),
    ]);
    const twice = spawnGateway(env({ REDIS_URL: `redis://gateway:${encodeURIComponent(PASSWORD)}@${redis.address}`, REDIS_PASSWORD: PASSWORD, PORT: '0' }));

    assert.deepEqual(good.logs().find((l) => l.msg === 'gateway started')?.redis, {
      topology: 'single',
      nodes: redis.address,
      db: 0,
      tls: false,
      auth: true,
      user: 'gateway',
    });
    // Each call to the gateway that never got in waits up to the command timeout: ask at once.
    const [served, goodReady, refused, badReady] = await Promise.all([
      call(good.url),
      request(good.url).get('/readyz'),
      call(bad.url),
      request(bad.url).get('/readyz'),
    ]);
    assert.notEqual(served.status, 503, served.text);
    assert.equal(goodReady.status, 200);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(JSON.parse(refused.text).code, 'idempotency_store_unavailable');
    assert.equal(badReady.status, 503);
    const warning = bad.logs().find((l) => l.msg === 'idempotency store unreachable: requests are refused with 503 until it answers');
    assert.match(String(warning?.reason), /WRONGPASS/, 'the operator is told why');

    const exit = await twice.exited;
    assert.equal(exit.code, 1);
    assert.match(twice.stderr(), /invalid configuration: REDIS_PASSWORD: REDIS_URL already holds a password/);

    for (const proc of [good, bad]) proc.signal('SIGTERM');
    await Promise.all([good.exited, bad.exited]);
    for (const proc of [good, bad, twice]) assertNoPassword(proc);
  });
});
