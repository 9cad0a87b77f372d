/**
 * The gateway as a real process (`node --import tsx src/main.ts`, or another command such as
 * `npm start`), for what only a process shows: signals, exit codes, start-up failures, and every
 * byte written to stdout and stderr. The environment is exactly what the test gives (plus PATH,
 * a fingerprint key for a Redis store, and the breaker off unless the test sets it): nothing leaks
 * in from the shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The fingerprint key of this run's gateways on Redis (a Redis store refuses to start without one). */
export const TEST_FINGERPRINT_KEY = randomBytes(32).toString('base64');

/** The key a Redis store needs, unless the caller names its own (or names it undefined: none at all). */
export function withFingerprintKey(env: Record<string, string>): Record<string, string> {
  const needed = env.IDEMPOTENCY_STORE === 'redis' && !('IDEMPOTENCY_FINGERPRINT_KEY' in env) && !('IDEMPOTENCY_FINGERPRINT_KEY_FILE' in env);
  return needed ? { ...env, IDEMPOTENCY_FINGERPRINT_KEY: TEST_FINGERPRINT_KEY } : env;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  child: ChildProcess;
  /** Raw output, in the order written. */
  stdout: () => string;
  stderr: () => string;
  /** stdout lines that are JSON (the pino lines). */
  logs: () => Array<Record<string, unknown>>;
  /** Resolves with the first log line (already written or yet to come) that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  signal(signal: NodeJS.Signals): void;
  exited: Promise<Exit>;
  /** SIGKILL unless already exited; for `after` hooks, safe to call twice. */
  kill(): Promise<Exit>;
}

const running = new Set<GatewayProcess>();
// Should the test run itself die, its gateways go with it.
process.once('exit', () => {
  for (const proc of running) proc.kill();
});

export interface SpawnOptions {
  /** Default: this Node running src/main.ts through tsx. */
  command?: [string, ...string[]];
  /** Its own process group (kill(-pid) signals all of it, as a terminal's Ctrl-C does). */
  detached?: boolean;
}

export function spawnGateway(env: Record<string, string>, options: SpawnOptions = {}): GatewayProcess {
  const [command, ...args] = options.command ?? [process.execPath, '--import', 'tsx', 'src/main.ts'];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', GALILEO_CIRCUIT_FAILURES: '0', ...withFingerprintKey(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let out = '';
  let err = '';
  const parsed: Array<Record<string, unknown>> = [];
  let pending = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      try {
        parsed.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a pino line: still in stdout() for the leak scan
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  // 'close', not 'exit': it comes once stdout and stderr are drained, so no last line is missed.
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    });
  });
  child.once('error', (error) => {
    err += `spawn failed: ${error.message}\n`;
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    for (const wake of waiters) wake();
  });

  const proc: GatewayProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    logs: () => parsed,
    waitForLog(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = parsed.find(match);
          if (found) return finish(() => resolve(found));
          if (hasExited) finish(() => reject(new Error(`gateway exited before the expected log line\nstdout:\n${out}\nstderr:\n${err}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no matching log line within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    signal(signal) {
      child.kill(signal);
    },
    exited,
    kill() {
      if (options.detached && child.pid !== undefined) {
        // The whole group: whatever the command started (npm's node) must not outlive the test.
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // ESRCH: the group is gone already
        }
      } else if (!hasExited && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
      return exited;
    },
  };
  running.add(proc);
  return proc;
}

/** Spawns and waits for `gateway started`; the url is the one the process logged. */
export async function startGatewayProcess(
  env: Record<string, string>,
  options: SpawnOptions & { startTimeoutMs?: number } = {},
): Promise<GatewayProcess & { url: string }> {
  const proc = spawnGateway({ PORT: '0', HOST: '127.0.0.1', ...env }, options);
  try {
    const started = await proc.waitForLog((l) => l.msg === 'gateway started', options.startTimeoutMs ?? 20_000);
    return Object.assign(proc, { url: String(started.url) });
  } catch (error) {
    await proc.kill();
    throw error;
  }
}

/** Kills every gateway process still running: call from `after` hooks, whatever happened. */
export async function killAllGatewayProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}
