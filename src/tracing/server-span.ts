/**
 * The first step of every request while tracing is on: one SERVER span, continuing the caller's
 * W3C `traceparent` / `tracestate` (a request without one starts a trace). The rest of the request
 * runs inside it, so the store's and Galileo's spans are its children and log lines carry its ids.
 * It ends when the response closes, with what the request context learned on the way
 * (src/http/context.ts): the same facts as the `request completed` line.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, defaultTextMapGetter, trace, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { contextIfAny } from '../http/context.js';
import { loggableId, loggablePath } from '../logger.js';
import type { SafeAttributes } from './attributes.js';

/** HTTP semantic conventions: any other method is `_OTHER`. */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

export function serverSpans(options: {
  tracer: Tracer;
  propagator: TextMapPropagator;
  safe: SafeAttributes;
  /** Each operation's route (the spec's path): `http.route`. */
  routes: ReadonlyMap<string, string>;
}): RequestHandler {
  const { tracer, propagator, safe, routes } = options;
  return (req, res, next) => {
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const method = KNOWN_METHODS.has(req.method) ? req.method : '_OTHER';
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
    // Every attribute set once, at the end: each call and each attribute costs (docs/performance.md, Tracing).
    res.once('close', () => {
      // A sampled-out request: its span is exported nowhere, so none of its attributes are worked out.
      if (!span.isRecording()) return span.end();
      const ctx = contextIfAny(res);
      const route = ctx?.operation === undefined ? undefined : routes.get(ctx.operation);
      const finished = res.writableFinished;
      const status = finished ? res.statusCode : undefined;
      if (route !== undefined) span.updateName(`${method} ${route}`);
      const failed = status === undefined || status >= 500;
      span.setAttributes(
        safe({
          'http.request.method': method,
          'url.path': loggablePath(req.path),
          'http.route': route,
          'http.response.status_code': status,
          'gateway.request_id': ctx?.requestId,
          'gateway.operation': ctx?.operation,
          'gateway.client': ctx?.client,
          'gateway.transaction_id': ctx?.transactionId === undefined ? undefined : loggableId(ctx.transactionId),
          'gateway.idempotency': ctx?.idempotency,
          'gateway.problem': ctx?.problem,
          'galileo.status_code': ctx?.upstream?.statusCode,
          'galileo.rtoken': ctx?.upstream?.rtoken,
          // A lost answer: what Galileo's record said (docs/contract.md, Lost answers).
          'gateway.lost_answer.executed': ctx?.lostAnswer === undefined ? undefined : String(ctx.lostAnswer.galileo.executed),
          'gateway.lost_answer.status_code': ctx?.lostAnswer?.galileo.executed === true ? ctx.lostAnswer.galileo.statusCode : undefined,
          'error.type': failed ? (ctx?.problem ?? (status === undefined ? 'connection_closed' : String(status))) : undefined,
        }),
      );
      if (failed)
        span.setStatus({ code: SpanStatusCode.ERROR, message: ctx?.problem ?? (status === undefined ? 'connection closed before the response' : undefined) });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
