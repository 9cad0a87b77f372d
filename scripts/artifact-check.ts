/**
 * `npm run artifact-check` (run by .ci/run after npm test): the Dockerfile's steps, performed in a
 * temporary directory because no container engine is available here. Every stage of the
 * Dockerfile gets its own directory; its instructions run in order (COPY from the build context,
 * which .dockerignore filters, or from an earlier stage; RUN through sh; ENV; WORKDIR), so the
 * check follows the Dockerfile instead of restating it. An instruction it cannot emulate fails
 * the check. Not emulated: the base image (this machine's node and npm run the steps) and USER
 * (the steps run as whoever runs the check).
 *
 * Then the runtime stage's CMD is started as production would start it: NODE_ENV from the
 * Dockerfile, the standalone simulator (`node dist/src/simulator/main.js` of the same artifact)
 * as Galileo at a real-looking base URL, the three credentials as *_FILE secrets, GATEWAY_CLIENTS
 * with a key hash, Redis with an encryption key. One request of each operation with a bearer key
 * (and the alert confirm step), SIGTERM, exit 0. Needs only the npm registry and a Redis
 * (REDIS_URL, default redis://127.0.0.1:6379).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { deleteByPrefix } from './lib/redis-keys.js';
import { shippedNodeArgs } from './lib/start-command.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEEP = process.argv.includes('--keep');
const t0 = performance.now();
const log = (message: string) => process.stdout.write(`[artifact-check ${((performance.now() - t0) / 1000).toFixed(1)}s] ${message}\n`);

class CheckFailed extends Error {}
function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

// ---- The Dockerfile, read as instructions -------------------------------------------------------

interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

function readDockerfile(path: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const text = raw.trim();
      if (pending === '' && (text === '' || text.startsWith('#'))) return;
      if (pending === '') startLine = i + 1;
      if (text.endsWith('\\')) {
        pending += `${text.slice(0, -1)} `;
        return;
      }
      const whole = pending + text;
      pending = '';
      const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(whole) ?? [];
      instructions.push({ line: startLine, keyword: keyword.toUpperCase(), args });
    });
  return instructions;
}

/** .dockerignore: patterns with *, ** and ?, `!` re-includes, the last matching pattern wins. */
function dockerignore(path: string): (relPath: string) => boolean {
  const rules = existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => {
          const negate = l.startsWith('!');
          const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
          const source = pattern
            .split('**')
            .map((part) =>
              part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
            )
            .join('.*');
          return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
        })
    : [];
  return (relPath) => rules.reduce((ignored, rule) => (rule.regex.test(relPath) ? !rule.negate : ignored), false);
}

interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  cmd: string[] | undefined;
}

/** A path inside a stage's filesystem, on this machine. */
const inStage = (stage: Stage, path: string) => join(stage.root, path.startsWith('/') ? path : join(stage.workdir, path));

