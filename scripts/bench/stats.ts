/** Least-squares slope of y over x (units of y per unit of x). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The latency summary of a run: the first `count` values, in ms. */
export function latencySummary(latencies: Float64Array, count: number): { p50: number; p90: number; p99: number; max: number; mean: number } {
  const sorted = latencies.subarray(0, count).sort();
  const pick = (q: number) => (count === 0 ? Number.NaN : sorted[Math.min(count - 1, Math.floor(q * count))]!);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i]!;
  return { p50: pick(0.5), p90: pick(0.9), p99: pick(0.99), max: count === 0 ? Number.NaN : sorted[count - 1]!, mean: count === 0 ? Number.NaN : sum / count };
}
