/**
 * Configuration from the environment (docs/contract.md, Configuration), validated once at start-up.
 * Any problem stops start-up with one message naming the variable (never its value: some are
 * secrets). Nothing else in src/ reads process.env.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import v8 from 'node:v8';
import { FILE_NAMES, SECRET_NAMES, variable, type VariableName } from './config-variables.js';
import { parseKeyRing, strictBase64 } from './idempotency/codec.js';
import type { HostPort, RedisConnection } from './idempotency/redis-client.js';

export interface ClientConfig {
  name: string;
  /**
   * SHA-256 hex of the client's bearer keys (one, or several while a key is rotated: each is the
   * same client, so a retry across a rotation still replays); the keys themselves are never configured.
   */
  keySha256: string[];
  /** Operation names, or ['*'] for all. */
  operations: string[];
  /** A token bucket: bursts of `burst` requests, refilled at `requestsPerSecond`. Unset: unlimited. */
  rateLimit: RateLimit | undefined;
}

export interface RateLimit {
  requestsPerSecond: number;
  burst: number;
}

export interface GalileoCredentials {
  apiLogin: string;
  apiTransKey: string;
  providerId: number;
}

export interface Config {
  production: boolean;
  port: number;
  host: string;
  /** Bounds on the inbound HTTP server, so a client cannot hold the gateway's resources. */
  http: {
    /** A whole request (headers and body) must arrive within this: else 408. */
    requestTimeoutMs: number;
    /** The headers must arrive within this: else 408. */
    headersTimeoutMs: number;
    /** Connections beyond this are refused on accept, once no idle kept-alive one is left to close. */
    maxConnections: number;
    /** Connections one address may hold (0: no bound, for a gateway behind a proxy). */
    maxConnectionsPerPeer: number;
  };
  galileo: {
    /** Unset: the embedded simulator is started and used. */
    baseUrl: string | undefined;
    /** Unset only when the simulator is used (its own credentials apply). */
    credentials: GalileoCredentials | undefined;
    timeoutMs: number;
    maxRetries: number;
    /** getCallStatus lookups of a lost answer's outcome; 0: lost answers are released unresolved. */
    resolveAttempts: number;
    /** HTTP(S)_PROXY / ALL_PROXY is set: axios' adapter, which honours it, is used for Galileo. */
    proxied: boolean;
    /** Calls per second all replicas together send (a token bucket, bursts of one second's worth); 0: no budget. */
    maxRequestsPerSecond: number;
    /** Consecutive failed attempts that open the circuit breaker; 0: no breaker. */
    circuitFailures: number;
    /** How long an open breaker refuses before one trial request goes through. */
    circuitOpenMs: number;
    /** Calls one replica may have in flight to Galileo (the bulkhead); 0: no bound. */
    maxInFlight: number;
  };
  /**
   * Unset: caller authentication is off, which is allowed only in front of the embedded simulator
   * or when switched off explicitly (GATEWAY_AUTH=off).
   */
  clients: ClientConfig[] | undefined;
  idempotency: {
    store: 'memory' | 'redis';
    /** Where Redis is (one server, Sentinel or Cluster) and how to log in. */
    redis: RedisConnection;
    /** Replicas that must acknowledge a claim (WAIT) before the call is forwarded; 0 = do not wait. */
    minReplicasAck: number;
    keyPrefix: string;
    ttlSeconds: number;
    maxEntries: number;
    /** Bytes of heap the memory store may hold (its records' strings plus a fixed overhead each). */
    maxBytes: number;
    /** One key (base64 of 32 bytes) or a key ring `id:base64,...` (the first encrypts), validated here. */
    encryptionKey: string | undefined;
    /**
     * The secret that keys fingerprints and record names (HMAC), the same on every replica.
     * Required with Redis, whatever NODE_ENV says; unset, the memory store uses a random one per
     * process (its records die with it).
     */
    fingerprintKey: Buffer | undefined;
  };
  /** Inbound body limit in bytes (BODY_LIMIT, e.g. 64kb). */
  bodyLimit: number;
  logLevel: string;
  /** How long SIGTERM waits for in-flight requests. */
  drainTimeoutMs: number;
  diagnostics: {
    /** How often the idempotency store is pinged to notice an outage (and its end) between requests. */
    storeCheckIntervalMs: number;
    /** A problem that lasts (store unreachable, Galileo refusing the configuration) is logged again at most this often. */
    repeatLogIntervalMs: number;
  };
  /** OpenTelemetry tracing (docs/tracing.md), from the standard OTEL_* variables. */
  tracing: TracingConfig;
}

