/**
 * `npm run bench`: what a request costs in the gateway, next to what it costs in a bare proxy and
 * in the peer (the same libraries assembled without this project), on loopback, unattended. Every
 * server is its own process (scripts/bench/servers.ts): the simulator (zero added latency), the
 * bare proxy (scripts/bench/baseline-proxy.ts), the peer (scripts/bench/peer.ts) and the gateway
 * as it ships (`node dist/src/main.js`) on the memory store and on Redis (127.0.0.1:6379, a unique
 * key prefix deleted at the end). The replay scenario sends one consumed transactionId again and
 * again to the memory gateway. The traced gateway is the memory one with tracing on, every request
 * sampled, exporting to a local collector process (scripts/bench/otlp-sink.ts; docs/tracing.md).
 *
 * The rounds are interleaved: each round measures every scenario once per operation and
 * connection count, the order reversed every other round, so background load on a shared machine
 * falls on all of them alike; a cell is the median of its rounds. The steadiest number is CPU time
 * per request of each server's process tree (from /proc), which is what the targets are about.
 * Then: RSS of every server after the whole run, an RSS stability run on a fresh gateway, a CPU
 * profile of the memory gateway (by library and by module), and the scale-out runs
 * (scripts/bench/scale-out.ts) and traffic protection under load (scripts/bench/protection.ts).
 * Results: bench/results.json, bench/results.md, bench/profile.md.
 *
 * Options (the defaults are the full benchmark):
 *   --rounds N --window S --warmup S --connections 1,16,64 --ops createIvrCall,createAccount
 *   --scenarios direct,baseline,peer,gateway-memory,gateway-redis,replay --rss-seconds S (0 skips)
 *   --out DIR (default bench) --label TEXT --skip-scale-out --skip-profile --skip-protection
 *   --gateway DIR: the gateway from DIR/src/main.ts through tsx (a copy of src/ and generated/, for A/B)
 *   --profile [--store memory|redis]: only the profile (createIvrCall, 16 connections, --window
 *              seconds, default 15), into bench/profile[-label].md and .json
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { deleteByPrefix } from './lib/redis-keys.js';
import { runLoad, type LoadResult } from './bench/load.js';
import { OPERATIONS, bodyFactory, exampleBody, nextTransactionId, type Operation } from './bench/payloads.js';
import { ROOT, cpuMs, postJson, rssMb, stopAllServices } from './bench/procs.js';
import { measureMemoryStore, type MemoryStoreResult } from './bench/memory-store.js';
import { profileMarkdown, summariseProfile } from './bench/profile.js';
import { runProtection } from './bench/protection.js';
import { runScaleOut } from './bench/scale-out.js';
import {
  CLIENT_KEY,
  CREDENTIALS,
  REDIS_URL,
  buildGateway,
  createIvrAccount,
  removeLogFiles,
  startBaseline,
  startGateway,
  startLibraryFloor,
  startOtlpSink,
  startPeer,
  startSimulator,
  type Server,
} from './bench/servers.js';
import { round, slope } from './bench/stats.js';

const SCENARIOS = ['direct', 'baseline', 'floor', 'peer', 'gateway-memory', 'gateway-traced', 'gateway-redis', 'floor-replay', 'replay'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    window: { type: 'string' },
    warmup: { type: 'string', default: '1' },
    'rss-seconds': { type: 'string', default: '60' },
    connections: { type: 'string', default: '1,16,64' },
    ops: { type: 'string', default: OPERATIONS.join(',') },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    out: { type: 'string', default: 'bench' },
    label: { type: 'string', default: '' },
    profile: { type: 'boolean', default: false },
    gateway: { type: 'string' },
    store: { type: 'string', default: 'memory' },
    'skip-scale-out': { type: 'boolean', default: false },
    'skip-protection': { type: 'boolean', default: false },
    'skip-profile': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const windowS = Number(args.window ?? (args.profile ? 15 : 3));
const warmupS = Number(args.warmup);
const rssSeconds = Number(args['rss-seconds']);
const connectionCounts = args.connections.split(',').map(Number);
const ops = args.ops.split(',') as Operation[];
const scenarios = args.scenarios.split(',') as Scenario[];
for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`);
for (const o of ops) if (!OPERATIONS.includes(o)) throw new Error(`unknown operation ${o}`);
const outDir = join(ROOT, args.out);
mkdirSync(outDir, { recursive: true });

const REDIS_PREFIX = `galileo-gw-bench:${process.pid}-${Date.now().toString(36)}:`;
const PATH = (op: Operation) => `/intserv/4.0/${op}`;
const JSON_HEADERS = { 'content-type': 'application/json', 'response-content-type': 'json' };
const GATEWAY_HEADERS = { ...JSON_HEADERS, authorization: `Bearer ${CLIENT_KEY}` };
const t0 = performance.now();
const log = (message: string) => process.stdout.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${message}\n`);

/** The gateway as it ships (dist/), or a source copy for an A/B run. */
function gateway(name: string, galileoUrl: string, options: { store?: 'memory' | 'redis'; env?: Record<string, string>; nodeArgs?: string[] } = {}) {
  return startGateway({ name, galileoUrl, dir: args.gateway, redisKeyPrefix: REDIS_PREFIX, ...options });
}

