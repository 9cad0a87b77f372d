/**
 * Prometheus metrics (docs/contract.md, Logs and metrics). Labels are closed sets (operation ids,
 * status codes, outcome names): never a transactionId, an account number or anything a caller typed.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'operation' | 'status'>;
  requestDuration: Histogram<'operation' | 'status'>;
  inFlight: Gauge;
  upstreamDuration: Histogram<'operation' | 'outcome'>;
  /** Galileo refused the gateway's own configuration (credentials, IP, API usage): see galileo/config-refusals.ts. */
  galileoConfigErrors: Counter<'operation' | 'status_code'>;
  idempotencyOutcomes: Counter<'operation' | 'outcome'>;
  storeErrors: Counter<'operation'>;
  connectionsDropped: Counter<'reason'>;
  connectionsReclaimed: Counter;
  storeUp: Gauge;
  storeLosses: Counter<'reason'>;
  /** `client` is a configured client name (a closed set), never what a caller sent. */
  trafficRefusals: Counter<'reason' | 'client' | 'limit'>;
  galileoBudgetTokens: Gauge;
  circuitState: Gauge;
  galileoInFlight: Gauge;
  /** Lost answers looked up with Galileo's record (http/lost-answers.ts), by operation and result. */
  lostAnswers: Counter<'operation' | 'result'>;
  lostAnswerDuration: Histogram<'result'>;
}

/** `processMetrics: false` for a registry nobody scrapes (the warm-up copy of the app). */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'Requests answered, by operation ("none" outside the spec operations) and HTTP status',
      labelNames: ['operation', 'status'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Time in the gateway, first byte in to last byte out, by operation ("none" outside the spec operations) and HTTP status',
      labelNames: ['operation', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
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
    galileoConfigErrors: new Counter({
      name: 'gateway_galileo_config_errors_total',
      help: "Galileo answers refusing the gateway's own configuration (4 login, 17 API usage, 18 API version, 21 IP, 29 provider id), by operation and status code",
      labelNames: ['operation', 'status_code'],
      registers: [registry],
    }),
    idempotencyOutcomes: new Counter({
      name: 'gateway_idempotency_outcomes_total',
      help: 'Idempotency decisions, by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    connectionsDropped: new Counter({
      name: 'gateway_connections_dropped_total',
      help: 'Connections refused on accept, by reason: max_connections (MAX_CONNECTIONS open, none idle) or per_peer (MAX_CONNECTIONS_PER_PEER from one address)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    connectionsReclaimed: new Counter({
      name: 'gateway_connections_reclaimed_total',
      help: 'Idle kept-alive connections closed to make room for a new one at MAX_CONNECTIONS or MAX_CONNECTIONS_PER_PEER',
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'gateway_idempotency_store_errors_total',
      help: 'Idempotency store failures, by store operation',
      labelNames: ['operation'],
      registers: [registry],
    }),
    storeUp: new Gauge({
      name: 'gateway_idempotency_store_up',
      help: 'Whether the idempotency store answered its last health check (1) or not (0)',
      registers: [registry],
    }),
    storeLosses: new Counter({
      name: 'gateway_idempotency_store_losses_total',
      help: 'Times the store was found to have possibly lost writes (new claims then refused for one lock TTL), by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    trafficRefusals: new Counter({
      name: 'gateway_traffic_refusals_total',
      help: 'Requests refused to protect Galileo, by reason (rate_limited, circuit_open, upstream_busy), client and limit (client, galileo, or none)',
      labelNames: ['reason', 'client', 'limit'],
      registers: [registry],
    }),
    galileoBudgetTokens: new Gauge({
      name: 'gateway_galileo_budget_tokens',
      help: 'Whole tokens left in the Galileo-wide budget (GALILEO_MAX_REQUESTS_PER_SECOND) after the last request this replica counted',
      registers: [registry],
    }),
    circuitState: new Gauge({
      name: 'gateway_galileo_circuit_state',
      help: "This replica's circuit breaker on Galileo: 0 closed, 1 open, 2 half-open (one trial request)",
      registers: [registry],
    }),
    galileoInFlight: new Gauge({
      name: 'gateway_galileo_in_flight',
      help: 'Requests of this replica holding a slot of the bulkhead on Galileo (GALILEO_MAX_IN_FLIGHT)',
      registers: [registry],
    }),
    lostAnswers: new Counter({
      name: 'gateway_lost_answers_total',
      help: "Calls whose answer was lost (or answered 24) looked up with Galileo's own record, by operation and result: executed, not_executed, unknown",
      labelNames: ['operation', 'result'],
      registers: [registry],
    }),
    lostAnswerDuration: new Histogram({
      name: 'gateway_lost_answer_resolution_seconds',
      help: "Time spent asking Galileo's record what became of a lost answer (all lookups), by result",
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}