/** Undefined `export`: tracing is off (no endpoint, or OTEL_SDK_DISABLED=true) and costs nothing. */
export interface TracingConfig {
  export:
    | {
        url: string;
        protocol: 'http/protobuf' | 'http/json';
        headers: Record<string, string>;
        timeoutMs: number;
        /** OTEL_BSP_*: the batch span processor. */
        batch: { scheduledDelayMillis: number; maxQueueSize: number; maxExportBatchSize: number; exportTimeoutMillis: number };
      }
    | undefined;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  sampler: { name: string; ratio: number };
  /** GALILEO_TRACEPARENT=on: calls to Galileo carry the W3C traceparent. */
  propagateToGalileo: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly detail: string,
  ) {
    super(`${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** The variables axios reads (through proxy-from-env) to pick an outbound proxy. */
const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'all_proxy'].flatMap((name) => [name, name.toUpperCase(), `npm_config_${name}`]);

/** NODE_ENV values the gateway knows; any other (a typo such as "prod") is refused. */
const NODE_ENVS = choices('NODE_ENV');

/**
 * `heapLimitBytes`: V8's heap limit (heap_size_limit, which --max-old-space-size sets); the memory
 * store's bound must leave GATEWAY_HEAP_BYTES of it to the rest of the gateway.
 */
export function loadConfig(env: Env = process.env, heapLimitBytes = v8.getHeapStatistics().heap_size_limit): Config {
  try {
    return readConfig(env, heapLimitBytes);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.variable, withoutSecrets(err.detail, env));
    throw err;
  }
}

/**
 * The message with every secret value, and every part of one (split at the separators of rings,
 * lists and URLs), replaced: the checks below already avoid echoing values, this makes it a rule.
 */
function withoutSecrets(message: string, env: Env): string {
  const values = [...SECRET_NAMES.flatMap((name) => [env[name], fileText(env[`${name}_FILE`])]), ...urlPassword(env.REDIS_URL)];
  const parts = values.filter((v) => v !== undefined && v !== '').flatMap((v) => [v!, ...v!.split(/[\s:,;@/]+/)]);
  let clean = message;
  for (const part of [...new Set(parts)].filter((p) => p.length >= 4).sort((a, b) => b.length - a.length)) {
    const escaped = part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    clean = clean.replace(new RegExp(`(?<![A-Za-z0-9+/=_-])${escaped}(?![A-Za-z0-9+/=_-])`, 'g'), '[secret]');
  }
  return clean;
}

/** A Redis URL's password, as written and decoded: the rest of the URL is no secret. */
function urlPassword(value: string | undefined): string[] {
  const written = value === undefined ? undefined : /^[a-z]+:\/\/[^:@/]*:([^@/]*)@/i.exec(value)?.[1];
  if (written === undefined) return [];
  try {
    return [written, decodeURIComponent(written)];
  } catch {
    return [written];
  }
}

function fileText(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readConfig(env: Env, heapLimitBytes: number): Config {
  if (env.NODE_ENV !== undefined && env.NODE_ENV !== '' && !NODE_ENVS.includes(env.NODE_ENV)) {
    throw new ConfigError('NODE_ENV', `must be one of ${NODE_ENVS.join(', ')} (or unset), got "${env.NODE_ENV}"`);
  }
  const production = env.NODE_ENV === 'production';
  const baseUrl = optionalUrl(env, 'GALILEO_BASE_URL');
  const apiLogin = secret(env, 'GALILEO_API_LOGIN');
  const apiTransKey = secret(env, 'GALILEO_API_TRANS_KEY');
  const providerIdText = secret(env, 'GALILEO_PROVIDER_ID');
  const clientsText = secret(env, 'GATEWAY_CLIENTS');

  if (production) {
    for (const [name, value] of [
      ['GALILEO_BASE_URL', baseUrl],
      ['GALILEO_API_LOGIN', apiLogin],
      ['GALILEO_API_TRANS_KEY', apiTransKey],
      ['GALILEO_PROVIDER_ID', providerIdText],
      ['GATEWAY_CLIENTS', clientsText],
    ] as const) {
      if (value === undefined) throw new ConfigError(name, 'is required when NODE_ENV=production');
    }
  }

  const given = [apiLogin, apiTransKey, providerIdText].filter((v) => v !== undefined).length;
  if (given !== 0 && given !== 3) {
    const missing = [
      ['GALILEO_API_LOGIN', apiLogin],
      ['GALILEO_API_TRANS_KEY', apiTransKey],
      ['GALILEO_PROVIDER_ID', providerIdText],
    ].find(([, v]) => v === undefined)![0]!;
    throw new ConfigError(missing, 'the three Galileo credentials must be set together');
  }
  if (baseUrl !== undefined && given === 0) {
    throw new ConfigError('GALILEO_API_LOGIN', 'credentials are required when GALILEO_BASE_URL is set');
  }
  const credentials =
    given === 3
      ? {
          apiLogin: apiLogin!,
          apiTransKey: apiTransKey!,
          providerId: integer(
            'GALILEO_PROVIDER_ID',
            providerIdText!,
            variable('GALILEO_PROVIDER_ID').min!,
            variable('GALILEO_PROVIDER_ID').max!,
            'the provider id',
          ),
        }
      : undefined;

  // In production the credentials travel over TLS; plain http only to this host (a sidecar).
  if (production && baseUrl !== undefined && new URL(baseUrl).protocol === 'http:' && !isLoopback(new URL(baseUrl).hostname)) {
    throw new ConfigError('GALILEO_BASE_URL', 'must use https:// when NODE_ENV=production (plain http only to a loopback address)');
  }
  const auth = choiceVar(env, 'GATEWAY_AUTH');
  if (auth === 'off' && clientsText !== undefined) throw new ConfigError('GATEWAY_AUTH', 'is "off" but GATEWAY_CLIENTS is set: remove one');
  // Auth is off silently only in front of the embedded simulator; a real Galileo needs clients
  // or an explicit GATEWAY_AUTH=off.
  if (baseUrl !== undefined && clientsText === undefined && auth !== 'off') {
    throw new ConfigError('GATEWAY_CLIENTS', 'is required when GALILEO_BASE_URL is set (or set GATEWAY_AUTH=off to run without caller authentication)');
  }
  const store = choiceVar(env, 'IDEMPOTENCY_STORE') === 'redis' ? 'redis' : 'memory';
  const encryptionKey = secret(env, 'IDEMPOTENCY_ENCRYPTION_KEY');
  if (production && store === 'redis' && encryptionKey === undefined) {
    throw new ConfigError('IDEMPOTENCY_ENCRYPTION_KEY', 'is required when NODE_ENV=production and IDEMPOTENCY_STORE=redis');
  }
  if (encryptionKey !== undefined) {
    let ring;
    try {
      ring = parseKeyRing(encryptionKey);
    } catch (err) {
      throw new ConfigError('IDEMPOTENCY_ENCRYPTION_KEY', (err as Error).message);
    }
    const weak = ring.find(({ key }) => notRandom(key));
    if (production && weak) throw new ConfigError('IDEMPOTENCY_ENCRYPTION_KEY', `key "${weak.id}" ${NOT_RANDOM}`);
  }
  const fingerprintKey = fingerprintSecret(secret(env, 'IDEMPOTENCY_FINGERPRINT_KEY'), production);
  // Whatever NODE_ENV says: a shared store's fingerprints keyed by a constant in the source can be
  // guessed back (a 4-digit PIN in a few thousand tries). Only the memory store may do without.
  if (store === 'redis' && fingerprintKey === undefined) {
    throw new ConfigError(
      'IDEMPOTENCY_FINGERPRINT_KEY',
      'is required with IDEMPOTENCY_STORE=redis (the same on every replica; generate one with openssl rand -base64 32)',
    );
  }

  const redis = redisConnection(env);
  const ttlSeconds = integerVar(env, 'IDEMPOTENCY_TTL_SECONDS');
  if (production) {
    checkSecretFiles(env);
    if (store === 'redis') checkRedisTransport(redis);
    if (ttlSeconds < MIN_PRODUCTION_TTL_SECONDS)
      throw new ConfigError(
        'IDEMPOTENCY_TTL_SECONDS',
        `must be at least ${MIN_PRODUCTION_TTL_SECONDS} when NODE_ENV=production (a retry after it is forwarded again)`,
      );
    if (encryptionKey !== undefined && fingerprintKey !== undefined && parseKeyRing(encryptionKey).some(({ key }) => key.equals(fingerprintKey))) {
      throw new ConfigError('IDEMPOTENCY_FINGERPRINT_KEY', 'must not be one of the encryption keys when NODE_ENV=production (one key per purpose)');
    }
  }

  const maxBytes = sizeVar(env, 'IDEMPOTENCY_MAX_BYTES', MIB, 1024 ** 4);
  if (store === 'memory') checkHeapRoom(maxBytes, heapLimitBytes);

  const headersTimeoutMs = integerVar(env, 'HTTP_HEADERS_TIMEOUT_MS');
  const requestTimeoutMs = integerVar(env, 'HTTP_REQUEST_TIMEOUT_MS');
  if (headersTimeoutMs > requestTimeoutMs) throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS', `must not exceed HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);

  return {
    production,
    port: integerVar(env, 'PORT'),
    host: env.HOST ?? fallback('HOST'),
    http: {
      requestTimeoutMs,
      headersTimeoutMs,
      maxConnections: integerVar(env, 'MAX_CONNECTIONS'),
      maxConnectionsPerPeer: integerVar(env, 'MAX_CONNECTIONS_PER_PEER'),
    },
    galileo: {
      baseUrl,
      credentials,
      timeoutMs: integerVar(env, 'GALILEO_TIMEOUT_MS'),
      maxRetries: integerVar(env, 'GALILEO_MAX_RETRIES'),
      resolveAttempts: integerVar(env, 'GALILEO_RESOLVE_ATTEMPTS'),
      proxied: PROXY_VARIABLES.some((name) => (env[name] ?? '') !== ''),
      maxRequestsPerSecond: integerVar(env, 'GALILEO_MAX_REQUESTS_PER_SECOND'),
      circuitFailures: integerVar(env, 'GALILEO_CIRCUIT_FAILURES'),
      circuitOpenMs: integerVar(env, 'GALILEO_CIRCUIT_OPEN_MS'),
      maxInFlight: integerVar(env, 'GALILEO_MAX_IN_FLIGHT'),
    },
    clients: clientsText === undefined ? undefined : parseClients(clientsText),
    idempotency: {
      store,
      redis,
      minReplicasAck: integerVar(env, 'REDIS_MIN_REPLICAS_ACK'),
      keyPrefix: keyPrefix(env.IDEMPOTENCY_KEY_PREFIX ?? fallback('IDEMPOTENCY_KEY_PREFIX')),
      ttlSeconds,
      maxEntries: integerVar(env, 'IDEMPOTENCY_MAX_ENTRIES'),
      maxBytes,
      encryptionKey,
      fingerprintKey,
    },
    bodyLimit: sizeVar(env, 'BODY_LIMIT', 1, 64 * MIB),
    logLevel: choiceVar(env, 'LOG_LEVEL'),
    drainTimeoutMs: integerVar(env, 'SHUTDOWN_DRAIN_MS'),
    diagnostics: {
      storeCheckIntervalMs: integerVar(env, 'STORE_CHECK_INTERVAL_MS'),
      repeatLogIntervalMs: integerVar(env, 'PROBLEM_LOG_INTERVAL_MS'),
    },
    tracing: tracingConfig(env),
  };
}