function fieldsFor(op: Operation, ivrAccountNo: string): Record<string, unknown> {
  const fields = exampleBody(op);
  if (op === 'createIvrCall') fields.accountNo = ivrAccountNo;
  return fields;
}

/** One measured window of one scenario. */
interface Sample {
  scenario: Scenario;
  operation: Operation;
  connections: number;
  round: number;
  result: LoadResult;
  warmup: { requests: number; non2xx: number; errors: number };
  cpuMsPerRequest: number;
  cpuPct: number;
  simulatorCpuPct: number;
}

/** A scenario at one operation and connection count: the median of its rounds. */
interface Cell {
  scenario: Scenario;
  operation: Operation;
  connections: number;
  rounds: number;
  rps: number;
  latencyMs: { p50: number; p99: number; max: number };
  cpuMsPerRequest: number;
  /** Every round's CPU per request, to see the spread. */
  cpuMsPerRequestRounds: number[];
  cpuPct: number;
  simulatorCpuPct: number;
  requests: number;
  non2xx: number;
  errors: number;
  galileoStatuses: Record<string, number>;
}

interface Target {
  server: Server;
  headers: Record<string, string>;
  body: string | (() => string);
}

/**
 * The simulator forgets everything before each window: its state (accounts, consumed
 * transactionIds) would otherwise grow over the run and every scenario would meet a different
 * upstream. The IVR account is created again, with the same number.
 */
async function resetSimulator(simOrigin: string, ivrAccount: string): Promise<void> {
  const res = await postJson(`${simOrigin}/__sim/reset`, '{}');
  if (res.status >= 300) throw new Error(`simulator reset: ${res.status} ${res.text}`);
  const prn = await createIvrAccount(simOrigin);
  if (prn !== ivrAccount) throw new Error(`simulator reset: the IVR account is now ${prn}, not ${ivrAccount}`);
}

async function measure(
  scenario: Scenario,
  op: Operation,
  connections: number,
  round: number,
  target: Target,
  sim: { server: Server; ivrAccount: string },
): Promise<Sample> {
  await resetSimulator(sim.server.origin, sim.ivrAccount);
  // The memory store keeps IDEMPOTENCY_MAX_ENTRIES records and evicts the oldest answers first: by
  // the later rounds the replayed one is gone, and 16 copies of it at once would meet its new
  // claim (409). Sent once alone first, it is consumed again (or still is) before the load.
  if (typeof target.body === 'string') await postJson(`${target.server.origin}${PATH(op)}`, target.body, target.headers);
  const base = { url: target.server.origin, path: PATH(op), connections, headers: target.headers, body: target.body };
  const warm = await runLoad({ ...base, durationS: warmupS });
  const pid = target.server.service.pid;
  const cpu0 = cpuMs(pid);
  const sim0 = cpuMs(sim.server.service.pid);
  const w0 = performance.now();
  const result = await runLoad({ ...base, durationS: windowS });
  const wallMs = performance.now() - w0;
  const cpu = cpuMs(pid) - cpu0;
  const simCpu = cpuMs(sim.server.service.pid) - sim0;
  const sample: Sample = {
    scenario,
    operation: op,
    connections,
    round,
    result,
    warmup: { requests: warm.requests, non2xx: warm.non2xx, errors: warm.errors },
    cpuMsPerRequest: cpu / Math.max(1, result.requests),
    cpuPct: (100 * cpu) / wallMs,
    simulatorCpuPct: (100 * simCpu) / wallMs,
  };
  const l = result.latencyMs;
  if (result.firstOther) log(`  first non-0 answer: ${result.firstOther}`);
  log(
    `r${round} ${scenario.padEnd(14)} ${op.padEnd(13)} c=${String(connections).padStart(2)}  ${result.rps.toFixed(0).padStart(5)} req/s  p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ms  ` +
      `non2xx ${result.non2xx} err ${result.errors}  cpu ${sample.cpuPct.toFixed(0)}% (${sample.cpuMsPerRequest.toFixed(3)} ms/req)`,
  );
  return sample;
}

