/**
 * Every environment variable of the gateway, declared once: its name, kind, default, bounds,
 * whether it is a secret (never in a message) or may be given as a file (NAME_FILE), what it
 * means and what production demands of it. config.ts reads the defaults, bounds and secrecy
 * from here, config/production-rules.ts applies the production rules from here; `npm run
 * generate` writes the table of docs/configuration.md from here, and a test fails when the two
 * differ (test/unit/config-docs.test.ts).
 */

/**
 * What NODE_ENV=production demands of a variable, as data: config/production-rules.ts applies
 * each kind (with the refusal message naming the variable), productionText() words it for the
 * docs. Variables named here (`when`, `from`) are declared below. A variable with `file` is also
 * held to the private-file rule (see productionText).
 */
export type ProductionRule =
  /** NODE_ENV itself: production turns on the rules of this column. */
  | { kind: 'switch' }
  /** Must be set; with `when`, only while that variable has that value. */
  | { kind: 'required'; when?: { variable: string; is: string } }
  /** A URL: https, plain http only to a loopback address (a sidecar). */
  | { kind: 'https-unless-loopback' }
  /** The hosts of this Redis topology, when it is the store's: outside loopback, TLS and a password. */
  | { kind: 'redis-tls-and-password-unless-loopback'; topology: 'single' | 'sentinel' | 'cluster' }
  /** An integer at least `min`, for the reason `why`. */
  | { kind: 'at-least'; min: number; why: string }
  /** Keys generated, not typed by hand (not all zero, a few repeated bytes, or printable text). */
  | { kind: 'random-keys' }
  /** None of its keys is one of `from`'s (one key per purpose). */
  | { kind: 'distinct-keys'; from: string };

export interface Variable {
  name: string;
  /** How the value is read (the parser lives in config.ts). */
  kind: 'integer' | 'choice' | 'text' | 'url' | 'json' | 'key' | 'size' | 'list';
  /** Shown as the default; for integers, the value used when the variable is unset. */
  default?: string | number;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** A secret: no start-up message ever holds its value or a part of it. */
  secret?: true;
  /** May be given as NAME_FILE, a path to a file holding it (Docker and Kubernetes secrets). */
  file?: true;
  meaning: string;
  /** What NODE_ENV=production demands of it, beyond the meaning. */
  production?: readonly ProductionRule[];
}

