/**
 * One CLIENT span for each attempt sent to Galileo (the forwarder's per-attempt hook,
 * src/galileo/forward.ts), so a retry is a second span and a lost answer (a timeout, a connection
 * cut after sending) is an attempt with no Galileo status. With GALILEO_TRACEPARENT=on the attempt
 * carries the span's `traceparent` (docs/tracing.md, Propagation to Galileo).
 */
import { SpanKind, SpanStatusCode, context, defaultTextMapSetter, trace, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import type { AttemptHook } from '../galileo/forward.js';
import type { SafeAttributes } from './attributes.js';

export function galileoAttemptSpans(options: {
  tracer: Tracer;
  safe: SafeAttributes;
  galileoUrl: string;
  /** Set: the W3C propagator that writes `traceparent` on each attempt. */
  propagator: TextMapPropagator | undefined;
}): AttemptHook {
  const { tracer, safe, propagator } = options;
  const url = new URL(options.galileoUrl);
  const path = url.pathname.replace(/\/+$/, '');
  const server = {
    'http.request.method': 'POST',
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
  };
  return async (operationId, attempt, send) => {
    const parent = context.active();
    if (trace.getSpan(parent)?.isRecording() !== true) {
      // Sampled out (or outside a request): no span, but Galileo still gets the caller's decision.
      const headers: Record<string, string> | undefined = propagator && {};
      if (propagator !== undefined) propagator.inject(parent, headers, defaultTextMapSetter);
      return send(headers);
    }
    const span = tracer.startSpan(`POST ${path}/${operationId}`, { kind: SpanKind.CLIENT }, parent);
    let headers: Record<string, string> | undefined;
    if (propagator !== undefined) propagator.inject(trace.setSpan(parent, span), (headers = {}), defaultTextMapSetter);
    try {
      const { retryable, reply } = await send(headers);
      const galileo = 'statusCode' in reply ? reply : undefined;
      const outcome = 'code' in reply ? reply.code : 'galileo';
      // Where Galileo is comes from the configuration, as on the `gateway started` line; the rest is masked.
      span.setAttributes({
        ...server,
        'url.full': `${url.origin}${path}/${operationId}`,
        ...safe({
          'gateway.galileo.attempt': attempt,
          'http.request.resend_count': attempt > 1 ? attempt - 1 : undefined,
          'http.response.status_code': reply.httpStatus,
          'gateway.galileo.outcome': outcome,
          'gateway.galileo.retryable': galileo ? undefined : retryable,
          'galileo.status_code': galileo === undefined ? undefined : String(galileo.statusCode),
          'error.type': galileo ? undefined : outcome,
        }),
      });
      if (!galileo) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      return { retryable, reply };
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'Error' });
      throw err;
    } finally {
      span.end();
    }
  };
}
