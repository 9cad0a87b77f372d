/**
 * A/B of servers on a noisy machine: every variant runs at once against one simulator, and short
 * load windows alternate between them (order reversed every round), so a burst of background load
 * hits all of them alike. Reports the median and best CPU per request of each server's process
 * tree (from /proc, steadier than req/s) and req/s.
 *
 *   npx tsx scripts/bench/ab.ts [--rounds 10] [--seconds 3] [--connections 16] [--op createIvrCall]
 *                               [--store memory|redis] [--rate N] VARIANT...
 *
 * --rate: N requests a second over all connections (the same work for every variant) instead of
 * as fast as they go.
 *
 * A VARIANT is `dist` (this checkout as it ships, built if stale), `peer` or `baseline`
 * (scripts/bench/peer.ts, baseline-proxy.ts), or a directory holding a copy of src/ and
 * generated/ run through tsx (`.` is the working tree; a copy must sit inside the checkout, where
 * node_modules resolves, e.g. under the git-ignored scratch/), optionally followed by @LEVEL for
 * LOG_LEVEL (default info) and by +traced (tracing on, every request sampled, exported to a local
 * collector process: docs/tracing.md) and by +NAME=VALUE settings of the gateway's environment
 * (e.g. dist+traced+OTEL_EXPORTER_OTLP_PROTOCOL=http/json), e.g.
 *   mkdir -p scratch/v && cp -r src generated scratch/v/ && (edit scratch/v/src/...) && npx tsx scripts/bench/ab.ts peer . scratch/v
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { deleteByPrefix } from '../lib/redis-keys.js';
import { runLoad } from './load.js';
import { bodyFactory, exampleBody, OPERATIONS, type Operation } from './payloads.js';
import { cpuMs, stopAllServices } from './procs.js';
import {
  CLIENT_KEY,
  buildGateway,
  createIvrAccount,
  removeLogFiles,
  startBaseline,
  startGateway,
  startOtlpSink,
  startPeer,
  startSimulator,
  type Server,
} from './servers.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    op: { type: 'string', default: 'createIvrCall' },
    store: { type: 'string', default: 'memory' },
    rate: { type: 'string' },
  },
});
const op = args.op as Operation;
if (!OPERATIONS.includes(op)) throw new Error(`unknown operation ${op}`);
if (positionals.length === 0) throw new Error('name at least one variant');
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const prefix = `galileo-gw-ab:${process.pid}:`;

interface Variant {
  name: string;
  server: Server;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const variants: Variant[] = [];
try {
  const sim = await startSimulator();
  const galileoUrl = `${sim.origin}/intserv/4.0`;
  const fields = exampleBody(op);
  if (op === 'createIvrCall') fields.accountNo = await createIvrAccount(sim.origin);
  if (positionals.some((p) => p.startsWith('dist'))) buildGateway();
  const sink = positionals.some((p) => p.split('+').includes('traced')) ? await startOtlpSink() : undefined;

  for (const [i, spec] of positionals.entries()) {
    const [head, ...extras] = spec.split('+') as [string, ...string[]];
    const traced = extras.includes('traced');
    const extraEnv = Object.fromEntries(extras.filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const [dir, level] = head.split('@') as [string, string | undefined];
    const server =
      dir === 'peer'
        ? await startPeer(galileoUrl)
        : dir === 'baseline'
          ? await startBaseline(galileoUrl)
          : await startGateway({
              name: `ab-${i}`,
              galileoUrl,
              dir: dir === 'dist' ? undefined : dir,
              store: args.store === 'redis' ? 'redis' : 'memory',
              redisKeyPrefix: `${prefix}${i}:`,
              env: { LOG_LEVEL: level ?? 'info', ...(traced && sink && { OTEL_EXPORTER_OTLP_ENDPOINT: sink.origin, OTEL_TRACES_SAMPLER: 'always_on' }), ...extraEnv },
            });
    variants.push({ name: spec, server });
  }

  const headers = { 'content-type': 'application/json', 'response-content-type': 'json', authorization: `Bearer ${CLIENT_KEY}` };
  const bodies = bodyFactory(fields, 'json');
  const load = (v: Variant, durationS: number) => runLoad({ url: v.server.origin, path: `/intserv/4.0/${op}`, connections, durationS, headers, body: bodies.next, ...(args.rate !== undefined && { rate: Number(args.rate) }) });
  for (const v of variants) await load(v, 2);
  const results = new Map<string, Array<{ rps: number; cpu: number; failures: number }>>();
  for (let round = 0; round < rounds; round++) {
    for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
      const before = cpuMs(v.server.service.pid);
      const r = await load(v, seconds);
      const cpu = (cpuMs(v.server.service.pid) - before) / Math.max(1, r.requests);
      results.set(v.name, [...(results.get(v.name) ?? []), { rps: r.rps, cpu, failures: r.errors + r.non2xx }]);
    }
  }
  process.stdout.write(`${op}, ${connections} connections, ${rounds} rounds of ${seconds} s, ${args.rate === undefined ? 'as fast as they go' : `${args.rate} req/s`}, ${args.store} store; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  // Each round's windows are minutes apart at most: the median of the per-round ratios to the
  // first variant cancels the machine's slow drift, which the medians of each variant do not.
  const first = results.get(variants[0]!.name)!;
  for (const [name, xs] of results) {
    const cpus = xs.map((x) => x.cpu);
    const paired = median(xs.map((x, i) => x.cpu / first[i]!.cpu));
    process.stdout.write(
      `${name.padEnd(24)} CPU ms/req median ${median(cpus).toFixed(3)} best ${Math.min(...cpus).toFixed(3)}   / first, per round: median ${paired.toFixed(3)}   req/s median ${median(xs.map((x) => x.rps)).toFixed(0)}   failures ${xs.reduce((n, x) => n + x.failures, 0)}\n`,
    );
  }
} finally {
  await stopAllServices();
  removeLogFiles();
  if (args.store === 'redis') {
    const redis = new Redis({ lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  }
}
