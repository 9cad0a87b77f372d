/** The Redis connection of the store and the rate limits, from the REDIS_* variables. */
import { readFileSync } from 'node:fs';
import type { HostPort, RedisConnection } from '../idempotency/redis-client.js';
import { ConfigError } from './config-error.js';
import { choices, fallback, integer, mustBeOneOf, nonEmpty, secret, type Env } from './readers.js';

/**
 * One Redis server (REDIS_URL), Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_MASTER) or Cluster
 * (REDIS_CLUSTER_NODES). Credentials come from the URL or REDIS_USERNAME / REDIS_PASSWORD(_FILE),
 * and are never part of a message.
 */
export function redisConnection(env: Env): RedisConnection {
  const url = nonEmpty(env, 'REDIS_URL');
  const sentinels = nonEmpty(env, 'REDIS_SENTINELS');
  const masterName = nonEmpty(env, 'REDIS_SENTINEL_MASTER');
  const clusterNodes = nonEmpty(env, 'REDIS_CLUSTER_NODES');
  if (sentinels !== undefined && clusterNodes !== undefined) {
    throw new ConfigError('REDIS_CLUSTER_NODES', 'set either REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both');
  }
  if (url !== undefined && (sentinels ?? clusterNodes) !== undefined) {
    throw new ConfigError('REDIS_URL', `set either REDIS_URL or ${sentinels !== undefined ? 'REDIS_SENTINELS' : 'REDIS_CLUSTER_NODES'}, not both`);
  }
  if (sentinels !== undefined && masterName === undefined) throw new ConfigError('REDIS_SENTINEL_MASTER', 'is required with REDIS_SENTINELS');
  if (masterName !== undefined && sentinels === undefined) throw new ConfigError('REDIS_SENTINELS', 'is required with REDIS_SENTINEL_MASTER');

  let username = nonEmpty(env, 'REDIS_USERNAME');
  let password = secret(env, 'REDIS_PASSWORD');
  const sentinelPassword = secret(env, 'REDIS_SENTINEL_PASSWORD');
  if (sentinelPassword !== undefined && sentinels === undefined) {
    throw new ConfigError('REDIS_SENTINEL_PASSWORD', 'is only used with REDIS_SENTINELS');
  }
  const tlsText = nonEmpty(env, 'REDIS_TLS');
  if (tlsText !== undefined && !choices('REDIS_TLS').includes(tlsText)) throw new ConfigError('REDIS_TLS', mustBeOneOf('REDIS_TLS'));
  let tls = tlsText === 'true';
  const tlsCa = caFile(env, 'REDIS_TLS_CA_FILE');

  if (sentinels !== undefined) {
    return {
      topology: { kind: 'sentinel', sentinels: hostPorts('REDIS_SENTINELS', sentinels, 26379), masterName: masterName! },
      username,
      password,
      sentinelPassword,
      tls,
      tlsCa,
    };
  }
  if (clusterNodes !== undefined) {
    return { topology: { kind: 'cluster', nodes: hostPorts('REDIS_CLUSTER_NODES', clusterNodes, 6379) }, username, password, tls, tlsCa };
  }
  const parsed = parseRedisUrl(url ?? fallback('REDIS_URL'));
  if (tlsText !== undefined) throw new ConfigError('REDIS_TLS', 'with REDIS_URL, choose TLS by the scheme: rediss://');
  tls = parsed.tls;
  if (parsed.username !== undefined) {
    if (username !== undefined) throw new ConfigError('REDIS_USERNAME', 'REDIS_URL already names a user: set one, not both');
    username = parsed.username;
  }
  if (parsed.password !== undefined) {
    if (password !== undefined) throw new ConfigError('REDIS_PASSWORD', 'REDIS_URL already holds a password: set one, not both');
    password = parsed.password;
  }
  return { topology: { kind: 'single', host: parsed.host, port: parsed.port, db: parsed.db }, username, password, tls, tlsCa };
}

function parseRedisUrl(value: string): { host: string; port: number; db: number; tls: boolean; username?: string; password?: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('REDIS_URL', 'is not a valid URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError('REDIS_URL', 'must use redis: or rediss:');
  if (url.search !== '' || url.hash !== '') throw new ConfigError('REDIS_URL', 'query parameters and fragments are not supported');
  if (url.hostname === '') throw new ConfigError('REDIS_URL', 'has no host');
  const dbText = url.pathname.replace(/^\/+|\/+$/g, '');
  const db = dbText === '' ? 0 : integer('REDIS_URL', dbText, 0, 1_000_000, 'the database number');
  const decode = (part: string): string | undefined => {
    if (part === '') return undefined;
    try {
      return decodeURIComponent(part);
    } catch {
      throw new ConfigError('REDIS_URL', 'has a badly percent-encoded user or password');
    }
  };
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    db,
    tls: url.protocol === 'rediss:',
    username: decode(url.username),
    password: decode(url.password),
  };
}

/** `host:port,host:port` (IPv6 in brackets: `[::1]:6379`); a missing port is `defaultPort`. */
function hostPorts(name: string, value: string, defaultPort: number): HostPort[] {
  return value.split(',').map((entry, i) => {
    const text = entry.trim();
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+))(?::(\d+))?$/.exec(text);
    if (!match) throw new ConfigError(name, `entry ${i + 1} must be host:port`);
    const port = match[3] === undefined ? defaultPort : integer(name, match[3], 1, 65535, `the port of entry ${i + 1}`);
    return { host: match[1] ?? match[2]!, port };
  });
}

/** PEM certificates of the CA that signed the Redis servers' certificates (a private CA). */
function caFile(env: Env, name: string): string | undefined {
  const path = nonEmpty(env, name);
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(name, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(name, `${path} holds no PEM certificate`);
  return text;
}
