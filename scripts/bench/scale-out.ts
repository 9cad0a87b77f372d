/**
 * Scale-out: one, two and four gateway processes sharing one Redis (a redis-server of its own) and
 * a Redis Cluster of three masters, under the same total load (connections split evenly over the
 * processes, as a balancer would). For each: throughput, the CPU per request of the gateways
 * together (utime + stime from /proc) and of Redis, latency, and a duplicate storm (30 identical
 * requests split over the processes: Galileo must be called once). Every service is a process of
 * its own, all on this machine: with 2 cores, more processes cannot add throughput; what the run
 * shows is what sharing the store costs per request and that idempotency holds across processes.
 *
 *   npm run bench:scale-out -- [--window S] [--warmup S] [--connections N] [--counts 1,2,4]
 *                              [--stores redis,cluster] [--out DIR]
 * `npm run bench` runs it too, after its own scenarios. Writes DIR/scale-out.json and .md.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SpareRedis } from '../lib/redis-server.js';
import { TestRedisCluster } from '../lib/redis-topologies.js';
import { adoptPrefix, plainClient } from '../lib/redis-keys.js';
import { runLoad, type LoadResult } from './load.js';
import { bodyFactory, exampleBody, nextTransactionId } from './payloads.js';
import { ROOT, cpuMs, postJson, stopAllServices, type Service } from './procs.js';
import { CLIENT_KEY, buildGateway, removeLogFiles, startGateway, startSimulator } from './servers.js';
import { round } from './stats.js';

export interface ScaleOutOptions {
  /** Directory for scale-out.json and scale-out.md. */
  outDir: string;
  windowS?: number;
  warmupS?: number;
  /** Total connections, split evenly over the gateway processes. */
  connections?: number;
  counts?: number[];
  stores?: Array<'redis' | 'cluster'>;
  log?: (message: string) => void;
}

export interface ScaleOutCell {
  store: 'redis' | 'cluster';
  gateways: number;
  connections: number;
  requests: number;
  rps: number;
  non2xx: number;
  errors: number;
  /** Mean of the per-process p50s; the worst per-process p99. */
  latencyMs: { p50: number; p99: number };
  gatewayCpuMsPerRequest: number;
  /** CPU% of each gateway process over the window. */
  gatewayCpuPct: number[];
  redisCpuMsPerRequest: number;
  simulatorCpuPct: number;
  storm: Storm;
}

interface Storm {
  requests: number;
  galileoCalls: number;
  originals: number;
  replays: number;
  replaysIdentical: boolean;
  inProgress409: number;
  other: number;
}

const PATH = '/intserv/4.0/createAccount';
const STORM = 30;

