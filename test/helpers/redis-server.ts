/**
 * A redis-server of the test's own on a spare port, so a test can stop and restart it (an outage)
 * without touching the shared Redis on 6379.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port free right now, so parallel runs do not collide on a fixed one. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/**
 * One raw RESP PING, independent of ioredis and its reconnect logic. A server that wants a
 * password answers NOAUTH: it is up all the same.
 */
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
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
    socket.on('error', () => finish(false));
  });
}

/** Polls `attempt` until it returns a value, or fails after `deadlineMs`. */
export async function until<T>(what: string, deadlineMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface SpareRedisOptions {
  /** Arguments after the defaults, e.g. `--requirepass`. */
  args?: string[];
}

export class SpareRedis {
  private readonly dir = mkdtempSync(join(tmpdir(), 'spare-redis-'));
  private child: ChildProcess | undefined;
  port = 0;

  constructor(private readonly options: SpareRedisOptions = {}) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, on the same port) and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', this.dir, ...(this.options.args ?? [])],
      { stdio: 'ignore' },
    );
    this.child = child;
    await until('redis-server to answer PING', 10_000, async () => {
      assert.equal(child.exitCode, null, 'redis-server exited early');
      return (await answersPing(this.port)) ? true : undefined;
    });
  }

  /** SIGKILL: an outage, not a clean shutdown. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
