/**
 * Traffic protection under load (docs/contract.md, Traffic protection): one client far over its
 * rate limit while another sends at a normal rate, what a refused request costs, and what the
 * limits add to a request that passes them. Every server is its own process (the gateway as it
 * ships, memory store); the windows are interleaved over rounds and each figure is the median.
 *
 *   quiet alone      the quiet client at a fixed rate, evenly paced: its p50 / p99
 *   quiet + batch    the same, while the batch client (its own process) sends at 10× its limit:
 *                    the quiet p50 / p99
 *   flood elsewhere  the same flood sent to another gateway process: what the machine's shared
 *                    cores alone cost the quiet client (the control)
 *   in bursts        quiet alone and quiet + batch again, both as autocannon sends a rate (bursts
 *                    at each second's tick): the shape the earlier runs measured
 *   forwarded        the quiet client, as fast as it can: CPU per forwarded request
 *   refused          the batch client, as fast as it can, its bucket empty: CPU per refused (429)
 *   limits off / on  the same forwarded load, on the same gateway process, from a client without a
 *                    limit and from one with a limit it never reaches: CPU per request (two
 *                    processes differ by more than the limits cost; one process does not)
 *
 *   npm run bench:protection -- [--rounds N] [--window S] [--out DIR]
 * `npm run bench` runs it too. Writes DIR/protection.json and DIR/protection.md.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, type LoadResult } from './load.js';
import { runLoadInProcess } from './load-process.js';
import { runPacedLoad } from './paced-load.js';
import { bodyFactory, exampleBody } from './payloads.js';
import { cpuMs, postJson, stopAllServices } from './procs.js';
import { CLIENT_KEY, CLIENT_KEY_SHA256, buildGateway, removeLogFiles, startGateway, startSimulator, type Server } from './servers.js';
import { round } from './stats.js';

const PATH = '/intserv/4.0/createAccount';
const BATCH_KEY = 'bench-batch-client-key-0123456789abcdef';
const ROOMY_KEY = 'bench-roomy-client-key-0123456789abcdef';
const BATCH_LIMIT = { requestsPerSecond: 50, burst: 50 };
const QUIET_RATE = 100;
const FLOOD_CONNECTIONS = 16;

export interface ProtectionOptions {
  outDir: string;
  rounds?: number;
  windowS?: number;
  log?: (message: string) => void;
}

/** Evenly paced (paced-load.ts), or autocannon's per-second bursts. */
type Shape = 'paced' | 'bursts';

interface Window {
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  statuses: Record<string, number>;
}