export const VARIABLES = [
  {
    name: 'NODE_ENV',
    kind: 'choice',
    choices: ['production', 'development', 'test'],
    meaning: 'anything else (`prod`) is refused',
    production: [{ kind: 'switch' }],
  },
  { name: 'PORT', kind: 'integer', default: 8080, min: 0, max: 65535, meaning: 'listen port (0: any free port, logged)' },
  { name: 'HOST', kind: 'text', default: '0.0.0.0', meaning: 'listen address' },
  {
    name: 'HTTP_REQUEST_TIMEOUT_MS',
    kind: 'integer',
    default: 30_000,
    min: 1000,
    max: 600_000,
    meaning: 'a whole request (headers and body) must arrive within this, else 408 and the connection closes',
  },
  {
    name: 'HTTP_HEADERS_TIMEOUT_MS',
    kind: 'integer',
    default: 20_000,
    min: 1000,
    max: 600_000,
    meaning: 'the headers must arrive within this (at most HTTP_REQUEST_TIMEOUT_MS), else 408',
  },
  {
    name: 'MAX_CONNECTIONS',
    kind: 'integer',
    default: 2048,
    min: 1,
    max: 1_000_000,
    meaning: 'open connections at most; at the cap the longest-idle kept-alive ones (up to 32) are closed first, then new ones are dropped on accept',
  },
  {
    name: 'MAX_CONNECTIONS_PER_PEER',
    kind: 'integer',
    default: 512,
    min: 0,
    max: 1_000_000,
    meaning: 'open connections one client address may hold (0: no bound, for a gateway behind a proxy)',
  },
  {
    name: 'GALILEO_BASE_URL',
    kind: 'url',
    meaning: 'e.g. `https://api-sandbox.cv.gpsrv.com/intserv/4.0`; unset: the embedded simulator',
    production: [{ kind: 'required' }, { kind: 'https-unless-loopback' }],
  },
  {
    name: 'GALILEO_API_LOGIN',
    kind: 'text',
    secret: true,
    file: true,
    meaning: 'provider credential (the three together or none)',
    production: [{ kind: 'required' }],
  },
  { name: 'GALILEO_API_TRANS_KEY', kind: 'text', secret: true, file: true, meaning: 'provider credential', production: [{ kind: 'required' }] },
  {
    name: 'GALILEO_PROVIDER_ID',
    kind: 'integer',
    min: 1,
    max: 9_999_999_999,
    secret: true,
    file: true,
    meaning: 'provider credential',
    production: [{ kind: 'required' }],
  },
  { name: 'GALILEO_TIMEOUT_MS', kind: 'integer', default: 15_000, min: 1, max: 600_000, meaning: 'per attempt, the whole answer included' },
  { name: 'GALILEO_MAX_RETRIES', kind: 'integer', default: 2, min: 0, max: 10, meaning: 'retries only where the call cannot have executed' },
  {
    name: 'GALILEO_RESOLVE_ATTEMPTS',
    kind: 'integer',
    default: 2,
    min: 0,
    max: 10,
    meaning: "getCallStatus lookups of a lost answer's outcome (0: none; lost answers are then released, and a retry may get Galileo's 24)",
  },
  {
    name: 'GALILEO_MAX_REQUESTS_PER_SECOND',
    kind: 'integer',
    default: 0,
    min: 0,
    max: 1_000_000,
    meaning: 'the budget of calls all replicas together send to Galileo (a token bucket, bursts of one second; 0: none)',
  },
  {
    name: 'GALILEO_CIRCUIT_FAILURES',
    kind: 'integer',
    default: 5,
    min: 0,
    max: 1000,
    meaning: "consecutive failed attempts that open this replica's circuit breaker (0: none)",
  },
  {
    name: 'GALILEO_CIRCUIT_OPEN_MS',
    kind: 'integer',
    default: 10_000,
    min: 100,
    max: 600_000,
    meaning: 'how long an open breaker refuses before one trial request',
  },
  {
    name: 'GALILEO_MAX_IN_FLIGHT',
    kind: 'integer',
    default: 128,
    min: 0,
    max: 100_000,
    meaning: 'requests one replica may have between claim and answer (the bulkhead; 0: no bound)',
  },
  {
    name: 'GATEWAY_CLIENTS',
    kind: 'json',
    file: true,
    meaning: 'the calling services: `[{"name", "keySha256" (one hash or several), "operations", "rateLimit"?}]`',
    production: [{ kind: 'required' }],
  },
  {
    name: 'GATEWAY_AUTH',
    kind: 'choice',
    default: 'on',
    choices: ['on', 'off'],
    meaning: '`off`: no caller authentication (refused together with GATEWAY_CLIENTS)',
  },
  { name: 'IDEMPOTENCY_STORE', kind: 'choice', default: 'memory', choices: ['memory', 'redis'], meaning: 'where claims and answers are kept' },
  {
    name: 'REDIS_URL',
    kind: 'url',
    default: 'redis://127.0.0.1:6379',
    meaning: 'one Redis server: `redis[s]://[user:password@]host[:port][/db]`',
    production: [{ kind: 'redis-tls-and-password-unless-loopback', topology: 'single' }],
  },
  {
    name: 'REDIS_SENTINELS',
    kind: 'list',
    meaning: '`host:port,…`: Redis Sentinel instead of REDIS_URL',
    production: [{ kind: 'redis-tls-and-password-unless-loopback', topology: 'sentinel' }],
  },
  { name: 'REDIS_SENTINEL_MASTER', kind: 'text', meaning: "the master's name, with REDIS_SENTINELS" },
  { name: 'REDIS_SENTINEL_PASSWORD', kind: 'text', secret: true, file: true, meaning: "the sentinels' own password" },
  {
    name: 'REDIS_CLUSTER_NODES',
    kind: 'list',
    meaning: '`host:port,…` (any reachable subset): Redis Cluster instead of REDIS_URL',
    production: [{ kind: 'redis-tls-and-password-unless-loopback', topology: 'cluster' }],
  },
  { name: 'REDIS_USERNAME', kind: 'text', meaning: 'ACL user, every topology' },
  { name: 'REDIS_PASSWORD', kind: 'text', secret: true, file: true, meaning: 'password, every topology' },
  {
    name: 'REDIS_TLS',
    kind: 'choice',
    default: 'false',
    choices: ['true', 'false'],
    meaning: 'TLS to sentinels and cluster nodes (with REDIS_URL: `rediss://`)',
  },
  { name: 'REDIS_TLS_CA_FILE', kind: 'text', meaning: "PEM file of the CA that signed the Redis servers' certificates (unset: the system CAs)" },
  {
    name: 'REDIS_MIN_REPLICAS_ACK',
    kind: 'integer',
    default: 0,
    min: 0,
    max: 100,
    meaning: 'replicas that must acknowledge a claim (WAIT) before the call is forwarded',
  },
  { name: 'IDEMPOTENCY_KEY_PREFIX', kind: 'text', default: 'galileo-gw:idem:', meaning: 'Redis key prefix of the records and the rate limits (no `{` or `}`)' },
  {
    name: 'IDEMPOTENCY_TTL_SECONDS',
    kind: 'integer',
    default: 86_400,
    min: 1,
    max: 7_776_000,
    meaning: 'how long a consumed answer is replayed',
    production: [{ kind: 'at-least', min: 3600, why: 'a retry after it is forwarded again' }],
  },
  { name: 'IDEMPOTENCY_MAX_ENTRIES', kind: 'integer', default: 100_000, min: 1, max: 100_000_000, meaning: 'memory store bound, in records' },
  {
    name: 'IDEMPOTENCY_MAX_BYTES',
    kind: 'size',
    default: '64mb',
    meaning:
      'memory store bound, in bytes of heap (`64mb`, `1gb`, bytes; at least 1mb): the kept answers plus a fixed overhead per record. Start-up refuses a bound the V8 heap cannot hold next to the rest of the gateway (raise `--max-old-space-size` with it; docs/operations.md, Memory)',
  },
  {
    name: 'IDEMPOTENCY_ENCRYPTION_KEY',
    kind: 'key',
    secret: true,
    file: true,
    meaning: 'base64 of 32 bytes, or a key ring `id:base64,…` (the first encrypts, all decrypt)',
    production: [{ kind: 'required', when: { variable: 'IDEMPOTENCY_STORE', is: 'redis' } }, { kind: 'random-keys' }],
  },
  {
    name: 'IDEMPOTENCY_FINGERPRINT_KEY',
    kind: 'key',
    secret: true,
    file: true,
    meaning: 'base64 of at least 32 bytes: the HMAC key of fingerprints and record names, the same on every replica; required with Redis in every environment',
    production: [{ kind: 'random-keys' }, { kind: 'distinct-keys', from: 'IDEMPOTENCY_ENCRYPTION_KEY' }],
  },
  { name: 'BODY_LIMIT', kind: 'size', default: '64kb', meaning: 'inbound body limit (`64kb`, `1mb`, bytes; at most 64mb)' },
  { name: 'LOG_LEVEL', kind: 'choice', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], meaning: 'pino level' },
  { name: 'SHUTDOWN_DRAIN_MS', kind: 'integer', default: 10_000, min: 0, max: 600_000, meaning: 'how long SIGTERM waits for requests in flight' },
  {
    name: 'STORE_CHECK_INTERVAL_MS',
    kind: 'integer',
    default: 5000,
    min: 100,
    max: 3_600_000,
    meaning: 'how often the idempotency store is checked between requests',
  },
  {
    name: 'PROBLEM_LOG_INTERVAL_MS',
    kind: 'integer',
    default: 30_000,
    min: 100,
    max: 86_400_000,
    meaning: 'a lasting condition is logged again at most this often',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    kind: 'url',
    meaning: 'OpenTelemetry collector (OTLP/HTTP), `/v1/traces` appended; this or the next turns tracing on (docs/tracing.md)',
  },
  { name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', kind: 'url', meaning: 'the traces URL itself, used as it is; wins over OTEL_EXPORTER_OTLP_ENDPOINT' },
  {
    name: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    kind: 'choice',
    default: 'http/protobuf',
    choices: ['http/protobuf', 'http/json'],
    meaning: 'how spans are sent (`grpc` is not supported)',
  },
  { name: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', kind: 'choice', choices: ['http/protobuf', 'http/json'], meaning: 'wins over OTEL_EXPORTER_OTLP_PROTOCOL' },
  {
    name: 'OTEL_EXPORTER_OTLP_HEADERS',
    kind: 'text',
    secret: true,
    meaning: "headers of every export, `key=value,…` (values percent-encoded): typically the collector's API key",
  },
  { name: 'OTEL_EXPORTER_OTLP_TIMEOUT', kind: 'integer', default: 10_000, min: 1, max: 600_000, meaning: 'one export may take this long (ms)' },
  { name: 'OTEL_SERVICE_NAME', kind: 'text', default: 'galileo-gateway', meaning: 'the service name on every span' },
  { name: 'OTEL_RESOURCE_ATTRIBUTES', kind: 'text', meaning: 'more resource attributes, `key=value,…` (e.g. `deployment.environment.name=prod`)' },
  {
    name: 'OTEL_TRACES_SAMPLER',
    kind: 'choice',
    default: 'parentbased_always_on',
    choices: ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'always_on', 'always_off', 'traceidratio'],
    meaning: "which requests are traced; `parentbased_*` follows the caller's sampled flag",
  },
  { name: 'OTEL_TRACES_SAMPLER_ARG', kind: 'text', default: '1.0', meaning: 'the ratio (0…1) of the `traceidratio` samplers' },
  { name: 'OTEL_BSP_SCHEDULE_DELAY', kind: 'integer', default: 5000, min: 0, max: 600_000, meaning: 'spans are exported at least this often (ms)' },
  {
    name: 'OTEL_BSP_MAX_QUEUE_SIZE',
    kind: 'integer',
    default: 2048,
    min: 1,
    max: 1_000_000,
    meaning: 'spans waiting for export at most; beyond, new spans are dropped (a request never waits for the collector)',
  },
  { name: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', kind: 'integer', default: 512, min: 1, max: 1_000_000, meaning: 'spans per export at most' },
  { name: 'OTEL_BSP_EXPORT_TIMEOUT', kind: 'integer', default: 30_000, min: 1, max: 600_000, meaning: 'a batch export may take this long (ms)' },
  { name: 'OTEL_SDK_DISABLED', kind: 'choice', default: 'false', choices: ['true', 'false'], meaning: '`true`: no tracing, whatever the endpoint' },
  {
    name: 'GALILEO_TRACEPARENT',
    kind: 'choice',
    default: 'off',
    choices: ['off', 'on'],
    meaning: "`on`: each call to Galileo carries `traceparent` (its CLIENT span's); off because Galileo is a third party (docs/tracing.md)",
  },
] as const satisfies readonly Variable[];

/**
 * Values the gateway fixes instead of reading: each is sized against the others, not against a
 * deployment, so a variable would only add a way to get it wrong. They are declared here, beside
 * the variables, so that no other file holds a default (config.ts puts them into Config).
 */
export const FIXED = {
  /**
   * First pause between retries of a Galileo call (doubling, full jitter; docs/configuration.md,
   * Calling Galileo). Retries are only of calls that cannot have run, and the lock TTL already
   * counts this (docs/idempotency.md): a longer pause only delays the caller.
   */
  GALILEO_BACKOFF_MS: 100,
  /**
   * How long a Redis command may take before the store (and the limiter) counts Redis as gone:
   * what a caller waits when Redis is down before its 503 with `Retry-After: 1`
   * (docs/idempotency.md, docs/operations.md); WAIT gets half of it.
   */
  REDIS_COMMAND_TIMEOUT_MS: 1000,
} as const;

export type VariableName = (typeof VARIABLES)[number]['name'];

const BY_NAME: ReadonlyMap<string, Variable> = new Map(VARIABLES.map((v) => [v.name, v]));

export function variable(name: VariableName): Variable {
  return BY_NAME.get(name)!;
}

/** The names whose values never appear in a message. */
export const SECRET_NAMES: readonly string[] = VARIABLES.filter((v: Variable) => v.secret).map((v) => v.name);

/** The names that may be given as NAME_FILE. */
export const FILE_NAMES: readonly string[] = VARIABLES.filter((v: Variable) => v.file).map((v) => v.name);

/** The table of docs/configuration.md, as `npm run generate` writes it. */
export function variablesTable(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = VARIABLES.map((v: Variable) => {
    const values =
      v.kind === 'integer' ? `integer ${v.min ?? ''}…${v.max ?? ''}` : v.kind === 'choice' ? (v.choices ?? []).map((c) => `\`${c}\``).join(', ') : v.kind;
    const flags = [v.secret ? 'secret' : '', v.file ? '`_FILE`' : ''].filter(Boolean).join(', ');
    const fallback = v.default === undefined ? 'unset' : `\`${v.default}\``;
    return `| \`${v.name}\` | ${fallback} | ${values} | ${flags} | ${cell(v.meaning)} | ${cell(productionText(v))} |`;
  });
  return ['| variable | default | values | secret / file | meaning | production |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** The production column of the table: each rule in words, then the private-file rule of `file`. */
function productionText(v: Variable): string {
  const words = (rule: ProductionRule): string => {
    switch (rule.kind) {
      case 'switch':
        return 'turns on every rule of this column';
      case 'required':
        return rule.when === undefined ? 'required' : `required when ${rule.when.variable}=${rule.when.is}`;
      case 'https-unless-loopback':
        return 'https unless to loopback';
      case 'redis-tls-and-password-unless-loopback':
        return 'outside loopback: TLS and a password';
      case 'at-least':
        return `at least ${rule.min}`;
      case 'random-keys':
        return 'random';
      case 'distinct-keys':
        return `not a key of ${rule.from}`;
    }
  };
  return [...(v.production ?? []).map(words), ...(v.file ? ['`_FILE` and its directory not writable by other users'] : [])].join('; ');
}