/**
 * The part of V8's heap limit the gateway needs besides the memory store's records: the young
 * generation (heap_size_limit counts 3 semi-spaces; Node 24 gives a 64-bit process 64 MiB ones
 * unless --max-semi-space-size says less, so 192 MiB at most: with a smaller semi-space this
 * reserves more than needed, never less) plus what the rest of the gateway keeps live under load
 * and the garbage between two full collections. Measured (docs/operations.md, Memory): heap used
 * after each full collection (--trace-gc) of the Redis gateway under load at 16 and 64
 * connections, both operations: at most 33.4 MiB. 96 MiB is nearly three times that.
 */
export const GATEWAY_HEAP_BYTES = (192 + 96) * 1024 * 1024;

/**
 * The memory store can grow to IDEMPOTENCY_MAX_BYTES of heap: with less than GATEWAY_HEAP_BYTES
 * of V8's heap limit left, the process would run out of heap under load (a crash, every claim in
 * flight lost). Refused at start-up instead, with the two ways out.
 */
function checkHeapRoom(maxBytes: number, heapLimitBytes: number): void {
  const short = maxBytes + GATEWAY_HEAP_BYTES - heapLimitBytes;
  if (short <= 0) return;
  const mib = (bytes: number) => Math.ceil(bytes / MIB);
  throw new ConfigError(
    'IDEMPOTENCY_MAX_BYTES',
    `the memory store's ${mib(maxBytes)} MiB and the ${mib(GATEWAY_HEAP_BYTES)} MiB the rest of the gateway needs exceed the V8 heap limit ` +
      `(${mib(heapLimitBytes)} MiB): raise node's --max-old-space-size by at least ${mib(short)} (MB), or lower IDEMPOTENCY_MAX_BYTES ` +
      `to at most ${Math.max(0, Math.floor((heapLimitBytes - GATEWAY_HEAP_BYTES) / MIB))}mb`,
  );
}

