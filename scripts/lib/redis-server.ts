/**
 * redis-server processes of the test's own on spare ports, so a test can stop, pause and restart
 * them (an outage, a failover) without touching the shared Redis on 6379.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';

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
function answersPing(port: number, tls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = tls
      ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => socket.write('PING\r\n'))
      : createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
    let reply = '';
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 500);
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
  /** Arguments after the defaults, e.g. `--requirepass`, `--cluster-enabled yes`; a function is read at each start. */
  args?: string[] | (() => string[]);
  /** Run as Sentinel from this config (written into the server's own directory: Sentinel rewrites it). */
  sentinelConfig?: (port: number) => string;
  /** TLS only (no plain port), from PEM files. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

const running = new Set<ChildProcess>();
// Should the test run itself die, its redis-servers go with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class SpareRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'spare-redis-'));
  private child: ChildProcess | undefined;
  port = 0;

  constructor(private readonly options: SpareRedisOptions = {}) {}

  get url(): string {
    return `${this.options.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts (or restarts, on the same port) and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn('redis-server', this.commandLine(), { stdio: 'ignore', cwd: this.dir });
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    await until('redis-server to answer PING', 10_000, async () => {
      assert.equal(child.exitCode, null, 'redis-server exited early');
      return (await answersPing(this.port, this.options.tls !== undefined)) ? true : undefined;
    });
  }

  private commandLine(): string[] {
    const { sentinelConfig, tls } = this.options;
    const args = typeof this.options.args === 'function' ? this.options.args() : (this.options.args ?? []);
    if (sentinelConfig) {
      const file = join(this.dir, 'sentinel.conf');
      writeFileSync(file, sentinelConfig(this.port));
      return [file, '--sentinel', '--dir', this.dir];
    }
    const listen = tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(this.port),
          '--tls-cert-file',
          tls.certFile,
          '--tls-key-file',
          tls.keyFile,
          '--tls-ca-cert-file',
          tls.caFile,
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(this.port)];
    return [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', this.dir, ...args];
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

  /** SIGSTOP / SIGCONT: the process is alive but answers nothing (a hung server). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async dispose(): Promise<void> {
    this.resume();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
