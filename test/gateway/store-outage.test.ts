/**
 * The gateway on its own redis-server: it fails closed when Redis goes away (503, nothing
 * forwarded, /readyz 503); when Redis comes back without its data (no persistence) it refuses new
 * claims for one lock TTL, so a retry is never forwarded while the first call may still run; then
 * it works again without a restart.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { gatewaySuite, txId, uniqueSsn } from '../helpers/harness.js';
import { pathOf } from '../../scripts/lib/examples.js';
import { SpareRedis, until } from '../../scripts/lib/redis-server.js';
import { adoptPrefix, plainClient } from '../../scripts/lib/redis-keys.js';

// No retries, no lookups of lost answers and a short timeout: lock TTL = 400 ms + 2 s margin.
const TIMEOUT_MS = 400;
const LOCK_TTL_MS = TIMEOUT_MS + 2000;

describe('idempotency store outage and restart without persistence (gateway on its own redis-server)', () => {
  const redis = new SpareRedis();
  before(async () => {
    await redis.start();
    // Started a moment ago: as a server that has served this prefix before (see redis-outage.test.ts
    // for the fence a new server gets).
    const admin = plainClient(redis.url);
    await adoptPrefix(admin, 'galileo-gw:idem:');
    admin.disconnect();
  });
  // After the server it needs has started, stopped before it is disposed.
  const suite = gatewaySuite(() => ({
    IDEMPOTENCY_STORE: 'redis',
    REDIS_URL: redis.url,
    GALILEO_TIMEOUT_MS: String(TIMEOUT_MS),
    GALILEO_MAX_RETRIES: '0',
    GALILEO_RESOLVE_ATTEMPTS: '0',
  }));
  after(async () => {
    await redis.dispose();
  });

  // Consumed at Galileo (status 0), so Galileo's own duplicate check shows a second execution attempt.
  const account = { prodId: 501, firstName: 'Grace', lastName: 'Hopper', idType: 2, id: uniqueSsn() };
  const createAccount = (transactionId: string) =>
    request(suite.gw.url)
      .post(pathOf('createAccount'))
      .send({ ...account, transactionId });
  const received = (transactionId: string) => suite.sim.requests().filter((r) => r.params.transactionId === transactionId);
  const problem = (res: request.Response) => JSON.parse(res.text) as { code: string; detail: string };

  it('Redis killed and restarted empty during a call: 503 while down, then the retry is refused while the first call may run, then forwarded', async () => {
    const transactionId = txId('restart');
    suite.sim.addFault({ fault: { type: 'latency', ms: 300 }, match: { transactionId }, times: 1 });
    const first = createAccount(transactionId).then((r) => r);
    await until('the first call to reach Galileo', 5000, async () => (received(transactionId).length === 1 ? true : undefined));

    await redis.kill();
    const down = await createAccount(transactionId);
    assert.equal(down.status, 503, down.text);
    assert.equal(down.headers['retry-after'], '1');
    assert.match(problem(down).detail, /cannot be reached/);
    const notReady = await request(suite.gw.url).get('/readyz');
    assert.equal(notReady.status, 503);
    assert.deepEqual(JSON.parse(notReady.text).checks, { config: 'ok', store: 'unavailable' });
    const line = suite.gw.logs.find((l) => l.msg === 'request completed' && l.idempotency === 'store_unavailable' && l.transactionId === transactionId);
    assert.ok(line, 'a store_unavailable request line');

    await redis.start();
    const restartedAt = Date.now();
    await until('/readyz to be 200 again', 10_000, async () => ((await request(suite.gw.url).get('/readyz')).status === 200 ? true : undefined));
    // The claim of the first call is gone with Redis' memory, and that call is still running.
    const retry = await createAccount(transactionId);
    assert.equal(retry.status, 503, retry.text);
    assert.equal(problem(retry).code, 'idempotency_store_unavailable');
    assert.match(problem(retry).detail, /may have lost recent claims/);
    const retryAfter = Number(retry.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= Math.ceil(LOCK_TTL_MS / 1000), `Retry-After ${retryAfter}`);
    assert.equal(received(transactionId).length, 1, 'the retry was forwarded while the first call may still run');

    const firstAnswer = await first;
    assert.equal(firstAnswer.status, 200, firstAnswer.text);
    assert.ok(
      suite.gw.logs.some((l) => l.msg === 'idempotency store may have lost writes: new claims are refused for one lock TTL' && l.reason === 'epoch_missing'),
      'the loss is logged',
    );
    // Its answer could not be recorded: Redis was down, or the claim was gone.
    assert.ok(
      suite.gw.logs.some((l) => typeof l.msg === 'string' && /^idempotency complete (skipped: the claim is gone|failed)/.test(l.msg)),
      'the answer was not recorded',
    );

    // Until a lock TTL after the restart, still refused; after it, forwarded again (and Galileo,
    // which did execute the first call, answers 24).
    while (Date.now() - restartedAt < LOCK_TTL_MS - 500) {
      assert.equal((await createAccount(transactionId)).status, 503);
      assert.equal(received(transactionId).length, 1);
      await sleep(200);
    }
    const again = await until('the fence to pass', LOCK_TTL_MS + 2000, async () => {
      const res = await createAccount(transactionId);
      return res.status === 503 ? undefined : res;
    });
    assert.equal(again.status, 200, again.text);
    assert.match(again.text, /"status_code":24/);
    assert.equal(received(transactionId).length, 2);
  });
});
