/**
 * What every fuzz suite shares: run counts and seed (FUZZ_RUNS, FUZZ_SEED), a real simulator and
 * an in-process gateway over real HTTP, a raw HTTP client, and the tripwires checked after every
 * case (no unhandled rejection or exception, no prototype pollution, no internal error logged).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { startSimulator } from '../../src/simulator/server.js';
import { CREDENTIALS, startTestGateway, type Simulator, type TestGateway } from '../helpers/harness.js';

export const FUZZ_RUNS = positiveInt(process.env.FUZZ_RUNS, 60);
const FUZZ_SEED = Number.isInteger(Number(process.env.FUZZ_SEED)) && process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 424242;

let announced = false;
/** fast-check parameters for one property; the seed is printed once per run. */
export function fuzzParams(): fc.Parameters<unknown> {
  if (!announced) {
    announced = true;
    console.log(`      fuzz: FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${FUZZ_RUNS} (set either to change)`);
  }
  return { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true };
}

/** Mocha timeout for one property: generous per case, so FUZZ_RUNS=1000 needs no other change. */
export const propertyTimeout = (perCaseMs = 250) => 15_000 + FUZZ_RUNS * perCaseMs;

function positiveInt(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export const BODY_LIMIT_BYTES = 64 * 1024;

export interface Target {
  sim: Simulator;
  gw: TestGateway;
  /** Starts a case: forgets the requests Galileo received so far. */
  mark(): number;
  /** Requests Galileo received since `mark()`. */
  forwardedSince(mark: number): ReturnType<Simulator['requests']>;
  close(): Promise<void>;
}

export async function startTarget(env: Record<string, string> = {}): Promise<Target> {
  // A request log that never drops entries within a case: "nothing forwarded" is read from its length.
  const sim = await startSimulator({ port: 0, host: '127.0.0.1', credentials: CREDENTIALS, requestLogLimit: 100_000 });
  const gw = await startTestGateway(sim.url, { BODY_LIMIT: '64kb', LOG_LEVEL: 'info', ...env });
  return {
    sim,
    gw,
    mark: () => {
      sim.clearRequests(); // requests() copies the whole log: keep it per case
      return 0;
    },
    forwardedSince: (mark) => sim.requests().slice(mark),
    async close() {
      await gw.stop();
      await sim.close();
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** One POST with exactly these bytes and headers (nothing added but host and content-length). */
export function post(baseUrl: string, path: string, body: Buffer | string, headers: Record<string, string | undefined>): Promise<Reply> {
  const url = new URL(path, baseUrl);
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const sent: Record<string, string> = { 'content-length': String(payload.length) };
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) sent[name] = value;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: sent, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // The gateway may answer 413 and close before reading a large body: that is an answer too.
    req.on('error', reject);
    req.end(payload);
  });
}

export function closeClient(): void {
  agent.destroy();
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  errors?: Array<{ field: string; message: string }>;
}

/** A gateway problem: the status, problem+json, the RFC 9457 members, at least one named field. */
export function assertProblem(reply: Reply, statuses: number[], context: string): Problem {
  assert.ok(statuses.includes(reply.status), `${context}: expected ${statuses.join('/')} got ${reply.status} ${reply.text.slice(0, 500)}`);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/, context);
  const problem = JSON.parse(reply.text) as Problem;
  assert.equal(problem.status, reply.status, context);
  assert.equal(problem.type, `/problems/${problem.code}`, context);
  assert.equal(problem.requestId, reply.headers['x-request-id'], context);
  assert.ok(Array.isArray(problem.errors) && problem.errors.length > 0, `${context}: no errors[] in ${reply.text}`);
  // A field is named as the caller sent it: "" when the caller's key was "".
  for (const e of problem.errors)
    assert.ok(typeof e.field === 'string' && typeof e.message === 'string' && e.message.length > 0, `${context}: ${JSON.stringify(e)}`);
  return problem;
}

/**
 * Trips on anything a hostile request must never cause: an unhandled rejection or exception
 * anywhere in the process, a polluted Object.prototype, an internal error in the gateway's log.
 */
export class Tripwire {
  private readonly failures: string[] = [];
  private logsChecked = 0;
  private readonly prototypeKeys = Reflect.ownKeys(Object.prototype).map(String).sort().join(',');
  private readonly onRejection = (reason: unknown) => this.failures.push(`unhandledRejection: ${String((reason as Error)?.stack ?? reason)}`);
  private readonly onException = (err: Error) => this.failures.push(`uncaughtException: ${err.stack ?? String(err)}`);

  constructor(private readonly gw: () => TestGateway) {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
  }

  check(context: string): void {
    assert.deepEqual(this.failures, [], context);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, `${context}: Object.prototype polluted`);
    assert.equal(Reflect.ownKeys(Object.prototype).map(String).sort().join(','), this.prototypeKeys, `${context}: Object.prototype has new keys`);
    const logs = this.gw().logs;
    const bugs = logs.slice(this.logsChecked).filter((l) => Number(l.level) >= 50 || /unhandled error/.test(String(l.msg)));
    this.logsChecked = logs.length;
    assert.deepEqual(bugs, [], `${context}: the gateway logged an error`);
  }

  dispose(): void {
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }
}

let sequence = 0;
/** A transactionId prefix unique within the run; `tail` (a generated value) fills the rest. */
export function uniqueTransactionId(tail: string, maxLength = 60): string {
  sequence += 1;
  const prefix = `${process.pid.toString(36)}${sequence.toString(36)}.`;
  return prefix + [...tail].slice(0, Math.max(0, maxLength - prefix.length)).join('');
}

/** What Galileo receives for a value: the client form-encodes strings as they are, numbers as JSON. */
export const wire = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

export const CREDENTIAL_WIRE = {
  apiLogin: CREDENTIALS.apiLogin,
  apiTransKey: CREDENTIALS.apiTransKey,
  providerId: String(CREDENTIALS.providerId),
};
