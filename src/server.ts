/**
 * Start-up and shutdown: wires configuration into the parts (store, Galileo client, simulator when
 * no GALILEO_BASE_URL is set), warms the request path, listens, watches the store, and drains on
 * stop. The simulator is referenced only here.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, type Config, type GalileoCredentials } from './config.js';
import { watchGalileoConfig } from './diagnostics/galileo-config-watch.js';
import { checkStore, logStoreEvent, redisAddress, scrubber } from './diagnostics/store-events.js';
import { monitorStore } from './diagnostics/store-monitor.js';
import { createGalileoClient } from './galileo/client.js';
import { baseUrlProblem } from './galileo/config-refusals.js';
import { createGalileoCircuit } from './galileo/circuit-breaker.js';
import { createForwarder } from './galileo/forward.js';
import { createLostAnswerResolver, lookupPausesMs } from './galileo/lost-answers.js';
import { createBuckets } from './limits/create-buckets.js';
import { createStore, lockTtlMs } from './idempotency/create-store.js';
import { describeConnection } from './idempotency/redis-client.js';
import type { IdempotencyStore } from './idempotency/store.js';
import { loggableError } from './logger.js';
import { createHttpServer } from './http/http-server.js';
import { validateRequest } from './http/validate.js';
import { createMetrics } from './metrics.js';
import { trackDrain } from './shutdown.js';
import { loadGatewaySpec } from './spec.js';
import { startTracing } from './tracing/setup.js';
import { warmUp, type WarmUpResult } from './warm-up.js';

const BACKOFF_MS = 100;

export interface RunningGateway {
  url: string;
  server: Server;
  /** Stop accepting, finish in-flight requests (bounded by drainTimeoutMs), close everything. */
  stop(): Promise<void>;
}

