/**
 * An open-loop load at an even pace: request i is sent at start + i / rate, whatever the answers
 * before it did (up to `connections` in flight; beyond that it waits for a socket, and that wait
 * counts in its latency). autocannon's rate limit is a per-second quota per connection, fired back
 * to back at each second's tick: a "500 a second" client then arrives as a burst of 500 and
 * nothing for the rest of the second, and its neighbours queue behind the burst. Latencies here
 * run from each request's scheduled time to its answer's end (no coordinated omission).
 */
import http from 'node:http';
import type { LoadResult } from './load.js';
import { latencySummary } from './stats.js';

export interface PacedLoadOptions {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: () => string;
  rate: number;
  durationS: number;
  connections: number;
}

export async function runPacedLoad(options: PacedLoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.path, options.url);
  const total = Math.round(options.rate * options.durationS);
  const latencies = new Float64Array(total);
  const httpStatuses: Record<string, number> = {};
  let count = 0;
  let errors = 0;
  const send = (scheduledAt: number) =>
    new Promise<void>((resolve) => {
      const body = options.body();
      const req = http.request(target, { method: 'POST', agent, headers: { ...options.headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies[count++] = performance.now() - scheduledAt;
          httpStatuses[res.statusCode ?? 0] = (httpStatuses[res.statusCode ?? 0] ?? 0) + 1;
          resolve();
        });
        res.on('error', () => (errors++, resolve()));
      });
      req.on('error', () => (errors++, resolve()));
      req.end(body);
    });
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const at = started + (i * 1000) / options.rate;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(at));
  }
  await Promise.all(inFlight);
  const durationS = (performance.now() - started) / 1000;
  agent.destroy();
  const non2xx = Object.entries(httpStatuses).reduce((n, [status, c]) => n + (status.startsWith('2') ? 0 : c), 0);
  return {
    requests: count,
    durationS,
    rps: count / durationS,
    latencyMs: latencySummary(latencies, count),
    non2xx,
    errors,
    timeouts: 0,
    httpStatuses,
    galileoStatuses: {},
  };
}
