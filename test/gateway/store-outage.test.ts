/**
 * The gateway fails closed when its Redis goes away (503, nothing forwarded, /readyz 503) and
 * recovers by itself when Redis is back, without a restart.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { startTestGateway, startTestSimulator, txId, type Simulator, type TestGateway } from '../helpers/harness.js';
import { exampleBody, pathOf } from '../helpers/examples.js';
import { SpareRedis, until } from '../helpers/redis-server.js';

describe('idempotency store outage (gateway on its own redis-server)', () => {
  const redis = new SpareRedis();
  let sim: Simulator;
  let gw: TestGateway;
  before(async () => {
    await redis.start();
    sim = await startTestSimulator();
    gw = await startTestGateway(sim.url, { IDEMPOTENCY_STORE: 'redis', REDIS_URL: redis.url });
  });
  after(async () => {
    await gw?.stop();
    await sim?.close();
    await redis.dispose();
  });

  const call = (transactionId: string) => request(gw.url).post(pathOf('createIvrCall')).send({ ...exampleBody('createIvrCall'), transactionId });

  it('Redis down: 503 idempotency_store_unavailable, nothing forwarded, /readyz 503; back up: recovers', async () => {
    assert.equal((await call(txId('before'))).status, 200);
    assert.equal((await request(gw.url).get('/readyz')).status, 200);

    await redis.kill();
    const before = sim.requests().length;
    const transactionId = txId('down');
    const down = await call(transactionId);
    assert.equal(down.status, 503, down.text);
    assert.equal(down.headers['retry-after'], '1');
    assert.equal(JSON.parse(down.text).code, 'idempotency_store_unavailable');
    assert.equal(sim.requests().length, before, 'a request was forwarded while the store was down');
    const notReady = await request(gw.url).get('/readyz');
    assert.equal(notReady.status, 503);
    assert.deepEqual(JSON.parse(notReady.text).checks, { config: 'ok', store: 'unavailable' });
    const line = gw.logs.find((l) => l.msg === 'request completed' && l.transactionId === transactionId);
    assert.equal(line?.idempotency, 'store_unavailable');

    await redis.start();
    await until('/readyz to be 200 again', 10_000, async () => ((await request(gw.url).get('/readyz')).status === 200 ? true : undefined));
    const again = await call(transactionId);
    assert.equal(again.status, 200, again.text);
    assert.equal(sim.requests().length, before + 1);
  });
});
