/**
 * The gateway as a real process (`node --import tsx src/main.ts`, or another command such as
 * `npm start`), for what only a process shows: signals, exit codes, start-up failures, and every
 * byte written to stdout and stderr. The environment is exactly what the test gives (plus PATH,
 * a fingerprint key for a Redis store, and the breaker off unless the test sets it): nothing leaks
 * in from the shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { CREDENTIALS, startTestSimulator, withFingerprintKey, type Simulator } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

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

export interface GatewayProcessSuite {
  /** Set once the suite's `before` hook has run. */
  readonly sim: Simulator;
  /**
   * GALILEO_BASE_URL and the three credentials for the suite's simulator, then `overrides`;
   * caller auth explicitly off unless the overrides configure clients.
   */
  galileoEnv(overrides?: Record<string, string>): Record<string, string>;
  /** Waits (up to 2 s) until the simulator has received a request with this transactionId. */
  reachedGalileo(transactionId: string): Promise<void>;
}

/**
 * For a `describe` of gateway processes against one simulator: the simulator starts before the
 * suite, its faults are cleared after each test, and every gateway process and the simulator stop
 * after the suite, whatever happened.
 */
export function gatewayProcessSuite(): GatewayProcessSuite {
  let sim: Simulator | undefined;
  const started = () => {
    if (sim === undefined) throw new Error('gatewayProcessSuite: the simulator is not started yet (use it inside a test or hook)');
    return sim;
  };
  before(async () => {
    sim = await startTestSimulator();
  });
  afterEach(() => sim?.clearFaults());
  after(async () => {
    await killAllGatewayProcesses();
    await sim?.close();
  });
  return {
    get sim() {
      return started();
    },
    galileoEnv: (overrides = {}) => ({
      GALILEO_BASE_URL: started().url,
      GALILEO_API_LOGIN: CREDENTIALS.apiLogin,
      GALILEO_API_TRANS_KEY: CREDENTIALS.apiTransKey,
      GALILEO_PROVIDER_ID: String(CREDENTIALS.providerId),
      ...(overrides.GATEWAY_CLIENTS === undefined && { GATEWAY_AUTH: 'off' }),
      ...overrides,
    }),
    async reachedGalileo(transactionId) {
      const arrived = () =>
        started()
          .requests()
          .some((r) => r.params.transactionId === transactionId);
      for (let i = 0; i < 200 && !arrived(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      if (!arrived()) throw new Error(`${transactionId} never reached Galileo`);
    },
  };
}

/** The status of a GET on a new connection, or the connection error's code (ECONNREFUSED). */
export function probe(url: string): Promise<number | string | undefined> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
      .on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}
