/**
 * What makes Redis forget claims, on private redis-servers: an eviction policy (read at start-up
 * and on every connection; refused in production, warned about elsewhere, reported as unknown
 * when the server will not say), and claims a replica has not acknowledged (REDIS_MIN_REPLICAS_ACK).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { ConfigError } from '../../src/config.js';
import { plainCodec } from '../../src/idempotency/codec.js';
import { RedisStore } from '../../src/idempotency/redis-store.js';
import { StoreUnavailableError, type StoreEvent } from '../../src/idempotency/store.js';
import { sha256, startTestGateway, startTestSimulator, type Simulator } from '../helpers/harness.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { SpareRedis, until } from '../../scripts/lib/redis-server.js';
import { adoptPrefix, plainClient, storeClient, uniquePrefix } from '../../scripts/lib/redis-keys.js';

const timings = { lockTtlMs: 10_000, consumedTtlMs: 10_000 };
const newKey = () => `k-${randomUUID()}`;

describe('Redis durability settings', function () {
  this.timeout(30_000);
  const servers: SpareRedis[] = [];
  const stores: RedisStore[] = [];
  const spare = async (options: ConstructorParameters<typeof SpareRedis>[0] = {}) => {
    const server = new SpareRedis(options);
    servers.push(server);
    await server.start();
    return server;
  };
  const open = async (server: SpareRedis, options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}) => {
    const keyPrefix = uniquePrefix('durability');
    const admin = plainClient(server.url);
    // A server started a moment ago: take the prefix as served before, or the store fences it.
    await adoptPrefix(admin, keyPrefix);
    admin.disconnect();
    // WAIT gets half the command timeout: room enough for an acknowledgement on a loaded machine.
    const store = new RedisStore({ redis: storeClient(server.url, 2000), keyPrefix, timings, codec: plainCodec, commandTimeoutMs: 2000, ...options });
    stores.push(store);
    return store;
  };
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.dispose()));
  });

  describe('maxmemory-policy', () => {
    let evicting: SpareRedis;
    before(async () => {
      evicting = await spare({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    });

    it('noeviction: nothing to report', async () => {
      const store = await open(await spare());
      assert.deepEqual(await store.inspect(), []);
    });

    it('an evicting policy is reported; "warn" still claims, "refuse" refuses every claim and readiness until it is noeviction', async () => {
      const events: StoreEvent[] = [];
      const warn = await open(evicting);
      assert.deepEqual(await warn.inspect(), [{ code: 'eviction_policy', server: evicting.address, policy: 'allkeys-lru' }]);
      assert.equal((await warn.claim(newKey(), 'fp')).state, 'claimed');

      const refuse = await open(evicting, { evictionPolicy: 'refuse', onEvent: (e) => events.push(e) });
      await until('the policy to be read on connection', 5000, async () => (events.length > 0 ? true : undefined));
      assert.deepEqual(events, [
        { type: 'findings', findings: [{ code: 'eviction_policy', server: evicting.address, policy: 'allkeys-lru' }], refusing: true },
      ]);
      await assert.rejects(
        refuse.claim(newKey(), 'fp'),
        (err: unknown) => err instanceof StoreUnavailableError && /maxmemory-policy allkeys-lru/.test(err.message),
      );
      await assert.rejects(refuse.ping(), StoreUnavailableError);

      const admin = plainClient(evicting.url);
      try {
        await admin.config('SET', 'maxmemory-policy', 'volatile-ttl');
        assert.equal((await refuse.inspect())[0]?.code, 'eviction_policy', 'volatile-* evicts records too: they all expire');
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        assert.deepEqual(await refuse.inspect(), []);
        assert.deepEqual(events.at(-1), { type: 'findings', findings: [], refusing: false });
        assert.equal((await refuse.claim(newKey(), 'fp')).state, 'claimed');
        await refuse.ping();
      } finally {
        await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
        admin.disconnect();
      }
    });

    it('a server that refuses INFO and CONFIG (as managed services do): unknown, reported, not refused', async () => {
      const locked = await spare({
        args: ['--user', 'gw', 'on', '>pw', '~*', '&*', '+@all', '-info', '-config', '--user', 'default', 'on', 'nopass', '~*', '&*', '+@all'],
      });
      const store = new RedisStore({
        redis: storeClient(`redis://gw:pw@${locked.address}`, 1000),
        keyPrefix: uniquePrefix('locked'),
        timings,
        codec: plainCodec,
        commandTimeoutMs: 1000,
        evictionPolicy: 'refuse',
      });
      stores.push(store);
      const [finding, ...rest] = await store.inspect();
      assert.equal(rest.length, 0);
      assert.equal(finding?.code, 'eviction_policy_unknown');
      assert.ok(
        finding?.code === 'eviction_policy_unknown' && /INFO refused: NOPERM.*CONFIG GET refused: NOPERM/.test(finding.reason),
        JSON.stringify(finding),
      );
      await store.ping();
    });

    it('the gateway: refused at start-up in production (naming the setting), a warning line otherwise', async () => {
      const sim: Simulator = await startTestSimulator();
      try {
        const base = { IDEMPOTENCY_STORE: 'redis', REDIS_URL: evicting.url, IDEMPOTENCY_KEY_PREFIX: uniquePrefix('gw-policy') };
        const admin = plainClient(evicting.url);
        await adoptPrefix(admin, base.IDEMPOTENCY_KEY_PREFIX);
        admin.disconnect();
        const production = {
          ...base,
          NODE_ENV: 'production',
          GATEWAY_CLIENTS: JSON.stringify([{ name: 't', keySha256: sha256('k'), operations: ['*'] }]),
          IDEMPOTENCY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
          IDEMPOTENCY_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
        };
        await assert.rejects(startTestGateway(sim.url, production), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.variable, 'maxmemory-policy');
          assert.match(err.message, /allkeys-lru.*noeviction.*NODE_ENV=production/);
          return true;
        });

        const gw = await startTestGateway(sim.url, base);
        try {
          const warning = gw.logs.find((l) => l.level === 40 && String(l.msg).startsWith('Redis maxmemory-policy allkeys-lru can evict idempotency records'));
          assert.ok(warning, 'a warning names the policy');
          assert.deepEqual([warning.server, warning.policy], [evicting.address, 'allkeys-lru']);
          const res = await request(gw.url)
            .post(pathOf('createIvrCall'))
            .send({ ...exampleBody('createIvrCall'), transactionId: `policy-${randomUUID()}` });
          assert.notEqual(res.status, 503, res.text);
        } finally {
          await gw.stop();
        }
      } finally {
        await sim.close();
      }
    });
  });

  describe('REDIS_MIN_REPLICAS_ACK (WAIT after a claim)', () => {
    let master: SpareRedis;
    let replica: SpareRedis;
    before(async () => {
      master = await spare({ args: ['--repl-diskless-sync-delay', '0'] });
      replica = await spare({ args: () => ['--replicaof', '127.0.0.1', String(master.port)] });
      await until('the replica to be in sync', 10_000, async () => {
        const client = plainClient(replica.url);
        const info = await client.info('replication').catch(() => '');
        client.disconnect();
        return info.includes('master_link_status:up') ? true : undefined;
      });
    });

    it('a claim the replica acknowledged is claimed; one it did not is refused and given back', async () => {
      const store = await open(master, { minReplicasAck: 1 });
      const key = newKey();
      const claimed = await store.claim(key, 'fp');
      assert.equal(claimed.state, 'claimed');
      assert.deepEqual(await store.claim(key, 'fp'), { state: 'in_progress', sameFingerprint: true });

      replica.pause();
      try {
        const unacked = newKey();
        await assert.rejects(
          store.claim(unacked, 'fp'),
          (err: unknown) => err instanceof StoreUnavailableError && /acknowledged by 0 of the 1 replicas/.test(err.message),
        );
        replica.resume();
        // Given back, not left to block the key for a lock TTL.
        assert.equal((await store.claim(unacked, 'fp')).state, 'claimed');
      } finally {
        replica.resume();
      }
    });

    it('more replicas required than there are: every new claim is refused', async () => {
      const store = await open(master, { minReplicasAck: 2 });
      await assert.rejects(store.claim(newKey(), 'fp'), /acknowledged by 1 of the 2 replicas/);
    });
  });
});