export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  let galileoUrl = config.galileo.baseUrl;
  let credentials: GalileoCredentials | undefined = config.galileo.credentials;
  let simulator: { url: string; origin: string; close(): Promise<void> } | undefined;
  if (galileoUrl === undefined) {
    const { startSimulator, SIMULATOR_CREDENTIALS } = await import('./simulator/server.js');
    credentials ??= SIMULATOR_CREDENTIALS;
    simulator = await startSimulator({ port: 0, host: '127.0.0.1', credentials });
    galileoUrl = simulator.url;
    // Its admin API (state, the PINs it "texts", faults) is what the README's examples read (docs/simulator.md).
    logger.warn(
      { galileo: galileoUrl, simulatorAdmin: `${simulator.origin}/__sim/` },
      'GALILEO_BASE_URL is not set: using the embedded Galileo simulator (never in production)',
    );
  } else {
    const problem = baseUrlProblem(galileoUrl);
    if (problem !== undefined) logger.warn({ galileo: loggableUrl(galileoUrl) }, problem);
  }
  if (credentials === undefined) throw new ConfigError('GALILEO_API_LOGIN', 'credentials are required');
  if (config.clients === undefined) {
    const why = simulator ? 'in front of the embedded simulator' : 'GATEWAY_AUTH=off';
    logger.warn(`caller authentication is OFF (${why}): any caller may use the gateway`);
  }

  const metrics = createMetrics();
  let store: IdempotencyStore;
  try {
    const common = {
      encryptionKey: config.idempotency.encryptionKey,
      timings: {
        lockTtlMs: lockTtlMs(config.galileo.timeoutMs, config.galileo.maxRetries, BACKOFF_MS, {
          calls: config.galileo.resolveAttempts,
          pausesMs: lookupPausesMs(config.galileo.resolveAttempts),
        }),
        consumedTtlMs: config.idempotency.ttlSeconds * 1000,
      },
    };
    store = createStore(
      config.idempotency.store === 'memory'
        ? { ...common, kind: 'memory', maxEntries: config.idempotency.maxEntries, maxBytes: config.idempotency.maxBytes }
        : {
            ...common,
            kind: 'redis',
            redis: config.idempotency.redis,
            keyPrefix: config.idempotency.keyPrefix,
            minReplicasAck: config.idempotency.minReplicasAck,
            evictionPolicy: config.production ? 'refuse' : 'warn',
            onEvent: (event) => logStoreEvent(logger, metrics, event),
          },
    );
  } catch (err) {
    throw new ConfigError('IDEMPOTENCY_ENCRYPTION_KEY', (err as Error).message);
  }
  await checkStore(store, config);

  const storeMonitor = monitorStore({
    store,
    kind: config.idempotency.store,
    address: config.idempotency.store === 'redis' ? redisAddress(config.idempotency.redis) : 'in process',
    logger,
    metrics,
    checkIntervalMs: config.diagnostics.storeCheckIntervalMs,
    repeatLogIntervalMs: config.diagnostics.repeatLogIntervalMs,
    scrub: scrubber([config.idempotency.redis.password, config.idempotency.redis.sentinelPassword]),
  });
  // At start-up too: an unreachable store is said before `gateway started`, not discovered by callers.
  await storeMonitor.check();

  const spec = loadGatewaySpec();
  const validator = validateRequest(spec.document);
  let warmedUp: WarmUpResult | undefined;
  try {
    warmedUp = await warmUp({ spec, validator, bodyLimit: config.bodyLimit });
  } catch (err) {
    logger.warn({ err: loggableError(err) }, 'warm-up failed: the first request of each operation will be slower');
  }

  // Off unless an OTLP endpoint is set; then spans at the gateway's own steps (docs/tracing.md).
  const tracing =
    config.tracing.export === undefined
      ? undefined
      : await startTracing(
          { ...config.tracing, export: config.tracing.export },
          {
            galileoUrl,
            sensitiveKeys: spec.sensitiveKeys,
            routes: new Map(spec.operations.map((op) => [op.operationId, op.path])),
            store: config.idempotency.store,
            logger,
            repeatLogIntervalMs: config.diagnostics.repeatLogIntervalMs,
          },
        );

  const fingerprintKey = fingerprintKeyFor(config);
  const galileo = createGalileoClient({ baseUrl: galileoUrl, timeoutMs: config.galileo.timeoutMs, proxied: config.galileo.proxied });
  const readiness = { shuttingDown: false };
  const circuit =
    config.galileo.circuitFailures === 0
      ? undefined
      : createGalileoCircuit({
          failures: config.galileo.circuitFailures,
          openMs: config.galileo.circuitOpenMs,
          onStateChange: (state, value) => {
            metrics.circuitState.set(value);
            const line = { state, failures: config.galileo.circuitFailures, openMs: config.galileo.circuitOpenMs };
            if (state === 'closed') logger.info(line, 'circuit breaker on Galileo closed: calls flow again');
            else if (state === 'open') logger.warn(line, 'circuit breaker on Galileo opened: new requests are refused (503 upstream_circuit_open)');
            else logger.info(line, 'circuit breaker on Galileo half-open: one trial request');
          },
        });
  // With the records: shared on Redis (a connection of its own, opened only when a limit needs it).
  const limited = config.galileo.maxRequestsPerSecond > 0 || (config.clients ?? []).some((c) => c.rateLimit !== undefined);
  const buckets = createBuckets(
    config.idempotency.store === 'redis' && limited
      ? { kind: 'redis', redis: config.idempotency.redis, keyPrefix: config.idempotency.keyPrefix }
      : { kind: 'memory' },
  );
  await buckets.ready(2000);
  const forwarder = createForwarder({
    galileo,
    credentials,
    maxRetries: config.galileo.maxRetries,
    backoffMs: BACKOFF_MS,
    ...(circuit && { circuit }),
    ...(tracing && { aroundAttempt: tracing.aroundAttempt }),
  });
  const app = buildApp({
    spec,
    store: tracing ? tracing.traceStore(store) : store,
    forwarder,
    lostAnswers:
      spec.outcomeLookup && config.galileo.resolveAttempts > 0
        ? createLostAnswerResolver({
            forwarder,
            lookup: spec.outcomeLookup,
            attempts: config.galileo.resolveAttempts,
            stateChangingCodes: spec.stateChangingCodes,
          })
        : undefined,
    providerId: credentials.providerId,
    fingerprintKey,
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
  server.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const bound = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${bound.port}`;
  logger.info(
    {
      address: bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`,
      url,
      store: config.idempotency.store,
      ...(config.idempotency.store === 'redis' && { redis: describeConnection(config.idempotency.redis) }),
      encrypted: config.idempotency.encryptionKey !== undefined,
      galileo: new URL(galileoUrl).origin,
      auth: config.clients !== undefined,
      tracing: config.tracing.export === undefined ? false : { protocol: config.tracing.export.protocol, sampler: config.tracing.sampler.name },
      warmUpMs: warmedUp?.durationMs,
      node: process.version,
    },
    'gateway started',
  );

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
      await simulator?.close();
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

/** A URL as it may be logged: origin and path, never a user or password. */
function loggableUrl(url: string): string {
  const parsed = new URL(url);
  return parsed.origin + parsed.pathname;
}