function runDockerfile(workDir: string): Map<string, Stage> {
  const ignored = dockerignore(join(ROOT, '.dockerignore'));
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  for (const { line, keyword, args } of readDockerfile(join(ROOT, 'Dockerfile'))) {
    const where = `Dockerfile:${line} ${keyword}`;
    if (keyword === 'FROM') {
      const [, image = '', name = String(stages.size)] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      const major = /^node:(\d+)/.exec(image)?.[1];
      check(major !== undefined, `${where}: only node images are emulated, got ${image}`);
      check(process.versions.node.split('.')[0] === major, `${where}: the image runs Node ${major}, this machine ${process.versions.node}`);
      stage = { name, root: join(workDir, name), workdir: '/', env: {}, user: undefined, cmd: undefined };
      mkdirSync(stage.root, { recursive: true });
      stages.set(name, stage);
      log(`stage ${name} (${image})`);
      continue;
    }
    check(stage !== undefined, `${where}: before FROM`);
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = args.startsWith('/') ? args : join(stage.workdir, args);
        mkdirSync(inStage(stage, '.'), { recursive: true });
        break;
      case 'ENV':
        for (const [, key = '', value = ''] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage.env[key] = value.replace(/^"|"$/g, '');
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const [dest = '', ...sources] = words.filter((w) => !w.startsWith('--')).reverse();
        check(sources.length > 0, `${where}: no source`);
        const source = from === undefined ? undefined : stages.get(from);
        check(from === undefined || source !== undefined, `${where}: no stage ${from}`);
        for (const src of sources.reverse()) {
          const origin = source ? inStage(source, src) : join(ROOT, src);
          const rel = relative(ROOT, origin);
          check(existsSync(origin), `${where}: ${src} does not exist`);
          check(source !== undefined || !ignored(rel), `${where}: ${src} is excluded by .dockerignore`);
          // COPY a b/ puts a inside b; COPY dir dest copies dir's contents into dest.
          const target = dest.endsWith('/') || sources.length > 1 ? join(inStage(stage, dest), src.split('/').pop()!) : inStage(stage, dest);
          const isDir = statSync(origin).isDirectory();
          mkdirSync(isDir ? target : dirname(target), { recursive: true });
          cpSync(origin, target, {
            recursive: true,
            filter: (path) => source !== undefined || !ignored(relative(ROOT, path)),
          });
        }
        break;
      }
      case 'RUN': {
        const started = performance.now();
        const result = spawnSync('sh', ['-c', args], {
          cwd: inStage(stage, '.'),
          env: { ...process.env, ...stage.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          encoding: 'utf8',
        });
        check(result.status === 0, `${where} ${args}: exit ${result.status}\n${result.stdout}\n${result.stderr}`);
        log(`  RUN ${args} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
        break;
      }
      case 'USER':
        stage.user = args;
        break;
      case 'CMD':
        check(args.startsWith('['), `${where}: use the exec form, so the command is PID 1 and receives SIGTERM`);
        stage.cmd = JSON.parse(args) as string[];
        break;
      case 'EXPOSE':
        break;
      default:
        throw new CheckFailed(`${where}: not emulated by scripts/artifact-check.ts; teach it, or the check no longer follows the Dockerfile`);
    }
  }
  return stages;
}

// ---- The image's contents -----------------------------------------------------------------------

function checkRuntimeContents(runtime: Stage): void {
  const app = inStage(runtime, '.');
  check(runtime.env.NODE_ENV === 'production', 'the runtime stage does not set NODE_ENV=production');
  check(runtime.user !== undefined && runtime.user !== 'root' && runtime.user !== '0', 'the runtime stage runs as root');
  check(runtime.cmd?.[0] === 'node', `CMD must start node itself (PID 1), got ${JSON.stringify(runtime.cmd)}`);
  // The same flags as npm start (the heap cap the memory store's default bound is sized to).
  const shipped = ['node', ...shippedNodeArgs(ROOT), 'dist/src/main.js'];
  check(
    JSON.stringify(runtime.cmd) === JSON.stringify(shipped),
    `CMD must be ${JSON.stringify(shipped)} (package.json start's flags), got ${JSON.stringify(runtime.cmd)}`,
  );
  // The lockfile marks what only the dev dependencies need (`dev: true`): none of it may be there,
  // all of the rest must be (some @types packages are legitimately production: express-openapi-validator needs them).
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
  const installed = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
  const devInstalled = installed.filter(([path, info]) => info.dev === true && existsSync(join(app, path))).map(([path]) => path);
  check(devInstalled.length === 0, `dev-only packages in the runtime image: ${devInstalled.slice(0, 10).join(', ')}`);
  const missing = installed.filter(([path, info]) => !info.dev && !info.optional && !existsSync(join(app, path))).map(([path]) => path);
  check(missing.length === 0, `production packages missing: ${missing.slice(0, 10).join(', ')}`);
  for (const file of ['dist/src/main.js', 'dist/generated/gateway.openapi.json', 'dist/openapi/galileo.yaml', 'dist/src/simulator/main.js']) {
    check(existsSync(join(app, file)), `${file} is not in the runtime image`);
  }
  check(!existsSync(join(app, 'src')) && !existsSync(join(app, 'test')), 'sources or tests in the runtime image');
  const production = installed.filter(([, info]) => !info.dev).length;
  log(
    `runtime image: dist/ + ${production} production packages (${installed.length - production} dev-only ones absent), NODE_ENV=production, USER ${runtime.user}, CMD ${JSON.stringify(runtime.cmd)}`,
  );
}

// ---- Running it ---------------------------------------------------------------------------------

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
}

const children = new Set<ChildProcess>();

function start(command: string[], cwd: string, env: Record<string, string>): Running {
  const child = spawn(command[0]!, command.slice(1), { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(out);
        if (match) return match;
        check(child.exitCode === null && child.signalCode === null, `${command.join(' ')} exited early\n${out}\n${err}`);
        check(Date.now() < deadline, `no ${pattern} from ${command.join(' ')} within ${timeoutMs} ms\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

async function call(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function exercise(runtime: Stage, secretsDir: string, redisPrefix: string): Promise<void> {
  const app = inStage(runtime, '.');
  const credentials = {
    apiLogin: `gw-${randomBytes(4).toString('hex')}`,
    apiTransKey: randomBytes(7).toString('hex').slice(0, 15),
    providerId: String(10_000 + (randomBytes(2).readUInt16BE() % 50_000)),
  };
  const clientKey = randomBytes(24).toString('base64url');

  const simulator = start(['node', 'dist/src/simulator/main.js'], app, {
    SIMULATOR_PORT: '0',
    SIMULATOR_API_LOGIN: credentials.apiLogin,
    SIMULATOR_API_TRANS_KEY: credentials.apiTransKey,
    SIMULATOR_PROVIDER_ID: credentials.providerId,
  });
  try {
    const [, galileoUrl = ''] = await simulator.waitFor(/Galileo simulator listening: (\S+)/, 15_000);
    log(`simulator (standalone, from the artifact): ${galileoUrl}`);

    const secret = (name: string, value: string) => {
      const file = join(secretsDir, name);
      writeFileSync(file, `${value}\n`, { mode: 0o600 });
      return file;
    };
    const env = {
      ...runtime.env,
      PORT: '0',
      HOST: '127.0.0.1',
      GALILEO_BASE_URL: galileoUrl,
      GALILEO_API_LOGIN_FILE: secret('api-login', credentials.apiLogin),
      GALILEO_API_TRANS_KEY_FILE: secret('api-trans-key', credentials.apiTransKey),
      GALILEO_PROVIDER_ID_FILE: secret('provider-id', credentials.providerId),
      GATEWAY_CLIENTS: JSON.stringify([{ name: 'artifact-check', keySha256: createHash('sha256').update(clientKey).digest('hex'), operations: ['*'] }]),
      IDEMPOTENCY_STORE: 'redis',
      REDIS_URL,
      IDEMPOTENCY_KEY_PREFIX: redisPrefix,
      IDEMPOTENCY_ENCRYPTION_KEY_FILE: secret('encryption-key', randomBytes(32).toString('base64')),
      IDEMPOTENCY_FINGERPRINT_KEY_FILE: secret('fingerprint-key', randomBytes(32).toString('base64')),
      GALILEO_TIMEOUT_MS: '5000',
    };
    const startedAt = performance.now();
    const gateway = start(runtime.cmd!, app, env);
    const [startedLine = ''] = await gateway.waitFor(/^.*"msg":"gateway started".*$/m, 20_000);
    const base = String((JSON.parse(startedLine) as { url: string }).url);
    const ready = await call(`${base}/readyz`);
    check(ready.status === 200, `/readyz ${ready.status} ${ready.text}`);
    log(`gateway (${runtime.cmd!.join(' ')}, pid ${gateway.child.pid}) ready in ${Math.round(performance.now() - startedAt)} ms at ${base}`);

    const auth = { authorization: `Bearer ${clientKey}` };
    const post = async (operation: string, fields: Record<string, string | number>, form = false) => {
      const res = await call(`${base}/intserv/4.0/${operation}`, {
        method: 'POST',
        body: form ? new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString() : JSON.stringify(fields),
        headers: { ...auth, 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
      });
      check(res.status === 200, `${operation}: HTTP ${res.status} ${res.text}`);
      const envelope = JSON.parse(res.text) as { status_code: unknown; response_data: unknown };
      check(envelope.status_code === 0, `${operation}: status_code ${String(envelope.status_code)} ${res.text}`);
      log(`${operation}${fields.actionType ? ` ${fields.actionType}` : ''}${form ? ' (form)' : ''}: HTTP 200, status_code 0`);
      return envelope;
    };
    const unauthenticated = await call(`${base}/intserv/4.0/createAccount`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    check(unauthenticated.status === 401, `without a key: HTTP ${unauthenticated.status}`);

    // UUIDs, as the docs advise: random hex could hold a run of nine digits, which is withheld (and warned about) as a possible SSN.
    const tx = () => randomUUID();
    const mobilePhone = '8015550123';
    const account = await post('createAccount', {
      transactionId: tx(),
      prodId: 501,
      firstName: 'Jane',
      lastName: 'Doe',
      mobilePhone,
      mobilePhoneCountryCode: '+1',
      loadAmount: 20,
    });
    const prn = String((account.response_data as Array<{ pmt_ref_no: string }>)[0]!.pmt_ref_no);
    await post(
      'createIvrCall',
      {
        transactionId: tx(),
        accountNo: prn,
        callType: 'CPIN',
        callParams: JSON.stringify({ panLastFour: '1234', passCode: '0123', expiryDate: '2030-01-31' }),
      },
      true,
    );
    await post('modifyOnDemandAlertStatus', { transactionId: tx(), accountNo: prn, prodId: 501, mobilePhone, mobileCarrierId: 8, actionType: 'E' });
    const simOrigin = new URL(galileoUrl).origin;
    const pin = (JSON.parse((await call(`${simOrigin}/__sim/accounts/${prn}/pin`)).text) as { pin: string }).pin;
    await post('modifyOnDemandAlertStatus', {
      transactionId: tx(),
      accountNo: prn,
      prodId: 501,
      mobilePhone,
      mobileCarrierId: 8,
      actionType: 'C',
      verificationPin: pin,
    });
    const metrics = await call(`${base}/metrics`);
    check(/gateway_requests_total\{operation="createAccount",status="200"\} 1/.test(metrics.text), 'the request counter did not move');

    const signalledAt = performance.now();
    gateway.child.kill('SIGTERM');
    const exit = await gateway.exited;
    check(exit.code === 0, `SIGTERM: exit ${exit.code} ${exit.signal ?? ''}\n${gateway.stderr()}`);
    log(`SIGTERM: exit 0 after ${Math.round(performance.now() - signalledAt)} ms`);

    const lines = gateway.stdout().trimEnd().split('\n');
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as { level: number; msg: string };
      } catch {
        throw new CheckFailed(`NODE_ENV=production logs one JSON object a line, got: ${line}`);
      }
    });
    check(
      parsed.some((l) => l.msg === 'gateway stopped'),
      'no `gateway stopped` line',
    );
    const problems = parsed.filter((l) => l.level >= 40);
    check(problems.length === 0, `warnings or errors in a clean production run:\n${problems.map((l) => JSON.stringify(l)).join('\n')}`);
    check(gateway.stderr() === '', `stderr: ${gateway.stderr()}`);
    for (const value of [credentials.apiTransKey, credentials.apiLogin, clientKey, prn]) {
      check(!gateway.stdout().includes(value), 'a secret or an account number was logged');
    }
  } finally {
    simulator.child.kill('SIGTERM');
    await simulator.exited;
  }
}

// ---- Main ---------------------------------------------------------------------------------------

const workDir = mkdtempSync(join(tmpdir(), 'artifact-check-'));
const redisPrefix = `artifact-check:${randomBytes(6).toString('hex')}:`;
let failed = false;
try {
  log(`working in ${workDir}`);
  const stages = runDockerfile(workDir);
  const runtime = [...stages.values()].pop()!;
  checkRuntimeContents(runtime);
  await exercise(runtime, mkdtempSync(join(workDir, 'secrets-')), redisPrefix);
  log('passed');
} catch (err) {
  failed = true;
  process.stderr.write(
    `artifact-check FAILED: ${err instanceof CheckFailed ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
} finally {
  for (const child of children) child.kill('SIGKILL');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  await redis
    .connect()
    .then(() => deleteByPrefix(redis, redisPrefix))
    .catch(() => undefined)
    .finally(() => redis.disconnect());
  if (KEEP) log(`kept ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