export async function runProtection(options: ProtectionOptions) {
  const rounds = options.rounds ?? 5;
  const windowS = options.windowS ?? 5;
  const t0 = performance.now();
  const log = options.log ?? ((m: string) => process.stdout.write(`[protection ${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`));
  const loadAverageAtStart = os.loadavg().map((v) => round(v, 2));
  buildGateway();
  const headers = (key: string) => ({ 'content-type': 'application/json', 'response-content-type': 'json', authorization: `Bearer ${key}` });
  const sha = (key: string) => createHash('sha256').update(key).digest('hex');
  const clients = JSON.stringify([
    { name: 'quiet', keySha256: CLIENT_KEY_SHA256, operations: ['*'] },
    { name: 'batch', keySha256: sha(BATCH_KEY), operations: ['*'], rateLimit: BATCH_LIMIT },
    { name: 'roomy', keySha256: sha(ROOMY_KEY), operations: ['*'], rateLimit: { requestsPerSecond: 1_000_000, burst: 1_000_000 } },
  ]);
  const generatorCpuMs: number[] = [];
  const windows: Record<string, Window[]> = { quietAlone: [], quietWithBatch: [], quietWithBatchElsewhere: [], quietAloneBursts: [], quietWithBatchBursts: [], batchWithQuiet: [], forwarded: [], refused: [], limitsOff: [], limitsOn: [] };
  try {
    const { origin: simOrigin } = await startSimulator();
    const galileoUrl = `${simOrigin}/intserv/4.0`;
    // Breaker and bulkhead at their defaults; the budget only where it is measured.
    const [protectedGw, controlGw] = await Promise.all([
      startGateway({ name: 'gateway-protection', galileoUrl, env: { GATEWAY_CLIENTS: clients } }),
      startGateway({ name: 'gateway-control', galileoUrl, env: { GATEWAY_CLIENTS: clients } }),
    ]);
    const account = bodyFactory(exampleBody('createAccount'), 'json');
    const load = (server: Server, key: string, extra: { connections: number; rate?: number }) =>
      runLoad({ url: server.origin, path: PATH, headers: headers(key), body: account.next, durationS: windowS, ...extra });
    const measured = async (server: Server, run: () => Promise<LoadResult>): Promise<Window> => {
      const cpu0 = cpuMs(server.service.pid);
      const result = await run();
      return summary(result, cpuMs(server.service.pid) - cpu0);
    };
    const reset = () => postJson(`${simOrigin}/__sim/reset`, '{}');
    // The quiet client at its rate, evenly paced (paced-load.ts), or as autocannon sends it: each
    // connection's share of the second fired back to back at every second's tick.
    const quiet = (shape: Shape) =>
      shape === 'paced'
        ? runPacedLoad({ url: protectedGw.origin, path: PATH, headers: headers(CLIENT_KEY), body: account.next, rate: QUIET_RATE, durationS: windowS, connections: 4 })
        : load(protectedGw, CLIENT_KEY, { connections: 4, rate: QUIET_RATE });
    // The quiet client and the batch client at once, in the same shape; the CPU of this window is
    // not used (two loads share it). The batch client is its own process, as it would be: in this
    // one, its 500 answers a second would delay the quiet client's timers and responses.
    // 'elsewhere': the same flood sent to another gateway process on this machine (the control:
    // what the machine's two cores, shared by the simulator, the flood's generator and a gateway,
    // cost the quiet client without its gateway seeing the flood).
    const flood = async (target: 'same' | 'elsewhere', shape: Shape) => {
      const startAt = Date.now() + 2000;
      const [quietResult, batch] = await Promise.all([
        new Promise((resolve) => setTimeout(resolve, startAt - Date.now())).then(() => quiet(shape)),
        runLoadInProcess({
          url: (target === 'same' ? protectedGw : controlGw).origin,
          path: PATH,
          headers: headers(BATCH_KEY),
          operation: 'createAccount',
          durationS: windowS,
          connections: 8,
          rate: BATCH_LIMIT.requestsPerSecond * 10,
          startAt,
          paced: shape === 'paced',
        }),
      ]);
      return { quiet: summary(quietResult, Number.NaN), batch: summary(batch, Number.NaN), generatorCpuMs: Math.round(batch.generatorCpuMs) };
    };

    for (let r = 1; r <= rounds; r++) {
      await reset();
      windows.quietAlone!.push(await measured(protectedGw, () => quiet('paced')));
      await reset();
      const withBatch = await flood('same', 'paced');
      windows.quietWithBatch!.push(withBatch.quiet);
      windows.batchWithQuiet!.push(withBatch.batch);
      generatorCpuMs.push(withBatch.generatorCpuMs);
      await reset();
      windows.quietWithBatchElsewhere!.push((await flood('elsewhere', 'paced')).quiet);
      await reset();
      windows.quietAloneBursts!.push(await measured(protectedGw, () => quiet('bursts')));
      await reset();
      windows.quietWithBatchBursts!.push((await flood('same', 'bursts')).quiet);
      await reset();
      windows.forwarded!.push(await measured(protectedGw, () => load(protectedGw, CLIENT_KEY, { connections: FLOOD_CONNECTIONS })));
      windows.refused!.push(await measured(protectedGw, () => load(protectedGw, BATCH_KEY, { connections: FLOOD_CONNECTIONS })));
      // Off and on in alternating order, so drift on the machine falls on both.
      for (const name of r % 2 === 1 ? (['limitsOff', 'limitsOn'] as const) : (['limitsOn', 'limitsOff'] as const)) {
        await reset();
        windows[name]!.push(await measured(protectedGw, () => load(protectedGw, name === 'limitsOn' ? ROOMY_KEY : CLIENT_KEY, { connections: FLOOD_CONNECTIONS })));
      }
      log(
        `round ${r}: quiet p50 ${windows.quietAlone!.at(-1)!.p50} → ${windows.quietWithBatch!.at(-1)!.p50} ms (flood elsewhere ${windows.quietWithBatchElsewhere!.at(-1)!.p50}), ` +
          `p99 ${windows.quietAlone!.at(-1)!.p99} → ${windows.quietWithBatch!.at(-1)!.p99} ms (flood elsewhere ${windows.quietWithBatchElsewhere!.at(-1)!.p99}); ` +
          `in bursts p50 ${windows.quietAloneBursts!.at(-1)!.p50} → ${windows.quietWithBatchBursts!.at(-1)!.p50}, p99 ${windows.quietAloneBursts!.at(-1)!.p99} → ${windows.quietWithBatchBursts!.at(-1)!.p99} ms; ` +
          `batch ${JSON.stringify(windows.batchWithQuiet!.at(-1)!.statuses)} (its generator: ${generatorCpuMs.at(-1)} ms CPU); CPU/req forwarded ${windows.forwarded!.at(-1)!.cpuMsPerRequest} refused ${windows.refused!.at(-1)!.cpuMsPerRequest}; ` +
          `limits off ${windows.limitsOff!.at(-1)!.cpuMsPerRequest} on ${windows.limitsOn!.at(-1)!.cpuMsPerRequest} ms`,
      );
    }
  } finally {
    await stopAllServices();
    removeLogFiles();
  }

  const median = (name: string, pick: (w: Window) => number) => medianOf(windows[name]!.map(pick));
  const figures = {
    quietAlone: { p50: median('quietAlone', (w) => w.p50), p99: median('quietAlone', (w) => w.p99) },
    quietWithBatch: { p50: median('quietWithBatch', (w) => w.p50), p99: median('quietWithBatch', (w) => w.p99) },
    quietWithBatchElsewhere: { p50: median('quietWithBatchElsewhere', (w) => w.p50), p99: median('quietWithBatchElsewhere', (w) => w.p99) },
    quietAloneBursts: { p50: median('quietAloneBursts', (w) => w.p50), p99: median('quietAloneBursts', (w) => w.p99) },
    quietWithBatchBursts: { p50: median('quietWithBatchBursts', (w) => w.p50), p99: median('quietWithBatchBursts', (w) => w.p99) },
    batchStatuses: windows.batchWithQuiet!.at(-1)!.statuses,
    forwardedCpuMs: median('forwarded', (w) => w.cpuMsPerRequest),
    refusedCpuMs: median('refused', (w) => w.cpuMsPerRequest),
    refusedStatuses: windows.refused!.at(-1)!.statuses,
    limitsOffCpuMs: median('limitsOff', (w) => w.cpuMsPerRequest),
    limitsOnCpuMs: median('limitsOn', (w) => w.cpuMsPerRequest),
  };
  const ratios = {
    quietP50: round(figures.quietWithBatch.p50 / figures.quietAlone.p50, 2),
    quietP99: round(figures.quietWithBatch.p99 / figures.quietAlone.p99, 2),
    controlP50: round(figures.quietWithBatchElsewhere.p50 / figures.quietAlone.p50, 2),
    controlP99: round(figures.quietWithBatchElsewhere.p99 / figures.quietAlone.p99, 2),
    /** The flood at the quiet client's own gateway against the flood elsewhere: the gateway's own share. */
    ownShareP50: round(figures.quietWithBatch.p50 / figures.quietWithBatchElsewhere.p50, 2),
    ownShareP99: round(figures.quietWithBatch.p99 / figures.quietWithBatchElsewhere.p99, 2),
    burstsP50: round(figures.quietWithBatchBursts.p50 / figures.quietAloneBursts.p50, 2),
    burstsP99: round(figures.quietWithBatchBursts.p99 / figures.quietAloneBursts.p99, 2),
    refusedPerForwarded: round(figures.refusedCpuMs / figures.forwardedCpuMs, 3),
    limitsOnPerOff: round(figures.limitsOnCpuMs / figures.limitsOffCpuMs, 3),
  };
  const goals = [
    { goal: "quiet client's p50 with a client at 10× its limit ≤ 1.5× alone (both evenly paced)", measured: `${figures.quietWithBatch.p50} vs ${figures.quietAlone.p50} ms (${ratios.quietP50}×)`, pass: ratios.quietP50 <= 1.5 },
    { goal: "quiet client's p99 with a client at 10× its limit ≤ 1.5× alone (both evenly paced)", measured: `${figures.quietWithBatch.p99} vs ${figures.quietAlone.p99} ms (${ratios.quietP99}×)`, pass: ratios.quietP99 <= 1.5 },
    { goal: 'a refused request ≤ 25% of the CPU of a forwarded one', measured: `${figures.refusedCpuMs} vs ${figures.forwardedCpuMs} ms (${round(100 * ratios.refusedPerForwarded, 1)}%)`, pass: ratios.refusedPerForwarded <= 0.25 },
    { goal: 'the limits add ≤ 5% CPU to a request that passes them', measured: `${figures.limitsOnCpuMs} vs ${figures.limitsOffCpuMs} ms (${ratios.limitsOnPerOff}×)`, pass: ratios.limitsOnPerOff <= 1.05 },
  ];
  const results = {
    date: new Date().toISOString(),
    machine: { node: process.version, cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadAverageAtStart, loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)) },
    config: { operation: 'createAccount', rounds, windowS, batchLimit: BATCH_LIMIT, batchRate: BATCH_LIMIT.requestsPerSecond * 10, quietRate: QUIET_RATE, floodConnections: FLOOD_CONNECTIONS, store: 'memory' },
    figures,
    ratios,
    windows,
    goals,
  };
  writeFileSync(join(options.outDir, 'protection.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(options.outDir, 'protection.md'), markdown(results));
  for (const g of goals) log(`${g.pass ? 'PASS' : 'FAIL'} ${g.goal}: ${g.measured}`);
  return results;
}

function summary(result: LoadResult, cpu: number): Window {
  return {
    rps: round(result.rps, 0),
    p50: round(result.latencyMs.p50, 2),
    p99: round(result.latencyMs.p99, 2),
    cpuMsPerRequest: round(cpu / Math.max(1, result.requests), 3),
    statuses: result.httpStatuses,
  };
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return round(sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, 3);
}

function markdown(results: Awaited<ReturnType<typeof runProtection>>): string {
  const { figures: f, config: c } = results;
  return [
    '# Traffic protection under load',
    '',
    `${results.date}, Node ${results.machine.node}, ${results.machine.cores} × ${results.machine.cpuModel}, load average ${results.machine.loadAverageAtStart.join(' ')} → ${results.machine.loadAverageAtEnd.join(' ')}. ` +
      `Gateway as it ships (memory store, breaker and bulkhead at their defaults), ${c.operation}, ${c.rounds} rounds of ${c.windowS} s windows, medians. ` +
      'A 429 that answers a body which arrived with its headers keeps the connection (the body was already in the buffers); one whose body had not arrived closes it.',
    '',
    `- The quiet client (no limit) at ${c.quietRate} req/s, evenly paced (latency from each request's scheduled time): p50 ${f.quietAlone.p50} ms, p99 ${f.quietAlone.p99} ms alone; ` +
      `p50 ${f.quietWithBatch.p50} ms, p99 ${f.quietWithBatch.p99} ms while the batch client (limit ${c.batchLimit.requestsPerSecond}/s, burst ${c.batchLimit.burst}, its own process) sends ${c.batchRate} req/s, evenly paced too (its answers: ${JSON.stringify(f.batchStatuses)}).`,
    `- The control: the same flood sent to another gateway process on this machine (the quiet client's gateway never sees it): quiet p50 ${f.quietWithBatchElsewhere.p50} ms (${results.ratios.controlP50}× alone), p99 ${f.quietWithBatchElsewhere.p99} ms (${results.ratios.controlP99}× alone). That much of the change is the machine (two cores shared by the simulator, the flood's generator and a gateway), not the gateway's handling of the flood: ` +
      `the flood at the quiet client's own gateway against the flood elsewhere is ${results.ratios.ownShareP50}× at p50 and ${results.ratios.ownShareP99}× at p99.`,
    `- Both clients as autocannon sends a rate (each connection's share of the second fired back to back at each second's tick, so the flood arrives as a burst of ${c.batchRate} and the quiet client's requests queue behind it): quiet p50 ${f.quietAloneBursts.p50} → ${f.quietWithBatchBursts.p50} ms (${results.ratios.burstsP50}×), p99 ${f.quietAloneBursts.p99} → ${f.quietWithBatchBursts.p99} ms (${results.ratios.burstsP99}×).`,
    `- CPU per request, ${c.floodConnections} connections as fast as they go: forwarded ${f.forwardedCpuMs} ms, refused (429; each body arrived with its headers, so the connection was kept) ${f.refusedCpuMs} ms (answers: ${JSON.stringify(f.refusedStatuses)}).`,
    `- CPU per forwarded request, on the same process: a client without a limit ${f.limitsOffCpuMs} ms, a client with a limit it never reaches ${f.limitsOnCpuMs} ms.`,
    '',
    '| target | measured | result |',
    '|---|---|---|',
    ...results.goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.pass ? 'PASS' : 'FAIL'} |`),
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, window: { type: 'string', default: '5' }, out: { type: 'string', default: 'bench' } } });
  await runProtection({ outDir: join(process.cwd(), values.out), rounds: Number(values.rounds), windowS: Number(values.window) });
}
