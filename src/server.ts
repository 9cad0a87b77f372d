/**
 * Start-up and shutdown, wiring only: each part is built where its policy lives (the Galileo
 * target in galileo/target.ts, the store in idempotency/create-store.ts, the breaker in
 * galileo/create-circuit.ts, the started line in diagnostics/started-line.ts), then connected here
 * in the order the gateway needs them, and closed in the reverse order on stop.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { warnWhenAuthOff } from './diagnostics/auth-off.js';
import { watchGalileoConfig } from './diagnostics/galileo-config-watch.js';
import { logStarted } from './diagnostics/started-line.js';
import { checkStore, logStoreEvent } from './diagnostics/store-events.js';
import { monitorConfiguredStore } from './diagnostics/store-monitor.js';
import { createGalileoClient } from './galileo/client.js';
import { createCircuit } from './galileo/create-circuit.js';
import { createForwarder } from './galileo/forward.js';
import { lockTtlMs } from './galileo/lock-ttl.js';
import { lostAnswerResolverFor } from './galileo/lost-answers.js';
import { galileoTarget } from './galileo/target.js';
import { createHttpServer, listen } from './http/http-server.js';
import { validateRequest } from './http/validate.js';
import { storeFromConfig } from './idempotency/create-store.js';
import { createBuckets } from './limits/create-buckets.js';
import { loggableError } from './logger.js';
import { createMetrics } from './metrics.js';
import { trackDrain } from './shutdown.js';
import { loadGatewaySpec } from './spec.js';
import { tracingFromConfig } from './tracing/setup.js';
import { warmUpOrWarn } from './warm-up.js';

export interface RunningGateway {
  url: string;
  server: Server;
  /** Stop accepting, finish in-flight requests (bounded by drainTimeoutMs), close everything. */
  stop(): Promise<void>;
}

export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  const target = await galileoTarget(config, logger);
  warnWhenAuthOff(config, target.simulator !== undefined, logger);
  const metrics = createMetrics();

  const store = storeFromConfig(config, lockTtlMs(config.galileo), (event) => logStoreEvent(logger, metrics, event));
  await checkStore(store, config);
  const storeMonitor = monitorConfiguredStore(store, config, logger, metrics);
  // At start-up too: an unreachable store is said before `gateway started`, not discovered by callers.
  await storeMonitor.check();

  const spec = loadGatewaySpec();
  const validator = validateRequest(spec.document);
  const warmedUp = await warmUpOrWarn({ spec, validator, bodyLimit: config.bodyLimit }, logger);

  // Off unless an OTLP endpoint is set; then spans at the gateway's own steps (docs/tracing.md).
  const tracing = await tracingFromConfig(config, { galileoUrl: target.url, spec, logger });
  const galileo = createGalileoClient({ baseUrl: target.url, timeoutMs: config.galileo.timeoutMs, proxied: config.galileo.proxied });
  const circuit = createCircuit(config.galileo, logger, metrics);
  const forwarder = createForwarder({
    galileo,
    credentials: target.credentials,
    maxRetries: config.galileo.maxRetries,
    backoffMs: config.galileo.backoffMs,
    ...(circuit && { circuit }),
    ...(tracing && { aroundAttempt: tracing.aroundAttempt }),
  });
  const buckets = createBuckets(config);
  await buckets.ready(2000);

  const readiness = { shuttingDown: false };
  const app = buildApp({
    spec,
    store: tracing ? tracing.traceStore(store) : store,
    forwarder,
    lostAnswers: lostAnswerResolverFor(spec, forwarder, config.galileo.resolveAttempts),
    providerId: target.credentials.providerId,
    fingerprintKey: fingerprintKeyFor(config),
    clients: config.clients,
    bodyLimit: config.bodyLimit,
    logger,
    metrics,
    readiness,
    galileoConfigWatch: watchGalileoConfig({ logger, metrics, repeatLogIntervalMs: config.diagnostics.repeatLogIntervalMs }),
    validator,
    ...(tracing && { traceRequests: tracing.serverSpans }),
    traffic: {
      buckets,
      galileoPerSecond: config.galileo.maxRequestsPerSecond,
      circuit,
      maxInFlight: config.galileo.maxInFlight,
      repeatLogIntervalMs: config.diagnostics.repeatLogIntervalMs,
    },
  });

  const server = createHttpServer(app, config.http, logger, metrics);
  const drain = trackDrain(server, logger);
  const { address, url } = await listen(server, config.port, config.host);
  logStarted(logger, { config, address, url, galileoUrl: target.url, warmUpMs: warmedUp?.durationMs });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const startedAt = Date.now();
      readiness.shuttingDown = true;
      const drained = await drain.drain(config.drainTimeoutMs);
      // The spans of the requests just drained, within what is left of the drain timeout.
      await tracing?.shutdown(Math.max(250, config.drainTimeoutMs - (Date.now() - startedAt)));
      storeMonitor.stop();
      await store.close().catch((err: unknown) => logger.warn({ err: loggableError(err) }, 'idempotency store did not close cleanly'));
      await buckets.close().catch(() => {});
      galileo.close();
      await target.simulator?.close();
      logger.info({ durationMs: Date.now() - startedAt, drained }, 'gateway stopped');
    })());

  return { url, server, stop };
}

/**
 * The fingerprint key: configured, or else random, which only the memory store may use (its
 * records die with the process); loadConfig refuses a Redis store without one.
 */
function fingerprintKeyFor(config: Config): Buffer {
  return config.idempotency.fingerprintKey ?? randomBytes(32);
}
