/**
 * Redis going away and coming back, on a private redis-server (never the shared one): calls fail
 * fast with StoreUnavailableError while it is down, and the SAME store recovers without a restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { plainCodec } from '../../src/idempotency/codec.js';
import { createRedisClient, RedisStore } from '../../src/idempotency/redis-store.js';
import { StoreUnavailableError } from '../../src/idempotency/store.js';

const FAIL_FAST_BOUND_MS = 2000; // correctness bound: "does not hang", not a performance target
const timings = { lockTtlMs: 10_000, consumedTtlMs: 10_000 };

/** A port free right now, so parallel runs do not collide on a fixed one. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/** One raw RESP PING, independent of ioredis and its reconnect logic. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.on('error', () => finish(false));
  });
}

async function until<T>(what: string, deadlineMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('RedisStore outage and recovery', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idem-redis-'));
  let port = 0;
  let server: ChildProcess | undefined;
  let store: RedisStore | undefined;

  async function startServer(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    server = child;
    await until('redis-server to answer PING', 10_000, async () => {
      assert.equal(child.exitCode, null, 'redis-server exited early');
      return (await answersPing(port)) ? true : undefined;
    });
  }

  async function killServer(): Promise<void> {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  before(async () => {
    port = await freePort();
    await startServer();
  });

  after(async () => {
    await store?.close();
    await killServer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails fast while Redis is down and recovers on the same store object', async () => {
    store = new RedisStore({
      redis: createRedisClient(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 500 }),
      keyPrefix: 'outage:',
      timings,
      codec: plainCodec,
    });
    assert.equal((await store.claim(`k-${randomUUID()}`, 'fp')).state, 'claimed');
    await store.ping();

    await killServer();

    for (const [name, call] of [
      ['claim', () => store!.claim(`k-${randomUUID()}`, 'fp')],
      ['ping', () => store!.ping()],
      ['complete', () => store!.complete('k', 'token', { status: 200, contentType: 'a', body: 'b' })],
      ['release', () => store!.release('k', 'token')],
    ] as const) {
      const started = Date.now();
      await assert.rejects(call(), StoreUnavailableError, name);
      const elapsed = Date.now() - started;
      assert.ok(elapsed < FAIL_FAST_BOUND_MS, `${name} took ${elapsed} ms while Redis was down`);
    }

    await startServer();

    // The client reconnects by itself (retryStrategy); the restarted server has an empty script
    // cache, so this also proves EVALSHA falls back to EVAL.
    await until('store.ping to succeed again', 10_000, () => store!.ping().then(() => true, () => undefined));
    const result = await store.claim(`k-${randomUUID()}`, 'fp');
    assert.equal(result.state, 'claimed');
    assert.ok(result.state === 'claimed');
    assert.equal(await store.complete(`k-none`, result.token, { status: 200, contentType: 'a', body: 'b' }), false);
  });
});