export async function runScaleOut(options: ScaleOutOptions): Promise<ScaleOutCell[]> {
  const windowS = options.windowS ?? 8;
  const warmupS = options.warmupS ?? 3;
  const connections = options.connections ?? 32;
  const counts = options.counts ?? [1, 2, 4];
  const stores = options.stores ?? ['redis', 'cluster'];
  const t0 = performance.now();
  const log = options.log ?? ((m: string) => process.stdout.write(`[scale-out ${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`));
  const headers = { 'content-type': 'application/json', 'response-content-type': 'json', authorization: `Bearer ${CLIENT_KEY}` };
  const loadAverageAtStart = os.loadavg().map((v) => round(v, 2));
  buildGateway(); // the gateway runs as it ships: node dist/src/main.js

  const single = new SpareRedis();
  const cluster = new TestRedisCluster();
  const cells: ScaleOutCell[] = [];
  try {
    const [{ service: simulator, origin: simOrigin }] = await Promise.all([startSimulator(), stores.includes('redis') && single.start(), stores.includes('cluster') && cluster.start()]);
    for (const store of stores) {
      const redisEnv: Record<string, string> = store === 'redis' ? { REDIS_URL: single.url } : { REDIS_CLUSTER_NODES: cluster.addresses };
      const redisPids = (store === 'redis' ? [single.pid] : cluster.nodes.map((n) => n.pid)).filter((p) => p !== undefined);
      for (const count of counts) {
        const prefix = `scale-out:${store}:${count}:${randomBytes(4).toString('hex')}:`;
        // The servers were started a moment ago: take the prefix as served before, or the store
        // would refuse claims for one lock TTL (it cannot tell a new server from one that forgot).
        const admin = store === 'redis' ? plainClient(single.url) : cluster.admin();
        await adoptPrefix(admin, prefix);
        admin.disconnect();
        await postJson(`${simOrigin}/__sim/reset`, '{}');

        const servers = await Promise.all(
          Array.from({ length: count }, (_, i) =>
            startGateway({ name: `gateway-${store}-${i + 1}of${count}`, galileoUrl: `${simOrigin}/intserv/4.0`, store: 'redis', redisKeyPrefix: prefix, redisConnection: redisEnv }),
          ),
        );
        const gateways = servers.map((s) => s.service);
        const origins = servers.map((s) => s.origin);
        try {
          const cell = await measure({ store, gateways, origins, redisPids, simulator, simOrigin, headers, connections, windowS, warmupS });
          cells.push(cell);
          log(
            `${store.padEnd(7)} ×${count}: ${cell.rps.toFixed(0).padStart(5)} req/s, gateways ${cell.gatewayCpuMsPerRequest} ms CPU/req (${cell.gatewayCpuPct.join('% + ')}%), ` +
              `Redis ${cell.redisCpuMsPerRequest} ms CPU/req, p50 ${cell.latencyMs.p50} p99 ${cell.latencyMs.p99} ms, non2xx ${cell.non2xx} err ${cell.errors}; ` +
              `storm: ${cell.storm.galileoCalls} Galileo call(s), ${cell.storm.originals} original + ${cell.storm.replays} replays${cell.storm.replaysIdentical ? ' (identical)' : ' (DIFFERENT)'} + ${cell.storm.inProgress409} × 409`,
          );
        } finally {
          await Promise.all(gateways.map((g) => g.stop()));
        }
      }
    }
  } finally {
    await stopAllServices();
    await Promise.all([single.dispose(), cluster.dispose()]);
    removeLogFiles();
  }

  const results = {
    date: new Date().toISOString(),
    machine: { node: process.version, cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadAverageAtStart, loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)) },
    config: { operation: 'createAccount (every call forwarded and consumed)', connections, windowS, warmupS, counts, stores, auth: 'on', encryption: 'off', logLevel: 'info', storm: STORM },
    cells,
  };
  writeFileSync(join(options.outDir, 'scale-out.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(options.outDir, 'scale-out.md'), markdown(results));
  log(`wrote ${join(options.outDir, 'scale-out.json')} and scale-out.md`);
  return cells;
}

async function measure(m: {
  store: 'redis' | 'cluster';
  gateways: Service[];
  origins: string[];
  redisPids: number[];
  simulator: Service;
  simOrigin: string;
  headers: Record<string, string>;
  connections: number;
  windowS: number;
  warmupS: number;
}): Promise<ScaleOutCell> {
  const perGateway = Math.max(1, Math.round(m.connections / m.gateways.length));
  const factory = bodyFactory(exampleBody('createAccount'), 'json');
  const load = (durationS: number) => Promise.all(m.origins.map((url) => runLoad({ url, path: PATH, connections: perGateway, durationS, headers: m.headers, body: factory.next })));
  await load(m.warmupS);
  const cpu0 = m.gateways.map((g) => cpuMs(g.pid));
  const redis0 = m.redisPids.map(cpuMs);
  const sim0 = cpuMs(m.simulator.pid);
  const w0 = performance.now();
  const results: LoadResult[] = await load(m.windowS);
  const wallMs = performance.now() - w0;
  const gatewayCpu = m.gateways.map((g, i) => cpuMs(g.pid) - cpu0[i]!);
  const redisCpu = m.redisPids.reduce((sum, pid, i) => sum + cpuMs(pid) - redis0[i]!, 0);
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  return {
    store: m.store,
    gateways: m.gateways.length,
    connections: perGateway * m.gateways.length,
    requests,
    rps: round(requests / (wallMs / 1000), 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    latencyMs: { p50: round(results.reduce((sum, r) => sum + r.latencyMs.p50, 0) / results.length), p99: round(Math.max(...results.map((r) => r.latencyMs.p99))) },
    gatewayCpuMsPerRequest: round(gatewayCpu.reduce((a, b) => a + b, 0) / Math.max(1, requests), 3),
    gatewayCpuPct: gatewayCpu.map((ms) => round((100 * ms) / wallMs, 0)),
    redisCpuMsPerRequest: round(redisCpu / Math.max(1, requests), 3),
    simulatorCpuPct: round((100 * (cpuMs(m.simulator.pid) - sim0)) / wallMs, 0),
    storm: await storm(m.origins, m.simOrigin, m.headers),
  };
}

/** 30 identical requests at once, round-robin over the processes, Galileo slowed so they overlap. */
async function storm(origins: string[], simOrigin: string, headers: Record<string, string>): Promise<Storm> {
  const transactionId = nextTransactionId();
  const body = bodyFactory(exampleBody('createAccount'), 'json').fixed(transactionId);
  await postJson(`${simOrigin}/__sim/faults`, JSON.stringify({ fault: { type: 'latency', ms: 200 }, match: { transactionId } }));
  const answers = await Promise.all(Array.from({ length: STORM }, (_, i) => postJson(`${origins[i % origins.length]}${PATH}`, body, headers)));
  const received = (await (await fetch(`${simOrigin}/__sim/requests`)).json()) as Array<{ params: Record<string, string> }>;
  const calls = received.filter((r) => r.params.transactionId === transactionId).length;
  const originals = answers.filter((a) => a.status === 200 && a.headers['idempotent-replayed'] === undefined);
  const replays = answers.filter((a) => a.status === 200 && a.headers['idempotent-replayed'] === 'true');
  return {
    requests: STORM,
    galileoCalls: calls,
    originals: originals.length,
    replays: replays.length,
    replaysIdentical: replays.every((r) => r.text === originals[0]?.text),
    inProgress409: answers.filter((a) => a.status === 409).length,
    other: answers.filter((a) => a.status !== 200 && a.status !== 409).length,
  };
}

function markdown(results: { date: string; machine: { node: string; cpuModel: string; cores: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[] }; config: { connections: number; windowS: number; warmupS: number }; cells: ScaleOutCell[] }): string {
  const m = results.machine;
  const c = results.config;
  return [
    '# Scale-out: gateway processes sharing one Redis or a Redis Cluster',
    '',
    `${results.date} · node ${m.node} · ${m.cores} × ${m.cpuModel} · load average ${m.loadAverageAtStart.join('/')} → ${m.loadAverageAtEnd.join('/')}`,
    '',
    `createAccount through N gateway processes (auth on, LOG_LEVEL=info to a file), every call forwarded to the simulator (its own process, no added latency) and consumed;`,
    `${c.connections} connections in total, split evenly over the processes; ${c.warmupS} s warm-up + ${c.windowS} s measured. "one Redis" is a redis-server of its own; the cluster has three masters.`,
    'CPU per request: utime + stime of every gateway process (together), and of the Redis server(s), over the window, divided by the requests answered.',
    `Storm: ${STORM} identical requests at once, round-robin over the processes, Galileo slowed by 200 ms.`,
    '',
    '| store | gateways | req/s | gateway CPU ms/req | CPU % per gateway | Redis CPU ms/req | sim CPU % | p50 ms | p99 ms | non-2xx | errors | storm: Galileo calls | storm: original / replays (identical) / 409 |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...results.cells.map(
      (x) =>
        `| ${x.store === 'redis' ? 'one Redis' : 'Cluster (3 masters)'} | ${x.gateways} | ${x.rps} | ${x.gatewayCpuMsPerRequest} | ${x.gatewayCpuPct.join(' + ')} | ${x.redisCpuMsPerRequest} | ${x.simulatorCpuPct} | ${x.latencyMs.p50} | ${x.latencyMs.p99} | ${x.non2xx} | ${x.errors} | ${x.storm.galileoCalls} | ${x.storm.originals} / ${x.storm.replays} (${x.storm.replaysIdentical ? 'yes' : 'NO'}) / ${x.storm.inProgress409}${x.storm.other ? ` (+${x.storm.other} other)` : ''} |`,
    ),
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      window: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      counts: { type: 'string', default: '1,2,4' },
      stores: { type: 'string', default: 'redis,cluster' },
      out: { type: 'string', default: 'bench' },
    },
  });
  const stores = values.stores.split(',');
  for (const s of stores) if (s !== 'redis' && s !== 'cluster') throw new Error(`unknown store ${s} (redis or cluster)`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopAllServices().finally(() => process.exit(130)));
  await runScaleOut({
    outDir: join(ROOT, values.out),
    windowS: Number(values.window),
    warmupS: Number(values.warmup),
    connections: Number(values.connections),
    counts: values.counts.split(',').map(Number),
    stores: stores as Array<'redis' | 'cluster'>,
  });
}
