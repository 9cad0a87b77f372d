/**
 * Two real gateway processes on a real Redis Cluster of three masters (REDIS_CLUSTER_NODES): a
 * storm of identical requests split over both reaches Galileo once, and records land on every
 * master's slots.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import request from 'supertest';
import { txId, uniqueSsn } from '../helpers/harness.js';
import { pathOf } from '../../scripts/lib/examples.js';
import { gatewayProcessSuite, startGatewayProcess } from '../helpers/process.js';
import { sharedCluster, type TestRedisCluster } from '../../scripts/lib/redis-topologies.js';
import { assertStormReachesGalileoOnce } from '../helpers/storm.js';
import { adoptPrefix } from '../../scripts/lib/redis-keys.js';

describe('two gateway processes on a Redis Cluster (three masters)', function () {
  this.timeout(60_000);
  const suite = gatewayProcessSuite();
  let cluster: TestRedisCluster;
  let admin: Cluster;
  const prefix = `test:cluster-gw:${randomBytes(6).toString('hex')}:`;

  before(async () => {
    cluster = await sharedCluster();
    admin = cluster.admin();
    // The cluster was started seconds ago: without this the store would wait out one lock TTL
    // (it cannot tell a new server from one that forgot its claims).
    await adoptPrefix(admin, prefix);
  });
  after(() => admin?.disconnect());

  const env = () =>
    suite.galileoEnv({
      GALILEO_TIMEOUT_MS: '5000',
      GALILEO_MAX_RETRIES: '0',
      IDEMPOTENCY_STORE: 'redis',
      REDIS_CLUSTER_NODES: cluster.addresses,
      IDEMPOTENCY_KEY_PREFIX: prefix,
      IDEMPOTENCY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'info',
    });
  const account = () => ({ transactionId: txId('cluster'), prodId: 501, firstName: 'Grace', lastName: 'Hopper', idType: 2, id: uniqueSsn() });

  it('30 identical requests split across both reach Galileo once (409 or byte-identical replays); records land on every master', async () => {
    const shared = env(); // one encryption key for both replicas
    const [a, b] = await Promise.all([startGatewayProcess(shared), startGatewayProcess(shared)]);
    try {
      const started = a.logs().find((l) => l.msg === 'gateway started');
      assert.deepEqual(started?.redis, { topology: 'cluster', nodes: cluster.addresses, tls: false, auth: false });

      await assertStormReachesGalileoOnce(suite.sim, [a.url, b.url], account(), 30);

      // Thirty different transactions: their records spread over the three masters' slots.
      const many = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          request(i % 2 === 0 ? a.url : b.url)
            .post(pathOf('createAccount'))
            .send(account()),
        ),
      );
      for (const r of many) assert.equal(r.status, 200, r.text);
      const perNode = (await cluster.keysPerNode(prefix)).map((keys) => keys.filter((k) => k.includes('}r:')).length);
      assert.equal(
        perNode.reduce((x, y) => x + y),
        31,
      );
      assert.ok(
        perNode.every((n) => n > 0),
        `records per master: ${perNode.join('/')}`,
      );

      for (const proc of [a, b])
        assert.deepEqual(
          proc.logs().filter((l) => Number(l.level) >= 50),
          [],
        );
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });

  it('the Galileo budget is one bucket for both processes on the Cluster (its keys share one slot under the prefix)', async () => {
    const limited = { ...env(), GALILEO_MAX_REQUESTS_PER_SECOND: '1' }; // a burst of 1, then one call a second
    const [a, b] = await Promise.all([startGatewayProcess(limited), startGatewayProcess(limited)]);
    try {
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          request(i % 2 === 0 ? a.url : b.url)
            .post(pathOf('createAccount'))
            .send(account()),
        ),
      );
      assert.deepEqual(answers.map((r) => r.status).sort(), [200, 429, 429, 429, 429, 429], answers.map((r) => r.text.slice(0, 120)).join('\n'));
      const buckets = (await cluster.keysPerNode(prefix)).flat().filter((k) => k.includes('{rl}'));
      assert.deepEqual(buckets, [`${prefix}{rl}galileo`]);
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });
});
