/**
 * `npm run soak`: a bounded run (SOAK_SECONDS, default 90) of mixed traffic against TWO gateway
 * processes sharing one Redis (a unique key prefix, deleted at the end; or, with SOAK_REDIS=cluster
 * or sentinel, a Cluster or a Sentinel group started for the run, the Sentinel master killed every
 * SOAK_FAILOVER_SECONDS, default 20: scripts/soak/store.ts), with the Galileo simulator
 * in this process injecting random faults. Valid and invalid requests of all three operations,
 * duplicate storms (one request 5–20 times at once, split over both gateways), and clients that
 * retry after 409/502/503/504 as the README tells them to. At the end, what the simulator received
 * and executed is compared with what callers were told (scripts/soak/verdict.ts); any violation
 * exits non-zero. Loopback only.
 *
 *   SOAK_SECONDS=90 SOAK_CONCURRENCY=12 SOAK_SEED=<n> REDIS_URL=redis://127.0.0.1:6379 npm run soak
 *   SOAK_REDIS=sentinel SOAK_FAILOVER_SECONDS=20 npm run soak
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadGatewaySpec } from '../src/spec.js';
import { SIMULATOR_CREDENTIALS, startSimulator } from '../src/simulator/server.js';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { closeAgent, keepAliveRaces, prng, send, statusCodeOf, Traffic, type OperationId, type Sendable } from './soak/traffic.js';
import { startSoakStore } from './soak/store.js';
import { judge, lastAnswerUnknown, type Exchange } from './soak/verdict.js';

const SECONDS = positive(process.env.SOAK_SECONDS, 90);
const CONCURRENCY = positive(process.env.SOAK_CONCURRENCY, 12);
const SEED = positive(process.env.SOAK_SEED, Date.now() % 2 ** 31);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STORE = process.env.SOAK_REDIS ?? 'single';
const FAILOVER_SECONDS = positive(process.env.SOAK_FAILOVER_SECONDS, 20);
const TIMEOUT_MS = 500;

function positive(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

const runId = randomBytes(4).toString('hex');
const prefix = `soak:${runId}:`;
const spec = loadGatewaySpec();
const random = prng(SEED);
const accounts: string[] = [];
const traffic = new Traffic(random, runId, () => accounts);
const exchanges: Exchange[] = [];
const faultsInjected = new Map<string, number>();
const soakErrors: string[] = [];
process.on('unhandledRejection', (reason) => soakErrors.push(`unhandled rejection in the soak: ${String(reason)}`));

const count = (map: Map<string, number>, key: string, n = 1) => map.set(key, (map.get(key) ?? 0) + n);
const faultName = (f: { type: string; ms?: number; status?: number; execute?: boolean }) =>
  [f.type, f.ms !== undefined ? `${f.ms}ms` : '', f.status ?? '', f.execute ? 'executed' : ''].filter((p) => p !== '').join(' ');

async function main(): Promise<number> {
  const sim = await startSimulator({ port: 0, host: '127.0.0.1', credentials: SIMULATOR_CREDENTIALS, requestLogLimit: 10_000_000 });
  const store = await startSoakStore(STORE, prefix, { redisUrl: REDIS_URL, failoverEveryS: FAILOVER_SECONDS });
  const env = {
    GATEWAY_AUTH: 'off',
    GALILEO_BASE_URL: sim.url,
    GALILEO_API_LOGIN: SIMULATOR_CREDENTIALS.apiLogin,
    GALILEO_API_TRANS_KEY: SIMULATOR_CREDENTIALS.apiTransKey,
    GALILEO_PROVIDER_ID: String(SIMULATOR_CREDENTIALS.providerId),
    GALILEO_TIMEOUT_MS: String(TIMEOUT_MS),
    GALILEO_MAX_RETRIES: '2',
    IDEMPOTENCY_STORE: 'redis',
    ...store.env,
    IDEMPOTENCY_KEY_PREFIX: prefix,
    IDEMPOTENCY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'info', // 'gateway started' (with its URL) is an info line
  };
  let gateways: Array<GatewayProcess & { url: string }> = [];
  try {
    gateways = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
    const urls = gateways.map((g) => g.url);
    console.log(`soak: ${SECONDS} s, ${CONCURRENCY} workers, seed ${SEED}, gateways ${urls.join(' and ')} on ${store.description}, simulator ${sim.url}`);

    // Accounts for createIvrCall and the alert calls.
    for (let i = 0; i < 6; i++) {
      const request = traffic.valid('createAccount');
      const answer = await send(urls[i % 2]!, request);
      exchanges.push({ request, gateway: String(i % 2), answer, retry: false });
      const prn = answer.status === 200 ? /"pmt_ref_no":"(\d{12})"|<pmt_ref_no>(\d{12})</.exec(answer.text) : null;
      if (prn) accounts.push(prn[1] ?? prn[2]!);
    }
    if (accounts.length === 0) throw new Error('could not create any account through the gateways');

    const deadline = Date.now() + SECONDS * 1000;
    const injector = injectGlobalFaults(sim, deadline);
    const chaos = store.chaos(deadline, (line) => console.log(line));
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(urls, sim, deadline)));
    await injector;
    const storeLosses = await chaos;
    sim.clearFaults();
    // A caller that gave up after an "unknown" (a timeout whose call Galileo's record did not show
    // yet) comes back once, as the contract tells it to: that retry must settle it.
    for (const request of lastAnswerUnknown(exchanges)) await exchange(urls, request, 0, true, 0);

    // SIGTERM: each gateway drains and exits 0.
    for (const g of gateways) g.signal('SIGTERM');
    const exits = await Promise.all(gateways.map((g) => g.exited));
    // While a failover leaves no master, recording an answer fails, and is logged as an error: by
    // design (the caller still got Galileo's answer), so expected when the run kills masters.
    const expectedWhileFailingOver = (l: Record<string, unknown>) => storeLosses.length > 0 && /^idempotency (complete|release) failed/.test(String(l.msg));
    const recordFailures = gateways.reduce((n, g) => n + g.logs().filter(expectedWhileFailingOver).length, 0);
    const gatewayErrors = gateways.flatMap((g, i) => [
      ...g
        .logs()
        .filter((l) => Number(l.level) >= 50 && !expectedWhileFailingOver(l))
        .map((l) => `gateway ${i} logged an error: ${String(l.msg)}`),
      // Our callers never give up on a request: a 499 means the gateway dropped the connection.
      ...g
        .logs()
        .filter((l) => l.msg === 'request completed' && l.status === 499)
        .map((l) => `gateway ${i} closed a connection before answering (${String(l.transactionId)})`),
    ]);
    exits.forEach((e, i) => {
      if (e.code !== 0) gatewayErrors.push(`gateway ${i} exited with ${e.code ?? e.signal} on SIGTERM`);
    });

    const providerId = String(SIMULATOR_CREDENTIALS.providerId);
    const verdict = judge({
      exchanges,
      galileo: sim.requests(),
      executedAtGalileo: (op, tx) => sim.state.isConsumed(providerId, op as OperationId, tx),
      successCodes: (op) => new Set(['0', ...spec.stateChangingCodes(op)]),
      storeLosses,
    });
    const violations = [...soakErrors, ...gatewayErrors, ...verdict.violations];
    printSummary(sim.requests().length, verdict, violations, { failovers: storeLosses.length, recordFailures });
    return violations.length === 0 ? 0 : 1;
  } finally {
    closeAgent();
    await Promise.all(gateways.map((g) => g.kill()));
    await sim.close();
    await store.dispose();
  }
}

/** One caller: a scenario at a time until the deadline. */
async function worker(urls: string[], sim: Awaited<ReturnType<typeof startSimulator>>, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const roll = random();
    if (roll < 0.1) {
      await exchange(urls, traffic.invalid(), traffic.between(0, 1));
    } else if (roll < 0.3) {
      // A duplicate storm, sometimes slowed at Galileo so the copies overlap the call in flight.
      const request = traffic.valid();
      if (traffic.chance(0.5)) addFault(sim, request, traffic.chance(0.5) ? { type: 'latency', ms: 300 } : traffic.fault());
      const copies = traffic.between(5, 20);
      await Promise.all(Array.from({ length: copies }, (_, i) => exchange(urls, request, i % 2)));
    } else if (roll < 0.55) {
      const request = traffic.valid();
      addFault(sim, request, traffic.fault());
      await exchange(urls, request, traffic.between(0, 1));
    } else {
      await exchange(urls, traffic.valid(), traffic.between(0, 1));
    }
  }
}

