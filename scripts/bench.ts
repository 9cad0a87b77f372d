/**
 * `npm run bench`: the gateway's throughput and latency against a bare proxy and against the
 * simulator itself, on loopback, unattended, in under five minutes. Every service is its own
 * process: the simulator (zero added latency), the baseline proxy (scripts/bench/baseline-proxy.ts),
 * the gateway on the memory store and on Redis (127.0.0.1:6379, a unique key prefix deleted at
 * the end), and a fresh gateway for the RSS stability run. Results: bench/results.json and
 * bench/results.md.
 *
 * Options (for A/B runs and profiling; the defaults are the full benchmark):
 *   --window S --warmup S --rss-seconds S (0 skips it) --connections 1,16,64
 *   --ops createIvrCall,createAccount --scenarios direct,baseline,gateway-memory,gateway-redis,replay
 *   --out DIR (default bench) --label TEXT --skip-scale-out (else bench/scale-out.ts runs last)
 *   --gateway DIR: run the gateway from DIR/src/main.ts (a copy of src/ and generated/, for A/B)
 *   --profile [--store memory|redis]: instead, run one gateway under `node --cpu-prof` at 16
 *              connections (createIvrCall, --window seconds, default 15) and summarise the profile
 *              into bench/profile[-label].md and .json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { deleteByPrefix } from '../test/idempotency/redis-helpers.js';
import { runLoad, type LoadResult } from './bench/load.js';
import { OPERATIONS, bodyFactory, exampleBody, nextTransactionId, type Credentials, type Operation } from './bench/payloads.js';
import { ROOT, cpuMs, freePort, postJson, rssMb, startService, stopAllServices, waitForHttp, type Service } from './bench/procs.js';
import { profileMarkdown, summariseProfile } from './bench/profile.js';
import { round, slope } from './bench/stats.js';
import { runScaleOut } from './bench/scale-out.js';

const SCENARIOS = ['direct', 'baseline', 'gateway-memory', 'gateway-redis', 'replay'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    window: { type: 'string' },
    warmup: { type: 'string', default: '1.5' },
    'rss-seconds': { type: 'string', default: '60' },
    connections: { type: 'string', default: '1,16,64' },
    ops: { type: 'string', default: OPERATIONS.join(',') },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    out: { type: 'string', default: 'bench' },
    label: { type: 'string', default: '' },
    profile: { type: 'boolean', default: false },
    gateway: { type: 'string', default: '.' },
    store: { type: 'string', default: 'memory' },
    'skip-scale-out': { type: 'boolean', default: false },
  },
});
const windowS = Number(args.window ?? (args.profile ? 15 : 5));
const warmupS = Number(args.warmup);
const rssSeconds = Number(args['rss-seconds']);
const connectionCounts = args.connections.split(',').map(Number);
const ops = args.ops.split(',') as Operation[];
const scenarios = args.scenarios.split(',') as Scenario[];
for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`);
for (const o of ops) if (!OPERATIONS.includes(o)) throw new Error(`unknown operation ${o}`);
const outDir = join(ROOT, args.out);
mkdirSync(outDir, { recursive: true });

const CREDENTIALS: Credentials = { apiLogin: 'sim-login', apiTransKey: 'simTransKey0001', providerId: 9999 };
const CLIENT_KEY = randomBytes(24).toString('base64url');
const REDIS_URL = 'redis://127.0.0.1:6379';
const REDIS_PREFIX = `galileo-gw-bench:${process.pid}-${Date.now().toString(36)}:`;
const PATH = (op: Operation) => `/intserv/4.0/${op}`;
const log = (message: string) => process.stdout.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${message}\n`);
const t0 = performance.now();
const logFiles: string[] = [];

function gatewayEnv(port: number, galileoUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    GALILEO_BASE_URL: galileoUrl,
    GALILEO_API_LOGIN: CREDENTIALS.apiLogin,
    GALILEO_API_TRANS_KEY: CREDENTIALS.apiTransKey,
    GALILEO_PROVIDER_ID: String(CREDENTIALS.providerId),
    // Auth on, as in production: one client allowed everything.
    GATEWAY_CLIENTS: JSON.stringify([{ name: 'bench', keySha256: createHash('sha256').update(CLIENT_KEY).digest('hex'), operations: ['*'] }]),
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** A gateway process, stdout (its pino lines) appended to a temp file, never a pipe. */
function startGateway(name: string, port: number, galileoUrl: string, extra: Record<string, string> = {}, nodeArgs: string[] = []): Service {
  const stdoutFile = join(os.tmpdir(), `galileo-bench-${process.pid}-${name}.log`);
  rmSync(stdoutFile, { force: true });
  logFiles.push(stdoutFile);
  return startService({ name, script: join(args.gateway, 'src/main.ts'), env: gatewayEnv(port, galileoUrl, extra), stdoutFile, nodeArgs });
}

