/**
 * Start-up and shutdown: wires configuration into the parts (store, Galileo client, simulator when
 * no GALILEO_BASE_URL is set), listens, and drains on stop. The simulator is referenced only here.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, type Config, type GalileoCredentials } from './config.js';
import { createGalileoClient } from './galileo/client.js';
import { createForwarder } from './galileo/forward.js';
import { createStore, lockTtlMs } from './idempotency/create-store.js';
import { describeConnection } from './idempotency/redis-client.js';
import type { IdempotencyStore, StoreEvent } from './idempotency/store.js';
import { loggableError } from './logger.js';
import { onClientError } from './http/client-error.js';
import { createMetrics, type Metrics } from './metrics.js';
import { loadGatewaySpec } from './spec.js';

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
  let simulator: { url: string; close(): Promise<void> } | undefined;
  if (galileoUrl === undefined) {
    const { startSimulator, SIMULATOR_CREDENTIALS } = await import('./simulator/server.js');
    credentials ??= SIMULATOR_CREDENTIALS;
    simulator = await startSimulator({ port: 0, host: '127.0.0.1', credentials });
    galileoUrl = simulator.url;
    logger.warn({ galileo: galileoUrl }, 'GALILEO_BASE_URL is not set: using the embedded Galileo simulator (never in production)');
  }
  if (credentials === undefined) throw new ConfigError('GALILEO_API_LOGIN', 'credentials are required');
  if (config.clients === undefined) {
    logger.warn('GATEWAY_CLIENTS is not set: caller authentication is OFF (never in production)');
  }

  const metrics = createMetrics();
  let store: IdempotencyStore;
  try {
    store = createStore({
      kind: config.idempotency.store,
      redis: config.idempotency.redis,
      minReplicasAck: config.idempotency.minReplicasAck,
      evictionPolicy: config.production ? 'refuse' : 'warn',
      onEvent: (event) => logStoreEvent(logger, metrics, event),
      keyPrefix: config.idempotency.keyPrefix,
      maxEntries: config.idempotency.maxEntries,
      encryptionKey: config.idempotency.encryptionKey,
      timings: {
        lockTtlMs: lockTtlMs(config.galileo.timeoutMs, config.galileo.maxRetries, BACKOFF_MS),
        consumedTtlMs: config.idempotency.ttlSeconds * 1000,
      },
    });
  } catch (err) {
    throw new ConfigError('IDEMPOTENCY_ENCRYPTION_KEY', (err as Error).message);
  }
  await checkStore(store, config, logger);

  const galileo = createGalileoClient({ baseUrl: galileoUrl, timeoutMs: config.galileo.timeoutMs, proxied: config.galileo.proxied });
  const readiness = { shuttingDown: false };
  const app = buildApp({
    spec: loadGatewaySpec(),
    store,
    forwarder: createForwarder({ galileo, credentials, maxRetries: config.galileo.maxRetries, backoffMs: BACKOFF_MS }),
    providerId: credentials.providerId,
    clients: config.clients,
    bodyLimit: config.bodyLimit,
    logger,
    metrics,
    readiness,
  });

  const server = app.listen(config.port, config.host);
  // Longer than load balancers' idle timeouts (60 s on AWS ALB): the balancer, not the gateway,
  // should close an idle connection, or it may send a request on a socket we are closing (a 502).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', onClientError(logger, metrics));
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  logger.info(
    {
      url,
      store: config.idempotency.store,
      ...(config.idempotency.store === 'redis' && { redis: describeConnection(config.idempotency.redis) }),
      encrypted: config.idempotency.encryptionKey !== undefined,
      galileo: new URL(galileoUrl).origin,
      auth: config.clients !== undefined,
    },
    'gateway started',
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const startedAt = Date.now();
      readiness.shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // close() only drops the connections idle right now; a kept-alive one that finishes its
      // request later would hold the drain until its keep-alive timeout.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      logger.info({ drainTimeoutMs: config.drainTimeoutMs, inFlight: await inFlight(metrics) }, 'gateway stopping');
      const drained = await Promise.race([closed.then(() => true), sleep(config.drainTimeoutMs).then(() => false)]);
      clearInterval(sweep);
      if (!drained) {
        logger.warn({ inFlight: await inFlight(metrics) }, 'drain timeout reached: closing remaining connections');
        server.closeAllConnections();
        await closed;
        // Destroyed sockets report 'close' a loop turn or two later: wait (briefly) so every cut
        // request still gets its `request completed` line (status 499) before the exit.
        for (let i = 0; i < 50 && (await inFlight(metrics)) > 0; i++) await sleep(10);
      }
      await store.close().catch((err: unknown) => logger.warn({ err: loggableError(err) }, 'idempotency store did not close cleanly'));
      galileo.close();
      await simulator?.close();
      logger.info({ durationMs: Date.now() - startedAt, drained }, 'gateway stopped');
    })());

  return { url, server, stop };
}

/**
 * Start-up check of the store's own settings: a Redis that may evict keys could silently drop a
 * claim, so production refuses to start on one. An unreachable store is not a reason to refuse
 * (the gateway answers 503 until it is back); it is checked again on every connection.
 */
async function checkStore(store: IdempotencyStore, config: Config, logger: Logger): Promise<void> {
  let findings;
  try {
    findings = await store.inspect();
  } catch (err) {
    logger.warn({ err: loggableError(err) }, 'idempotency store unreachable at start-up: its settings are checked once it answers');
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

function logStoreEvent(logger: Logger, metrics: Metrics, event: StoreEvent): void {
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
      logger[event.refusing ? 'error' : 'warn']({ server: finding.server, policy: finding.policy }, `Redis maxmemory-policy ${finding.policy} can evict idempotency records${refused}`);
    } else {
      logger.warn(
        { server: finding.server, reason: finding.reason },
        'Redis maxmemory-policy could not be read (managed services often disable CONFIG): make sure it is noeviction',
      );
    }
  }
}

async function inFlight(metrics: Metrics): Promise<number> {
  return (await metrics.inFlight.get()).values[0]?.value ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
