/**
 * Checks the idempotency store between requests: an unreachable store (every request then gets
 * 503) is logged at error level naming the store and its address, when it starts and at a bounded
 * rate while it lasts, and once when it answers again; gateway_idempotency_store_up follows it.
 * The store only answers ping(): it knows nothing of logs (src/idempotency has no logger).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { IdempotencyStore } from '../idempotency/store.js';
import type { Metrics } from '../metrics.js';
import { LastingCondition } from './lasting-condition.js';
import { redisAddress, scrubber } from './store-events.js';

export interface StoreMonitor {
  /** One check now (concurrent calls share it): true when the store answered. */
  check(): Promise<boolean>;
  stop(): void;
}

/** The monitor of the store the configuration names, at the configured intervals; the Redis passwords scrubbed. */
export function monitorConfiguredStore(store: IdempotencyStore, config: Config, logger: Logger, metrics: Metrics): StoreMonitor {
  const { idempotency, diagnostics } = config;
  return monitorStore({
    store,
    kind: idempotency.store,
    address: idempotency.store === 'redis' ? redisAddress(idempotency.redis) : 'in process',
    logger,
    metrics,
    checkIntervalMs: diagnostics.storeCheckIntervalMs,
    repeatLogIntervalMs: diagnostics.repeatLogIntervalMs,
    scrub: scrubber([idempotency.redis.password, idempotency.redis.sentinelPassword]),
  });
}

function monitorStore(options: {
  store: IdempotencyStore;
  /** `memory` or `redis`, and where it is: never a password. */
  kind: string;
  address: string;
  logger: Logger;
  metrics: Metrics;
  checkIntervalMs: number;
  repeatLogIntervalMs: number;
  /** Removes anything secret from an error text before it is logged. */
  scrub: (text: string) => string;
}): StoreMonitor {
  const { store, logger, metrics } = options;
  const where = { store: options.kind, address: options.address };
  let reason = '';
  const outage = new LastingCondition(options.repeatLogIntervalMs, {
    report: ({ occurrences, sinceMs }) =>
      logger.error({ ...where, reason, failedChecks: occurrences, sinceMs }, 'idempotency store unreachable: requests are refused with 503 until it answers'),
    recovered: ({ durationMs }) => logger.info({ ...where, downMs: durationMs }, 'idempotency store reachable again'),
  });

  let running: Promise<boolean> | undefined;
  const check = () =>
    (running ??= store
      .ping()
      .then(
        () => {
          metrics.storeUp.set(1);
          outage.resolved();
          return true;
        },
        (err: unknown) => {
          metrics.storeUp.set(0);
          reason = options.scrub(err instanceof Error ? err.message : String(err));
          outage.occurred();
          return false;
        },
      )
      .finally(() => (running = undefined)));

  const timer = setInterval(() => void check(), options.checkIntervalMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
