/** Configuration (docs/contract.md, Configuration): defaults, *_FILE secrets, and one clear message per bad variable. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { GATEWAY_HEAP_BYTES } from '../../src/config/heap.js';

const GALILEO = {
  GALILEO_BASE_URL: 'https://api-sandbox.cv.gpsrv.com/intserv/4.0',
  GALILEO_API_LOGIN: 'AbC123-9999',
  GALILEO_API_TRANS_KEY: 'transkey0000001',
  GALILEO_PROVIDER_ID: '9999',
};
const CLIENTS = JSON.stringify([{ name: 'onboarding', keySha256: 'a'.repeat(64), operations: ['createAccount'] }]);

function rejects(env: Record<string, string>, variable: string, message?: RegExp) {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.variable, variable);
      assert.ok(err.message.startsWith(`${variable}:`));
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

describe('configuration', () => {
  it('has the documented defaults and no simulator credentials of its own', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.galileo.baseUrl, undefined);
    assert.equal(config.galileo.credentials, undefined);
    assert.equal(config.galileo.timeoutMs, 15000);
    assert.equal(config.galileo.maxRetries, 2);
    assert.equal(config.clients, undefined);
    assert.deepEqual(
      { ...config.idempotency },
      {
        store: 'memory',
        redis: { topology: { kind: 'single', host: '127.0.0.1', port: 6379, db: 0 }, username: undefined, password: undefined, tls: false, tlsCa: undefined },
        commandTimeoutMs: 1000,
        minReplicasAck: 0,
        keyPrefix: 'galileo-gw:idem:',
        ttlSeconds: 86400,
        maxEntries: 100000,
        maxBytes: 64 * 1024 * 1024,
        keyRing: undefined,
        fingerprintKey: undefined,
      },
    );
    assert.equal(config.bodyLimit, 64 * 1024);
    assert.deepEqual(config.http, { requestTimeoutMs: 30_000, headersTimeoutMs: 20_000, maxConnections: 2048, maxConnectionsPerPeer: 512 });
    assert.equal(config.logLevel, 'info');
  });

  it('reads credentials, clients and every setting', () => {
    const config = loadConfig({
      ...GALILEO,
      GATEWAY_CLIENTS: CLIENTS,
      IDEMPOTENCY_STORE: 'redis',
      IDEMPOTENCY_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
      GALILEO_TIMEOUT_MS: '2000',
      PORT: '9000',
    });
    assert.deepEqual(config.galileo.credentials, { apiLogin: 'AbC123-9999', apiTransKey: 'transkey0000001', providerId: 9999 });
    assert.equal(config.clients![0]!.name, 'onboarding');
    assert.equal(config.idempotency.store, 'redis');
    assert.equal(config.galileo.timeoutMs, 2000);
    assert.equal(config.port, 9000);
  });

  it('reads each secret from NAME_FILE, without the trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const config = loadConfig({
      GALILEO_BASE_URL: GALILEO.GALILEO_BASE_URL,
      GALILEO_API_LOGIN_FILE: file('login', 'login-from-file\n'),
      GALILEO_API_TRANS_KEY_FILE: file('key', 'key-from-file\n'),
      GALILEO_PROVIDER_ID_FILE: file('provider', '4242\n'),
      GATEWAY_CLIENTS_FILE: file('clients', CLIENTS),
    });
    assert.deepEqual(config.galileo.credentials, { apiLogin: 'login-from-file', apiTransKey: 'key-from-file', providerId: 4242 });
    assert.equal(config.clients!.length, 1);
    rejects({ GALILEO_API_TRANS_KEY_FILE: join(dir, 'missing') }, 'GALILEO_API_TRANS_KEY_FILE', /cannot read/);
    rejects({ GALILEO_API_LOGIN: 'a', GALILEO_API_LOGIN_FILE: file('x', 'b') }, 'GALILEO_API_LOGIN', /not both/);
  });

  it('production refuses to start without base URL, each credential and clients', () => {
    const full = { NODE_ENV: 'production', ...GALILEO, GATEWAY_CLIENTS: CLIENTS };
    assert.equal(loadConfig(full).production, true);
    for (const variable of ['GALILEO_BASE_URL', 'GALILEO_API_LOGIN', 'GALILEO_API_TRANS_KEY', 'GALILEO_PROVIDER_ID', 'GATEWAY_CLIENTS']) {
      const env: Record<string, string> = { ...full };
      delete env[variable];
      rejects(env, variable, /required when NODE_ENV=production/);
    }
    rejects({ ...full, IDEMPOTENCY_STORE: 'redis' }, 'IDEMPOTENCY_ENCRYPTION_KEY');
  });

  it('names the variable of every bad value', () => {
    rejects({ PORT: 'eighty' }, 'PORT', /integer/);
    rejects({ PORT: '70000' }, 'PORT', /between/);
    rejects({ GALILEO_TIMEOUT_MS: '0' }, 'GALILEO_TIMEOUT_MS');
    rejects({ GALILEO_MAX_RETRIES: '-1' }, 'GALILEO_MAX_RETRIES');
    rejects({ GALILEO_BASE_URL: 'not a url' }, 'GALILEO_BASE_URL', /URL/);
    rejects({ GALILEO_BASE_URL: 'ftp://x' }, 'GALILEO_BASE_URL');
    rejects({ ...GALILEO, GALILEO_PROVIDER_ID: 'abc' }, 'GALILEO_PROVIDER_ID');
    rejects({ GALILEO_API_LOGIN: 'x' }, 'GALILEO_API_TRANS_KEY', /together/);
    rejects({ GALILEO_BASE_URL: GALILEO.GALILEO_BASE_URL }, 'GALILEO_API_LOGIN');
    rejects({ HTTP_HEADERS_TIMEOUT_MS: '40000' }, 'HTTP_HEADERS_TIMEOUT_MS', /HTTP_REQUEST_TIMEOUT_MS/);
    rejects({ MAX_CONNECTIONS: '0' }, 'MAX_CONNECTIONS');
    rejects({ IDEMPOTENCY_STORE: 'postgres' }, 'IDEMPOTENCY_STORE');
    rejects({ REDIS_URL: 'http://localhost' }, 'REDIS_URL');
    rejects({ IDEMPOTENCY_TTL_SECONDS: '0' }, 'IDEMPOTENCY_TTL_SECONDS');
    rejects({ BODY_LIMIT: 'lots' }, 'BODY_LIMIT');
    rejects({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
    rejects({ GALILEO_API_LOGIN: '' }, 'GALILEO_API_LOGIN', /empty/);
  });

  it('IDEMPOTENCY_MAX_BYTES: a size; refused when the V8 heap cannot hold it next to the rest of the gateway, naming both ways out', () => {
    const MIB = 1024 * 1024;
    assert.equal(loadConfig({ IDEMPOTENCY_MAX_BYTES: '512mb' }).idempotency.maxBytes, 512 * MIB);
    assert.equal(loadConfig({ IDEMPOTENCY_MAX_BYTES: '1GB' }).idempotency.maxBytes, 1024 * MIB);
    assert.equal(loadConfig({ IDEMPOTENCY_MAX_BYTES: String(2 * MIB) }).idempotency.maxBytes, 2 * MIB);
    rejects({ IDEMPOTENCY_MAX_BYTES: 'lots' }, 'IDEMPOTENCY_MAX_BYTES', /64kb/);
    rejects({ IDEMPOTENCY_MAX_BYTES: '512kb' }, 'IDEMPOTENCY_MAX_BYTES', /between 1mb and 1024gb/);
    // The heap limit --max-old-space-size=256 gives on Node 24 (the young generation's 192 MiB included).
    const capped = 448 * MIB;
    assert.equal(loadConfig({}, capped).idempotency.maxBytes, 64 * MIB, 'the default fits the shipped heap cap');
    const largest = capped - GATEWAY_HEAP_BYTES;
    assert.equal(loadConfig({ IDEMPOTENCY_MAX_BYTES: String(largest) }, capped).idempotency.maxBytes, largest);
    assert.throws(
      () => loadConfig({ IDEMPOTENCY_MAX_BYTES: '1gb' }, capped),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.variable, 'IDEMPOTENCY_MAX_BYTES');
        const raiseBy = Math.ceil((1024 * MIB + GATEWAY_HEAP_BYTES - capped) / MIB);
        assert.match(err.message, new RegExp(`raise node's --max-old-space-size by at least ${raiseBy} \\(MB\\)`));
        assert.match(err.message, new RegExp(`lower IDEMPOTENCY_MAX_BYTES to at most ${largest / MIB}mb`));
        return true;
      },
    );
    assert.throws(() => loadConfig({ IDEMPOTENCY_MAX_BYTES: String(largest + 1) }, capped), ConfigError);
    // The Redis store keeps nothing in the heap: no such bound applies.
    const redis = { IDEMPOTENCY_STORE: 'redis', IDEMPOTENCY_FINGERPRINT_KEY: randomBytes(32).toString('base64'), IDEMPOTENCY_MAX_BYTES: '1gb' };
    assert.equal(loadConfig(redis, capped).idempotency.store, 'redis');
  });

  it('keys: a key ring, a fingerprint key; production refuses one missing with Redis, and keys typed by hand', () => {
    const [a, b] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    assert.deepEqual(loadConfig({ IDEMPOTENCY_ENCRYPTION_KEY: `2026-12:${a},2026-06:${b}` }).idempotency.keyRing, [
      { id: '2026-12', key: Buffer.from(a, 'base64') },
      { id: '2026-06', key: Buffer.from(b, 'base64') },
    ]);
    rejects({ IDEMPOTENCY_ENCRYPTION_KEY: `x:${a},x:${b}` }, 'IDEMPOTENCY_ENCRYPTION_KEY', /twice/);
    assert.equal(loadConfig({ IDEMPOTENCY_FINGERPRINT_KEY: a }).idempotency.fingerprintKey?.length, 32);
    rejects({ IDEMPOTENCY_FINGERPRINT_KEY: randomBytes(16).toString('base64') }, 'IDEMPOTENCY_FINGERPRINT_KEY', /at least 32 bytes/);
    rejects({ IDEMPOTENCY_FINGERPRINT_KEY: 'not base64!' }, 'IDEMPOTENCY_FINGERPRINT_KEY', /base64/);
    const production = { NODE_ENV: 'production', ...GALILEO, GATEWAY_CLIENTS: CLIENTS, IDEMPOTENCY_STORE: 'redis', IDEMPOTENCY_ENCRYPTION_KEY: a };
    rejects(production, 'IDEMPOTENCY_FINGERPRINT_KEY', /required with IDEMPOTENCY_STORE=redis/);
    // Review 3, finding 4: whatever NODE_ENV says, a Redis store never runs on a key from the source.
    for (const NODE_ENV of [undefined, 'development', 'test']) {
      rejects({ ...(NODE_ENV && { NODE_ENV }), IDEMPOTENCY_STORE: 'redis' }, 'IDEMPOTENCY_FINGERPRINT_KEY', /required with IDEMPOTENCY_STORE=redis/);
      rejects(
        { ...(NODE_ENV && { NODE_ENV }), IDEMPOTENCY_STORE: 'redis', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_MASTER: 'm' },
        'IDEMPOTENCY_FINGERPRINT_KEY',
      );
      rejects({ ...(NODE_ENV && { NODE_ENV }), IDEMPOTENCY_STORE: 'redis', REDIS_CLUSTER_NODES: '127.0.0.1:7000' }, 'IDEMPOTENCY_FINGERPRINT_KEY');
    }
    assert.equal(loadConfig({}).idempotency.fingerprintKey, undefined, 'the memory store may do without (a random key per process)');
    assert.doesNotThrow(() => loadConfig({ ...production, IDEMPOTENCY_FINGERPRINT_KEY: b }));
    const zeros = Buffer.alloc(32).toString('base64');
    const repeated = Buffer.from('abcd'.repeat(8)).toString('base64');
    rejects({ ...production, IDEMPOTENCY_FINGERPRINT_KEY: b, IDEMPOTENCY_ENCRYPTION_KEY: zeros }, 'IDEMPOTENCY_ENCRYPTION_KEY', /not random/);
    rejects({ ...production, IDEMPOTENCY_FINGERPRINT_KEY: repeated }, 'IDEMPOTENCY_FINGERPRINT_KEY', /not random/);
    // Outside production a hand-typed key is allowed (tests, demos).
    assert.doesNotThrow(() => loadConfig({ IDEMPOTENCY_ENCRYPTION_KEY: zeros, IDEMPOTENCY_FINGERPRINT_KEY: repeated }));
  });

  it('refuses careless configurations: an unknown NODE_ENV, auth silently off, plain http to Galileo in production', () => {
    for (const value of ['prod', 'Production', 'staging']) rejects({ NODE_ENV: value }, 'NODE_ENV', /production, development, test/);
    for (const value of ['production', 'development', 'test'])
      assert.doesNotThrow(() => loadConfig({ NODE_ENV: value, ...(value === 'production' ? { ...GALILEO, GATEWAY_CLIENTS: CLIENTS } : {}) }));
    // A real Galileo without clients: refused unless auth is switched off on purpose.
    rejects({ ...GALILEO }, 'GATEWAY_CLIENTS', /GATEWAY_AUTH=off/);
    assert.equal(loadConfig({ ...GALILEO, GATEWAY_AUTH: 'off' }).clients, undefined);
    rejects({ ...GALILEO, GATEWAY_AUTH: 'off', GATEWAY_CLIENTS: CLIENTS }, 'GATEWAY_AUTH', /remove one/);
    rejects({ GATEWAY_AUTH: 'no' }, 'GATEWAY_AUTH');
    // In production the credentials travel over TLS, or to this host only.
    const production = { NODE_ENV: 'production', ...GALILEO, GATEWAY_CLIENTS: CLIENTS };
    rejects({ ...production, GALILEO_BASE_URL: 'http://galileo.internal/intserv/4.0' }, 'GALILEO_BASE_URL', /https/);
    for (const host of ['127.0.0.1:8090', 'localhost:8090', '[::1]:8090']) {
      assert.doesNotThrow(() => loadConfig({ ...production, GALILEO_BASE_URL: `http://${host}/intserv/4.0` }), host);
    }
  });

  it('validates GATEWAY_CLIENTS entries', () => {
    rejects({ GATEWAY_CLIENTS: 'not json' }, 'GATEWAY_CLIENTS', /JSON/);
    rejects({ GATEWAY_CLIENTS: '[]' }, 'GATEWAY_CLIENTS');
    rejects({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'a', keySha256: 'secret-key', operations: ['*'] }]) }, 'GATEWAY_CLIENTS', /keySha256/);
    rejects({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'a', keySha256: 'b'.repeat(64), operations: [] }]) }, 'GATEWAY_CLIENTS', /operations/);
    const twice = { name: 'a', keySha256: 'b'.repeat(64), operations: ['*'] };
    rejects({ GATEWAY_CLIENTS: JSON.stringify([twice, twice]) }, 'GATEWAY_CLIENTS', /duplicate/);
    // Two clients with one key: whoever holds it is both, so the second is refused.
    rejects(
      { GATEWAY_CLIENTS: JSON.stringify([twice, { ...twice, name: 'b', keySha256: twice.keySha256.toUpperCase() }]) },
      'GATEWAY_CLIENTS',
      /same key as client "a"/,
    );
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    rejects({ GATEWAY_CLIENTS: JSON.stringify([{ ...twice, keySha256: empty }]) }, 'GATEWAY_CLIENTS', /empty key/);
  });

  it('diagnostics: how often the store is checked and a lasting problem logged again', () => {
    assert.deepEqual(loadConfig({}).diagnostics, { storeCheckIntervalMs: 5000, repeatLogIntervalMs: 30000 });
    assert.deepEqual(loadConfig({ STORE_CHECK_INTERVAL_MS: '250', PROBLEM_LOG_INTERVAL_MS: '60000' }).diagnostics, {
      storeCheckIntervalMs: 250,
      repeatLogIntervalMs: 60000,
    });
    rejects({ STORE_CHECK_INTERVAL_MS: '10' }, 'STORE_CHECK_INTERVAL_MS', /between/);
    rejects({ PROBLEM_LOG_INTERVAL_MS: 'often' }, 'PROBLEM_LOG_INTERVAL_MS', /integer/);
  });

  describe('Redis connection', () => {
    const redis = (env: Record<string, string>) => loadConfig(env).idempotency.redis;
    const PASSWORD = 'p@ss:w/rd%secret';

    it('REDIS_URL: host, port, database, TLS by scheme, user and percent-encoded password', () => {
      assert.deepEqual(redis({ REDIS_URL: `rediss://gw-user:${encodeURIComponent(PASSWORD)}@redis.internal:6380/2` }), {
        topology: { kind: 'single', host: 'redis.internal', port: 6380, db: 2 },
        username: 'gw-user',
        password: PASSWORD,
        tls: true,
        tlsCa: undefined,
      });
      assert.deepEqual(redis({ REDIS_URL: 'redis://[::1]' }).topology, { kind: 'single', host: '::1', port: 6379, db: 0 });
      assert.equal(redis({ REDIS_URL: 'redis://:only-a-password@h' }).password, 'only-a-password');
    });

    it('REDIS_USERNAME and REDIS_PASSWORD or REDIS_PASSWORD_FILE, for every topology', () => {
      const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
      const file = join(dir, 'redis-password');
      writeFileSync(file, `${PASSWORD}\n`);
      assert.deepEqual(redis({ REDIS_URL: 'redis://h:1', REDIS_USERNAME: 'gw', REDIS_PASSWORD_FILE: file }), {
        topology: { kind: 'single', host: 'h', port: 1, db: 0 },
        username: 'gw',
        password: PASSWORD,
        tls: false,
        tlsCa: undefined,
      });
      assert.equal(redis({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PASSWORD: PASSWORD }).password, PASSWORD);
    });

    it("REDIS_SENTINELS + REDIS_SENTINEL_MASTER, with the sentinels' own password and TLS", () => {
      assert.deepEqual(
        redis({ REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2 ,[fd00::3]:26380', REDIS_SENTINEL_MASTER: 'gw', REDIS_SENTINEL_PASSWORD: 's', REDIS_TLS: 'true' }),
        {
          topology: {
            kind: 'sentinel',
            sentinels: [
              { host: '10.0.0.1', port: 26379 },
              { host: '10.0.0.2', port: 26379 },
              { host: 'fd00::3', port: 26380 },
            ],
            masterName: 'gw',
          },
          username: undefined,
          password: undefined,
          sentinelPassword: 's',
          tls: true,
          tlsCa: undefined,
        },
      );
    });

    it('REDIS_CLUSTER_NODES, and a CA file for TLS', () => {
      const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
      const ca = join(dir, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const connection = redis({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', REDIS_TLS: 'true', REDIS_TLS_CA_FILE: ca });
      assert.deepEqual(connection.topology, {
        kind: 'cluster',
        nodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 7001 },
        ],
      });
      assert.match(connection.tlsCa ?? '', /BEGIN CERTIFICATE/);
      rejects({ REDIS_TLS_CA_FILE: join(dir, 'missing.pem') }, 'REDIS_TLS_CA_FILE', /cannot read/);
      writeFileSync(join(dir, 'not.pem'), 'hello');
      rejects({ REDIS_TLS_CA_FILE: join(dir, 'not.pem') }, 'REDIS_TLS_CA_FILE', /no PEM/);
    });

    it('REDIS_MIN_REPLICAS_ACK', () => {
      assert.equal(loadConfig({ REDIS_MIN_REPLICAS_ACK: '2' }).idempotency.minReplicasAck, 2);
      rejects({ REDIS_MIN_REPLICAS_ACK: 'all' }, 'REDIS_MIN_REPLICAS_ACK');
    });

    it('refuses ambiguous or incomplete settings, naming the variable', () => {
      rejects({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'm', REDIS_CLUSTER_NODES: 'b:2' }, 'REDIS_CLUSTER_NODES', /not both/);
      rejects({ REDIS_URL: 'redis://h', REDIS_CLUSTER_NODES: 'b:2' }, 'REDIS_URL', /not both/);
      rejects({ REDIS_SENTINELS: 'a:1' }, 'REDIS_SENTINEL_MASTER', /required/);
      rejects({ REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS', /required/);
      rejects({ REDIS_SENTINEL_PASSWORD: 'x' }, 'REDIS_SENTINEL_PASSWORD', /only/);
      rejects({ REDIS_CLUSTER_NODES: 'a:1,,b:2' }, 'REDIS_CLUSTER_NODES', /entry 2/);
      rejects({ REDIS_CLUSTER_NODES: 'a:99999' }, 'REDIS_CLUSTER_NODES', /port of entry 1/);
      rejects({ REDIS_TLS: 'yes', REDIS_CLUSTER_NODES: 'a:1' }, 'REDIS_TLS');
      rejects({ REDIS_TLS: 'true' }, 'REDIS_TLS', /rediss/);
      rejects({ REDIS_URL: 'redis://h/db' }, 'REDIS_URL', /database/);
      rejects({ REDIS_URL: 'redis://h?tls=true' }, 'REDIS_URL', /query/);
      rejects({ IDEMPOTENCY_KEY_PREFIX: 'gw:{x}:' }, 'IDEMPOTENCY_KEY_PREFIX', /hash tags/);
    });

    it('never puts a password into a message', () => {
      const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
      const file = join(dir, 'pw');
      writeFileSync(file, PASSWORD);
      const cases: Array<Record<string, string>> = [
        { REDIS_URL: `redis://u:${encodeURIComponent(PASSWORD)}@h/${PASSWORD}` },
        { REDIS_URL: `redis://u:${encodeURIComponent(PASSWORD)}@h:notaport` },
        { REDIS_URL: `redis://u:${encodeURIComponent(PASSWORD)}@h?x=1` },
        { REDIS_URL: `redis://u:${encodeURIComponent(PASSWORD)}@h`, REDIS_PASSWORD: PASSWORD },
        { REDIS_URL: `redis://u:${encodeURIComponent(PASSWORD)}@h`, REDIS_PASSWORD_FILE: file },
        { REDIS_URL: `ftp://u:${encodeURIComponent(PASSWORD)}@h` },
        { REDIS_URL: `redis://u:%E0%A4%A@h` },
        { REDIS_PASSWORD: PASSWORD, REDIS_PASSWORD_FILE: file },
      ];
      for (const env of cases) {
        const error = (() => {
          try {
            loadConfig(env);
          } catch (err) {
            return err as Error;
          }
          return undefined;
        })();
        assert.ok(error instanceof ConfigError, `expected a ConfigError for ${Object.keys(env).join(',')}`);
        for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), '%E0%A4%A']) {
          assert.equal(error.message.includes(secret), false, error.message);
        }
      }
    });
  });

  // Review 3, finding 3: a client rotating its key is one client with two hashes.
  it('a client may list several key hashes while a key is rotated: one identity, no hash twice', () => {
    const [h1, h2] = ['1'.repeat(64), '2'.repeat(64)];
    const clients = (entries: unknown[]) => loadConfig({ GATEWAY_CLIENTS: JSON.stringify(entries) }).clients;
    assert.deepEqual(clients([{ name: 'onboarding', keySha256: [h1, h2.toUpperCase()], operations: ['*'] }])![0]!.keySha256, [h1, h2]);
    assert.deepEqual(clients([{ name: 'onboarding', keySha256: h1, operations: ['*'] }])![0]!.keySha256, [h1]);
    rejects({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'a', keySha256: [], operations: ['*'] }]) }, 'GATEWAY_CLIENTS', /keySha256/);
    rejects({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'a', keySha256: [h1, h1], operations: ['*'] }]) }, 'GATEWAY_CLIENTS', /twice/);
    rejects({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'a', keySha256: [h1, 'x'], operations: ['*'] }]) }, 'GATEWAY_CLIENTS', /64 hex/);
    const shared = [
      { name: 'a', keySha256: [h1, h2], operations: ['*'] },
      { name: 'b', keySha256: h2, operations: ['*'] },
    ];
    rejects({ GATEWAY_CLIENTS: JSON.stringify(shared) }, 'GATEWAY_CLIENTS', /same key as client "a"/);
  });

  // Review 3, finding 9: no refusal prints a secret, however it was mistyped.
  it('no start-up message holds the value of a secret variable, or a part of one', () => {
    const [k1, k2] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
    const keyFile = join(dir, 'ring');
    writeFileSync(keyFile, `${k1}:${k2}`);
    const cases: Array<[Record<string, string>, string[]]> = [
      [{ IDEMPOTENCY_ENCRYPTION_KEY: `${k1}:${k2}` }, [k1, k2]],
      [{ IDEMPOTENCY_ENCRYPTION_KEY_FILE: keyFile }, [k1, k2]],
      [{ IDEMPOTENCY_ENCRYPTION_KEY: `a:${k1},b:${k2.slice(0, 20)}` }, [k1, k2.slice(0, 20)]],
      [{ ...GALILEO, GATEWAY_AUTH: 'off', GALILEO_PROVIDER_ID: '12x4' }, ['12x4']],
      [{ ...GALILEO, GATEWAY_AUTH: 'off', GALILEO_PROVIDER_ID: '99999999999999' }, ['99999999999999']],
      [{ IDEMPOTENCY_FINGERPRINT_KEY: 'hunter2-is-my-password' }, ['hunter2-is-my-password']],
      [{ REDIS_URL: 'redis://u:s3cr3t-pass@redis.internal:63x79' }, ['s3cr3t-pass']],
    ];
    for (const [env, secrets] of cases) {
      let message = '';
      try {
        loadConfig(env);
      } catch (err) {
        message = (err as Error).message;
      }
      assert.ok(message !== '', `${JSON.stringify(env)} should be refused`);
      for (const value of secrets) assert.ok(!message.includes(value), `${message} holds ${value}`);
    }
  });

  // Review 3, finding 10: production refuses each weak setting, naming the variable.
  it('production refuses weak settings: Redis in clear or without a password, passphrase or shared keys, a tiny TTL, replaceable secret files', () => {
    const [a, b] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    const base = {
      NODE_ENV: 'production',
      ...GALILEO,
      GATEWAY_CLIENTS: CLIENTS,
      IDEMPOTENCY_STORE: 'redis',
      IDEMPOTENCY_ENCRYPTION_KEY: a,
      IDEMPOTENCY_FINGERPRINT_KEY: b,
    };
    assert.doesNotThrow(() => loadConfig(base), 'loopback Redis without TLS is fine');
    assert.doesNotThrow(() => loadConfig({ ...base, REDIS_URL: 'rediss://gw:pw@redis.internal:6380' }));
    rejects({ ...base, REDIS_URL: 'redis://gw:pw@redis.internal:6379' }, 'REDIS_URL', /TLS/);
    rejects({ ...base, REDIS_URL: 'rediss://redis.internal:6380' }, 'REDIS_URL', /password/);
    rejects({ ...base, REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS', /TLS/);
    rejects({ ...base, REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_TLS: 'true' }, 'REDIS_SENTINELS', /password/);
    rejects({ ...base, REDIS_CLUSTER_NODES: '10.0.0.1:7000', REDIS_PASSWORD: 'pw' }, 'REDIS_CLUSTER_NODES', /TLS/);
    const passphrase = Buffer.from('correct horse battery staple 123').toString('base64');
    rejects({ ...base, IDEMPOTENCY_ENCRYPTION_KEY: passphrase }, 'IDEMPOTENCY_ENCRYPTION_KEY', /passphrase/);
    rejects({ ...base, IDEMPOTENCY_FINGERPRINT_KEY: passphrase }, 'IDEMPOTENCY_FINGERPRINT_KEY', /passphrase/);
    rejects(
      { ...base, IDEMPOTENCY_ENCRYPTION_KEY: `new:${randomBytes(32).toString('base64')},old:${b}` },
      'IDEMPOTENCY_FINGERPRINT_KEY',
      /one key per purpose/,
    );
    rejects({ ...base, IDEMPOTENCY_TTL_SECONDS: '1' }, 'IDEMPOTENCY_TTL_SECONDS', /at least 3600/);
    assert.doesNotThrow(() => loadConfig({ ...base, IDEMPOTENCY_TTL_SECONDS: '3600' }));
    // A world-writable clients file, reached through a symlink; then one in a world-writable directory.
    const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
    const target = join(dir, 'clients.json');
    writeFileSync(target, CLIENTS);
    chmodSync(target, 0o666);
    symlinkSync(target, join(dir, 'link.json'));
    const withFile = (path: string) => ({ ...base, GATEWAY_CLIENTS: undefined, GATEWAY_CLIENTS_FILE: path }) as unknown as Record<string, string>;
    rejects(withFile(join(dir, 'link.json')), 'GATEWAY_CLIENTS_FILE', /any user may write/);
    chmodSync(target, 0o644);
    assert.doesNotThrow(() => loadConfig(withFile(join(dir, 'link.json'))));
    chmodSync(dir, 0o777);
    rejects(withFile(target), 'GATEWAY_CLIENTS_FILE', /directory any user may write/);
    chmodSync(dir, 0o700);
    // Outside production the same settings start (tests, demos).
    assert.doesNotThrow(() => loadConfig({ ...base, NODE_ENV: 'development', REDIS_URL: 'redis://redis.internal:6379', IDEMPOTENCY_TTL_SECONDS: '1' }));
  });

  it("traffic protection: a client's rateLimit, the Galileo budget, the breaker and the bulkhead", () => {
    const withLimit = (rateLimit: unknown) => JSON.stringify([{ name: 'batch', keySha256: 'b'.repeat(64), operations: ['*'], rateLimit }]);
    assert.deepEqual(loadConfig({ GATEWAY_CLIENTS: withLimit({ requestsPerSecond: 5, burst: 20 }) }).clients![0]!.rateLimit, {
      requestsPerSecond: 5,
      burst: 20,
    });
    assert.deepEqual(
      loadConfig({ GATEWAY_CLIENTS: withLimit({ requestsPerSecond: 2.5 }) }).clients![0]!.rateLimit,
      { requestsPerSecond: 2.5, burst: 3 },
      "burst: one second's worth",
    );
    assert.equal(loadConfig({ GATEWAY_CLIENTS: CLIENTS }).clients![0]!.rateLimit, undefined, 'no rateLimit: unlimited');
    for (const bad of [
      0,
      -1,
      'fast',
      null,
      [],
      { requestsPerSecond: 0 },
      { requestsPerSecond: 5, burst: 0 },
      { requestsPerSecond: 5, burst: 1.5 },
      { requestsPerSecond: 5, extra: 1 },
    ]) {
      rejects({ GATEWAY_CLIENTS: withLimit(bad) }, 'GATEWAY_CLIENTS', /rateLimit/);
    }
    const galileo = loadConfig({}).galileo;
    assert.deepEqual([galileo.maxRequestsPerSecond, galileo.circuitFailures, galileo.circuitOpenMs, galileo.maxInFlight], [0, 5, 10_000, 128]);
    const set = loadConfig({
      GALILEO_MAX_REQUESTS_PER_SECOND: '40',
      GALILEO_CIRCUIT_FAILURES: '0',
      GALILEO_CIRCUIT_OPEN_MS: '2000',
      GALILEO_MAX_IN_FLIGHT: '16',
    }).galileo;
    assert.deepEqual([set.maxRequestsPerSecond, set.circuitFailures, set.circuitOpenMs, set.maxInFlight], [40, 0, 2000, 16]);
    rejects({ GALILEO_MAX_REQUESTS_PER_SECOND: '-1' }, 'GALILEO_MAX_REQUESTS_PER_SECOND');
    rejects({ GALILEO_CIRCUIT_OPEN_MS: '10' }, 'GALILEO_CIRCUIT_OPEN_MS');
  });
});