/**
 * The standard OpenTelemetry variables (docs/tracing.md), read here like every other: the SDK is
 * given explicit values. Tracing is on only when an endpoint is set and the SDK is not disabled.
 */
function tracingConfig(env: Env): TracingConfig {
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

/** IDEMPOTENCY_FINGERPRINT_KEY: base64 of at least 32 bytes; not random enough is refused in production. */
function fingerprintSecret(base64: string | undefined, production: boolean): Buffer | undefined {
  if (base64 === undefined) return undefined;
  const text = base64.trim();
  const key = text === '' ? undefined : strictBase64(text);
  if (key === undefined) throw new ConfigError('IDEMPOTENCY_FINGERPRINT_KEY', 'is not valid base64');
  if (key.length < 32) throw new ConfigError('IDEMPOTENCY_FINGERPRINT_KEY', `must be base64 of at least 32 bytes, got ${key.length}`);
  if (production && notRandom(key)) throw new ConfigError('IDEMPOTENCY_FINGERPRINT_KEY', NOT_RANDOM);
  return key;
}

const NOT_RANDOM = 'is not random (all zero, a few repeated bytes, or text such as a passphrase): generate one with openssl rand -base64 32';

/**
 * A key typed by hand rather than generated: all zero, a few bytes repeated (32 random bytes hold
 * about 30 distinct values; fewer than 16 does not happen by chance), or printable text (a
 * passphrase base64-encoded: 32 random bytes are all printable ASCII about once in 10^14).
 */
function notRandom(key: Buffer): boolean {
  return new Set(key).size < 16 || key.every((byte) => byte >= 0x20 && byte <= 0x7e);
}

/**
 * Production's rules on the secrets' files (NAME_FILE): neither the file nor a directory on its
 * way may be replaceable by any user, or anyone on the host could name a client or a key. The
 * file is checked where it really is (through any symlink, as Kubernetes mounts secrets), its
 * directory both there and where the path names it.
 */
function checkSecretFiles(env: Env): void {
  for (const name of FILE_NAMES.map((n) => `${n}_FILE`)) {
    const path = env[name];
    if (path === undefined) continue;
    const real = realpathSync(path);
    if ((statSync(real).mode & 0o002) !== 0) throw new ConfigError(name, 'names a file any user may write (chmod o-w it) when NODE_ENV=production');
    for (const dir of new Set([dirname(real), dirname(path)])) {
      const mode = statSync(dir).mode;
      if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) throw new ConfigError(name, 'is in a directory any user may write to when NODE_ENV=production');
    }
  }
}

