/**
 * The idempotency store with a child span around each step a request takes (claim, complete,
 * release, leave unresolved): a decorator, so src/idempotency/ knows nothing of tracing. Outside a request (the
 * store monitor's pings), or in a request sampled out, nothing is traced.
 */
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import type { IdempotencyStore } from '../idempotency/store.js';

export function traceStore(store: IdempotencyStore, tracer: Tracer, kind: 'memory' | 'redis'): IdempotencyStore {
  // Not made active (nothing runs inside a store step that logs or makes spans): one context switch less.
  const step = async <T>(name: string, run: () => Promise<T>, describe: (result: T) => Attributes): Promise<T> => {
    const parent = context.active();
    // Outside a request, or inside a sampled-out one (whose children are sampled out too): no span.
    if (trace.getSpan(parent)?.isRecording() !== true) return run();
    const span = tracer.startSpan(`idempotency ${name}`, { kind: SpanKind.INTERNAL }, parent);
    span.setAttribute('gateway.idempotency.store', kind);
    try {
      const result = await run();
      span.setAttributes(describe(result));
      return result;
    } catch (err) {
      // The error's name only: a store's messages name servers and keys.
      const type = err instanceof Error ? err.name : 'Error';
      span.setAttribute('error.type', type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      throw err;
    } finally {
      span.end();
    }
  };
  return {
    claim: (key, fingerprint) =>
      step(
        'claim',
        () => store.claim(key, fingerprint),
        (found) => ({
          'gateway.idempotency.state': found.state,
          ...('sameFingerprint' in found && { 'gateway.idempotency.same_fingerprint': found.sameFingerprint }),
        }),
      ),
    complete: (key, token, response) =>
      step(
        'complete',
        () => store.complete(key, token, response),
        (owned) => ({ 'gateway.idempotency.owned': owned }),
      ),
    release: (key, token) =>
      step(
        'release',
        () => store.release(key, token),
        (owned) => ({ 'gateway.idempotency.owned': owned }),
      ),
    leaveUnresolved: (key, token) =>
      step(
        'leave unresolved',
        () => store.leaveUnresolved(key, token),
        (owned) => ({ 'gateway.idempotency.owned': owned }),
      ),
    ping: () => store.ping(),
    inspect: () => store.inspect(),
    close: () => store.close(),
  };
}
