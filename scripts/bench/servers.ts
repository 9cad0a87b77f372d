/**
 * The servers the benchmarks compare, each started as its own process on a free port: the
 * simulator (the upstream), the bare proxy, the peer and the gateway. bench.ts and ab.ts start
 * them the same way, so an A/B and the full benchmark measure the same things.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { shippedNodeArgs } from '../lib/start-command.js';
import { nextTransactionId, type Credentials } from './payloads.js';
import { ROOT, freePort, postJson, startService, waitForHttp, type Service } from './procs.js';

export const CREDENTIALS: Credentials = { apiLogin: 'sim-login', apiTransKey: 'simTransKey0001', providerId: 9999 };
/** The one client key every authenticated server accepts (generated per run, never stored). */
export const CLIENT_KEY = randomBytes(24).toString('base64url');
export const CLIENT_KEY_SHA256 = createHash('sha256').update(CLIENT_KEY).digest('hex');
/** One fingerprint key for every replica of a run: a Redis store refuses to start without one. */
const FINGERPRINT_KEY = randomBytes(32).toString('base64');
export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface Server {
  service: Service;
  origin: string;
  /** Where its stdout (log lines) went, when kept. */
  logFile?: string;
}

const logFiles: string[] = [];
function logFile(name: string): string {
  const file = join(os.tmpdir(), `galileo-bench-${process.pid}-${name}.log`);
  rmSync(file, { force: true });
  logFiles.push(file);
  return file;
}
/** Deletes the log files of every server started here. */
export function removeLogFiles(): void {
  for (const f of logFiles.splice(0)) rmSync(f, { force: true });
}

export async function startSimulator(): Promise<Server> {
  const port = await freePort();
  const service = startService({ name: 'simulator', script: 'src/simulator/main.ts', env: { SIMULATOR_PORT: String(port), SIMULATOR_HOST: '127.0.0.1' } });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(service, `${origin}/__sim/state`);
  return { service, origin };
}

