/**
 * Idempotency across real gateway processes sharing one Redis: a storm split over two replicas
 * reaches Galileo once, and a replica killed with SIGKILL mid-call blocks its key only until the
 * lock TTL expires.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { txId, uniqueSsn } from '../helpers/harness.js';
import { pathOf } from '../../scripts/lib/examples.js';
import { gatewayProcessSuite, startGatewayProcess } from '../helpers/process.js';
import { assertStormReachesGalileoOnce } from '../helpers/storm.js';
import { adminClient, deleteByPrefix } from '../../scripts/lib/redis-keys.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('replicas sharing one Redis (real processes)', function () {
  this.timeout(60_000);
  const suite = gatewayProcessSuite();
  const prefix = `test:replicas:${randomBytes(6).toString('hex')}:`;
  const env = (timeoutMs: number) =>
    suite.galileoEnv({
      GALILEO_TIMEOUT_MS: String(timeoutMs),
      GALILEO_MAX_RETRIES: '0',
      // The lock TTL below is the call's alone (lost answers' lookups add to it: test/gateway/lost-answers.test.ts).
      GALILEO_RESOLVE_ATTEMPTS: '0',
      IDEMPOTENCY_STORE: 'redis',
      REDIS_URL,
      IDEMPOTENCY_KEY_PREFIX: prefix,
      LOG_LEVEL: 'info',
    });

  after(async () => {
    const redis = adminClient();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  const account = () => ({ transactionId: txId('replica'), prodId: 501, firstName: 'Grace', lastName: 'Hopper', idType: 2, id: uniqueSsn() });
  const received = (transactionId: string) => suite.sim.requests().filter((r) => r.params.transactionId === transactionId).length;

  it('50 simultaneous identical requests split across two replicas reach Galileo exactly once', async () => {
    const [a, b] = await Promise.all([startGatewayProcess(env(5000)), startGatewayProcess(env(5000))]);
    try {
      await assertStormReachesGalileoOnce(suite.sim, [a.url, b.url], account(), 50);
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });

  it('a replica killed with SIGKILL mid-call blocks the key only until the lock TTL', async () => {
    // GALILEO_TIMEOUT_MS 500 and no retries: lock TTL = 500 ms + 2 s margin.
    const [doomed, survivor] = await Promise.all([startGatewayProcess(env(500)), startGatewayProcess(env(500))]);
    try {
      const body = account();
      suite.sim.addFault({ fault: { type: 'no_answer' }, match: { transactionId: body.transactionId }, times: 1 });
      const inFlight = request(doomed.url)
        .post(pathOf('createAccount'))
        .send(body)
        .then(
          (r) => r.status,
          () => 'connection lost',
        );
      const deadline = Date.now() + 5000;
      while (received(body.transactionId) === 0 && Date.now() < deadline) await sleep(10);
      assert.equal(received(body.transactionId), 1, 'the first call never reached Galileo');
      await doomed.kill();
      assert.equal(await inFlight, 'connection lost');

      const blocked = await request(survivor.url).post(pathOf('createAccount')).send(body);
      assert.equal(blocked.status, 409, blocked.text);
      assert.equal(received(body.transactionId), 1);

      await sleep(2_800);
      const retried = await request(survivor.url).post(pathOf('createAccount')).send(body);
      assert.equal(retried.status, 200, retried.text);
      assert.equal(received(body.transactionId), 2, 'after the lock TTL the key can be claimed again');
    } finally {
      await Promise.all([doomed.kill(), survivor.kill()]);
    }
  });
});
