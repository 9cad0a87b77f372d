/**
 * Every shell example in README.md and docs/*.md, run for real with bash against the simulator,
 * so none can go stale. A fenced block whose info string is a shell (sh, bash, shell, console, …)
 * is an example. The HTML comment on the line before its fence decides how it runs:
 *
 * - none: a script on its own, in a temporary copy of the project, that must exit 0 in time;
 * - `<!-- example: NAME -->`: a scenario of this file (SCENARIOS): servers started in the
 *   background until they log that they are ready, the blocks and checks that call them, then
 *   SIGTERM to every process group the scenario started;
 * - `<!-- example: not run (REASON) -->`: exempt, with its reason (still checked: bash syntax and
 *   every npm script it names). Anything that can run here (simulator, Redis, Sentinel, Cluster)
 *   must run.
 *
 * Each scenario runs in a temporary copy of the project (node_modules linked: what `npm ci` made
 * for this run) and, where the machine allows it (`unshare -rn`), in a network namespace of its
 * own with a private Redis on 127.0.0.1:6379: the docs' fixed ports (8080, 8090, 6379, …) then
 * collide with nothing else on the machine, and the examples' keys stay off the shared Redis.
 * Elsewhere the blocks run on the host's network, against the Redis at 127.0.0.1:6379.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BUCKETS } from '../../src/idempotency/redis-store.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHELLS = new Set(['sh', 'bash', 'shell', 'console', 'shell-session', 'zsh']);
const MARKER = /^<!--\s*example:\s*(.*?)\s*-->$/;

interface Block {
  /** `README.md:43`: where its fence opens. */
  where: string;
  info: string;
  code: string;
  /** What the `<!-- example: … -->` comment before the fence says, if there is one. */
  marker: string | undefined;
}

