/**
 * Prometheus metrics (README, "Metrics"). Labels are closed sets (operation ids, status codes, outcome
 * names): never a transactionId, an account number or anything a caller typed.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'operation' | 'status'>;
  inFlight: Gauge;
  upstreamDuration: Histogram<'operation' | 'outcome'>;
  idempotencyOutcomes: Counter<'operation' | 'outcome'>;
  storeErrors: Counter<'operation'>;
  storeLosses: Counter<'reason'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'Requests answered, by operation ("none" outside the three operations) and HTTP status',
      labelNames: ['operation', 'status'],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: 'gateway_in_flight_requests', help: 'Requests being processed', registers: [registry] }),
    upstreamDuration: new Histogram({
      name: 'gateway_upstream_duration_seconds',
      help: 'Time spent calling Galileo (all attempts), by operation and outcome',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    idempotencyOutcomes: new Counter({
      name: 'gateway_idempotency_outcomes_total',
      help: 'Idempotency decisions, by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'gateway_idempotency_store_errors_total',
      help: 'Idempotency store failures, by store operation',
      labelNames: ['operation'],
      registers: [registry],
    }),
    storeLosses: new Counter({
      name: 'gateway_idempotency_store_losses_total',
      help: 'Times the store was found to have possibly lost writes (new claims then refused for one lock TTL), by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