async function startSimulator(): Promise<{ service: Service; origin: string }> {
  const port = await freePort();
  const service = startService({ name: 'simulator', script: 'src/simulator/main.ts', env: { SIMULATOR_PORT: String(port), SIMULATOR_HOST: '127.0.0.1' } });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(service, `${origin}/__sim/state`);
  return { service, origin };
}

const IVR_ACCOUNT = '074199999999';

/** An account with a phone at the simulator, so createIvrCall answers 0 (and is consumed). */
async function createIvrAccount(simOrigin: string): Promise<string> {
  const form = new URLSearchParams({
    ...Object.fromEntries(Object.entries(CREDENTIALS).map(([k, v]) => [k, String(v)])),
    transactionId: nextTransactionId(),
    prodId: '501',
    firstName: 'Ivr',
    lastName: 'Bench',
    // An instant-issue card keeps its number: the same PRN after every simulator reset, whatever
    // requests of the previous run still reach the simulator after it.
    accountNo: IVR_ACCOUNT,
    mobilePhone: '8015556060',
    mobilePhoneCountryCode: '+1',
  });
  const res = await postJson(`${simOrigin}${PATH('createAccount')}`, form.toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    'response-content-type': 'json',
  });
  const prn = /"pmt_ref_no":"(\d+)"/.exec(res.text)?.[1];
  if (!prn) throw new Error(`could not create the IVR account: ${res.status} ${res.text}`);
  return prn;
}

function fieldsFor(op: Operation, ivrAccountNo: string): Record<string, unknown> {
  const fields = exampleBody(op);
  if (op === 'createIvrCall') fields.accountNo = ivrAccountNo;
  return fields;
}

interface Cell {
  scenario: Scenario;
  operation: Operation;
  connections: number;
  result: LoadResult;
  warmup: { requests: number; non2xx: number; errors: number };
  /** The process under test (the simulator for `direct`). */
  process: { name: string; cpuPct: number; cpuMsPerRequest: number; rssMb: number };
  simulatorCpuPct: number;
}

interface Target {
  origin: string;
  service: Service;
  headers: Record<string, string>;
  body: string | (() => string);
}

/**
 * The simulator forgets everything before each run: its state (accounts, consumed transactionIds,
 * IVR calls) would otherwise grow over the benchmark and every scenario would meet a different
 * upstream. The IVR account is created again, with the same PRN.
 */
async function resetSimulator(simOrigin: string, ivrAccount: string): Promise<void> {
  const res = await postJson(`${simOrigin}/__sim/reset`, '{}');
  if (res.status >= 300) throw new Error(`simulator reset: ${res.status} ${res.text}`);
  const prn = await createIvrAccount(simOrigin);
  if (prn !== ivrAccount) throw new Error(`simulator reset: the IVR account is now ${prn}, not ${ivrAccount}`);
}

async function measure(scenario: Scenario, op: Operation, connections: number, target: Target, sim: { service: Service; origin: string; ivrAccount: string }): Promise<Cell> {
  await resetSimulator(sim.origin, sim.ivrAccount);
  const base = { url: target.origin, path: PATH(op), connections, headers: target.headers, body: target.body };
  const warm = await runLoad({ ...base, durationS: warmupS });
  const cpu0 = cpuMs(target.service.pid);
  const sim0 = cpuMs(sim.service.pid);
  const w0 = performance.now();
  const result = await runLoad({ ...base, durationS: windowS });
  const wallMs = performance.now() - w0;
  const cpu = cpuMs(target.service.pid) - cpu0;
  const simCpu = cpuMs(sim.service.pid) - sim0;
  const cell: Cell = {
    scenario,
    operation: op,
    connections,
    result,
    warmup: { requests: warm.requests, non2xx: warm.non2xx, errors: warm.errors },
    process: { name: target.service.name, cpuPct: round((100 * cpu) / wallMs, 1), cpuMsPerRequest: round(cpu / Math.max(1, result.requests), 3), rssMb: round(rssMb(target.service.pid), 1) },
    simulatorCpuPct: round((100 * simCpu) / wallMs, 1),
  };
  const l = result.latencyMs;
  if (result.firstOther) log(`  first non-0 answer: ${result.firstOther}`);
  log(
    `${scenario.padEnd(14)} ${op.padEnd(13)} c=${String(connections).padStart(2)}  ${result.rps.toFixed(0).padStart(5)} req/s  p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} max ${l.max.toFixed(1)} ms  ` +
      `non2xx ${result.non2xx} err ${result.errors}  cpu ${cell.process.cpuPct}% (${cell.process.cpuMsPerRequest} ms/req) rss ${cell.process.rssMb} MB  galileo ${JSON.stringify(result.galileoStatuses)}`,
  );
  return cell;
}

