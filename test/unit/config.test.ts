/** Configuration (DESIGN §7): defaults, *_FILE secrets, and one clear message per bad variable. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';

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
        minReplicasAck: 0,
        keyPrefix: 'galileo-gw:idem:',
        ttlSeconds: 86400,
        maxEntries: 100000,
        encryptionKey: undefined,
      },
    );
    assert.equal(config.bodyLimit, '64kb');
    assert.equal(config.logLevel, 'info');
  });

  it('reads credentials, clients and every setting', () => {
    const config = loadConfig({ ...GALILEO, GATEWAY_CLIENTS: CLIENTS, IDEMPOTENCY_STORE: 'redis', GALILEO_TIMEOUT_MS: '2000', PORT: '9000' });
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
    rejects({ IDEMPOTENCY_STORE: 'postgres' }, 'IDEMPOTENCY_STORE');
    rejects({ REDIS_URL: 'http://localhost' }, 'REDIS_URL');
    rejects({ IDEMPOTENCY_TTL_SECONDS: '0' }, 'IDEMPOTENCY_TTL_SECONDS');
    rejects({ BODY_LIMIT: 'lots' }, 'BODY_LIMIT');
    rejects({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
    rejects({ GALILEO_API_LOGIN: '' }, 'GALILEO_API_LOGIN', /empty/);
  });

  it('validates GATEWAY_CLIENTS entries', () => {
    rejects({ GATEWAY_CLIENTS: 'not json' }, 'GATEWAY_CLIENTS', /JSON/);
    rejects({ GATEWAY_CLIENTS: '[]' }, 'GATEWAY_CLIENTS');
    rejects({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'a', keySha256: 'secret-key', operations: ['*'] }]) }, 'GATEWAY_CLIENTS', /keySha256/);
    rejects({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'a', keySha256: 'b'.repeat(64), operations: [] }]) }, 'GATEWAY_CLIENTS', /operations/);
    const twice = { name: 'a', keySha256: 'b'.repeat(64), operations: ['*'] };
    rejects({ GATEWAY_CLIENTS: JSON.stringify([twice, twice]) }, 'GATEWAY_CLIENTS', /duplicate/);
  });
});
