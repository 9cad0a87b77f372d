/** The standard OpenTelemetry variables, parsed (docs/tracing.md). */
import type { VariableName } from '../config-variables.js';
import type { TracingConfig } from '../config.js';
import { ConfigError } from './config-error.js';
import { choiceVar, fallback, integerVar, nonEmpty, optionalUrl, type Env } from './readers.js';

/**
 * The standard OpenTelemetry variables (docs/tracing.md), read here like every other: the SDK is
 * given explicit values. Tracing is on only when an endpoint is set and the SDK is not disabled.
 */
export function tracingConfig(env: Env): TracingConfig {
  const specific = optionalUrl(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = optionalUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const url = specific ?? (base === undefined ? undefined : `${base}/v1/traces`);
  const protocolOf = (name: VariableName) => {
    const value = env[name];
    if (value === 'grpc') throw new ConfigError(name, 'grpc is not supported: use http/protobuf or http/json');
    return value === undefined || value === '' ? undefined : choiceVar(env, name);
  };
  const protocol = protocolOf('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? protocolOf('OTEL_EXPORTER_OTLP_PROTOCOL') ?? fallback('OTEL_EXPORTER_OTLP_PROTOCOL');
  const sampler = choiceVar(env, 'OTEL_TRACES_SAMPLER');
  const ratioText = env.OTEL_TRACES_SAMPLER_ARG ?? fallback('OTEL_TRACES_SAMPLER_ARG');
  const ratio = Number(ratioText);
  if (sampler.endsWith('traceidratio') && (ratioText.trim() === '' || !(ratio >= 0 && ratio <= 1))) {
    throw new ConfigError('OTEL_TRACES_SAMPLER_ARG', `must be a number between 0 and 1, got "${ratioText}"`);
  }
  const headers = keyValuePairs('OTEL_EXPORTER_OTLP_HEADERS', env.OTEL_EXPORTER_OTLP_HEADERS);
  const resourceAttributes = keyValuePairs('OTEL_RESOURCE_ATTRIBUTES', env.OTEL_RESOURCE_ATTRIBUTES);
  const on = url !== undefined && choiceVar(env, 'OTEL_SDK_DISABLED') === 'false';
  return {
    export: on
      ? {
          url,
          protocol: protocol === 'http/json' ? 'http/json' : 'http/protobuf',
          headers,
          timeoutMs: integerVar(env, 'OTEL_EXPORTER_OTLP_TIMEOUT'),
          batch: {
            scheduledDelayMillis: integerVar(env, 'OTEL_BSP_SCHEDULE_DELAY'),
            maxQueueSize: integerVar(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
            maxExportBatchSize: integerVar(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
            exportTimeoutMillis: integerVar(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
          },
        }
      : undefined,
    // The standard order: OTEL_SERVICE_NAME, then a service.name in OTEL_RESOURCE_ATTRIBUTES, then the gateway's name.
    serviceName: nonEmpty(env, 'OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? fallback('OTEL_SERVICE_NAME'),
    resourceAttributes,
    sampler: { name: sampler, ratio },
    propagateToGalileo: choiceVar(env, 'GALILEO_TRACEPARENT') === 'on',
  };
}

/** `key=value,…` with percent-encoded values (W3C Baggage's form, which OTEL_*_HEADERS and OTEL_RESOURCE_ATTRIBUTES use). */
function keyValuePairs(name: string, text: string | undefined): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of (text ?? '').split(',')) {
    if (item.trim() === '') continue;
    const at = item.indexOf('=');
    const key = at <= 0 ? '' : item.slice(0, at).trim();
    if (key === '') throw new ConfigError(name, 'must be key=value pairs separated by commas');
    try {
      pairs[key] = decodeURIComponent(item.slice(at + 1).trim());
    } catch {
      throw new ConfigError(name, `the value of "${key}" is not valid percent-encoding`);
    }
  }
  return pairs;
}
