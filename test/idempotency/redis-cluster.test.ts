/**
 * The Redis store on a real Redis Cluster (three masters started from redis-server): the whole
 * store contract, records spread over every master, and a master restarted without its data
 * fencing its own buckets only.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { plainCodec } from '../../src/idempotency/codec.js';
import { createRedisClient } from '../../src/idempotency/redis-client.js';
import { BUCKETS, bucketOf, RedisStore } from '../../src/idempotency/redis-store.js';
import { StoreFencedError, type StoreEvent, type StoreTimings } from '../../src/idempotency/store.js';
import { until } from '../../scripts/lib/redis-server.js';
import { sharedCluster, type TestRedisCluster } from '../../scripts/lib/redis-topologies.js';
import { adoptPrefix, uniquePrefix } from '../../scripts/lib/redis-keys.js';
import { describeStoreContract } from './store-contract.js';

function clusterStore(cluster: TestRedisCluster, keyPrefix: string, timings: StoreTimings, onEvent?: (e: StoreEvent) => void): RedisStore {
  const redis = createRedisClient(
    { topology: { kind: 'cluster', nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) }, tls: false },
    { commandTimeoutMs: 2000 },
  );
  return new RedisStore({ redis, keyPrefix, timings, codec: plainCodec, commandTimeoutMs: 2000, ...(onEvent && { onEvent }) });
}

describe('RedisStore on a Redis Cluster (three masters)', function () {
  this.timeout(30_000);
  let cluster: TestRedisCluster;
  let admin: Cluster;
  before(async () => {
    cluster = await sharedCluster();
    admin = cluster.admin();
  });
  after(() => admin?.disconnect());

  /** A store on a prefix this (new) cluster has served before: no start-up fence. */
  async function adopted(timings: StoreTimings, label: string, onEvent?: (e: StoreEvent) => void): Promise<RedisStore> {
    const prefix = uniquePrefix(label);
    await adoptPrefix(admin, prefix);
    return clusterStore(cluster, prefix, timings, onEvent);
  }

  describeStoreContract('RedisStore on a Cluster', (timings) => adopted(timings, 'cluster-contract'));

  it("spreads records over every master, each next to its bucket's epoch key", async () => {
    const prefix = uniquePrefix('cluster-spread');
    await adoptPrefix(admin, prefix);
    const store = clusterStore(cluster, prefix, { lockTtlMs: 60_000, consumedTtlMs: 60_000 });
    try {
      for (let i = 0; i < 60; i++) assert.equal((await store.claim(`k-${randomUUID()}`, 'fp')).state, 'claimed');
      const perNode = await cluster.keysPerNode(prefix);
      for (const keys of perNode) {
        const records = keys.filter((k) => k.includes('}r:'));
        assert.ok(records.length > 0, `a master holds no record: ${perNode.map((k) => k.length).join('/')}`);
        // The claim script ran on this node with its bucket's epoch key: same hash tag, same node.
        for (const record of records) assert.ok(keys.includes(record.replace(/r:.*$/, 'epoch')), `${record} without its epoch key`);
      }
    } finally {
      await store.close();
    }
  });

  it('a master restarted without its data fences its own buckets for one lock TTL; the others keep claiming', async () => {
    // Long enough that no claim expires while the cluster client finds the restarted node again
    // (seconds, on a loaded machine): then a claim that succeeds could only be a forgotten one.
    const lockTtlMs = 20_000;
    const events: StoreEvent[] = [];
    const prefix = uniquePrefix('cluster-restart');
    await adoptPrefix(admin, prefix);
    const store = clusterStore(cluster, prefix, { lockTtlMs, consumedTtlMs: 60_000 }, (e) => events.push(e));
    try {
      // One key per bucket, so every master has claims to forget.
      const keys = new Map<number, string>();
      for (let i = 0; keys.size < BUCKETS && i < 50_000; i++) {
        const key = `k-${i}`;
        if (!keys.has(bucketOf(key))) keys.set(bucketOf(key), key);
      }
      await Promise.all([...keys.values()].map(async (key) => assert.equal((await store.claim(key, 'fp')).state, 'claimed')));

      const victim = cluster.nodes[1]!;
      await victim.kill();
      await victim.start(); // same port, same nodes.conf: the same master of the same slots, empty

      // Claim again, until the cluster routes every key again: each key is either refused
      // (its bucket lives on the restarted master) or still held (409), never claimed anew.
      const outcome = await until('every bucket to answer', 15_000, async () => {
        const results = await Promise.all(
          [...keys.values()].map((key) =>
            store.claim(key, 'fp').then(
              (r) => r.state,
              (e: unknown) => (e instanceof StoreFencedError ? 'fenced' : 'unavailable'),
            ),
          ),
        );
        return results.includes('unavailable') ? undefined : results;
      });
      assert.equal(outcome.filter((s) => s === 'claimed').length, 0, 'a forgotten claim was claimed again');
      const fenced = outcome.filter((s) => s === 'fenced').length;
      const held = outcome.filter((s) => s === 'in_progress').length;
      assert.equal(fenced + held, keys.size);
      // About a third of the buckets each: the other masters were not fenced.
      assert.ok(fenced > BUCKETS / 6 && fenced < BUCKETS / 2, `${fenced} buckets fenced`);
      assert.ok(held > BUCKETS / 3, `${held} claims still held elsewhere`);
      assert.ok(events.some((e) => e.type === 'writes_may_be_lost' && e.reason === 'epoch_missing'));

      // Each fenced bucket's fence key expires within one lock TTL (after which claims proceed,
      // as the outage tests show); the other buckets have none.
      const fenceTtls = await Promise.all([...keys.keys()].map((bucket) => admin.pttl(`${prefix}{${bucket}}fence`)));
      fenceTtls.forEach((ttl, i) => {
        if (outcome[i] === 'fenced') assert.ok(ttl > 0 && ttl <= lockTtlMs, `fence PTTL ${ttl}`);
        else assert.equal(ttl, -2, 'a bucket on another master was fenced');
      });
    } finally {
      await store.close();
    }
  });
});
