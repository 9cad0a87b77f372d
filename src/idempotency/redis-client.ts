/**
 * The one place that knows Redis topologies: one server, Sentinel or Cluster. Everything else
 * works on a RedisClient through the commands the three have in common; failover and slot routing
 * are ioredis' own (no home-made failover here).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface HostPort {
  host: string;
  port: number;
}

type RedisTopology =
  | { kind: 'single'; host: string; port: number; db: number }
  /** Sentinels tell the client which server is the master of `masterName`, and when it changes. */
  | { kind: 'sentinel'; sentinels: HostPort[]; masterName: string }
  /** Any reachable subset of the nodes; the client discovers the rest and the slot map. */
  | { kind: 'cluster'; nodes: HostPort[] };

export interface RedisConnection {
  topology: RedisTopology;
  /** ACL user (Redis 6+); unset logs in as `default` when a password is given. */
  username?: string;
  password?: string;
  /** The sentinels' own password, when they require one (Sentinel only). */
  sentinelPassword?: string;
  tls: boolean;
  /** PEM CA certificates to trust instead of the system's (a private CA). */
  tlsCa?: string;
}

export type RedisClient = Redis | Cluster;

/**
 * A client that fails fast while Redis is down (no offline queue, bounded commands) and keeps
 * reconnecting in the background, so the gateway recovers without a restart.
 */
export function createRedisClient(connection: RedisConnection, options: { commandTimeoutMs: number }): RedisClient {
  const tls = connection.tls ? (connection.tlsCa === undefined ? {} : { ca: connection.tlsCa }) : undefined;
  const perServer = {
    ...(connection.username !== undefined && { username: connection.username }),
    ...(connection.password !== undefined && { password: connection.password }),
    ...(tls && { tls }),
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 2000),
    // A command whose caller already got a timeout must not run later: a late claim would leave
    // an orphan lock blocking the key until the lock TTL.
    autoResendUnfulfilledCommands: false,
    // A master demoted while we stayed connected (a healed partition) answers writes with
    // READONLY: reconnect, which asks the sentinels (or the slot map) for the current master.
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    // RESP2, as under ioredis 5 (6 defaults to RESP3): the gateway uses nothing of RESP3, and
    // RESP3 needs HELLO, which a Redis before 6 or a proxy without it refuses (no connection at all).
    protocol: 2,
  } satisfies RedisOptions;
  const retry = (times: number): number => Math.min(times * 100, 1000);
  const { topology } = connection;
  let client: RedisClient;
  switch (topology.kind) {
    case 'single':
      client = new Redis({ ...perServer, host: topology.host, port: topology.port, db: topology.db, enableOfflineQueue: false, retryStrategy: retry });
      break;
    case 'sentinel':
      client = new Redis({
        ...perServer,
        sentinels: topology.sentinels,
        name: topology.masterName,
        ...(connection.sentinelPassword !== undefined && { sentinelPassword: connection.sentinelPassword }),
        ...(tls && { enableTLSForSentinelMode: true, sentinelTLS: tls }),
        enableOfflineQueue: false,
        retryStrategy: retry,
        // Subscribe to the sentinels' +switch-master: a master that was demoted but is still
        // reachable (a partition) is left at once instead of when its connection breaks.
        failoverDetector: true,
      });
      break;
    case 'cluster':
      client = new Cluster(topology.nodes, {
        redisOptions: perServer,
        enableOfflineQueue: false,
        clusterRetryStrategy: retry,
        slotsRefreshTimeout: Math.max(options.commandTimeoutMs, 1000),
      });
      break;
  }
  // Without a listener ioredis' 'error' events would crash the process; each failed call already
  // rejects, and the store turns that into StoreUnavailableError.
  client.on('error', () => {});
  return client;
}

/** The servers that take writes: every master of a cluster, else the one server the client uses. */
export function masters(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** host:port of a server the client talks to (for messages: never a credential). */
export function serverName(server: Redis): string {
  const { host, port, sentinels, name } = server.options;
  if (sentinels && sentinels.length > 0) {
    const remote = server.stream?.remoteAddress;
    return remote === undefined ? `master of ${name ?? '?'}` : `${remote}:${server.stream.remotePort ?? '?'} (master of ${name ?? '?'})`;
  }
  return `${host ?? '?'}:${port ?? '?'}`;
}

/** What the start-up log says about the connection: where, TLS, whether a password is set. */
export function describeConnection(connection: RedisConnection): Record<string, unknown> {
  const { topology } = connection;
  const list = (nodes: HostPort[]) => nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',');
  const where =
    topology.kind === 'single'
      ? { topology: 'single', nodes: list([topology]), db: topology.db }
      : topology.kind === 'sentinel'
        ? { topology: 'sentinel', nodes: list(topology.sentinels), master: topology.masterName }
        : { topology: 'cluster', nodes: list(topology.nodes) };
  return { ...where, tls: connection.tls, auth: connection.password !== undefined, ...(connection.username !== undefined && { user: connection.username }) };
}
