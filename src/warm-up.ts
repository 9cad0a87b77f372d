/**
 * Before the gateway listens, every operation's whole path runs a few times through a throwaway
 * copy of the app: the same spec and the same validator instance, but a memory store, a stub
 * Galileo on loopback (through the real Galileo client), a random client key and logs and metrics
 * nobody reads. Nothing reaches the real store or Galileo, and the copy is gone before the
 * gateway accepts a connection.
 *
 * Why: express-openapi-validator compiles a route's schemas on its first request per content
 * type (createAccount: 80–200 ms), and every module's code runs cold the first time; so the first
 * caller of each operation waited for it, after /readyz already said ready. Measured by
 * test/ops/cold-start.test.ts: the first request of each operation within 2× a warm one.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { watchGalileoConfig } from './diagnostics/galileo-config-watch.js';
import { createGalileoClient } from './galileo/client.js';
import { listen } from './http/http-server.js';
import type { RequestValidator } from './http/validate.js';
import { createGalileoCircuit } from './galileo/circuit-breaker.js';
import { createForwarder } from './galileo/forward.js';
import { MemoryBuckets } from './limits/memory-buckets.js';
import { createStore } from './idempotency/create-store.js';
import { createLogger, loggableError } from './logger.js';
import { createMetrics } from './metrics.js';
import type { GatewaySpec } from './spec.js';

export interface WarmUpResult {
  durationMs: number;
}

type WarmUpOptions = { spec: GatewaySpec; validator: RequestValidator; bodyLimit: number };

/** A warm-up that fails costs only speed: it is said, and start-up goes on. */
export async function warmUpOrWarn(options: WarmUpOptions, logger: Logger): Promise<WarmUpResult | undefined> {
  try {
    return await warmUp(options);
  } catch (err) {
    logger.warn({ err: loggableError(err) }, 'warm-up failed: the first request of each operation will be slower');
    return undefined;
  }
}

async function warmUp(options: WarmUpOptions): Promise<WarmUpResult> {
  const started = performance.now();
  const { spec } = options;
  const galileoStub = await listenLocally(http.createServer(answerLikeGalileo));
  const galileo = createGalileoClient({ baseUrl: `${galileoStub.url}/intserv/4.0`, timeoutMs: 5000, proxied: false });
  const store = createStore({
    kind: 'memory',
    maxEntries: 1000,
    maxBytes: 4 * 1024 * 1024,
    keyRing: [{ id: 'warm-up', key: randomBytes(32) }],
    timings: { lockTtlMs: 60_000, consumedTtlMs: 60_000 },
  });
  const logger = createLogger({ level: 'info', sensitiveKeys: spec.sensitiveKeys, destination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  const metrics = createMetrics({ processMetrics: false });
  const key = randomBytes(32).toString('base64url');
  const app = buildApp({
    spec,
    store,
    forwarder: createForwarder({ galileo, credentials: { apiLogin: 'warm-up', apiTransKey: 'warm-up', providerId: 1 }, maxRetries: 0, backoffMs: 0 }),
    // Its stub always answers: no answer is ever lost.
    lostAnswers: undefined,
    providerId: 1,
    fingerprintKey: randomBytes(32),
    // A rate limit far above what the warm-up sends: its path is compiled too.
    clients: [
      { name: 'warm-up', keySha256: [createHash('sha256').update(key).digest('hex')], operations: ['*'], rateLimit: { requestsPerSecond: 1000, burst: 1000 } },
    ],
    bodyLimit: options.bodyLimit,
    logger,
    metrics,
    readiness: { shuttingDown: false },
    galileoConfigWatch: watchGalileoConfig({ logger, metrics, repeatLogIntervalMs: 60_000 }),
    validator: options.validator,
    traffic: {
      buckets: new MemoryBuckets(),
      galileoPerSecond: 1000,
      circuit: createGalileoCircuit({ failures: 1000, openMs: 1000, onStateChange: () => {} }),
      maxInFlight: 1000,
      repeatLogIntervalMs: 60_000,
    },
  });
  const gateway = await listenLocally(http.createServer(app));
  const agent = new http.Agent({ keepAlive: true });
  try {
    for (const { operationId, path } of spec.operations) {
      const example = exampleBody(spec, path);
      const fresh = () => ({ ...example, transactionId: `warm-up-${randomUUID()}` });
      const first = fresh();
      const requests: Array<{ body: Record<string, unknown>; form?: boolean; format?: string }> = [
        { body: first }, // forwarded, consumed
        { body: first }, // replayed
        { body: fresh(), form: true, format: 'xml' }, // the form validator, an XML answer
        { body: { transactionId: fresh().transactionId, [`not-a-field-of-${operationId}`]: 1 } }, // a problem answer
      ];
      for (const request of requests) await post(agent, `${gateway.url}${path}`, key, request);
    }
  } finally {
    agent.destroy();
    await gateway.close();
    await galileoStub.close();
    galileo.close();
    await store.close();
  }
  return { durationMs: Math.round(performance.now() - started) };
}

/** The spec's first request example for the operation (valid by construction), or an empty body. */
function exampleBody(spec: GatewaySpec, path: string): Record<string, unknown> {
  const paths = spec.document.paths as Record<
    string,
    { post?: { requestBody?: { content?: Record<string, { examples?: Record<string, { value?: unknown }> }> } } }
  >;
  const examples = paths[path]?.post?.requestBody?.content?.['application/json']?.examples ?? {};
  const value = Object.values(examples)[0]?.value;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** Galileo's success envelope, in the asked format. */
function answerLikeGalileo(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  req.on('end', () => {
    const envelope = { status_code: 0, status: 'Success', processing_time: 0, response_data: {}, rtoken: randomUUID() };
    if (req.headers['response-content-type'] === 'xml') {
      const fields = Object.entries(envelope)
        .map(([name, value]) => (typeof value === 'object' ? `<${name}/>` : `<${name}>${value}</${name}>`))
        .join('');
      res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><response>${fields}</response>`);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(envelope));
    }
  });
}

/** On loopback, a port of its own; `close` also drops the kept-alive connections. */
async function listenLocally(server: http.Server): Promise<{ url: string; close(): Promise<void> }> {
  const { url } = await listen(server, 0, '127.0.0.1');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function post(agent: http.Agent, url: string, key: string, request: { body: Record<string, unknown>; form?: boolean; format?: string }): Promise<void> {
  const payload = request.form
    ? new URLSearchParams(Object.entries(request.body).map(([name, value]) => [name, String(value)])).toString()
    : JSON.stringify(request.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': request.form ? 'application/x-www-form-urlencoded' : 'application/json',
          'response-content-type': request.format ?? 'json',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