function addFault(sim: Awaited<ReturnType<typeof startSimulator>>, request: Sendable, fault: ReturnType<Traffic['fault']>): void {
  // Edge answers are retried by the gateway: cover every attempt, or the retry simply succeeds.
  const times = fault.type === 'edge' ? traffic.between(1, 3) : 1;
  sim.addFault({ fault, match: { transactionId: request.transactionId }, times });
  count(faultsInjected, faultName(fault));
}

/** Faults for whatever request comes next on an operation (reset_before_body can match no other way). */
async function injectGlobalFaults(sim: Awaited<ReturnType<typeof startSimulator>>, deadline: number): Promise<void> {
  while (Date.now() < deadline - 1500) {
    await sleep(1500);
    const operation = traffic.pick(['createAccount', 'createIvrCall', 'modifyOnDemandAlertStatus']);
    const fault = traffic.pick([{ type: 'reset_before_body' as const }, { type: 'edge' as const, status: 503 }, { type: 'trickle' as const, ms: 300 }]);
    sim.addFault({ fault, match: { operation }, times: traffic.between(1, 2) });
    count(faultsInjected, `${faultName(fault)} (next ${operation})`);
  }
}

/** One request and, like a well-behaved client, the retries the README asks for. */
async function exchange(urls: string[], request: Sendable, gateway: number, retry = false, budget = 12): Promise<void> {
  let answer: Exchange['answer'];
  try {
    answer = await send(urls[gateway]!, request);
  } catch (err) {
    answer = { error: (err as Error).message, at: Date.now() };
  }
  exchanges.push({ request, gateway: String(gateway), answer, retry });
  if (!('status' in answer) || budget <= 0) return;
  if (answer.status === 409) {
    await sleep(traffic.between(100, 400)); // Retry-After: 1, shortened to keep the soak busy
    return exchange(urls, request, traffic.between(0, 1), true, budget - 1);
  }
  if ([502, 503, 504].includes(answer.status) && traffic.chance(0.6)) {
    await sleep(traffic.between(50, 300));
    return exchange(urls, request, traffic.between(0, 1), true, Math.min(budget - 1, 3));
  }
}

