/**
 * Logging in and TLS on private redis-servers, through the configuration the gateway reads: an
 * ACL user limited to what the store needs (the example in docs/operations.md), a wrong password (refused,
 * never echoed), and rediss:// with a private CA (trusted with REDIS_TLS_CA_FILE, refused without).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { createStore } from '../../src/idempotency/create-store.js';
import type { IdempotencyStore } from '../../src/idempotency/store.js';
import { withFingerprintKey } from '../../scripts/lib/gateway-process.js';
import { SpareRedis } from '../../scripts/lib/redis-server.js';
import { adoptPrefix, plainClient } from '../../scripts/lib/redis-keys.js';

const PASSWORD = 'gw-Pa55:w/rd@%secret';
const PREFIX = 'acl-test:';
const response = { status: 200, contentType: 'a', body: 'b' };

/** The store as the gateway would build it from these variables. */
function storeFrom(env: Record<string, string>): IdempotencyStore {
  const config = loadConfig(withFingerprintKey({ IDEMPOTENCY_STORE: 'redis', IDEMPOTENCY_KEY_PREFIX: PREFIX, ...env }));
  return createStore({
    kind: 'redis',
    redis: config.idempotency.redis,
    keyPrefix: config.idempotency.keyPrefix,
    keyRing: undefined,
    timings: { lockTtlMs: 10_000, consumedTtlMs: 10_000 },
    commandTimeoutMs: 1000,
  });
}

/** claim, complete, replay, release: every command the store sends. */
async function exercise(store: IdempotencyStore): Promise<void> {
  const key = `k-${randomUUID()}`;
  const claimed = await store.claim(key, 'fp');
  assert.ok(claimed.state === 'claimed', claimed.state);
  assert.equal(await store.complete(key, claimed.token, response), true);
  assert.deepEqual(await store.claim(key, 'fp'), { state: 'consumed', sameFingerprint: true, response });
  const other = `k-${randomUUID()}`;
  const second = await store.claim(other, 'fp');
  assert.ok(second.state === 'claimed');
  assert.equal(await store.release(other, second.token), true);
  await store.ping();
}

describe('Redis credentials and TLS', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'redis-auth-'));
  const servers: SpareRedis[] = [];
  const stores: IdempotencyStore[] = [];
  const open = (env: Record<string, string>) => {
    const store = storeFrom(env);
    stores.push(store);
    return store;
  };
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.dispose()));
    rmSync(dir, { recursive: true, force: true });
  });

  describe('an ACL user with only what the store needs', () => {
    // The README's ACL line; `default` is switched off, as it should be.
    const commands = '+evalsha +eval +exists +get +set +pttl +hget +hstrlen +type +hset +hdel +del +pexpire +info +ping +wait +config|get'.split(' ');
    const acl = ['gateway', 'on', `>${PASSWORD}`, `~${PREFIX}*`, ...commands];
    const server = new SpareRedis({ args: ['--user', ...acl, '--user', 'default', 'off', '--user', 'admin', 'on', '>admin', '~*', '&*', '+@all'] });
    servers.push(server);
    before(async () => {
      await server.start();
      const admin = plainClient(`redis://admin:admin@${server.address}`);
      await adoptPrefix(admin, PREFIX);
      admin.disconnect();
    });

    it('REDIS_URL with user and percent-encoded password: every store command is allowed', async () => {
      await exercise(open({ REDIS_URL: `redis://gateway:${encodeURIComponent(PASSWORD)}@${server.address}` }));
    });

    it('REDIS_USERNAME and REDIS_PASSWORD_FILE', async () => {
      const file = join(dir, 'redis-password');
      writeFileSync(file, `${PASSWORD}\n`);
      const store = open({ REDIS_URL: `redis://${server.address}`, REDIS_USERNAME: 'gateway', REDIS_PASSWORD_FILE: file });
      await exercise(store);
      assert.deepEqual(await store.inspect(), [], 'the policy is readable with +config|get');
    });

    it('a wrong password: every call fails with StoreUnavailableError, and no message holds a password', async () => {
      const wrong = `${PASSWORD}-wrong`;
      const store = open({ REDIS_URL: `redis://gateway:${encodeURIComponent(wrong)}@${server.address}` });
      const errors = await Promise.all(
        [store.claim('k', 'fp'), store.ping(), store.inspect(), store.release('k', 't')].map((call) =>
          call.then(
            () => assert.fail('expected a rejection'),
            (e: unknown) => e as Error,
          ),
        ),
      );
      for (const error of errors) {
        assert.equal(error.name, 'StoreUnavailableError');
        assert.match(error.message, /WRONGPASS/, 'the message says why');
        const text = `${error.message} ${String(error.stack)} ${String((error.cause as Error | undefined)?.message)}`;
        for (const secret of [PASSWORD, wrong, encodeURIComponent(wrong)]) assert.equal(text.includes(secret), false, text);
      }
    });
  });

  describe('TLS with a private CA', () => {
    const pem = (name: string) => join(dir, name);
    let server: SpareRedis;
    before(async () => {
      const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=gateway test CA');
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
      writeFileSync(pem('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
      openssl(
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'server.crt',
        '-days',
        '1',
        '-extfile',
        'server.ext',
      );
      server = new SpareRedis({ tls: { certFile: pem('server.crt'), keyFile: pem('server.key'), caFile: pem('ca.crt') } });
      servers.push(server);
      await server.start();
      const admin = new Redis({ host: '127.0.0.1', port: server.port, tls: { ca: readFileSync(pem('ca.crt')) }, maxRetriesPerRequest: 1 });
      admin.on('error', () => {});
      await adoptPrefix(admin, PREFIX);
      admin.disconnect();
    });

    it('rediss:// with REDIS_TLS_CA_FILE: the store works over TLS', async () => {
      await exercise(open({ REDIS_URL: server.url, REDIS_TLS_CA_FILE: pem('ca.crt') }));
    });

    it('rediss:// without the CA: the server is not trusted, the store is unavailable', async () => {
      const store = open({ REDIS_URL: server.url });
      await assert.rejects(store.ping(), { name: 'StoreUnavailableError' });
    });

    it('redis:// (plain) to a TLS-only server: unavailable, never a plaintext exchange that succeeds', async () => {
      const store = open({ REDIS_URL: server.url.replace('rediss:', 'redis:') });
      await assert.rejects(store.claim('k', 'fp'), { name: 'StoreUnavailableError' });
    });
  });
});
