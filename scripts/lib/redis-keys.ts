/** Shared by the Redis-backed idempotency tests: where Redis is, a per-run key prefix, cleanup. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisClient, type RedisClient, type RedisConnection } from '../../src/idempotency/redis-client.js';
import { BUCKETS, bucketOf } from '../../src/idempotency/redis-store.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A single-server connection from a redis:// URL, with its user and password if any. */
function singleServer(url: string): RedisConnection {
  const { hostname, port, username, password } = new URL(url);
  return {
    topology: { kind: 'single', host: hostname, port: Number(port || 6379), db: 0 },
    tls: false,
    ...(username && { username: decodeURIComponent(username) }),
    ...(password && { password: decodeURIComponent(password) }),
  };
}

/** A plain client (offline queue on: usable at once) for set-up and inspection. The caller quits it. */
export function plainClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return client;
}

/** The gateway's own kind of client, on one server. */
export function storeClient(url: string, commandTimeoutMs = 2000): RedisClient {
  return createRedisClient(singleServer(url), { commandTimeoutMs });
}

/**
 * Writes every bucket's epoch key under `prefix` as the store itself would have on the server
 * that holds it: set-up for tests on a server started seconds ago, which the store would
 * otherwise fence for one lock TTL (it cannot tell an empty new server from one that forgot).
 */
export async function adoptPrefix(client: RedisClient | Redis, prefix: string): Promise<void> {
  const lua = "return redis.call('SET', KEYS[1], string.match(redis.call('INFO', 'server'), 'run_id:(%x+)'))";
  await Promise.all(Array.from({ length: BUCKETS }, (_, b) => client.eval(lua, 1, `${prefix}{${b}}epoch`)));
}

/** Where the Redis store keeps the record of `key`. */
export function recordKey(prefix: string, key: string): string {
  return `${prefix}{${bucketOf(key)}}r:${key}`;
}

/** A prefix no other run (or other engineer's tests) shares. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** A plain client for inspecting and tampering with raw records. The caller quits it. */
export function adminClient(): Redis {
  const client = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return client;
}

/** Deletes every key under `prefix` (SCAN, never KEYS) and says how many. Used by scripts/ too. */
export async function deleteByPrefix(client: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
