/**
 * Where the soak's gateways keep their claims (SOAK_REDIS): `single` is the Redis at REDIS_URL (a
 * unique prefix, deleted at the end); `cluster` a three-master Redis Cluster and `sentinel` a
 * master, a replica and three sentinels, both started here from the redis-server binary and
 * stopped at the end. With `sentinel`, the master is killed every SOAK_FAILOVER_SECONDS while the
 * traffic runs (the killed server comes back and the sentinels make it a replica of the new one).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { TestRedisCluster, TestRedisSentinel } from '../lib/redis-topologies.js';
import { adoptPrefix, deleteByPrefix, plainClient } from '../lib/redis-keys.js';

export interface SoakStore {
  description: string;
  /** The gateway's variables for this store. */
  env: Record<string, string>;
  /** Runs the failures of this topology until the deadline; returns when each store loss happened. */
  chaos(deadline: number, log: (line: string) => void): Promise<number[]>;
  dispose(): Promise<void>;
}

export async function startSoakStore(kind: string, prefix: string, options: { redisUrl: string; failoverEveryS: number }): Promise<SoakStore> {
  if (kind === 'single') {
    return {
      description: `Redis at ${new URL(options.redisUrl).host}, prefix ${prefix}`,
      env: { REDIS_URL: options.redisUrl },
      chaos: async () => [],
      async dispose() {
        const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
        await deleteByPrefix(redis, prefix);
        await redis.quit();
      },
    };
  }
  if (kind === 'cluster') {
    const cluster = new TestRedisCluster();
    await cluster.start();
    // Started a moment ago: without this the gateways would wait out one lock TTL first.
    const admin = cluster.admin();
    await adoptPrefix(admin, prefix);
    admin.disconnect();
    return {
      description: `Redis Cluster ${cluster.addresses}`,
      env: { REDIS_CLUSTER_NODES: cluster.addresses },
      chaos: async () => [],
      dispose: () => cluster.dispose(),
    };
  }
  if (kind === 'sentinel') {
    const group = new TestRedisSentinel(1000);
    await group.start();
    const admin = group.client(group.master);
    await adoptPrefix(admin, prefix);
    await admin.wait(1, 1000);
    admin.disconnect();
    return {
      description: `Redis Sentinel ${group.addresses} (master ${group.masterName}), a failover every ${options.failoverEveryS} s`,
      env: { REDIS_SENTINELS: group.addresses, REDIS_SENTINEL_MASTER: group.masterName },
      async chaos(deadline, log) {
        const losses: number[] = [];
        while (Date.now() + options.failoverEveryS * 1000 < deadline - 5000) {
          await sleep(options.failoverEveryS * 1000);
          const masterPort = await group.currentMasterPort();
          const [master, replica] = group.master.port === masterPort ? [group.master, group.replica] : [group.replica, group.master];
          const killedAt = Date.now();
          losses.push(killedAt);
          await master.kill();
          await group.waitForMaster(replica.port, 30_000);
          log(`soak: killed the master 127.0.0.1:${master.port}; the sentinels promoted 127.0.0.1:${replica.port} after ${Date.now() - killedAt} ms`);
          // Back, empty: the sentinels turn it into a replica of the new master.
          await master.start();
          await waitUntilReplica(master.port);
        }
        return losses;
      },
      dispose: () => group.dispose(),
    };
  }
  throw new Error(`SOAK_REDIS must be single, cluster or sentinel, not ${kind}`);
}

async function waitUntilReplica(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const client = plainClient(`redis://127.0.0.1:${port}`);
    const info = await client.info('replication').catch(() => '');
    client.disconnect();
    if (info.includes('role:slave') && info.includes('master_link_status:up')) return;
    await sleep(200);
  }
  throw new Error(`127.0.0.1:${port} did not become a replica again`);
}