/** Sends the replay body once (consumed: Galileo status 0), checks the second answer is a replay. */
async function prepareReplay(origin: string, op: Operation, fields: Record<string, unknown>, headers: Record<string, string>): Promise<string> {
  const body = bodyFactory(fields, 'json').fixed(nextTransactionId());
  const first = await postJson(`${origin}${PATH(op)}`, body, headers);
  if (first.status !== 200 || !/"status_code":0,/.test(first.text)) throw new Error(`replay set-up for ${op}: ${first.status} ${first.text.slice(0, 300)}`);
  const second = await postJson(`${origin}${PATH(op)}`, body, headers);
  if (second.headers['idempotent-replayed'] !== 'true') throw new Error(`replay set-up for ${op}: the second call was not a replay`);
  return body;
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

async function rssRun(service: Service, origin: string, op: Operation, fields: Record<string, unknown>, headers: Record<string, string>): Promise<RssRun> {
  const samples: number[] = [];
  const factory = bodyFactory(fields, 'json');
  const timer = setInterval(() => samples.push(rssMb(service.pid)), 1000);
  samples.push(rssMb(service.pid));
  const result = await runLoad({ url: origin, path: PATH(op), connections: 16, durationS: rssSeconds, headers, body: factory.next });
  clearInterval(timer);
  samples.push(rssMb(service.pid));
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
 * What a gateway's log says about its answers: lines written, and how many `request completed`
 * lines had each status other than 200 (499: the client closed first, as autocannon does with the
 * requests in flight when a run ends), with the problem code.
 */
function summariseLog(file: string): { lines: number; notOk: Record<string, number> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
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

async function profileRun(): Promise<void> {
  const sim = await startSimulator();
  const ivr = await createIvrAccount(sim.origin);
  // One directory per run: tsx's loader runs in a worker thread, which writes its own (small)
  // profile next to the main thread's; the main thread's is the largest.
  const profileDir = join(outDir, 'profiles', `${args.label || 'run'}-${Date.now()}`);
  mkdirSync(profileDir, { recursive: true });
  const port = await freePort();
  const redis = args.store === 'redis';
  const storeEnv: Record<string, string> = redis ? { IDEMPOTENCY_STORE: 'redis', REDIS_URL, IDEMPOTENCY_KEY_PREFIX: REDIS_PREFIX } : {};
  const gw = startGateway('gateway-profile', port, `${sim.origin}/intserv/4.0`, storeEnv, ['--cpu-prof', '--cpu-prof-dir', profileDir]);
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(gw, `${origin}/healthz`);
  const headers = { 'content-type': 'application/json', 'response-content-type': 'json', authorization: `Bearer ${CLIENT_KEY}` };
  const factory = bodyFactory(fieldsFor('createIvrCall', ivr), 'json');
  await runLoad({ url: origin, path: PATH('createIvrCall'), connections: 16, durationS: warmupS, headers, body: factory.next });
  const loadStart = performance.now();
  const cpu0 = cpuMs(gw.pid);
  const result = await runLoad({ url: origin, path: PATH('createIvrCall'), connections: 16, durationS: windowS, headers, body: factory.next });
  const cpu = cpuMs(gw.pid) - cpu0;
  await gw.stop(20_000);
  const sinceLoadMs = performance.now() - loadStart;
  await sim.service.stop();
  const [main] = readdirSync(profileDir)
    .map((f) => join(profileDir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  if (main === undefined) throw new Error(`no profile written in ${profileDir}`);
  const summary = summariseProfile(main, sinceLoadMs);
  if (redis) await cleanRedis();
  const title = `CPU profile: gateway (${redis ? 'Redis' : 'memory'} store), createIvrCall, 16 connections, ${windowS} s${args.label ? ` (${args.label})` : ''}`;
  const md = profileMarkdown(title, summary, result.rps);
  const base = join(outDir, `profile${args.label ? `-${args.label}` : ''}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, JSON.stringify({ rps: result.rps, latencyMs: result.latencyMs, cpuMsPerRequest: cpu / result.requests, summary }, null, 2));
  log(`profile: ${round(result.rps, 0)} req/s under the profiler, ${round(cpu / result.requests, 3)} ms CPU/req; ${main} -> ${base}.md`);
  process.stdout.write(`${md.split('\n').slice(0, 45).join('\n')}\n`);
}

async function benchRun(): Promise<void> {
  const info = machine();
  log(`node ${info.node}, ${info.cores} × ${info.cpuModel}, load average ${info.loadAverageAtStart.join(' ')}`);
  log(`windows: warm-up ${warmupS} s + measured ${windowS} s; connections ${connectionCounts.join(', ')}; RSS run ${rssSeconds} s`);
  const sim = await startSimulator();
  const galileoUrl = `${sim.origin}/intserv/4.0`;
  const ivrAccount = await createIvrAccount(sim.origin);

  const need = (s: Scenario) => scenarios.includes(s);
  const ports = { baseline: await freePort(), memory: await freePort(), redis: await freePort(), rss: await freePort() };
  const baseline = need('baseline')
    ? startService({
        name: 'baseline',
        script: 'scripts/bench/baseline-proxy.ts',
        env: { BASELINE_PORT: String(ports.baseline), BASELINE_UPSTREAM: galileoUrl, BASELINE_API_LOGIN: CREDENTIALS.apiLogin, BASELINE_API_TRANS_KEY: CREDENTIALS.apiTransKey, BASELINE_PROVIDER_ID: String(CREDENTIALS.providerId) },
      })
    : undefined;
  const gwMemory = need('gateway-memory') || need('replay') ? startGateway('gateway-memory', ports.memory, galileoUrl) : undefined;
  const gwRedis = need('gateway-redis')
    ? startGateway('gateway-redis', ports.redis, galileoUrl, { IDEMPOTENCY_STORE: 'redis', REDIS_URL, IDEMPOTENCY_KEY_PREFIX: REDIS_PREFIX })
    : undefined;
  const gwRss = rssSeconds > 0 ? startGateway('gateway-rss', ports.rss, galileoUrl, { IDEMPOTENCY_MAX_ENTRIES: String(RSS_MAX_ENTRIES) }) : undefined;
  const origin = (port: number) => `http://127.0.0.1:${port}`;
  await Promise.all([
    baseline && waitForHttp(baseline, origin(ports.baseline)),
    gwMemory && waitForHttp(gwMemory, `${origin(ports.memory)}/healthz`),
    gwRedis && waitForHttp(gwRedis, `${origin(ports.redis)}/readyz`),
    gwRss && waitForHttp(gwRss, `${origin(ports.rss)}/healthz`),
  ]);
  log('services up');

  const jsonHeaders = { 'content-type': 'application/json', 'response-content-type': 'json' };
  const gatewayHeaders = { ...jsonHeaders, authorization: `Bearer ${CLIENT_KEY}` };
  const cells: Cell[] = [];
  for (const op of ops) {
    const fields = fieldsFor(op, ivrAccount);
    const replayBody = need('replay') && gwMemory ? await prepareReplay(origin(ports.memory), op, fields, gatewayHeaders) : '';
    const targets: Partial<Record<Scenario, Target>> = {
      direct: { origin: sim.origin, service: sim.service, headers: { 'content-type': 'application/x-www-form-urlencoded', 'response-content-type': 'json' }, body: bodyFactory(fields, { form: CREDENTIALS }).next },
      ...(baseline && { baseline: { origin: origin(ports.baseline), service: baseline, headers: jsonHeaders, body: bodyFactory(fields, 'json').next } }),
      ...(gwMemory && { 'gateway-memory': { origin: origin(ports.memory), service: gwMemory, headers: gatewayHeaders, body: bodyFactory(fields, 'json').next } }),
      ...(gwRedis && { 'gateway-redis': { origin: origin(ports.redis), service: gwRedis, headers: gatewayHeaders, body: bodyFactory(fields, 'json').next } }),
      ...(gwMemory && { replay: { origin: origin(ports.memory), service: gwMemory, headers: gatewayHeaders, body: replayBody } }),
    };
    // Interleaved: the scenarios compared in one ratio are measured minutes apart at most.
    for (const connections of connectionCounts) {
      for (const scenario of scenarios) {
        cells.push(await measure(scenario, op, connections, targets[scenario]!, { ...sim, ivrAccount }));
      }
    }
  }

  let rss: RssRun | undefined;
  if (gwRss) {
    await resetSimulator(sim.origin, ivrAccount);
    log(`RSS run: gateway (memory, IDEMPOTENCY_MAX_ENTRIES=${RSS_MAX_ENTRIES}), createIvrCall, 16 connections, ${rssSeconds} s`);
    rss = await rssRun(gwRss, origin(ports.rss), 'createIvrCall', fieldsFor('createIvrCall', ivrAccount), gatewayHeaders);
    log(`RSS ${rss.firstMb} -> ${rss.lastMb} MB, slope ${rss.slopeMbPerMin} MB/min (after fill ${rss.slopeAfterFillMbPerMin}), ${rss.rps} req/s, errors ${rss.errors}`);
  }

  const gatewayLogs = Object.fromEntries(logFiles.map((f) => [f.replace(/^.*-(gateway-[a-z]+)\.log$/, '$1'), summariseLog(f)]));
  log(`gateway logs: ${JSON.stringify(gatewayLogs)}`);
  const gatewayStderr = Object.fromEntries([gwMemory, gwRedis, gwRss].filter((s) => s !== undefined).map((s) => [s.name, s.stderr().slice(0, 2000)]));
  await stopAllServices();
  const redisKeysDeleted = gwRedis ? await cleanRedis() : 0;
  for (const f of logFiles) rmSync(f, { force: true });
  const totalS = round((performance.now() - t0) / 1000, 1);
  log(`done in ${totalS} s (Redis keys deleted: ${redisKeysDeleted})`);

  const results = {
    date: new Date().toISOString(),
    label: args.label || undefined,
    machine: { ...info, loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)) },
    config: { warmupS, windowS, connections: connectionCounts, operations: ops, scenarios, rssSeconds, gateway: args.gateway, logLevel: 'info', auth: 'on (one bearer client)', encryption: 'off' },
    totalWallS: totalS,
    cells,
    ratios: ratios(cells),
    rss,
    goals: goals(cells, rss),
    gatewayLogs,
    gatewayStderr,
    redisKeysDeleted,
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

function ratios(cells: Cell[]) {
  const out: { throughput: Ratio[]; addedLatencyMs: Ratio[] } = { throughput: [], addedLatencyMs: [] };
  const pairs: Array<[string, Scenario, Scenario]> = [
    ['gateway-memory / baseline', 'gateway-memory', 'baseline'],
    ['gateway-redis / baseline', 'gateway-redis', 'baseline'],
    ['replay / gateway-memory', 'replay', 'gateway-memory'],
    ['baseline / direct', 'baseline', 'direct'],
  ];
  for (const op of ops) {
    for (const connections of connectionCounts) {
      for (const [name, a, b] of pairs) {
        const x = find(cells, a, op, connections);
        const y = find(cells, b, op, connections);
        if (x && y) out.throughput.push({ name, operation: op, connections, value: round(x.result.rps / y.result.rps, 2) });
      }
    }
    const base = find(cells, 'baseline', op, 1);
    for (const s of ['gateway-memory', 'gateway-redis', 'replay'] as const) {
      const g = find(cells, s, op, 1);
      if (base && g) out.addedLatencyMs.push({ name: `${s} p50 − baseline p50`, operation: op, connections: 1, value: round(g.result.latencyMs.p50 - base.result.latencyMs.p50, 3) });
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

function goals(cells: Cell[], rss: RssRun | undefined): Goal[] {
  const r = ratios(cells);
  const pick = (name: string, conns: number[]) => r.throughput.filter((x) => x.name === name && conns.includes(x.connections));
  const check = (goal: string, items: Ratio[], ok: (v: number) => boolean): Goal => ({
    goal,
    measured: items.map((x) => `${x.operation}@${x.connections}: ${x.value}`).join(', ') || 'not measured',
    pass: items.length === 0 ? undefined : items.every((x) => ok(x.value)),
  });
  const bad = cells.filter((c) => c.result.errors + c.result.non2xx + c.warmup.errors + c.warmup.non2xx > 0);
  return [
    check('gateway (memory) ≥ 0.5 × baseline at 16 and 64 connections', pick('gateway-memory / baseline', [16, 64]), (v) => v >= 0.5),
    check('gateway (Redis) ≥ 0.4 × baseline at 16 and 64 connections', pick('gateway-redis / baseline', [16, 64]), (v) => v >= 0.4),
    check('replay ≥ 1.5 × forwarded (memory) at 16 and 64 connections', pick('replay / gateway-memory', [16, 64]), (v) => v >= 1.5),
    check('added latency (gateway memory p50 − baseline p50) ≤ 1 ms at 1 connection', r.addedLatencyMs.filter((x) => x.name.startsWith('gateway-memory')), (v) => v <= 1),
    {
      goal: 'no errors and no non-2xx in any scenario (warm-ups included)',
      measured: bad.length === 0 ? `0 in ${cells.length} runs` : bad.map((c) => `${c.scenario} ${c.operation}@${c.connections}: ${c.result.errors + c.warmup.errors} errors, ${c.result.non2xx + c.warmup.non2xx} non-2xx`).join('; '),
      pass: cells.length === 0 ? undefined : bad.length === 0,
    },
    {
      goal: `RSS stable: once the store is full, slope ≤ ${RSS_SLOPE_LIMIT_MB_PER_MIN} MB/min`,
      measured: rss ? `${rss.firstMb} → ${rss.lastMb} MB over ${rss.seconds} s; slope ${rss.slopeMbPerMin} MB/min overall, ${rss.slopeAfterFillMbPerMin} MB/min after fill` : 'not measured',
      pass: rss ? rss.slopeAfterFillMbPerMin <= RSS_SLOPE_LIMIT_MB_PER_MIN && rss.errors === 0 : undefined,
    },
  ];
}

function markdown(results: {
  date: string;
  machine: ReturnType<typeof machine> & { loadAverageAtEnd: number[] };
  totalWallS: number;
  cells: Cell[];
  ratios: ReturnType<typeof ratios>;
  rss: RssRun | undefined;
  goals: Goal[];
  label?: string;
}): string {
  const m = results.machine;
  const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '—');
  const lines = [
    `# Gateway benchmark${results.label ? ` (${results.label})` : ''}`,
    '',
    `${results.date} · node ${m.node} · ${m.cores} × ${m.cpuModel} · load average ${m.loadAverageAtStart.join('/')} → ${m.loadAverageAtEnd.join('/')} · total ${results.totalWallS} s`,
    '',
    `Loopback, simulator with no added latency, each run ${warmupS} s warm-up + ${windowS} s measured (autocannon 9; latencies exact per response).`,
    'Gateway: `node --import tsx src/main.ts`, LOG_LEVEL=info to a file, auth on, unique transactionIds (every call forwarded); replay: one consumed transactionId.',
    'CPU and RSS are those of the process under test (the simulator for `direct`), over the measured window.',
    'Where the CPU goes, what was changed and what is proposed: [hotspots.md](hotspots.md).',
    '',
    '| scenario | operation | conns | req/s | p50 ms | p99 ms | max ms | non-2xx | errors | CPU % | CPU ms/req | RSS MB | sim CPU % | Galileo status (sampled) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...results.cells.map((c) => {
      const l = c.result.latencyMs;
      const statuses = Object.entries(c.result.galileoStatuses).map(([k, v]) => `${k}:${v}`).join(' ');
      return `| ${c.scenario} | ${c.operation} | ${c.connections} | ${f(c.result.rps, 0)} | ${f(l.p50)} | ${f(l.p99)} | ${f(l.max, 1)} | ${c.result.non2xx} | ${c.result.errors} | ${c.process.cpuPct} | ${c.process.cpuMsPerRequest} | ${c.process.rssMb} | ${c.simulatorCpuPct} | ${statuses} |`;
    }),
    '',
    '## Ratios',
    '',
    '| ratio | operation | conns | value |',
    '|---|---|---:|---:|',
    ...results.ratios.throughput.map((r) => `| ${r.name} | ${r.operation} | ${r.connections} | ${r.value} |`),
    ...results.ratios.addedLatencyMs.map((r) => `| ${r.name} (ms) | ${r.operation} | ${r.connections} | ${r.value} |`),
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
  lines.push(
    '## Goals',
    '',
    '| goal | measured | result |',
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
  if (args.profile) await profileRun();
  else await benchRun();
  // Gateway processes on one Redis and on a Cluster: scripts/bench/scale-out.ts.
  if (!args.profile && !args['skip-scale-out']) await runScaleOut({ outDir });
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAllServices();
    await cleanRedis().catch(() => 0);
    for (const f of logFiles) rmSync(f, { force: true });
    process.exitCode = 1;
  }
}
