/**
 * One autocannon run, with exact latencies: autocannon's own histogram has 1 ms resolution (and
 * only counts 2xx), too coarse for "added latency ≤ 1 ms", so every response's duration
 * (hrtime, float ms) is collected from its 'response' event and the percentiles are computed here.
 */
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { latencySummary } from './stats.js';

export interface LoadOptions {
  url: string;
  path: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  /** A fixed body, or a function called before every request (unique transactionIds). */
  body: string | (() => string);
  /** Requests per second over all connections (autocannon's overallRate); unset: as fast as they go. */
  rate?: number;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  /** Socket errors plus timeouts. */
  errors: number;
  timeouts: number;
  httpStatuses: Record<string, number>;
  /** Galileo status_code of the answers (from a sample of every 16th body). */
  galileoStatuses: Record<string, number>;
  /** The first sampled answer whose Galileo status was not 0 (to see why), cut to 300 characters. */
  firstOther?: string;
}

const STATUS_CODE = /"status_code":\s*("?[-\w]+"?)|<status_code>([-\w]+)</;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const galileoStatuses: Record<string, number> = {};
  let seen = 0;
  let firstOther: string | undefined;
  const request: AutocannonRequest = {
    method: 'POST',
    path: options.path,
    headers: options.headers,
    onResponse(_status, body) {
      if ((seen++ & 15) !== 0) return;
      const match = STATUS_CODE.exec(body.slice(0, 80));
      const code = match ? (match[1] ?? match[2] ?? '?').replaceAll('"', '') : 'none';
      galileoStatuses[code] = (galileoStatuses[code] ?? 0) + 1;
      if (code !== '0') firstOther ??= body.slice(0, 300);
    },
  };
  const body = options.body;
  if (typeof body === 'string') {
    request.body = body;
  } else {
    request.setupRequest = (req) => {
      req.body = body();
      return req;
    };
  }
  const started = process.hrtime.bigint();
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const tracker = autocannon(
      // sampleInt: autocannon stops at the first sample after `duration` (1 s apart by default,
      // which turns 4.5 s into 5 s).
      { url: options.url, connections: options.connections, duration: options.durationS, timeout: 10, sampleInt: 100, requests: [request], ...(options.rate !== undefined && { overallRate: options.rate }) },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    tracker.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = responseTime;
    });
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const httpStatuses: Record<string, number> = {};
  for (const [status, { count: n }] of Object.entries(result.statusCodeStats)) httpStatuses[status] = n;
  const durationS = Math.min(wallS, result.duration || wallS);
  return {
    requests: count,
    durationS,
    rps: count / durationS,
    latencyMs: latencySummary(latencies, count),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    httpStatuses,
    galileoStatuses,
    ...(firstOther !== undefined && { firstOther }),
  };
}
