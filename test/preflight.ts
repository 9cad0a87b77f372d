/**
 * Checked once before any test (mocha's global setup, .mocharc.json): what the suite needs from
 * the machine. A missing piece is one clear message and exit 1, not a failing `before all` hook in
 * every file that needs it.
 */
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { REDIS_URL } from '../scripts/lib/redis-keys.js';

/** Any Redis reply to PING (+PONG, or -NOAUTH from a server with a password) means it is there. */
function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 1000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => finish(/^[+-]/.test(chunk.toString())));
    socket.on('error', () => finish(false));
  });
}

export async function mochaGlobalSetup(): Promise<void> {
  const missing: string[] = [];
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
    missing.push(
      'the redis-server binary is not on PATH: the outage, replica and diagnostics tests start Redis servers of their own ' +
        '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)',
    );
  }
  if (!(await redisAnswers(REDIS_URL))) {
    missing.push(`no Redis answers at ${REDIS_URL}: the Redis store tests use it (start one: redis-server --daemonize yes; or set REDIS_URL)`);
  }
  if (missing.length > 0) {
    process.stderr.write(`\nThe tests cannot run on this machine:\n${missing.map((m) => `  - ${m}\n`).join('')}\n`);
    process.exit(1);
  }
}
