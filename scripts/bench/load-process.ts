/**
 * One load run in its own process (scripts/bench/load.ts), for a load that must not share the
 * measuring process's event loop: the flood in the protection scenario would otherwise delay the
 * quiet client's own timers and response handling, and its latencies would be the load
 * generator's, not the gateway's. LOAD_OPTIONS (JSON): LoadOptions without `body`, plus
 * `operation` (its example body, a unique transactionId each request). Prints the LoadResult as
 * JSON, with the CPU the load generator itself used (on a 2-core machine it competes with the gateway).
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runLoad, type LoadOptions, type LoadResult } from './load.js';
import { runPacedLoad } from './paced-load.js';
import { bodyFactory, exampleBody, type Operation } from './payloads.js';
import { startService } from './procs.js';

export type LoadProcessOptions = Omit<LoadOptions, 'body'> & {
  operation: Operation;
  /** Epoch ms to start at (a child takes a moment to start): lines the window up with another load's. */
  startAt: number;
  /** At an even pace (paced-load.ts; `rate` required) rather than autocannon's per-second bursts. */
  paced?: boolean;
};

/** Runs the load in a child process and resolves with its result. */
export async function runLoadInProcess(options: LoadProcessOptions): Promise<LoadResult & { generatorCpuMs: number }> {
  const out = join(os.tmpdir(), `galileo-bench-load-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const child = startService({ name: 'load', script: 'scripts/bench/load-process.ts', env: { LOAD_OPTIONS: JSON.stringify(options) }, stdoutFile: out });
  const code = await child.exited;
  try {
    if (code !== 0) throw new Error(`load process exited ${code}: ${child.stderr().slice(0, 500)}`);
    return JSON.parse(readFileSync(out, 'utf8')) as LoadResult & { generatorCpuMs: number };
  } finally {
    rmSync(out, { force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const options = JSON.parse(process.env.LOAD_OPTIONS ?? '') as LoadProcessOptions;
  const { operation, startAt, paced, ...rest } = options;
  const bodies = bodyFactory(exampleBody(operation), 'json');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const cpu0 = process.cpuUsage();
  const result = paced ? await runPacedLoad({ ...rest, rate: rest.rate ?? 1, body: bodies.next }) : await runLoad({ ...rest, body: bodies.next });
  const { user, system } = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ ...result, generatorCpuMs: (user + system) / 1000 })}\n`);
}