/** Production's rule on the Redis connection: outside loopback, TLS and a password (with or without an ACL user). */
function checkRedisTransport(redis: RedisConnection): void {
  const { topology } = redis;
  const [variable, hosts] =
    topology.kind === 'single'
      ? ['REDIS_URL', [topology.host]]
      : topology.kind === 'sentinel'
        ? ['REDIS_SENTINELS', topology.sentinels.map((s) => s.host)]
        : ['REDIS_CLUSTER_NODES', topology.nodes.map((n) => n.host)];
  if (hosts.every(isLoopback)) return;
  if (!redis.tls) throw new ConfigError(variable, 'a Redis outside loopback needs TLS when NODE_ENV=production (rediss:// or REDIS_TLS=true)');
  if (redis.password === undefined)
    throw new ConfigError(variable, 'a Redis outside loopback needs a password (REDIS_PASSWORD, with REDIS_USERNAME for an ACL user) when NODE_ENV=production');
}

/** The shortest replay window production accepts: a caller's retries must find their record. */
const MIN_PRODUCTION_TTL_SECONDS = 3600;

/** A value given directly or as NAME_FILE (a path to a file holding it, as Docker/K8s secrets are mounted). */
function secret(env: Env, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(name, `set either ${name} or ${name}_FILE, not both`);
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${name}_FILE`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new ConfigError(`${name}_FILE`, `${file} is empty`);
    return value;
  }
  if (direct === '') throw new ConfigError(name, 'is set but empty');
  return direct;
}

function optionalUrl(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, 'must use http: or https:');
  return value.replace(/\/+$/, '');
}

/**
 * One Redis server (REDIS_URL), Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_MASTER) or Cluster
 * (REDIS_CLUSTER_NODES). Credentials come from the URL or REDIS_USERNAME / REDIS_PASSWORD(_FILE),
 * and are never part of a message.
 */
function redisConnection(env: Env): RedisConnection {
  const url = nonEmpty(env, 'REDIS_URL');
  const sentinels = nonEmpty(env, 'REDIS_SENTINELS');
  const masterName = nonEmpty(env, 'REDIS_SENTINEL_MASTER');
  const clusterNodes = nonEmpty(env, 'REDIS_CLUSTER_NODES');
  if (sentinels !== undefined && clusterNodes !== undefined) {
    throw new ConfigError('REDIS_CLUSTER_NODES', 'set either REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both');
  }
  if (url !== undefined && (sentinels ?? clusterNodes) !== undefined) {
    throw new ConfigError('REDIS_URL', `set either REDIS_URL or ${sentinels !== undefined ? 'REDIS_SENTINELS' : 'REDIS_CLUSTER_NODES'}, not both`);
  }
  if (sentinels !== undefined && masterName === undefined) throw new ConfigError('REDIS_SENTINEL_MASTER', 'is required with REDIS_SENTINELS');
  if (masterName !== undefined && sentinels === undefined) throw new ConfigError('REDIS_SENTINELS', 'is required with REDIS_SENTINEL_MASTER');

  let username = nonEmpty(env, 'REDIS_USERNAME');
  let password = secret(env, 'REDIS_PASSWORD');
  const sentinelPassword = secret(env, 'REDIS_SENTINEL_PASSWORD');
  if (sentinelPassword !== undefined && sentinels === undefined) {
    throw new ConfigError('REDIS_SENTINEL_PASSWORD', 'is only used with REDIS_SENTINELS');
  }
  const tlsText = nonEmpty(env, 'REDIS_TLS');
  if (tlsText !== undefined && !choices('REDIS_TLS').includes(tlsText)) throw new ConfigError('REDIS_TLS', mustBeOneOf('REDIS_TLS'));
  let tls = tlsText === 'true';
  const tlsCa = caFile(env, 'REDIS_TLS_CA_FILE');

  if (sentinels !== undefined) {
    return {
      topology: { kind: 'sentinel', sentinels: hostPorts('REDIS_SENTINELS', sentinels, 26379), masterName: masterName! },
      username,
      password,
      sentinelPassword,
      tls,
      tlsCa,
    };
  }
  if (clusterNodes !== undefined) {
    return { topology: { kind: 'cluster', nodes: hostPorts('REDIS_CLUSTER_NODES', clusterNodes, 6379) }, username, password, tls, tlsCa };
  }
  const parsed = parseRedisUrl(url ?? fallback('REDIS_URL'));
  if (tlsText !== undefined) throw new ConfigError('REDIS_TLS', 'with REDIS_URL, choose TLS by the scheme: rediss://');
  tls = parsed.tls;
  if (parsed.username !== undefined) {
    if (username !== undefined) throw new ConfigError('REDIS_USERNAME', 'REDIS_URL already names a user: set one, not both');
    username = parsed.username;
  }
  if (parsed.password !== undefined) {
    if (password !== undefined) throw new ConfigError('REDIS_PASSWORD', 'REDIS_URL already holds a password: set one, not both');
    password = parsed.password;
  }
  return { topology: { kind: 'single', host: parsed.host, port: parsed.port, db: parsed.db }, username, password, tls, tlsCa };
}

function parseRedisUrl(value: string): { host: string; port: number; db: number; tls: boolean; username?: string; password?: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('REDIS_URL', 'is not a valid URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError('REDIS_URL', 'must use redis: or rediss:');
  if (url.search !== '' || url.hash !== '') throw new ConfigError('REDIS_URL', 'query parameters and fragments are not supported');
  if (url.hostname === '') throw new ConfigError('REDIS_URL', 'has no host');
  const dbText = url.pathname.replace(/^\/+|\/+$/g, '');
  const db = dbText === '' ? 0 : integer('REDIS_URL', dbText, 0, 1_000_000, 'the database number');
  const decode = (part: string): string | undefined => {
    if (part === '') return undefined;
    try {
      return decodeURIComponent(part);
    } catch {
      throw new ConfigError('REDIS_URL', 'has a badly percent-encoded user or password');
    }
  };
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    db,
    tls: url.protocol === 'rediss:',
    username: decode(url.username),
    password: decode(url.password),
  };
}

/** `host:port,host:port` (IPv6 in brackets: `[::1]:6379`); a missing port is `defaultPort`. */
function hostPorts(name: string, value: string, defaultPort: number): HostPort[] {
  return value.split(',').map((entry, i) => {
    const text = entry.trim();
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+))(?::(\d+))?$/.exec(text);
    if (!match) throw new ConfigError(name, `entry ${i + 1} must be host:port`);
    const port = match[3] === undefined ? defaultPort : integer(name, match[3], 1, 65535, `the port of entry ${i + 1}`);
    return { host: match[1] ?? match[2]!, port };
  });
}

/** PEM certificates of the CA that signed the Redis servers' certificates (a private CA). */
function caFile(env: Env, name: string): string | undefined {
  const path = nonEmpty(env, name);
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(name, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(name, `${path} holds no PEM certificate`);
  return text;
}

/**
 * The store adds a Redis Cluster hash tag after the prefix (`{bucket}`); a brace in the prefix
 * would become the hash tag instead and could split a record from its bucket's keys.
 */
function keyPrefix(value: string): string {
  if (/[{}]/.test(value)) throw new ConfigError('IDEMPOTENCY_KEY_PREFIX', 'must not contain { or } (the store adds its own Redis Cluster hash tags)');
  return value;
}

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** An integer variable, with the default and bounds its declaration gives (config-variables.ts). */
function integerVar(env: Env, name: VariableName): number {
  const { default: fallback, min, max } = variable(name);
  const value = env[name];
  if (value === undefined || value === '') return Number(fallback);
  return integer(name, value, min ?? 0, max ?? Number.MAX_SAFE_INTEGER);
}

/** The declared default of a text variable. */
function fallback(name: VariableName): string {
  return String(variable(name).default);
}

/** The declared values of a choice variable. */
function choices(name: VariableName): readonly string[] {
  return variable(name).choices ?? [];
}

function mustBeOneOf(name: VariableName): string {
  return `must be one of ${choices(name)
    .map((c) => `"${c}"`)
    .join(', ')}`;
}

/** A choice variable: one of its declared values, or its declared default when unset. */
function choiceVar(env: Env, name: VariableName): string {
  const value = env[name] ?? fallback(name);
  if (!choices(name).includes(value)) throw new ConfigError(name, `${mustBeOneOf(name)}, got "${value}"`);
  return value;
}

/** `what` names the part of a value checked, for values whose whole text must not be echoed (a URL with a password). */
function integer(name: string, value: string, min: number, max: number, what?: string): number {
  const subject = what === undefined ? 'must be' : `${what} must be`;
  if (!/^\d+$/.test(value.trim())) throw new ConfigError(name, what === undefined ? `must be an integer, got "${value}"` : `${subject} an integer`);
  const n = Number(value.trim());
  if (n < min || n > max) throw new ConfigError(name, `${subject} between ${min} and ${max}${what === undefined ? `, got ${n}` : ''}`);
  return n;
}

const MIB = 1024 * 1024;
const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: MIB, gb: 1024 * MIB };

/** A size variable (`64kb`, `1mb`, `2gb` or bytes; units of 1024), or its declared default when unset. */
function sizeVar(env: Env, name: VariableName, min: number, max: number): number {
  const value = env[name] ?? fallback(name);
  const match = /^(\d+)(b|kb|mb|gb)?$/i.exec(value.trim());
  if (!match) throw new ConfigError(name, `must look like 64kb, 1mb, 2gb or 65536, got "${value}"`);
  const bytes = Number(match[1]) * UNITS[(match[2] ?? '').toLowerCase()]!;
  if (bytes < min || bytes > max) throw new ConfigError(name, `must be between ${sizeText(min)} and ${sizeText(max)}, got "${value}"`);
  return bytes;
}

function sizeText(bytes: number): string {
  const unit = ['gb', 'mb', 'kb'].find((u) => bytes % UNITS[u]! === 0 && bytes >= UNITS[u]!);
  return unit === undefined ? (bytes === 1 ? '1 byte' : `${bytes} bytes`) : `${bytes / UNITS[unit]!}${unit}`;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** A client's `rateLimit`: requestsPerSecond above 0, burst a whole number (default: one second's worth). */
function clientRateLimit(given: unknown, entry: string, fail: (message: string) => never): RateLimit | undefined {
  if (given === undefined) return undefined;
  const limit = given as { requestsPerSecond?: unknown; burst?: unknown } | null;
  if (typeof limit !== 'object' || limit === null || Array.isArray(limit))
    return fail(`${entry}: rateLimit must be an object { "requestsPerSecond": N, "burst": M }`);
  const unknown = Object.keys(limit).find((k) => k !== 'requestsPerSecond' && k !== 'burst');
  if (unknown !== undefined) return fail(`${entry}: rateLimit has an unknown member "${unknown}"`);
  const rate = limit.requestsPerSecond;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 1_000_000)
    return fail(`${entry}: rateLimit.requestsPerSecond must be a number above 0 and at most 1000000`);
  const burst = limit.burst ?? Math.max(1, Math.ceil(rate));
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1 || burst > 1_000_000)
    return fail(`${entry}: rateLimit.burst must be a whole number from 1 to 1000000`);
  return { requestsPerSecond: rate, burst };
}

/** SHA-256 of the empty string: a client configured with no key at all. */
const EMPTY_KEY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function parseClients(text: string): ClientConfig[] {
  const fail = (message: string): never => {
    throw new ConfigError('GATEWAY_CLIENTS', message);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('is not valid JSON');
  }
  if (!Array.isArray(raw) || raw.length === 0) return fail('must be a non-empty JSON array');
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  return raw.map((entry: unknown, i) => {
    const c = entry as { name?: unknown; keySha256?: unknown; operations?: unknown; rateLimit?: unknown } | null;
    if (typeof c !== 'object' || c === null) return fail(`entry ${i} is not an object`);
    if (typeof c.name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(c.name)) {
      return fail(`entry ${i}: name must be 1-64 characters of letters, digits, ".", "_" or "-"`);
    }
    if (names.has(c.name)) return fail(`entry ${i}: duplicate name "${c.name}"`);
    names.add(c.name);
    const given: unknown = c.keySha256;
    const list = typeof given === 'string' ? [given] : given;
    if (!Array.isArray(list) || list.length === 0 || !list.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/i.test(h))) {
      return fail(
        `entry ${i} (${c.name}): keySha256 must be 64 hex characters, or an array of them while a key is rotated (the SHA-256 of the key, never the key)`,
      );
    }
    const own = new Set<string>();
    for (const hash of (list as string[]).map((h) => h.toLowerCase())) {
      if (hashes.has(hash)) return fail(`entry ${i} (${c.name}): the same key as client "${hashes.get(hash)}" (each client needs its own key)`);
      if (own.has(hash)) return fail(`entry ${i} (${c.name}): keySha256 lists the same hash twice`);
      if (hash === EMPTY_KEY_SHA256) return fail(`entry ${i} (${c.name}): keySha256 is the hash of an empty key`);
      own.add(hash);
    }
    for (const hash of own) hashes.set(hash, c.name);
    if (!Array.isArray(c.operations) || c.operations.length === 0 || !c.operations.every((o) => typeof o === 'string' && o !== '')) {
      return fail(`entry ${i} (${c.name}): operations must be a non-empty array of operation names or "*"`);
    }
    return { name: c.name, keySha256: [...own], operations: c.operations, rateLimit: clientRateLimit(c.rateLimit, `entry ${i} (${c.name})`, fail) };
  });
}
