/**
 * Tracing (docs/tracing.md): OpenTelemetry's trace SDK, a batch span processor and the OTLP/HTTP
 * exporter (protobuf or JSON), started only when an endpoint is configured; off, none of it is
 * loaded. The gateway makes its own spans at its own steps (server-span.ts, store-spans.ts,
 * galileo-spans.ts) rather than instrumenting every library it uses: cheaper, and every attribute
 * goes through the log's censor (attributes.ts). Measured: docs/performance.md, Tracing.
 */
import { DiagLogLevel, context, diag, trace, type DiagLogFunction } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config, TracingConfig } from '../config.js';
import type { AttemptHook } from '../galileo/forward.js';
import type { IdempotencyStore } from '../idempotency/store.js';
import { maskDigits } from '../logger.js';
import type { GatewaySpec } from '../spec.js';
import { safeAttributes } from './attributes.js';
import { galileoAttemptSpans } from './galileo-spans.js';
import { serverSpans } from './server-span.js';
import { traceStore } from './store-spans.js';

export interface Tracing {
  /** The first step of every request: its SERVER span. */
  serverSpans: RequestHandler;
  /** The store with a span around each step of a request. */
  traceStore(store: IdempotencyStore): IdempotencyStore;
  /** The forwarder's hook: a CLIENT span per attempt to Galileo. */
  aroundAttempt: AttemptHook;
  /** Exports the spans still buffered (at most `timeoutMs`), then stops. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Tracing as configured: none unless an OTLP endpoint is set (docs/tracing.md). */
export async function tracingFromConfig(config: Config, options: { galileoUrl: string; spec: GatewaySpec; logger: Logger }): Promise<Tracing | undefined> {
  const { export: exporting } = config.tracing;
  if (exporting === undefined) return undefined;
  return startTracing(
    { ...config.tracing, export: exporting },
    {
      galileoUrl: options.galileoUrl,
      sensitiveKeys: options.spec.sensitiveKeys,
      routes: new Map(options.spec.operations.map((op) => [op.operationId, op.path])),
      store: config.idempotency.store,
      logger: options.logger,
      repeatLogIntervalMs: config.diagnostics.repeatLogIntervalMs,
    },
  );
}

export async function startTracing(
  config: TracingConfig & { export: NonNullable<TracingConfig['export']> },
  options: {
    galileoUrl: string;
    sensitiveKeys: readonly string[];
    /** operationId -> the spec's path. */
    routes: ReadonlyMap<string, string>;
    store: 'memory' | 'redis';
    logger: Logger;
    repeatLogIntervalMs: number;
  },
): Promise<Tracing> {
  const [sdk, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { resourceFromAttributes }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    config.export.protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  reportSdkProblems(options.logger, options.repeatLogIntervalMs);

  const { url, headers, timeoutMs, batch } = config.export;
  const exporter = new OTLPTraceExporter({ url, headers, timeoutMillis: timeoutMs });
  const { name, ratio } = config.sampler;
  const root = name.endsWith('always_off')
    ? new sdk.AlwaysOffSampler()
    : name.endsWith('traceidratio')
      ? new sdk.TraceIdRatioBasedSampler(ratio)
      : new sdk.AlwaysOnSampler();
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes({ ...config.resourceAttributes, 'service.name': config.serviceName }),
    sampler: name.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root }) : root,
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...batch })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);

  const tracer = provider.getTracer('galileo-gateway');
  const propagator = new W3CTraceContextPropagator();
  const safe = safeAttributes(options.sensitiveKeys);
  return {
    serverSpans: serverSpans({ tracer, propagator, safe, routes: options.routes }),
    traceStore: (store) => traceStore(store, tracer, options.store),
    aroundAttempt: galileoAttemptSpans({ tracer, safe, galileoUrl: options.galileoUrl, propagator: config.propagateToGalileo ? propagator : undefined }),
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
      const flushed = await Promise.race([provider.shutdown().then(() => 'flushed' as const), late]).catch(() => 'failed' as const);
      clearTimeout(timer);
      if (flushed !== 'flushed') options.logger.warn({ timeoutMs, result: flushed }, 'tracing: buffered spans were not all exported before shutdown');
    },
  };
}

/**
 * The SDK reports export failures (an unreachable collector) through its diag logger: one warning
 * line, then at most one per PROBLEM_LOG_INTERVAL_MS while they go on. Requests never wait for it.
 */
function reportSdkProblems(logger: Logger, intervalMs: number): void {
  let lastAt = -Infinity;
  const warn: DiagLogFunction = (message) => {
    const now = Date.now();
    if (now - lastAt < intervalMs) return;
    lastAt = now;
    logger.warn({ detail: maskDigits(String(message)).slice(0, 300) }, 'tracing: the OpenTelemetry SDK reports a problem (spans may be lost)');
  };
  const quiet: DiagLogFunction = () => {};
  diag.setLogger({ error: warn, warn, info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
}
