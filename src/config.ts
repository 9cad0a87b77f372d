/**
 * Configuration from the environment (docs/contract.md, Configuration), validated once at start-up.
 * Any problem stops start-up with one message naming the variable (never its value: some are
 * secrets). Nothing else in src/ reads process.env. readConfig puts the parts together; each
 * area's parsing (readers, Galileo credentials, clients, keys, Redis) and the production rules
 * live in src/config/, the declaration of every variable in config-variables.ts.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { FIXED, SECRET_NAMES, type VariableName } from './config-variables.js';
import { parseClients } from './config/clients.js';
import { ConfigError } from './config/config-error.js';
import { galileoCredentials } from './config/galileo-credentials.js';
import { encryptionKeyRing, fingerprintSecret } from './config/keys.js';
import { checkPresenceInProduction, checkValuesInProduction } from './config/production-rules.js';
import { heapRoom } from './config/heap.js';
import { choiceVar, choices, fallback, integerVar, optionalUrl, secret, type Env } from './config/readers.js';
import { tracingConfig } from './config/tracing.js';
import { redisConnection } from './config/redis.js';
import type { RingKey } from './idempotency/codec.js';
import type { RedisConnection } from './idempotency/redis-client.js';

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
    /** First pause between retries (fixed: FIXED in config-variables.ts). */
    backoffMs: number;
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
    /** How long a Redis command may take (fixed: FIXED in config-variables.ts). */
    commandTimeoutMs: number;
    /** Replicas that must acknowledge a claim (WAIT) before the call is forwarded; 0 = do not wait. */
    minReplicasAck: number;
    keyPrefix: string;
    ttlSeconds: number;
    maxEntries: number;
    /**
     * IDEMPOTENCY_ENCRYPTION_KEY parsed, here and only here: one key (base64 of 32 bytes) or a key
     * ring `id:base64,...`, the first key encrypting. Unset: records are stored unencrypted.
     */
    keyRing: readonly RingKey[] | undefined;
    /** Bytes of heap the memory store may hold (its records' strings plus a fixed overhead each). */
    maxBytes: number;
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

export { ConfigError };

/** The variables axios reads (through proxy-from-env) to pick an outbound proxy. */
const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'all_proxy'].flatMap((name) => [name, name.toUpperCase(), `npm_config_${name}`]);

/** NODE_ENV values the gateway knows; any other (a typo such as "prod") is refused. */
const NODE_ENVS = choices('NODE_ENV');

/**
 * `heapLimitBytes`: V8's heap limit (heap_size_limit, which --max-old-space-size sets); the memory
 * store's bound must leave GATEWAY_HEAP_BYTES (config/heap.ts) of it to the rest of the gateway.
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
  if (production) checkPresenceInProduction(env);
  const baseUrl = optionalUrl(env, 'GALILEO_BASE_URL');
  const credentials = galileoCredentials(env, baseUrl);
  const clientsText = secret(env, 'GATEWAY_CLIENTS');

  const auth = choiceVar(env, 'GATEWAY_AUTH');
  if (auth === 'off' && clientsText !== undefined) throw new ConfigError('GATEWAY_AUTH', 'is "off" but GATEWAY_CLIENTS is set: remove one');
  // Auth is off silently only in front of the embedded simulator; a real Galileo needs clients
  // or an explicit GATEWAY_AUTH=off.
  if (baseUrl !== undefined && clientsText === undefined && auth !== 'off') {
    throw new ConfigError('GATEWAY_CLIENTS', 'is required when GALILEO_BASE_URL is set (or set GATEWAY_AUTH=off to run without caller authentication)');
  }
  const store = choiceVar(env, 'IDEMPOTENCY_STORE') === 'redis' ? 'redis' : 'memory';
  const keyRing = encryptionKeyRing(secret(env, 'IDEMPOTENCY_ENCRYPTION_KEY'));
  const fingerprintKey = fingerprintSecret(secret(env, 'IDEMPOTENCY_FINGERPRINT_KEY'));
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

  const maxBytes = sizeVar(env, 'IDEMPOTENCY_MAX_BYTES', MIB, 1024 ** 4);
  if (store === 'memory') heapRoom(maxBytes, heapLimitBytes);

  const headersTimeoutMs = integerVar(env, 'HTTP_HEADERS_TIMEOUT_MS');
  const requestTimeoutMs = integerVar(env, 'HTTP_REQUEST_TIMEOUT_MS');
  if (headersTimeoutMs > requestTimeoutMs) throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS', `must not exceed HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);

  const config: Config = {
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
      backoffMs: FIXED.GALILEO_BACKOFF_MS,
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
      commandTimeoutMs: FIXED.REDIS_COMMAND_TIMEOUT_MS,
      minReplicasAck: integerVar(env, 'REDIS_MIN_REPLICAS_ACK'),
      keyPrefix: keyPrefix(env.IDEMPOTENCY_KEY_PREFIX ?? fallback('IDEMPOTENCY_KEY_PREFIX')),
      ttlSeconds,
      maxEntries: integerVar(env, 'IDEMPOTENCY_MAX_ENTRIES'),
      keyRing,
      maxBytes,
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
  if (production) checkValuesInProduction(config, env);
  return config;
}

/**
 * The store adds a Redis Cluster hash tag after the prefix (`{bucket}`); a brace in the prefix
 * would become the hash tag instead and could split a record from its bucket's keys.
 */
function keyPrefix(value: string): string {
  if (/[{}]/.test(value)) throw new ConfigError('IDEMPOTENCY_KEY_PREFIX', 'must not contain { or } (the store adds its own Redis Cluster hash tags)');
  return value;
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
