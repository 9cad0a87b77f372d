/**
 * Test harness: a real simulator on a random port and a real gateway in this process, talking
 * over real HTTP. Logs are captured so tests can read the lines the gateway wrote.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { loadGatewaySpec } from '../../src/spec.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { SIMULATOR_CREDENTIALS, startSimulator } from '../../src/simulator/server.js';
import { recordResponses } from '../contract/recorder.js';
import { withFingerprintKey } from '../../scripts/lib/gateway-process.js';

export { TEST_FINGERPRINT_KEY } from '../../scripts/lib/gateway-process.js';

export type Simulator = Awaited<ReturnType<typeof startSimulator>>;

export const CREDENTIALS = SIMULATOR_CREDENTIALS;

export async function startTestSimulator(options: { pciEnabled?: boolean } = {}): Promise<Simulator> {
  return startSimulator({ port: 0, host: '127.0.0.1', credentials: CREDENTIALS, ...options });
}

export interface TestGateway extends RunningGateway {
  logs: Array<Record<string, unknown>>;
  rawLogs: string[];
}

/**
 * The gateway against `galileoUrl` with the simulator's credentials; `env` overrides anything.
 * Caller auth is explicitly off unless the test configures clients.
 */
export async function startTestGateway(galileoUrl: string, env: Record<string, string> = {}): Promise<TestGateway> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    GALILEO_BASE_URL: galileoUrl,
    GALILEO_API_LOGIN: CREDENTIALS.apiLogin,
    GALILEO_API_TRANS_KEY: CREDENTIALS.apiTransKey,
    GALILEO_PROVIDER_ID: String(CREDENTIALS.providerId),
    GALILEO_TIMEOUT_MS: '1500',
    // Off unless a test is about it: fault tests send failing calls in a row on purpose.
    GALILEO_CIRCUIT_FAILURES: '0',
    LOG_LEVEL: 'debug',
    ...(env.GATEWAY_CLIENTS === undefined && { GATEWAY_AUTH: 'off' }),
    ...withFingerprintKey(env),
  });
  const rawLogs: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      const line = String(chunk);
      rawLogs.push(line);
      logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, sensitiveKeys: loadGatewaySpec().sensitiveKeys, destination });
  const gateway = await startGateway(config, logger);
  // Every answer is judged against the served spec after the suite (test/contract/root-hooks.ts).
  recordResponses(gateway.server);
  return { ...gateway, logs, rawLogs };
}

export interface SimulatorSuite {
  /** Set once the suite's `before` hook has run. */
  readonly sim: Simulator;
  /** Another gateway in front of the suite's simulator, stopped after the suite (before the simulator). */
  startGateway(env?: Record<string, string>): Promise<TestGateway>;
}

export interface GatewaySuite extends SimulatorSuite {
  /** Set once the suite's `before` hook has run. */
  readonly gw: TestGateway;
}

export type SuiteSimulatorOptions = Omit<Parameters<typeof startSimulator>[0], 'port' | 'host' | 'credentials'>;

/**
 * The fixture of a `describe` whose tests start their own gateways: a simulator started before
 * the suite, its faults cleared after each test, and every gateway from `startGateway` and then
 * the simulator stopped after the suite whatever happened.
 */
export function simulatorSuite(options: SuiteSimulatorOptions = {}): SimulatorSuite {
  let sim: Simulator | undefined;
  const gateways: TestGateway[] = [];
  const started = (): Simulator => {
    if (sim === undefined) throw new Error('simulatorSuite: not started yet (use it inside a test or hook)');
    return sim;
  };
  before(async () => {
    sim = await startSimulator({ port: 0, host: '127.0.0.1', credentials: CREDENTIALS, ...options });
  });
  afterEach(() => sim?.clearFaults());
  after(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.stop()));
    await sim?.close();
  });
  return {
    get sim() {
      return started();
    },
    async startGateway(env = {}) {
      const gw = await startTestGateway(started().url, env);
      gateways.push(gw);
      return gw;
    },
  };
}

/**
 * The fixture of a `describe` that needs a simulator and a gateway in front of it: both started
 * before the suite (the gateway with `env`, or what `env()` returns then), the simulator's faults
 * cleared after each test, both stopped after the suite whatever happened. `startGateway` adds
 * more gateways on the same simulator.
 */
export function gatewaySuite(env: Record<string, string> | (() => Record<string, string>) = {}, options: SuiteSimulatorOptions = {}): GatewaySuite {
  const suite = simulatorSuite(options);
  let gw: TestGateway | undefined;
  before(async () => {
    gw = await suite.startGateway(typeof env === 'function' ? env() : env);
  });
  return {
    get sim() {
      return suite.sim;
    },
    get gw() {
      if (gw === undefined) throw new Error('gatewaySuite: not started yet (use it inside a test or hook)');
      return gw;
    },
    startGateway: suite.startGateway,
  };
}

export interface TestClient {
  name: string;
  /** The bearer key (or keys, during a rotation); the gateway is given only their SHA-256. */
  key: string | string[];
  /** Default: every operation. */
  operations?: string[];
  rateLimit?: { requestsPerSecond: number; burst: number };
}

/** GATEWAY_CLIENTS for these clients: each key as its keySha256. */
export function gatewayClients(clients: TestClient[]): string {
  return JSON.stringify(
    clients.map(({ name, key, operations = ['*'], rateLimit }) => ({
      name,
      keySha256: Array.isArray(key) ? key.map(sha256) : sha256(key),
      operations,
      ...(rateLimit && { rateLimit }),
    })),
  );
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Parses a form body the way Galileo does. */
export function formFields(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

let counter = 0;
/** A transactionId unique within the run. */
export function txId(prefix = 'tx'): string {
  counter += 1;
  // Letters between the parts: digits that run together could look like an SSN and be masked in logs.
  return `${prefix}-p${process.pid}-t${Date.now().toString(36)}-n${counter}`;
}

let ssnCounter = 0;
/** A valid, run-unique SSN-shaped id (area 123, group 10-98, serial never 0000). */
export function uniqueSsn(): string {
  ssnCounter += 1;
  const n = (process.pid * 7919 + Date.now() + ssnCounter) % 89_990_000;
  return `123${String(10 + (n % 89)).padStart(2, '0')}${String(1 + (Math.floor(n / 89) % 9999)).padStart(4, '0')}`;
}
