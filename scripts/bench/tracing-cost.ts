/**
 * What the gateway's own tracing code costs per request, alone (docs/performance.md, Tracing): the
 * spans of one forwarded request (the SERVER span through src/tracing/server-span.ts, the store's
 * claim and complete, one Galileo attempt) on a stand-in request, every span sampled and exported
 * over OTLP/HTTP protobuf to a sink in this process, against the same loop with tracing off. CPU
 * µs per request of this process (process.cpuUsage), so the gateway's other work and the machine's
 * other load stay out of it.
 *
 *   npx tsx scripts/bench/tracing-cost.ts [--requests 40000]
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createContext } from '../../src/http/context.js';
import type { IdempotencyStore } from '../../src/idempotency/store.js';
import { startTracing } from '../../src/tracing/setup.js';

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '40000' } } });
const requests = Number(args.requests);

const sink = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end());
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces`;

const tracing = await startTracing(
  {
    export: {
      url,
      protocol: 'http/protobuf',
      headers: {},
      timeoutMs: 10_000,
      batch: { scheduledDelayMillis: 5000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMillis: 30_000 },
    },
    serviceName: 'galileo-gateway',
    resourceAttributes: {},
    sampler: { name: 'always_on', ratio: 1 },
    propagateToGalileo: false,
  },
  {
    galileoUrl: 'http://127.0.0.1:8080/intserv/4.0',
    sensitiveKeys: ['cardNumber'],
    routes: new Map([['createIvrCall', '/intserv/4.0/createIvrCall']]),
    store: 'memory',
    logger: pino({ level: 'silent' }),
    repeatLogIntervalMs: 60_000,
  },
);
const store: IdempotencyStore = {
  claim: async () => ({ state: 'claimed', token: 't' }),
  complete: async () => true,
  release: async () => true,
  leaveUnresolved: async () => true,
  ping: async () => {},
  inspect: async () => [],
  close: async () => {},
};
const tracedStore = tracing.traceStore(store);
const attempt = { retryable: false, reply: { kind: 'galileo', httpStatus: 200, contentType: 'application/json', body: '{}', statusCode: 0, rtoken: '3b2e1c7a-1d2f-4c3b-9a8e-1f2e3d4c5b6a', processingTime: 0.01 } };

/** One request's steps, traced or not. */
async function request(i: number, traced: boolean): Promise<void> {
  const req = { method: 'POST', path: '/intserv/4.0/createIvrCall', headers: {} } as any;
  const res = Object.assign(new EventEmitter(), { writableFinished: true, statusCode: 200 }) as any;
  const ctx = createContext(res, '8460a4cd-097c-406f-9320-189b0f7e3756');
  Object.assign(ctx, { operation: 'createIvrCall', client: 'bench', transactionId: `tx-${i}-bench`, idempotency: 'forwarded' });
  ctx.upstream = { httpStatus: 200, statusCode: 0, rtoken: attempt.reply.rtoken, processingTime: 0.01, attempts: 1, durationMs: 1, outcome: 'galileo' };
  const s = traced ? tracedStore : store;
  const steps = async () => {
    await s.claim('key', 'fingerprint');
    await (traced ? tracing.aroundAttempt('createIvrCall', 1, async () => attempt as any) : Promise.resolve(attempt));
    await s.complete('key', 't', { status: 200, contentType: 'application/json', body: '{}' });
  };
  if (traced) await new Promise<void>((resolve) => tracing.serverSpans(req, res, () => void steps().then(resolve)));
  else await steps();
  res.emit('close');
}

async function measure(traced: boolean): Promise<number> {
  for (let i = 0; i < 5000; i++) await request(i, traced);
  const start = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    await request(i, traced);
    // Let the exporter's sockets and timers run, as they would between requests.
    if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / requests;
}

const off = await measure(false);
const on = await measure(true);
await tracing.shutdown(10_000);
sink.close();
process.stdout.write(`tracing off ${off.toFixed(1)} µs/request, on ${on.toFixed(1)} µs/request (4 spans, exported): +${(on - off).toFixed(1)} µs\n`);