export async function startBaseline(galileoUrl: string): Promise<Server> {
  const port = await freePort();
  const service = startService({
    name: 'baseline',
    script: 'scripts/bench/baseline-proxy.ts',
    env: { BASELINE_PORT: String(port), BASELINE_UPSTREAM: galileoUrl, BASELINE_API_LOGIN: CREDENTIALS.apiLogin, BASELINE_API_TRANS_KEY: CREDENTIALS.apiTransKey, BASELINE_PROVIDER_ID: String(CREDENTIALS.providerId) },
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(service, origin);
  return { service, origin };
}

export async function startPeer(galileoUrl: string): Promise<Server> {
  const port = await freePort();
  const file = logFile('peer');
  const service = startService({
    name: 'peer',
    script: 'scripts/bench/peer.ts',
    stdoutFile: file,
    env: {
      PEER_PORT: String(port),
      PEER_UPSTREAM: galileoUrl,
      PEER_API_LOGIN: CREDENTIALS.apiLogin,
      PEER_API_TRANS_KEY: CREDENTIALS.apiTransKey,
      PEER_PROVIDER_ID: String(CREDENTIALS.providerId),
      PEER_KEY_SHA256: CLIENT_KEY_SHA256,
      PEER_SPEC: join(ROOT, 'generated/gateway.openapi.json'),
    },
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(service, `${origin}/healthz`);
  return { service, origin, logFile: file };
}

/** scripts/bench/otlp-sink.ts: where a traced gateway exports its spans. */
export async function startOtlpSink(): Promise<Server> {
  const port = await freePort();
  const service = startService({ name: 'otlp-sink', script: 'scripts/bench/otlp-sink.ts', env: { SINK_PORT: String(port) } });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(service, origin);
  return { service, origin };
}

/** scripts/bench/library-floor.ts: the required libraries alone; `replay`: answers seen transactionIds from a Map. */
export async function startLibraryFloor(galileoUrl: string, options: { replay?: boolean } = {}): Promise<Server> {
  const port = await freePort();
  const name = options.replay ? 'floor-replay' : 'floor';
  const file = logFile(name);
  const service = startService({
    name,
    script: 'scripts/bench/library-floor.ts',
    stdoutFile: file,
    env: {
      FLOOR_PORT: String(port),
      FLOOR_UPSTREAM: galileoUrl,
      FLOOR_API_LOGIN: CREDENTIALS.apiLogin,
      FLOOR_API_TRANS_KEY: CREDENTIALS.apiTransKey,
      FLOOR_PROVIDER_ID: String(CREDENTIALS.providerId),
      FLOOR_KEY_SHA256: CLIENT_KEY_SHA256,
      FLOOR_SPEC: join(ROOT, 'generated/gateway.openapi.json'),
      ...(options.replay && { FLOOR_REPLAY: '1' }),
    },
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(service, `${origin}/healthz`);
  return { service, origin, logFile: file };
}

/**
 * Builds dist/ when it is stale (the same step as npm start), so the gateway runs as it ships:
 * `node FLAGS dist/src/main.js` with package.json start's flags, no TypeScript loader.
 */
export function buildGateway(): void {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building dist/ failed');
}

export interface GatewayOptions {
  name: string;
  galileoUrl: string;
  /**
   * A copy of src/ and generated/ to run from source through tsx (for A/B runs of variants);
   * by default this checkout's dist/, built by buildGateway().
   */
  dir?: string;
  store?: 'memory' | 'redis';
  redisKeyPrefix?: string;
  /** How the Redis store reaches Redis (default: REDIS_URL of the local server; or REDIS_CLUSTER_NODES, ...). */
  redisConnection?: Record<string, string>;
  env?: Record<string, string>;
  /** Added to the node flags it ships with (package.json start: the heap cap). */
  nodeArgs?: string[];
}

export async function startGateway(options: GatewayOptions): Promise<Server> {
  const port = await freePort();
  const file = logFile(options.name);
  const service = startService({
    name: options.name,
    script: options.dir === undefined ? join(ROOT, 'dist/src/main.js') : join(options.dir, 'src/main.ts'),
    stdoutFile: file,
    nodeArgs: [...shippedNodeArgs(ROOT), ...(options.nodeArgs ?? [])],
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      GALILEO_BASE_URL: options.galileoUrl,
      GALILEO_API_LOGIN: CREDENTIALS.apiLogin,
      GALILEO_API_TRANS_KEY: CREDENTIALS.apiTransKey,
      GALILEO_PROVIDER_ID: String(CREDENTIALS.providerId),
      // Auth on, as in production: one client allowed everything.
      GATEWAY_CLIENTS: JSON.stringify([{ name: 'bench', keySha256: CLIENT_KEY_SHA256, operations: ['*'] }]),
      LOG_LEVEL: 'info',
      ...(options.store === 'redis' && { IDEMPOTENCY_STORE: 'redis', IDEMPOTENCY_FINGERPRINT_KEY: FINGERPRINT_KEY, IDEMPOTENCY_KEY_PREFIX: options.redisKeyPrefix ?? 'galileo-gw-bench:', ...(options.redisConnection ?? { REDIS_URL }) }),
      ...options.env,
    },
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(service, `${origin}/readyz`);
  return { service, origin, logFile: file };
}

/** The IVR account's number: the same after every simulator reset (an instant-issue card keeps it). */
export const IVR_ACCOUNT = '074199999999';

/** An account with a phone at the simulator, so createIvrCall answers 0 (and is consumed). */
export async function createIvrAccount(simOrigin: string): Promise<string> {
  const form = new URLSearchParams({
    ...Object.fromEntries(Object.entries(CREDENTIALS).map(([k, v]) => [k, String(v)])),
    transactionId: nextTransactionId(),
    prodId: '501',
    firstName: 'Ivr',
    lastName: 'Bench',
    accountNo: IVR_ACCOUNT,
    mobilePhone: '8015556060',
    mobilePhoneCountryCode: '+1',
  });
  const res = await postJson(`${simOrigin}/intserv/4.0/createAccount`, form.toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    'response-content-type': 'json',
  });
  const prn = /"pmt_ref_no":"(\d+)"/.exec(res.text)?.[1];
  if (!prn) throw new Error(`could not create the IVR account: ${res.status} ${res.text}`);
  return prn;
}