/** The fenced blocks (``` or ~~~, any length, indented up to three spaces) whose info string is a shell. */
function shellBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`{]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const info = open[2]!.toLowerCase();
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[end]!)) end++;
    if (SHELLS.has(info)) {
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === '') before--;
      const marker = before >= 0 ? MARKER.exec(lines[before]!.trim())?.[1] : undefined;
      blocks.push({ where: `${file}:${i + 1}`, info, code: lines.slice(i + 1, end).join('\n'), marker });
    }
    i = end;
  }
  return blocks;
}

const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const BLOCKS = FILES.flatMap(shellBlocks);
const exemption = (b: Block) => /^not run \((.+)\)$/.exec(b.marker ?? '')?.[1];

/** A `console` block's commands are its `$ ` lines; what follows them is the output they show. */
function script(block: Block): { code: string; shows: string[] } {
  if (block.info !== 'console' && block.info !== 'shell-session') return { code: block.code, shows: [] };
  const lines = block.code.split('\n');
  return {
    code: lines
      .filter((l) => l.startsWith('$ '))
      .map((l) => l.slice(2))
      .join('\n'),
    shows: lines.filter((l) => !l.startsWith('$ ') && l.trim() !== ''),
  };
}

/** What the blocks inherit: the machine's basics, none of the gateway's variables from this run. */
function blockEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TMPDIR', 'SHELL'];
  const env: Record<string, string> = { npm_config_update_notifier: 'false', npm_config_fund: 'false' };
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return { ...env, ...extra };
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const groups = new Set<number>();
// Should the test run itself die, what it started goes with it.
process.once('exit', () => {
  for (const pgid of groups) killGroup(pgid, 'SIGKILL');
});

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: gone already
  }
}

/** A temporary copy of the project (node_modules linked), shared by the scenarios: dist/ is built once. */
function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'doc-examples-'));
  const skip = new Set(['node_modules', '.git', 'dist', 'scratch']);
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !skip.has(basename(src)) });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * Sets every bucket's epoch key under the default IDEMPOTENCY_KEY_PREFIX, as scripts/lib's
 * adoptPrefix does: the private Redis stands for the long-running one a developer has on 6379,
 * which the store would otherwise fence for one lock TTL (it cannot tell a server started a
 * second ago from one that lost its data; docs/operations.md, Fencing).
 */
const ADOPT_DEFAULT_PREFIX = `redis-cli -p 6379 EVAL "local id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') for b = 0, ${BUCKETS - 1} do redis.call('SET', ARGV[1] .. '{' .. b .. '}epoch', id) end" 0 galileo-gw:idem:`;

/** Where the blocks run: the project's copy, and (where possible) a network namespace with its own Redis. */
class Sandbox {
  private holder: ChildProcess | undefined;
  private readonly runs: Run[] = [];

  constructor(readonly dir: string) {}

  async start(): Promise<void> {
    if (spawnSync('unshare', ['-rn', 'true']).status !== 0) return;
    const holder = spawn(
      'unshare',
      ['-rn', 'bash', '-c', 'ip link set lo up && { redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no >/dev/null & exec sleep infinity; }'],
      { stdio: 'ignore', detached: true },
    );
    this.holder = holder;
    groups.add(holder.pid!);
    const ping = await this.run(`for i in $(seq 100); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.05; done\n${ADOPT_DEFAULT_PREFIX}`, 10_000);
    if (ping.code !== 0) {
      // No namespace here after all: the host's network it is.
      killGroup(holder.pid!, 'SIGKILL');
      this.holder = undefined;
    }
  }

  /** Starts bash on `code` in its own process group (set -eo pipefail: a failing step fails the block). */
  spawn(code: string, env: Record<string, string> = {}): Run {
    const argv = ['bash', '-c', `set -eo pipefail\n${code}`];
    const [command, ...args] = this.holder ? ['nsenter', '-t', String(this.holder.pid), '-U', '-n', '--preserve-credentials', ...argv] : argv;
    const child = spawn(command!, args, { cwd: this.dir, env: blockEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    groups.add(child.pid!);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const run = { child, output: () => out, exited };
    this.runs.push(run);
    return run;
  }

  /** Runs `code` to its end (or kills it after `timeoutMs`). */
  async run(code: string, timeoutMs = 30_000, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
    const run = this.spawn(code, env);
    const timer = setTimeout(() => killGroup(run.child.pid!, 'SIGKILL'), timeoutMs);
    const exit = await run.exited;
    clearTimeout(timer);
    groups.delete(run.child.pid!);
    return { code: exit, output: run.output() + (exit === null ? `\n(killed after ${timeoutMs} ms)` : '') };
  }

  /** Waits until the output matches `ready` (or the process ends, or time runs out: both fail). */
  async waitFor(run: Run, ready: (output: string) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    // The shell itself ending is enough: what it left in the background may hold its output open.
    const ended = () => run.child.exitCode !== null || run.child.signalCode !== null;
    const deadline = Date.now() + timeoutMs;
    while (!ready(run.output())) {
      if (ended()) assert.fail(`${what}: it exited before it was ready\n${run.output()}`);
      if (Date.now() > deadline) assert.fail(`${what}: not ready within ${timeoutMs} ms\n${run.output()}`);
      await sleep(50);
    }
  }

  /** SIGTERM to every process group started, then SIGKILL to what is left after 5 s. */
  async stopAll(): Promise<void> {
    const live = this.runs.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
    for (const r of live) killGroup(r.child.pid!, 'SIGTERM');
    const grace = sleep(5_000).then(() => live.forEach((r) => killGroup(r.child.pid!, 'SIGKILL')));
    await Promise.race([Promise.all(live.map((r) => r.exited)), grace]);
    // Whatever a block left in the background of a group that ended (a daemon) goes too.
    for (const r of this.runs) {
      killGroup(r.child.pid!, 'SIGKILL');
      groups.delete(r.child.pid!);
    }
    this.runs.length = 0;
  }

  async dispose(): Promise<void> {
    await this.stopAll();
    if (this.holder) {
      killGroup(this.holder.pid!, 'SIGKILL');
      groups.delete(this.holder.pid!);
    }
  }
}

const started = (count: number) => (output: string) => (output.match(/"msg":"gateway started"/g) ?? []).length >= count;

function block(name: string): Block {
  const found = BLOCKS.filter((b) => b.marker === name);
  assert.equal(found.length, 1, `one block marked <!-- example: ${name} --> (found ${found.length})`);
  return found[0]!;
}

const ran = new Set<Block>();

async function runToEnd(sandbox: Sandbox, b: Block, env: Record<string, string> = {}): Promise<string> {
  const { code, shows } = script(b);
  const result = await sandbox.run(code, 30_000, env);
  assert.equal(result.code, 0, `${b.where} exited ${result.code}\n${result.output}`);
  for (const line of shows) assert.ok(result.output.includes(line.trim()), `${b.where} shows "${line}"; it printed:\n${result.output}`);
  ran.add(b);
  return result.output;
}

/** A createAccount sent twice, to `first` then `second`: the second must be a replay. */
const replayCheck = (first: string, second: string) => `
body='{"transactionId":"docs-replay-1","prodId":501,"firstName":"John","middleName":"P","lastName":"Smith","loadAmount":25}'
curl -sf ${first}/intserv/4.0/createAccount -H 'content-type: application/json' -d "$body" | grep -q '"status_code":0'
curl -sfi ${second}/intserv/4.0/createAccount -H 'content-type: application/json' -d "$body" | grep -qi '^idempotent-replayed: true'
`;

/**
 * The blocks marked `<!-- example: NAME -->`, by NAME. Each gets a fresh sandbox; what the
 * surrounding text says comes back is checked here.
 */
const SCENARIOS: Record<string, (sandbox: Sandbox) => Promise<void>> = {
  // README: npm start, then the Try-it and three-operations calls against it.
  'quick-start': async (sandbox) => {
    // Without its `npm ci`: the copy shares this checkout's node_modules, which `npm ci` made already.
    const server = sandbox.spawn(block('quick-start').code.replace(/^npm ci && /m, ''));
    await sandbox.waitFor(server, started(1), 'npm start');
    ran.add(block('quick-start'));
    const tryIt = await runToEnd(sandbox, block('try-it'));
    assert.match(tryIt, /^idempotent-replayed: true\r?$/im, 'the second call is a replay');
    const problem = tryIt.slice(tryIt.lastIndexOf('{"type"'));
    for (const field of ['"field":"mobilePhoneCountryCode"', '"field":"colour"', '"field":"prodId","message":"must be integer"']) {
      assert.ok(problem.includes(field), `the bad request's problem names ${field}: ${problem}`);
    }
    const sim = /"simulatorAdmin":"([^"]+)"/.exec(server.output())?.[1];
    assert.ok(sim, `npm start's warning names simulatorAdmin\n${server.output()}`);
    const operations = await runToEnd(sandbox, block('three-operations'), { SIM: sim });
    assert.match(operations, /^PRN=\d{12}$/m);
    assert.match(operations, /PIN=\d{4}$/m);
    // createAccount's answer goes into PRN (its pmt_ref_no, checked above); the other three print theirs.
    assert.equal((operations.match(/"status_code":0/g) ?? []).length, 3, `each call answers "status_code":0\n${operations}`);
  },
  // docs/operations.md and docs/simulator.md: lists of ways to run one thing, each line on its own.
  'each-line': async (sandbox) => {
    for (const b of BLOCKS.filter((x) => x.marker === 'each-line')) {
      for (const line of b.code.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))) {
        // A line either finishes (exit 0) or starts a server that says it is up: then it is stopped.
        const run = sandbox.spawn(line);
        const up = (out: string) => started(1)(out) || /Galileo simulator listening: http/.test(out);
        let code: number | null | undefined;
        void run.exited.then((c) => (code = c));
        const deadline = Date.now() + 30_000;
        while (code === undefined && !up(run.output()) && Date.now() < deadline) await sleep(50);
        assert.ok(code === 0 || (code === undefined && up(run.output())), `${b.where}: \`${line}\` neither finished nor started\n${run.output()}`);
        await sandbox.stopAll();
      }
      ran.add(b);
    }
  },
  // README.md and docs/tracing.md: npm start with an OTLP endpoint. The collector named there does
  // not exist here: tracing is on, and a request still answers at once (docs/tracing.md, failure).
  tracing: async (sandbox) => {
    for (const b of BLOCKS.filter((x) => x.marker === 'tracing')) {
      const server = sandbox.spawn(b.code);
      await sandbox.waitFor(server, started(1), b.where);
      assert.match(server.output(), /"tracing":\{"protocol":"http\/protobuf"/, `${b.where}: the started line says tracing is on`);
      const check = await sandbox.run(
        `curl -sf --max-time 5 localhost:8080/intserv/4.0/createAccount -H 'content-type: application/json' -d '{"transactionId":"docs-tracing-1","prodId":501}'`,
      );
      assert.equal(check.code, 0, `${b.where}: a request with the collector unreachable\n${check.output}\n${server.output()}`);
      assert.match(check.output, /"status_code":0/);
      await sandbox.stopAll();
      ran.add(b);
    }
  },
  // docs/idempotency.md: a standalone simulator and two replicas on one Redis share the store.
  replicas: async (sandbox) => {
    const server = sandbox.spawn(block('replicas').code);
    await sandbox.waitFor(server, started(2), 'two replicas');
    const check = await sandbox.run(replayCheck('localhost:8081', 'localhost:8082'));
    assert.equal(check.code, 0, `a call replayed by the other replica\n${check.output}\n${server.output()}`);
    ran.add(block('replicas'));
  },
  // docs/operations.md: a gateway on a local Sentinel group. Its master is brand-new, so (as the
  // text says) new claims wait one lock TTL: the first call gets that 503, from the master that
  // the sentinels named.
  sentinel: async (sandbox) => {
    const server = sandbox.spawn(block('sentinel').code);
    await sandbox.waitFor(server, started(1), 'the gateway on Sentinel');
    assert.match(server.output(), /"topology":"sentinel"/);
    const check = await sandbox.run(`
curl -sf localhost:8080/readyz && echo
curl -si localhost:8080/intserv/4.0/createAccount -H 'content-type: application/json' -d '{"transactionId":"docs-sentinel-1","prodId":501}'`);
    assert.equal(check.code, 0, check.output);
    assert.match(check.output, /^HTTP\/1\.1 503 /m);
    assert.match(check.output, /^retry-after: \d+\r?$/im);
    assert.match(check.output, /"code":"idempotency_store_unavailable"/);
    ran.add(block('sentinel'));
  },
};

