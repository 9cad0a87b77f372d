/**
 * `trace_id` and `span_id` on every log line written inside a traced request (a pino mixin,
 * installed only while tracing is on: src/main.ts), so ops can go from a line to its trace and back.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';

/** A new object each time: pino merges the line's own fields into it. */
export function traceLogFields(): object {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}
