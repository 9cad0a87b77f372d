/**
 * The benchmark's processes: each service (simulator, baseline proxy, peer, gateway) is its own
 * node child (TypeScript through tsx, or compiled JavaScript as it ships), so /proc gives the CPU
 * and RSS of its process tree. Only the children started here are ever signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const CLK_TCK = 100;

export interface Service {
  name: string;
  pid: number;
  child: ChildProcess;
  /** stderr so far (kept for failure messages). */
  stderr(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const started = new Set<Service>();

export function startService(options: {
  name: string;
  script: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  /** Run `script` through the tsx loader (TypeScript) or as plain JavaScript (a built dist/). Default: by extension. */
  tsx?: boolean;
  /** Where stdout goes: a file path (appended), or ignored. Never a pipe: it could back-pressure the child. */
  stdoutFile?: string;
}): Service {
  const stdoutFd = options.stdoutFile === undefined ? 'ignore' : openSync(options.stdoutFile, 'a');
  const tsx = options.tsx ?? options.script.endsWith('.ts');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...(tsx ? ['--import', 'tsx'] : []), options.script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', stdoutFd, 'pipe'],
  });
  if (typeof stdoutFd === 'number') closeSync(stdoutFd);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (err.length < 64 * 1024) err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (child.pid === undefined) throw new Error(`${options.name}: could not start`);
  const service: Service = {
    name: options.name,
    pid: child.pid,
    child,
    stderr: () => err,
    exited,
    async stop(graceMs = 5000) {
      started.delete(service);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  started.add(service);
  return service;
}

/** Stops every service this process started and has not stopped yet. */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...started].map((s) => s.stop(2000)));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `url` answers anything over HTTP; rejects if the service exits or time runs out. */
export async function waitForHttp(service: Service, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void service.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${service.name} exited during start-up:\n${service.stderr()}`);
    const up = await new Promise<boolean>((resolve) => {
      const req = http.get(url, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${service.name} did not answer at ${url} within ${timeoutMs} ms:\n${service.stderr()}`);
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces): [0] is field 3 (state). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // exited meanwhile
  }
}

/** The process and every live descendant (a shell or npm in front of node counts too). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (Number.isFinite(ppid)) children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const tree: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = queue.pop()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** utime + stime of a process tree (all threads of each process), in ms of CPU. */
export function cpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const fields = statFields(p);
    if (fields !== undefined) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / CLK_TCK;
}

/** VmRSS of a process tree, in MB. */
export function rssMb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += match ? Number(match[1]) : 0;
    } catch {
      // exited meanwhile
    }
  }
  return kb / 1024;
}

/** One JSON POST, for set-up and checks (not for load). */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