/** The client blocks a scenario runs against its servers. */
const CLIENTS = new Set(['try-it', 'three-operations']);

describe('docs: every shell example in README.md and docs/*.md runs', function () {
  this.timeout(60_000);
  let dir = '';
  let sandbox: Sandbox | undefined;

  before(() => {
    dir = copyProject();
  });
  afterEach(async () => {
    await sandbox?.dispose();
    sandbox = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every shell block is run or exempted with a reason, and every marker names a scenario', () => {
    assert.ok(BLOCKS.length >= 10, `found only ${BLOCKS.length} shell blocks`);
    for (const b of BLOCKS) {
      if (b.marker === undefined || exemption(b) !== undefined) continue;
      assert.ok(b.marker in SCENARIOS || CLIENTS.has(b.marker), `${b.where}: unknown <!-- example: ${b.marker} -->`);
    }
    for (const name of [...Object.keys(SCENARIOS), ...CLIENTS])
      assert.ok(
        BLOCKS.some((b) => b.marker === name),
        `no block is marked ${name}`,
      );
  });

  it('the exempted blocks are still valid bash and name only npm scripts that exist', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const builtIn = new Set(['ci', 'install', 'test', 'start', 'run', 'prune', 'view', 'pack']);
    for (const b of BLOCKS.filter((x) => exemption(x) !== undefined)) {
      const syntax = spawnSync('bash', ['-n'], { input: script(b).code, encoding: 'utf8' });
      assert.equal(syntax.status, 0, `${b.where}: ${syntax.stderr}`);
      for (const [, name] of script(b).code.matchAll(/\bnpm run ([\w:-]+)/g)) assert.ok(name! in scripts, `${b.where}: no npm script ${name}`);
      for (const [, name] of script(b).code.matchAll(/\bnpm (?!run\b)([\w:-]+)/g)) assert.ok(builtIn.has(name!), `${b.where}: npm ${name}?`);
    }
  });

  for (const b of BLOCKS.filter((x) => x.marker === undefined)) {
    it(`${b.where} runs on its own and exits 0`, async () => {
      sandbox = new Sandbox(dir);
      await sandbox.start();
      await runToEnd(sandbox, b);
    });
  }

  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(`<!-- example: ${name} --> (${BLOCKS.filter((b) => b.marker === name)
      .map((b) => b.where)
      .join(', ')})`, async () => {
      sandbox = new Sandbox(dir);
      await sandbox.start();
      await scenario(sandbox);
    });
  }

  it('every block not exempted has run', () => {
    const exempt = BLOCKS.filter((b) => exemption(b) !== undefined);
    const notRun = BLOCKS.filter((b) => exemption(b) === undefined && !ran.has(b)).map((b) => b.where);
    assert.deepEqual(notRun, [], 'blocks neither run nor exempted');
    console.log(
      `      ${BLOCKS.length} shell examples: ${ran.size} run, ${exempt.length} exempted (${exempt.map((b) => `${b.where}: ${exemption(b)}`).join('; ')})`,
    );
  });
});