function printSummary(
  galileoRequests: number,
  verdict: ReturnType<typeof judge>,
  violations: string[],
  store: { failovers: number; recordFailures: number },
): void {
  const statuses = new Map<string, number>();
  const problems = new Map<string, number>();
  const galileoCodes = new Map<string, number>();
  let storms = 0;
  for (const e of exchanges) {
    if (!('status' in e.answer)) {
      count(statuses, 'no answer');
      continue;
    }
    count(statuses, String(e.answer.status));
    if (/problem\+json/.test(e.answer.contentType)) count(problems, String((JSON.parse(e.answer.text) as { code?: string }).code));
    else count(galileoCodes, String(statusCodeOf(e.answer)));
  }
  const seen = new Map<string, number>();
  for (const e of exchanges) if (!e.retry) count(seen, e.request.transactionId);
  for (const n of seen.values()) if (n >= 5) storms += 1;
  const fmt = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ');
  const lines = [
    '',
    `soak summary (${SECONDS} s, seed ${SEED})`,
    `  requests:        ${exchanges.length} for ${seen.size} transactionIds (${exchanges.filter((e) => e.retry).length} client retries, ${storms} duplicate storms, ${exchanges.filter((e) => !e.request.valid).length} invalid)`,
    `  by status:       ${fmt(statuses)}`,
    `  gateway problems: ${fmt(problems)}`,
    `  Galileo answers passed through: status_code ${fmt(galileoCodes)}`,
    `  replays:         ${verdict.replays} (of ${verdict.originals} consumed originals), every one equal to its original unless listed below`,
    `  409s:            ${statuses.get('409') ?? 0}`,
    `  keep-alive races: ${keepAliveRaces.count} request(s) resent after the gateway closed an idle kept-alive socket as it was reused`,
    `  Galileo:         ${galileoRequests} requests received, ${verdict.galileoSuccesses} successful executions, ${verdict.galileoDuplicates} answered 24 (duplicate)`,
    `  store:           ${store.failovers} failover(s); ${store.recordFailures} answer(s) not recorded while no master answered; ${verdict.lostReplays} consumed record(s) lost, their retry answered 24 by Galileo`,
    `  lost answers:    ${verdict.lostAnswers.executed} executed, ${verdict.lostAnswers.notExecuted} not executed, ${verdict.lostAnswers.unknown} not shown yet (asked again by the retry), ${verdict.lostAnswers.unresolvedAtEnd} unresolved at the end (Galileo's record looked up)`,
    `  faults injected: ${fmt(faultsInjected)}`,
    `  violations:      ${violations.length}`,
    ...violations.slice(0, 30).map((v) => `    - ${v}`),
  ];
  console.log(lines.join('\n'));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('soak failed:', err);
    process.exit(2);
  },
);
