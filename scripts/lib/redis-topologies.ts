/**
 * Real Redis topologies started from the redis-server binary on spare ports: a Cluster of three
 * masters and a Sentinel group (master, replica, three sentinels). Tests, the soak and the bench
 * use them; whoever starts one disposes of it (its processes are also killed if the run dies).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort, SpareRedis, until } from './redis-server.js';

const run = promisify(execFile);

/** A plain client for set-up and inspection (never the gateway's client). The caller quits it. */
function plain(port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  return client;
}

async function ask<T>(port: number, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = plain(port);
  try {
    await client.connect();
    return await work(client);
  } finally {
    client.disconnect();
  }
}

/** Three masters, no replicas, slots split by `redis-cli --cluster create`. */
export class TestRedisCluster {
  readonly nodes = Array.from(
    { length: 3 },
    () => new SpareRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'] }),
  );

  /** `host:port,host:port,host:port`, as REDIS_CLUSTER_NODES takes it. */
  get addresses(): string {
    return this.nodes.map((n) => n.address).join(',');
  }

  async start(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.start()));
    await run('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => n.address), '--cluster-yes'], { timeout: 20_000 });
    // Every node must agree the cluster is up before a client sees a consistent slot map.
    await until('cluster_state:ok on every node', 15_000, async () => {
      const states = await Promise.all(this.nodes.map((n) => ask(n.port, (c) => c.cluster('INFO')).catch(() => '')));
      return states.every((s) => String(s).includes('cluster_state:ok')) ? true : undefined;
    });
  }

  /** A cluster client for inspecting keys. The caller quits it. */
  admin(): Cluster {
    const client = new Cluster(
      this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    );
    client.on('error', () => {});
    return client;
  }

  /** Keys under `prefix` held by each node (SCAN on each master), in node order. */
  async keysPerNode(prefix: string): Promise<string[][]> {
    return Promise.all(
      this.nodes.map((n) =>
        ask(n.port, async (c) => {
          const keys: string[] = [];
          let cursor = '0';
          do {
            const [next, batch] = await c.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
            cursor = next;
            keys.push(...batch);
          } while (cursor !== '0');
          return keys;
        }),
      ),
    );
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}

/**
 * A master, one replica and three sentinels (quorum 2), with timings short enough for a test:
 * the master is declared down after `downAfterMs` without an answer.
 */
export class TestRedisSentinel {
  readonly masterName = `gw-test-${randomBytes(3).toString('hex')}`;
  // A replica's first sync waits repl-diskless-sync-delay (5 s by default) for more replicas.
  readonly master = new SpareRedis({ args: ['--repl-diskless-sync-delay', '0'] });
  readonly replica = new SpareRedis({ args: () => ['--repl-diskless-sync-delay', '0', '--replicaof', '127.0.0.1', String(this.master.port)] });
  readonly sentinels: SpareRedis[];

  constructor(readonly downAfterMs = 1000) {
    // Each sentinel is told the others and the replica up front, instead of discovering them
    // through the master's hello channel (2 s a round): the group is ready at once.
    const ids = Array.from({ length: 3 }, () => randomBytes(20).toString('hex'));
    const config =
      (self: number) =>
      (port: number): string =>
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `sentinel myid ${ids[self]}`,
          `sentinel monitor ${this.masterName} 127.0.0.1 ${this.master.port} 2`,
          `sentinel down-after-milliseconds ${this.masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${this.masterName} 5000`,
          `sentinel parallel-syncs ${this.masterName} 1`,
          `sentinel known-replica ${this.masterName} 127.0.0.1 ${this.replica.port}`,
          ...this.sentinels
            .filter((_, i) => i !== self)
            .map((s, i) => `sentinel known-sentinel ${this.masterName} 127.0.0.1 ${s.port} ${ids.filter((_, j) => j !== self)[i]}`),
          '',
        ].join('\n');
    this.sentinels = Array.from({ length: 3 }, (_, i) => new SpareRedis({ sentinelConfig: config(i) }));
  }

  /** `host:port,…` of the sentinels, as REDIS_SENTINELS takes it. */
  get addresses(): string {
    return this.sentinels.map((s) => s.address).join(',');
  }

  async start(): Promise<void> {
    await this.master.start();
    await this.replica.start();
    await until('the replica to be in sync', 10_000, () => this.replicationUp(this.replica.port));
    // Every sentinel's config names the others' ports: take them all before starting any.
    for (const s of this.sentinels) s.port = await freePort();
    await Promise.all(this.sentinels.map((s) => s.start()));
    // Sentinels find the replica and each other through the master (hello messages every 2 s).
    await until('every sentinel to know the replica and the other sentinels', 20_000, async () => {
      const views = await Promise.all(
        this.sentinels.map((s) =>
          ask(s.port, async (c) => {
            const replicas = (await c.call('SENTINEL', 'REPLICAS', this.masterName)) as unknown[];
            const others = (await c.call('SENTINEL', 'SENTINELS', this.masterName)) as unknown[];
            return replicas.length === 1 && others.length === 2;
          }).catch(() => false),
        ),
      );
      return views.every(Boolean) ? true : undefined;
    });
  }

  /** The master's port as the sentinels now report it. */
  async currentMasterPort(): Promise<number> {
    const [, port] = (await ask(this.sentinels[0]!.port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName))) as [string, string];
    return Number(port);
  }

  /** Resolves once every sentinel names `port` as the master. */
  async waitForMaster(port: number, timeoutMs = 20_000): Promise<void> {
    await until(`the sentinels to promote 127.0.0.1:${port}`, timeoutMs, async () => {
      const ports = await Promise.all(
        this.sentinels.map((s) =>
          ask(s.port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName)).then(
            (r) => Number((r as string[])[1]),
            () => 0,
          ),
        ),
      );
      return ports.every((p) => p === port) ? true : undefined;
    });
  }

  /** A plain client on one server of the group, for inspection. The caller quits it. */
  client(server: SpareRedis): Redis {
    const client = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    return client;
  }

  private async replicationUp(port: number): Promise<true | undefined> {
    const info = await ask(port, (c) => c.info('replication')).catch(() => '');
    return info.includes('master_link_status:up') ? true : undefined;
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sentinels, this.replica, this.master].map((s) => s.dispose()));
  }
}

let shared: Promise<TestRedisCluster> | undefined;

/**
 * One Cluster for the whole mocha run (starting one takes seconds): started by the first test
 * that asks, stopped after the last test. Tests use their own key prefixes on it.
 */
export function sharedCluster(): Promise<TestRedisCluster> {
  shared ??= (async () => {
    const cluster = new TestRedisCluster();
    try {
      await cluster.start();
    } catch (error) {
      await cluster.dispose();
      throw error;
    }
    return cluster;
  })();
  return shared;
}

// A root-level hook (this module is loaded with the test files): runs once, after every test.
if (typeof after === 'function') {
  after(async () => {
    const cluster = await shared?.catch(() => undefined);
    await cluster?.dispose();
  });
}