/** Sends the replay body once (consumed: Galileo status 0), checks the second answer is a replay. */
async function prepareReplay(origin: string, op: Operation, fields: Record<string, unknown>, gateway = true): Promise<string> {
  const body = bodyFactory(fields, 'json').fixed(nextTransactionId());
  const first = await postJson(`${origin}${PATH(op)}`, body, GATEWAY_HEADERS);
  if (first.status !== 200 || !/"status_code":0,/.test(first.text)) throw new Error(`replay set-up for ${op}: ${first.status} ${first.text.slice(0, 300)}`);
  const second = await postJson(`${origin}${PATH(op)}`, body, GATEWAY_HEADERS);
  if (gateway && second.headers['idempotent-replayed'] !== 'true') throw new Error(`replay set-up for ${op}: the second call was not a replay`);
  return body;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function cellsOf(samples: Sample[]): Cell[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const key = `${s.scenario}|${s.operation}|${s.connections}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const galileoStatuses: Record<string, number> = {};
    for (const s of group) for (const [k, v] of Object.entries(s.result.galileoStatuses)) galileoStatuses[k] = (galileoStatuses[k] ?? 0) + v;
    return {
      scenario: first.scenario,
      operation: first.operation,
      connections: first.connections,
      rounds: group.length,
      rps: round(median(group.map((s) => s.result.rps)), 0),
      latencyMs: {
        p50: round(median(group.map((s) => s.result.latencyMs.p50)), 3),
        p99: round(median(group.map((s) => s.result.latencyMs.p99)), 3),
        max: round(Math.max(...group.map((s) => s.result.latencyMs.max)), 1),
      },
      cpuMsPerRequest: round(median(group.map((s) => s.cpuMsPerRequest)), 3),
      cpuMsPerRequestRounds: group.map((s) => round(s.cpuMsPerRequest, 3)),
      cpuPct: round(median(group.map((s) => s.cpuPct)), 0),
      simulatorCpuPct: round(median(group.map((s) => s.simulatorCpuPct)), 0),
      requests: group.reduce((n, s) => n + s.result.requests, 0),
      non2xx: group.reduce((n, s) => n + s.result.non2xx + s.warmup.non2xx, 0),
      errors: group.reduce((n, s) => n + s.result.errors + s.warmup.errors, 0),
      galileoStatuses,
    };
  });
}

interface RssRun {
  operation: Operation;
  connections: number;
  seconds: number;
  maxEntries: number;
  rps: number;
  errors: number;
  non2xx: number;
  samplesMb: number[];
  firstMb: number;
  lastMb: number;
  slopeMbPerMin: number;
  /** After the store has reached IDEMPOTENCY_MAX_ENTRIES (last two thirds of the run). */
  slopeAfterFillMbPerMin: number;
}

const RSS_MAX_ENTRIES = 10_000;

async function rssRun(server: Server, op: Operation, fields: Record<string, unknown>): Promise<RssRun> {
  const pid = server.service.pid;
  const samples: number[] = [rssMb(pid)];
  const timer = setInterval(() => samples.push(rssMb(pid)), 1000);
  const result = await runLoad({
    url: server.origin,
    path: PATH(op),
    connections: 16,
    durationS: rssSeconds,
    headers: GATEWAY_HEADERS,
    body: bodyFactory(fields, 'json').next,
  });
  clearInterval(timer);
  samples.push(rssMb(pid));
  const xs = samples.map((_, i) => i / 60);
  const cut = Math.floor(samples.length / 3);
  return {
    operation: op,
    connections: 16,
    seconds: rssSeconds,
    maxEntries: RSS_MAX_ENTRIES,
    rps: round(result.rps, 0),
    errors: result.errors,
    non2xx: result.non2xx,
    samplesMb: samples.map((s) => round(s, 1)),
    firstMb: round(samples[0]!, 1),
    lastMb: round(samples.at(-1)!, 1),
    slopeMbPerMin: round(slope(xs, samples), 2),
    slopeAfterFillMbPerMin: round(slope(xs.slice(cut), samples.slice(cut)), 2),
  };
}

async function cleanRedis(): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await deleteByPrefix(redis, REDIS_PREFIX);
  } finally {
    redis.disconnect();
  }
}

function machine() {
  return {
    node: process.version,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: round(os.totalmem() / 2 ** 30, 1),
    platform: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((v) => round(v, 2)),
  };
}

/**
 * What a server's log says about its answers: lines written, and how many `request completed`
 * lines had each status other than 200 (499: the client closed first, as autocannon does with the
 * requests in flight when a window ends), with the problem code.
 */
function summariseLog(file: string | undefined): { lines: number; notOk: Record<string, number> } {
  let text: string;
  try {
    text = file === undefined ? '' : readFileSync(file, 'utf8');
  } catch {
    return { lines: 0, notOk: {} };
  }
  let lines = 0;
  const notOk: Record<string, number> = {};
  for (let start = 0, end = text.indexOf('\n'); end >= 0; start = end + 1, end = text.indexOf('\n', start)) {
    lines++;
    const line = text.slice(start, end);
    if (!line.includes('"request completed"') || line.includes('"status":200,')) continue;
    const key = `${/"status":(\d+)/.exec(line)?.[1] ?? '?'} ${/"problem":"(\w+)"/.exec(line)?.[1] ?? ''}`.trim();
    notOk[key] = (notOk[key] ?? 0) + 1;
  }
  return { lines, notOk };
}

/**
 * One memory gateway under `node --cpu-prof` at 16 connections (createIvrCall), summarised by
 * library, by our own module and by function.
 */
async function profileRun(options: { seconds: number; store: 'memory' | 'redis'; markdownOut: string }): Promise<{ rps: number; cpuMsPerRequest: number }> {
  const sim = await startSimulator();
  const ivr = await createIvrAccount(sim.origin);
  // One directory per run: under tsx (--gateway) the loader's worker thread writes a small
  // profile of its own next to the main thread's; the main thread's is the largest.
  const profileDir = join(os.tmpdir(), `galileo-bench-profile-${process.pid}-${Date.now()}`);
  mkdirSync(profileDir, { recursive: true });
  const gw = await gateway('gateway-profile', `${sim.origin}/intserv/4.0`, { store: options.store, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir] });
  const factory = bodyFactory(fieldsFor('createIvrCall', ivr), 'json');
  const load = (durationS: number) =>
    runLoad({ url: gw.origin, path: PATH('createIvrCall'), connections: 16, durationS, headers: GATEWAY_HEADERS, body: factory.next });
  await load(Math.max(2, warmupS));
  const loadStart = performance.now();
  const cpu0 = cpuMs(gw.service.pid);
  const result = await load(options.seconds);
  const cpu = cpuMs(gw.service.pid) - cpu0;
  await gw.service.stop(20_000);
  const sinceLoadMs = performance.now() - loadStart;
  await sim.service.stop();
  const [main] = readdirSync(profileDir)
    .map((f) => join(profileDir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  if (main === undefined) throw new Error(`no profile written in ${profileDir}`);
  const summary = summariseProfile(main, sinceLoadMs);
  rmSync(profileDir, { recursive: true, force: true });
  const cpuMsPerRequest = cpu / Math.max(1, result.requests);
  const title = `CPU profile: gateway (${options.store} store), createIvrCall, 16 connections, ${options.seconds} s${args.label ? ` (${args.label})` : ''}`;
  writeFileSync(options.markdownOut, profileMarkdown(title, summary, result.rps, cpuMsPerRequest));
  writeFileSync(
    options.markdownOut.replace(/\.md$/, '.json'),
    `${JSON.stringify({ rps: result.rps, latencyMs: result.latencyMs, cpuMsPerRequest, summary }, null, 2)}\n`,
  );
  log(`profile: ${round(result.rps, 0)} req/s under the profiler, ${round(cpuMsPerRequest, 3)} ms CPU/req -> ${options.markdownOut}`);
  return { rps: result.rps, cpuMsPerRequest };
}

async function benchRun(): Promise<void> {
  const info = machine();
  log(`node ${info.node}, ${info.cores} × ${info.cpuModel}, load average ${info.loadAverageAtStart.join(' ')}`);
  log(`${rounds} rounds; windows: warm-up ${warmupS} s + measured ${windowS} s; connections ${connectionCounts.join(', ')}; RSS run ${rssSeconds} s`);
  if (args.gateway === undefined) buildGateway();
  const sim = await startSimulator();
  const galileoUrl = `${sim.origin}/intserv/4.0`;
  const ivrAccount = await createIvrAccount(sim.origin);

  const need = (s: Scenario) => scenarios.includes(s);
  const sink = need('gateway-traced') ? await startOtlpSink() : undefined;
  const [baseline, floor, floorReplay, peer, gwMemory, gwTraced, gwRedis] = await Promise.all([
    need('baseline') ? startBaseline(galileoUrl) : undefined,
    need('floor') ? startLibraryFloor(galileoUrl) : undefined,
    need('floor-replay') ? startLibraryFloor(galileoUrl, { replay: true }) : undefined,
    need('peer') ? startPeer(galileoUrl) : undefined,
    need('gateway-memory') || need('replay') ? gateway('gateway-memory', galileoUrl) : undefined,
    sink ? gateway('gateway-traced', galileoUrl, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.origin, OTEL_TRACES_SAMPLER: 'always_on' } }) : undefined,
    need('gateway-redis') ? gateway('gateway-redis', galileoUrl, { store: 'redis' }) : undefined,
  ]);
  log('servers up');

  const targets = new Map<Operation, Partial<Record<Scenario, Target>>>();
  for (const op of ops) {
    const fields = fieldsFor(op, ivrAccount);
    const json = () => bodyFactory(fields, 'json').next;
    targets.set(op, {
      direct: {
        server: sim,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'response-content-type': 'json' },
        body: bodyFactory(fields, { form: CREDENTIALS }).next,
      },
      ...(baseline && { baseline: { server: baseline, headers: JSON_HEADERS, body: json() } }),
      ...(floor && { floor: { server: floor, headers: GATEWAY_HEADERS, body: json() } }),
      ...(floorReplay && {
        'floor-replay': { server: floorReplay, headers: GATEWAY_HEADERS, body: await prepareReplay(floorReplay.origin, op, fields, false) },
      }),
      ...(peer && { peer: { server: peer, headers: GATEWAY_HEADERS, body: json() } }),
      ...(gwMemory && { 'gateway-memory': { server: gwMemory, headers: GATEWAY_HEADERS, body: json() } }),
      ...(gwTraced && { 'gateway-traced': { server: gwTraced, headers: GATEWAY_HEADERS, body: json() } }),
      ...(gwRedis && { 'gateway-redis': { server: gwRedis, headers: GATEWAY_HEADERS, body: json() } }),
      ...(gwMemory && need('replay') && { replay: { server: gwMemory, headers: GATEWAY_HEADERS, body: await prepareReplay(gwMemory.origin, op, fields) } }),
    });
  }

  const samples: Sample[] = [];
  for (let r = 0; r < rounds; r++) {
    // Interleaved, the order reversed every other round: no scenario always comes first.
    const order = r % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const op of ops) {
      for (const connections of connectionCounts) {
        for (const scenario of order) samples.push(await measure(scenario, op, connections, r, targets.get(op)![scenario]!, { server: sim, ivrAccount }));
      }
    }
  }
  const cells = cellsOf(samples);

  // After the whole run, as the issue of record asks: what each server holds by now.
  const rssAfterRunMb = Object.fromEntries(
    [
      ['simulator', sim],
      ['baseline', baseline],
      ['floor', floor],
      ['peer', peer],
      ['gateway-memory', gwMemory],
      ['gateway-traced', gwTraced],
      ['gateway-redis', gwRedis],
    ]
      .filter((e): e is [string, Server] => e[1] !== undefined)
      .map(([name, server]) => [name, round(rssMb(server.service.pid), 1)]),
  );
  log(`RSS after the run (MB): ${JSON.stringify(rssAfterRunMb)}`);
  const serverLogs = Object.fromEntries(
    [
      ['peer', peer],
      ['gateway-memory', gwMemory],
      ['gateway-traced', gwTraced],
      ['gateway-redis', gwRedis],
    ]
      .filter((e): e is [string, Server] => e[1] !== undefined)
      .map(([name, server]) => [name, summariseLog(server.logFile)]),
  );
  const gatewayStderr = Object.fromEntries([gwMemory, gwRedis].filter((s) => s !== undefined).map((s) => [s.service.name, s.service.stderr().slice(0, 2000)]));
  // What the traced gateway exported (none would mean the cell measured tracing off).
  const collector = sink ? ((await (await fetch(sink.origin)).json()) as { exports: number; bytes: number }) : undefined;
  if (collector) log(`collector received ${collector.exports} exports, ${collector.bytes} bytes`);
  await Promise.all([baseline, floor, floorReplay, peer, gwMemory, gwTraced, gwRedis, sink].map((s) => s?.service.stop()));

  let rss: RssRun | undefined;
  if (rssSeconds > 0) {
    await resetSimulator(sim.origin, ivrAccount);
    const fresh = await gateway('gateway-rss', galileoUrl, { env: { IDEMPOTENCY_MAX_ENTRIES: String(RSS_MAX_ENTRIES) } });
    log(`RSS run: fresh gateway (memory, IDEMPOTENCY_MAX_ENTRIES=${RSS_MAX_ENTRIES}), createIvrCall, 16 connections, ${rssSeconds} s`);
    rss = await rssRun(fresh, 'createIvrCall', fieldsFor('createIvrCall', ivrAccount));
    log(
      `RSS ${rss.firstMb} -> ${rss.lastMb} MB, slope ${rss.slopeMbPerMin} MB/min (after fill ${rss.slopeAfterFillMbPerMin}), ${rss.rps} req/s, errors ${rss.errors}`,
    );
  }
  log(`logs: ${JSON.stringify(serverLogs)}`);
  await stopAllServices();
  const redisKeysDeleted = gwRedis ? await cleanRedis() : 0;
  removeLogFiles();

  let profile: { rps: number; cpuMsPerRequest: number; file: string } | undefined;
  if (!args['skip-profile']) {
    const file = join(outDir, `profile${args.label ? `-${args.label}` : ''}.md`);
    profile = { ...(await profileRun({ seconds: 12, store: 'memory', markdownOut: file })), file: file.slice(ROOT.length) };
  }

  // In this process, nothing else running: the claim cost of a full memory store against an empty one.
  const memoryStore = await measureMemoryStore();
  log(
    `memory store: ${memoryStore.emptyUsPerClaim} µs per claim empty, ${memoryStore.fullUsPerClaim} µs at ${memoryStore.entries} entries (${memoryStore.ratio}×)`,
  );

  const totalS = round((performance.now() - t0) / 1000, 1);
  log(`done in ${totalS} s (Redis keys deleted: ${redisKeysDeleted})`);
  const results = {
    date: new Date().toISOString(),
    label: args.label || undefined,
    machine: { ...info, loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)) },
    config: {
      rounds,
      warmupS,
      windowS,
      connections: connectionCounts,
      operations: ops,
      scenarios,
      rssSeconds,
      gateway: args.gateway === undefined ? 'node dist/src/main.js' : `tsx ${args.gateway}/src/main.ts`,
      logLevel: 'info',
      auth: 'on (one bearer client)',
      encryption: 'off',
    },
    totalWallS: totalS,
    cells,
    ratios: ratios(cells),
    rssAfterRunMb,
    rss,
    goals: goals(cells, rssAfterRunMb, rss, memoryStore),
    memoryStore,
    profile,
    serverLogs,
    collector,
    gatewayStderr,
    redisKeysDeleted,
    samples: samples.map((s) => ({
      scenario: s.scenario,
      operation: s.operation,
      connections: s.connections,
      round: s.round,
      rps: round(s.result.rps, 0),
      p50: round(s.result.latencyMs.p50, 3),
      cpuMsPerRequest: round(s.cpuMsPerRequest, 3),
    })),
  };
  // Numbers to 3 decimals: sub-millisecond latencies matter, float noise does not.
  const json = JSON.stringify(results, (_key, value: unknown) => (typeof value === 'number' && !Number.isInteger(value) ? round(value, 3) : value), 2);
  writeFileSync(join(outDir, 'results.json'), `${json}\n`);
  writeFileSync(join(outDir, 'results.md'), markdown(results));
  log(`wrote ${join(args.out, 'results.json')} and ${join(args.out, 'results.md')}`);
  process.stdout.write(`\n${markdown(results)}`);
}

function find(cells: Cell[], scenario: Scenario, op: Operation, connections: number): Cell | undefined {
  return cells.find((c) => c.scenario === scenario && c.operation === op && c.connections === connections);
}

interface Ratio {
  name: string;
  operation: Operation;
  connections: number;
  value: number;
}

/** CPU per request relative to another server's, and added p50 latency at one connection. */
function ratios(cells: Cell[]) {
  const out: { cpu: Ratio[]; addedP50Ms: Ratio[] } = { cpu: [], addedP50Ms: [] };
  const pairs: Array<[string, Scenario, Scenario]> = [
    ['gateway-memory / peer', 'gateway-memory', 'peer'],
    ['gateway-redis / peer', 'gateway-redis', 'peer'],
    ['replay / baseline', 'replay', 'baseline'],
    ['floor / peer', 'floor', 'peer'],
    ['gateway-memory / floor', 'gateway-memory', 'floor'],
    ['gateway-traced / gateway-memory', 'gateway-traced', 'gateway-memory'],
    ['floor-replay / baseline', 'floor-replay', 'baseline'],
    ['replay / floor-replay', 'replay', 'floor-replay'],
    ['peer / baseline', 'peer', 'baseline'],
  ];
  for (const op of ops) {
    for (const connections of connectionCounts) {
      for (const [name, a, b] of pairs) {
        const x = find(cells, a, op, connections);
        const y = find(cells, b, op, connections);
        if (x && y) out.cpu.push({ name, operation: op, connections, value: round(x.cpuMsPerRequest / y.cpuMsPerRequest, 2) });
      }
    }
    const base = find(cells, 'baseline', op, 1);
    for (const s of ['gateway-memory', 'gateway-redis', 'floor', 'peer', 'replay'] as const) {
      const g = find(cells, s, op, 1);
      if (base && g)
        out.addedP50Ms.push({ name: `${s} p50 − baseline p50`, operation: op, connections: 1, value: round(g.latencyMs.p50 - base.latencyMs.p50, 3) });
    }
  }
  return out;
}

interface Goal {
  goal: string;
  measured: string;
  pass: boolean | undefined;
}

/** RSS is "stable" when, once the store is full, it grows less than this. */
const RSS_SLOPE_LIMIT_MB_PER_MIN = 5;
/** The Redis gateway after the whole benchmark (MiB; /proc reports kB, so MB here are MiB): issue 21. */
const RSS_LIMIT_MB = 200;

/** Issue 21's targets ("The redesign pays for itself"), then the run's own checks. */
function goals(cells: Cell[], rssAfterRunMb: Record<string, number>, rss: RssRun | undefined, memoryStore: MemoryStoreResult): Goal[] {
  const r = ratios(cells);
  const check = (goal: string, items: Ratio[], ok: (v: number) => boolean): Goal => ({
    goal,
    measured: items.map((x) => `${x.operation}@${x.connections}: ${x.value}`).join(', ') || 'not measured',
    pass: items.length === 0 ? undefined : items.every((x) => ok(x.value)),
  });
  const cpu = (name: string) => r.cpu.filter((x) => x.name === name);
  const bad = cells.filter((c) => c.errors + c.non2xx > 0);
  const redisRss = rssAfterRunMb['gateway-redis'];
  return [
    check('forwarded, memory store: gateway CPU per request ≤ 0.9 × the peer’s, every cell', cpu('gateway-memory / peer'), (v) => v <= 0.9),
    check('forwarded, Redis store: gateway CPU per request ≤ 0.9 × the peer’s, every cell', cpu('gateway-redis / peer'), (v) => v <= 0.9),
    check('tracing on (every request sampled, exported): CPU per request ≤ 1.15 × tracing off', cpu('gateway-traced / gateway-memory'), (v) => v <= 1.15),
    check(
      'replay: CPU per request ≤ 1.5 × the bare proxy’s at 16 connections',
      cpu('replay / baseline').filter((x) => x.connections === 16),
      (v) => v <= 1.5,
    ),
    {
      goal: `RSS of the Redis gateway after the whole run ≤ ${RSS_LIMIT_MB} MiB`,
      measured:
        redisRss === undefined
          ? 'not measured'
          : `${redisRss} (memory gateway: ${rssAfterRunMb['gateway-memory'] ?? 'not measured'}, bounded by IDEMPOTENCY_MAX_BYTES)`,
      pass: redisRss === undefined ? undefined : redisRss <= RSS_LIMIT_MB,
    },
    {
      goal: 'no errors and no non-2xx in any scenario (warm-ups included)',
      measured:
        bad.length === 0
          ? `0 in ${cells.length} cells`
          : bad.map((c) => `${c.scenario} ${c.operation}@${c.connections}: ${c.errors} errors, ${c.non2xx} non-2xx`).join('; '),
      pass: cells.length === 0 ? undefined : bad.length === 0,
    },
    {
      goal: `RSS stable: once the store is full, slope ≤ ${RSS_SLOPE_LIMIT_MB_PER_MIN} MB/min`,
      measured: rss
        ? `${rss.firstMb} → ${rss.lastMb} MB over ${rss.seconds} s; slope ${rss.slopeMbPerMin} MB/min overall, ${rss.slopeAfterFillMbPerMin} MB/min after fill`
        : 'not measured',
      pass: rss ? rss.slopeAfterFillMbPerMin <= RSS_SLOPE_LIMIT_MB_PER_MIN && rss.errors === 0 : undefined,
    },
    {
      goal: `memory store: a claim at a full store (${memoryStore.entries} entries) within 2 × an empty one`,
      measured: `${memoryStore.emptyUsPerClaim} µs empty, ${memoryStore.fullUsPerClaim} µs full: ${memoryStore.ratio}×`,
      pass: memoryStore.ratio <= 2,
    },
  ];
}

function markdown(results: {
  date: string;
  machine: ReturnType<typeof machine> & { loadAverageAtEnd: number[] };
  config: { rounds: number; warmupS: number; windowS: number; gateway: string };
  totalWallS: number;
  cells: Cell[];
  ratios: ReturnType<typeof ratios>;
  rssAfterRunMb: Record<string, number>;
  rss: RssRun | undefined;
  goals: Goal[];
  profile: { rps: number; cpuMsPerRequest: number; file: string } | undefined;
}): string {
  const m = results.machine;
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const lines = [
    '# Gateway benchmark',
    '',
    `${results.date} · node ${m.node} · ${m.cores} × ${m.cpuModel} · load average ${m.loadAverageAtStart.join('/')} → ${m.loadAverageAtEnd.join('/')} · total ${results.totalWallS} s`,
    '',
    `Loopback, simulator with no added latency. ${results.config.rounds} interleaved rounds (order reversed every other round), each window ${results.config.warmupS} s warm-up + ${results.config.windowS} s measured (autocannon; latencies exact per response); every cell the median of its rounds.`,
    `Gateway: \`${results.config.gateway}\`, LOG_LEVEL=info to a file, auth on, unique transactionIds (every call forwarded); replay: one consumed transactionId, memory gateway. Peer: scripts/bench/peer.ts; bare proxy: scripts/bench/baseline-proxy.ts.`,
    'CPU is that of the server’s process tree (the simulator for `direct`) over the measured window, from /proc.',
    '',
    '| scenario | operation | conns | req/s | p50 ms | p99 ms | max ms | CPU ms/req | CPU ms/req per round | CPU % | sim CPU % | non-2xx | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|',
    ...results.cells.map(
      (c) =>
        `| ${c.scenario} | ${c.operation} | ${c.connections} | ${c.rps} | ${f(c.latencyMs.p50)} | ${f(c.latencyMs.p99)} | ${f(c.latencyMs.max, 1)} | ${c.cpuMsPerRequest.toFixed(3)} | ${c.cpuMsPerRequestRounds.join(' ')} | ${c.cpuPct} | ${c.simulatorCpuPct} | ${c.non2xx} | ${c.errors} |`,
    ),
    '',
    '## CPU per request, relative',
    '',
    '| ratio | operation | conns | value |',
    '|---|---|---:|---:|',
    ...results.ratios.cpu.map((r) => `| ${r.name} | ${r.operation} | ${r.connections} | ${r.value} |`),
    ...results.ratios.addedP50Ms.map((r) => `| ${r.name} (ms) | ${r.operation} | ${r.connections} | ${r.value} |`),
    '',
    `RSS after the whole run (MB): ${Object.entries(results.rssAfterRunMb)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
  ];
  if (results.rss) {
    const r = results.rss;
    lines.push(
      '## RSS stability',
      '',
      `Fresh gateway (memory store, IDEMPOTENCY_MAX_ENTRIES=${r.maxEntries}, so the store reaches its bound early), ${r.operation}, ${r.connections} connections, ${r.seconds} s at ${r.rps} req/s, ${r.errors} errors: ` +
        `RSS ${r.firstMb} → ${r.lastMb} MB; least-squares slope ${r.slopeMbPerMin} MB/min over all ${r.samplesMb.length} samples, ${r.slopeAfterFillMbPerMin} MB/min over the last two thirds.`,
      '',
      `Samples (MB, 1 s apart): ${r.samplesMb.join(' ')}`,
      '',
    );
  }
  if (results.profile)
    lines.push(`Where the gateway's CPU goes: [${results.profile.file.replace(/^\/?bench\//, '')}](${results.profile.file.replace(/^\/?bench\//, '')}).`, '');
  lines.push(
    '## Targets',
    '',
    '| target | measured | result |',
    '|---|---|---|',
    ...results.goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.pass === undefined ? 'n/a' : g.pass ? 'PASS' : 'FAIL'} |`),
    '',
  );
  return lines.join('\n');
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    void stopAllServices()
      .then(() => cleanRedis().catch(() => 0))
      .finally(() => process.exit(130));
  });
}

try {
  if (args.profile) {
    if (args.gateway === undefined) buildGateway();
    await profileRun({
      seconds: windowS,
      store: args.store === 'redis' ? 'redis' : 'memory',
      markdownOut: join(outDir, `profile${args.label ? `-${args.label}` : ''}.md`),
    });
    if (args.store === 'redis') await cleanRedis();
  } else {
    await benchRun();
    // Gateway processes on one Redis and on a Cluster: scripts/bench/scale-out.ts.
    if (!args['skip-scale-out']) await runScaleOut({ outDir });
    // One client far over its limit next to a quiet one: scripts/bench/protection.ts.
    if (!args['skip-protection']) await runProtection({ outDir });
  }
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAllServices();
    await cleanRedis().catch(() => 0);
    removeLogFiles();
    process.exit(1);
  }
}
