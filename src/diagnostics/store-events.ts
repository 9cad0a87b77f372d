/**
 * What the gateway says about its idempotency store outside any request: the start-up check of
 * the store's own settings (production refuses a Redis that may evict claims), the events the
 * store reports (possible write loss, eviction findings), and how its address and errors may be
 * logged (never a password).
 */
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config.js';
import { describeConnection } from '../idempotency/redis-client.js';
import type { IdempotencyStore, StoreEvent } from '../idempotency/store.js';
import type { Metrics } from '../metrics.js';

/**
 * Where the Redis store is, as it may be logged, URL-shaped: redis[s]://host:port/db,
 * sentinel://nodes/master or cluster://nodes; never a user or password.
 */
export function redisAddress(connection: Parameters<typeof describeConnection>[0]): string {
  const where = describeConnection(connection) as { topology: string; nodes: string; db?: number; master?: string; tls: boolean };
  if (where.topology === 'single') return `${where.tls ? 'rediss' : 'redis'}://${where.nodes}/${where.db ?? 0}`;
  return where.topology === 'sentinel' ? `sentinel://${where.nodes}/${where.master}` : `cluster://${where.nodes}`;
}

/** Removes the Redis passwords from a text (an error message could quote them). */
export function scrubber(passwords: Array<string | undefined>): (text: string) => string {
  const secrets = passwords.filter((s): s is string => s !== undefined && s.length > 0);
  return (text) => secrets.reduce((clean, secret) => clean.split(secret).join('***'), text);
}

/**
 * Start-up check of the store's own settings: a Redis that may evict keys could silently drop a
 * claim, so production refuses to start on one. An unreachable store is not a reason to refuse
 * (the gateway answers 503 until it is back); it is checked again on every connection.
 */
export async function checkStore(store: IdempotencyStore, config: Config): Promise<void> {
  let findings;
  try {
    findings = await store.inspect();
  } catch {
    // Unreachable: the store monitor says so (next); the settings are checked once it answers.
    return;
  }
  const evicting = findings.find((f) => f.code === 'eviction_policy');
  if (evicting && config.production) {
    await store.close();
    throw new ConfigError(
      'maxmemory-policy',
      `Redis ${evicting.server} has maxmemory-policy ${evicting.policy}, which can evict idempotency records (a claim silently lost lets a duplicate call through); set maxmemory-policy noeviction on every Redis master (refused when NODE_ENV=production)`,
    );
  }
}

export function logStoreEvent(logger: Logger, metrics: Metrics, event: StoreEvent): void {
  if (event.type === 'writes_may_be_lost') {
    metrics.storeLosses.inc({ reason: event.reason });
    logger.warn(
      { reason: event.reason, buckets: event.buckets, fencedMs: event.fencedMs },
      'idempotency store may have lost writes: new claims are refused for one lock TTL',
    );
    return;
  }
  for (const finding of event.findings) {
    if (finding.code === 'eviction_policy') {
      const refused = event.refusing ? ': claims are refused until it is noeviction' : ': set it to noeviction (refused when NODE_ENV=production)';
      logger[event.refusing ? 'error' : 'warn'](
        { server: finding.server, policy: finding.policy },
        `Redis maxmemory-policy ${finding.policy} can evict idempotency records${refused}`,
      );
    } else {
      logger.warn(
        { server: finding.server, reason: finding.reason },
        'Redis maxmemory-policy could not be read (managed services often disable CONFIG): make sure it is noeviction',
      );
    }
  }
}
