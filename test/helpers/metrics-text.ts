/** Reads the Prometheus text format just enough for tests: samples with their labels. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a metrics sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include `labels` (0 when there is none yet). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseMetrics(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Every value each label takes across the gateway's own metrics (gateway_*). */
function gatewayLabelValues(text: string): Map<string, Set<string>> {
  const values = new Map<string, Set<string>>();
  for (const sample of parseMetrics(text)) {
    if (!sample.name.startsWith('gateway_')) continue;
    for (const [key, value] of Object.entries(sample.labels)) {
      const id = `${sample.name.replace(/_(bucket|sum|count)$/, '')}.${key}`;
      if (!values.has(id)) values.set(id, new Set());
      values.get(id)!.add(value);
    }
  }
  return values;
}

const OPERATION_IDS = ['createAccount', 'createIvrCall', 'modifyOnDemandAlertStatus', 'getCallStatus'];
const oneOf = (allowed: string[]) => (value: string) => allowed.includes(value);

/** The closed set of every label of the gateway's metrics (docs/contract.md): nothing a caller typed. */
const CLOSED_LABELS: Record<string, (value: string) => boolean> = {
  'gateway_requests_total.operation': oneOf([...OPERATION_IDS, 'none']),
  'gateway_requests_total.status': (v) => /^[1-5]\d\d$/.test(v),
  'gateway_request_duration_seconds.operation': oneOf([...OPERATION_IDS, 'none']),
  'gateway_request_duration_seconds.status': (v) => /^[1-5]\d\d$/.test(v),
  'gateway_request_duration_seconds.le': (v) => v === '+Inf' || Number.isFinite(Number(v)),
  'gateway_galileo_config_errors_total.operation': oneOf(OPERATION_IDS),
  'gateway_galileo_config_errors_total.status_code': oneOf(['4', '17', '18', '21', '29']),
  'gateway_upstream_duration_seconds.operation': oneOf(OPERATION_IDS),
  'gateway_upstream_duration_seconds.outcome': oneOf(['galileo', 'upstream_timeout', 'upstream_unavailable', 'upstream_bad_response']),
  'gateway_upstream_duration_seconds.le': (v) => v === '+Inf' || Number.isFinite(Number(v)),
  'gateway_idempotency_outcomes_total.operation': oneOf(OPERATION_IDS),
  'gateway_idempotency_outcomes_total.outcome': oneOf(['forwarded', 'replayed', 'in_progress', 'key_reused', 'store_unavailable']),
  'gateway_idempotency_store_errors_total.operation': oneOf(['claim', 'complete', 'release', 'leaveUnresolved']),
  'gateway_lost_answers_total.operation': oneOf(OPERATION_IDS),
  'gateway_lost_answers_total.result': oneOf(['executed', 'not_executed', 'unknown']),
  'gateway_lost_answer_resolution_seconds.result': oneOf(['executed', 'not_executed', 'unknown']),
  'gateway_lost_answer_resolution_seconds.le': (v) => v === '+Inf' || Number.isFinite(Number(v)),
};

/** Label values outside their closed set, as `metric.label=value` (empty when all is well). */
export function openLabelValues(text: string): string[] {
  const found: string[] = [];
  for (const [id, values] of gatewayLabelValues(text)) {
    for (const value of values) {
      if (!CLOSED_LABELS[id]?.(value)) found.push(`${id}=${value}`);
    }
  }
  return found;
}
