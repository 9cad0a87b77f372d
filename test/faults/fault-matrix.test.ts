/**
 * Every upstream fault × every idempotency store (docs/contract.md: Errors, Idempotency, Calling
 * Galileo): what the caller is told, whether the transactionId is consumed (the same request again
 * is a replay) or released (it reaches Galileo again), and how many attempts reached Galileo:
 * retries only where the request cannot have executed (edge 429/502/503/504), never after a timeout
 * or a reset. Where the answer was lost after the request may have reached Galileo, Galileo's record
 * (getCallStatus) decides, and it always answers here: no cell ends with an unknown outcome. After the whole matrix nothing is left behind: no sockets, timers or listeners beyond
 * the harness's own, and the gateway's keep-alive agents hold no socket with a request on it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault } from '../../src/simulator/faults.js';
import { simulatorSuite, txId, type TestGateway } from '../helpers/harness.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { adminClient, deleteByPrefix } from '../../scripts/lib/redis-keys.js';

const TIMEOUT_MS = 300;
const MAX_RETRIES = 2;

interface Expected {
  status: number;
  /** The problem code, or `galileo` for Galileo's own envelope passed through. */
  code: string;
  attempts: number;
  /** unresolved: a timeout whose call Galileo's record did not show yet; the retry asks again before forwarding. */
  key: 'consumed' | 'released' | 'unresolved';
  /** What Galileo's record said of a lost answer (the problem's galileo.executed); absent: nothing was looked up. */
  executed?: boolean | 'unknown';
  /** For a released or unresolved key, what the same request gets next: Galileo's answer, or the call the record now shows. */
  again?: 'galileo' | 'upstream_answer_lost';
}

interface Cell {
  name: string;
  fault: Fault;
  /** reset_before_body is decided before the body is read: it matches on the operation only. */
  byOperation?: boolean;
  expected: Expected;
  /** Time for a fault that runs late (latency past the timeout) to finish at Galileo. */
  settleMs?: number;
}

const released = (status: number, code: string, attempts = 1, executed?: boolean): Expected => ({
  status,
  code,
  attempts,
  key: 'released',
  ...(executed !== undefined && { executed }),
});
/** A timeout whose call the record does not show yet: it may still be running, so nothing is released. */
const notYetSeen = (again: 'galileo' | 'upstream_answer_lost'): Expected => ({
  status: 504,
  code: 'upstream_timeout',
  attempts: 1,
  key: 'unresolved',
  executed: 'unknown',
  again,
});
/** Galileo ran the call and its answer was lost: the caller learns its status, the key is consumed. */
const lost: Expected = { status: 502, code: 'upstream_answer_lost', attempts: 1, key: 'consumed', executed: true };

// docs/contract.md: Errors (codes), Idempotency (outcome, Lost answers), Calling Galileo (attempts:
// 1 + GALILEO_MAX_RETRIES only for edge 429/502/503/504).
const CELLS: Cell[] = [
  { name: 'latency under the timeout', fault: { type: 'latency', ms: 100 }, expected: { status: 200, code: 'galileo', attempts: 1, key: 'consumed' } },
  // Galileo runs it only after the lookup: the record does not show it yet; the retry's lookup does, and it is not sent again.
  { name: 'latency over the timeout', fault: { type: 'latency', ms: 600 }, expected: notYetSeen('upstream_answer_lost'), settleMs: 450 },
  // Never run: the retry's lookup still finds nothing, and it is forwarded.
  { name: 'no_answer', fault: { type: 'no_answer' }, expected: notYetSeen('galileo') },
  { name: 'no_answer, executed', fault: { type: 'no_answer', execute: true }, expected: lost },
  { name: 'reset_before_body', fault: { type: 'reset_before_body' }, byOperation: true, expected: released(502, 'upstream_unavailable', 1, false) },
  { name: 'reset_after_body', fault: { type: 'reset_after_body' }, expected: released(502, 'upstream_unavailable', 1, false) },
  { name: 'reset_after_body, executed', fault: { type: 'reset_after_body', execute: true }, expected: lost },
  { name: 'edge 502', fault: { type: 'edge', status: 502 }, expected: released(502, 'upstream_unavailable', 1 + MAX_RETRIES) },
  { name: 'edge 503', fault: { type: 'edge', status: 503 }, expected: released(502, 'upstream_unavailable', 1 + MAX_RETRIES) },
  { name: 'edge 429', fault: { type: 'edge', status: 429 }, expected: released(502, 'upstream_unavailable', 1 + MAX_RETRIES) },
  { name: 'malformed', fault: { type: 'malformed' }, expected: released(502, 'upstream_bad_response', 1, false) },
  // Half the body, then the socket is destroyed: Galileo ran it, the answer is lost.
  { name: 'partial', fault: { type: 'partial' }, expected: lost },
  // Not run, so there is no answer to cut: the simulator sends nothing, like no_answer.
  { name: 'partial, not executed', fault: { type: 'partial', execute: false }, expected: notYetSeen('galileo') },
  { name: 'trickle under the timeout', fault: { type: 'trickle', ms: 150 }, expected: { status: 200, code: 'galileo', attempts: 1, key: 'consumed' } },
  { name: 'trickle over the timeout', fault: { type: 'trickle', ms: 1200 }, expected: lost },
];

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request on its own connection (no caller-side keep-alive to blur the leak check). */
function call(baseUrl: string, path: string, body: object): Promise<Answer> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, baseUrl),
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': payload.length, connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const counts = (items: string[]) => items.reduce<Record<string, number>>((acc, t) => ({ ...acc, [t]: (acc[t] ?? 0) + 1 }), {});

describe('fault matrix: upstream faults × idempotency stores', function () {
  this.timeout(120_000);
  const prefix = `test:faults:${randomBytes(6).toString('hex')}:`;
  const agents: http.Agent[] = [];
  const suite = simulatorSuite();
  const gateways: Record<'memory' | 'redis', TestGateway | undefined> = { memory: undefined, redis: undefined };
  let prn: string;
  let resourcesBefore: Record<string, number>;
  let listenersBefore: Record<string, number>;
  const table: string[] = [];

  before(async () => {
    // Keep a handle on the keep-alive agents the gateways create (src/galileo/client.ts).
    const OriginalAgent = http.Agent;
    (http as { Agent: typeof http.Agent }).Agent = class RecordedAgent extends OriginalAgent {
      constructor(options?: http.AgentOptions) {
        super(options);
        agents.push(this);
      }
    };
    try {
      const env = { GALILEO_TIMEOUT_MS: String(TIMEOUT_MS), GALILEO_MAX_RETRIES: String(MAX_RETRIES), LOG_LEVEL: 'info' };
      gateways.memory = await suite.startGateway({ ...env, IDEMPOTENCY_STORE: 'memory' });
      gateways.redis = await suite.startGateway({ ...env, IDEMPOTENCY_STORE: 'redis', IDEMPOTENCY_KEY_PREFIX: prefix });
    } finally {
      (http as { Agent: typeof http.Agent }).Agent = OriginalAgent;
    }
    // An account, so createIvrCall succeeds (status 0, which consumes the transactionId).
    const created = await call(gateways.memory.url, pathOf('createAccount'), {
      transactionId: txId('matrix-setup'),
      prodId: 501,
      firstName: 'Ada',
      lastName: 'Lovelace',
    });
    assert.equal(created.status, 200, created.text);
    prn = (JSON.parse(created.text) as { response_data: Array<{ pmt_ref_no: string }> }).response_data[0]!.pmt_ref_no;
    // Warm both paths, then take the baseline: every socket, timer and listener the harness keeps.
    for (const gw of [gateways.memory, gateways.redis]) assert.equal((await call(gw.url, pathOf('createIvrCall'), body(txId('warm')))).status, 200);
    await sleep(100);
    resourcesBefore = counts(process.getActiveResourcesInfo());
    listenersBefore = Object.fromEntries(process.eventNames().map((n) => [String(n), process.listenerCount(n)]));
  });

  after(async () => {
    if (table.length > 0)
      console.log(['      fault | store | caller | Galileo ran it | attempts | key | same request again', ...table.map((r) => `      ${r}`)].join('\n'));
    const redis = adminClient();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  const body = (transactionId: string) => ({ ...exampleBody('createIvrCall'), accountNo: prn, transactionId });
  const galileoCalls = () => suite.sim.requests().filter((r) => r.path === pathOf('createIvrCall'));

  for (const store of ['memory', 'redis'] as const) {
    for (const cell of CELLS) {
      it(`${cell.name} × ${store}: ${cell.expected.status} ${cell.expected.code}, ${cell.expected.attempts} attempt(s), key ${cell.expected.key}`, async () => {
        const gw = gateways[store]!;
        const transactionId = txId(`matrix-${store}`);
        suite.sim.clearRequests();
        suite.sim.addFault(
          cell.byOperation ? { fault: cell.fault, match: { operation: 'createIvrCall' }, times: 1 } : { fault: cell.fault, match: { transactionId } },
        );

        const first = await call(gw.url, pathOf('createIvrCall'), body(transactionId));
        suite.sim.clearFaults();
        const attempts = galileoCalls().length;
        const line = gw.logs.filter((l) => l.msg === 'request completed' && l.transactionId === transactionId).at(-1) as
          { upstream?: { attempts: number } } | undefined;
        const problem = /problem\+json/.test(String(first.headers['content-type']))
          ? (JSON.parse(first.text) as { code: string; galileo?: { executed: unknown } })
          : undefined;
        const code = problem?.code ?? 'galileo';
        if (cell.expected.code === 'galileo') assert.equal((JSON.parse(first.text) as { status_code: unknown }).status_code, 0, first.text);

        if (cell.settleMs) await sleep(cell.settleMs);
        const again = await call(gw.url, pathOf('createIvrCall'), body(transactionId));
        const replayed = again.headers['idempotent-replayed'] === 'true';
        const reached = galileoCalls().length - attempts;
        const againCode = again.status === 200 ? 'galileo' : (JSON.parse(again.text) as { code: string }).code;
        const againText = replayed
          ? 'replayed'
          : again.status === 200
            ? `forwarded, Galileo ${(JSON.parse(again.text) as { status_code: unknown }).status_code}`
            : againCode === 'upstream_answer_lost' && reached === 0
              ? `answered from Galileo's record, ${again.status} ${againCode}`
              : `forwarded, ${again.status} ${againCode}`;
        const executed = problem?.galileo?.executed;
        table.push(
          `${cell.name} | ${store} | ${first.status} ${code} | ${executed ?? 'not asked'} | ${attempts} | ${replayed ? 'consumed' : executed === 'unknown' ? 'unresolved' : 'released'} | ${againText}`,
        );

        assert.equal(first.status, cell.expected.status, first.text);
        assert.equal(code, cell.expected.code, first.text);
        assert.equal(attempts, cell.expected.attempts, 'attempts that reached Galileo');
        assert.equal(line?.upstream?.attempts, cell.expected.attempts, 'attempts in the log line');
        // getCallStatus always answers here: "unknown" only for a timeout whose call the record did not show yet.
        assert.equal(executed, cell.expected.executed, "what Galileo's record said");
        if (cell.expected.key === 'consumed') {
          assert.ok(replayed, `expected a replay, got ${again.status} ${again.text}`);
          assert.equal(again.text, first.text, 'the replay is the original answer');
          assert.equal(reached, 0, 'a replay never reaches Galileo');
        } else {
          assert.ok(!replayed, 'a released or unresolved key is not replayed');
          assert.equal(againCode, cell.expected.again ?? 'galileo', again.text);
          // A call the record now shows is answered from it, never sent again.
          assert.equal(reached, againCode === 'upstream_answer_lost' && cell.expected.key === 'unresolved' ? 0 : 1, 'what reached Galileo again');
        }
      });
    }
  }

  it('leaves no sockets, timers or listeners behind, and no keep-alive socket stuck', async () => {
    // Give closed connections a moment to finish closing on both sides.
    await sleep(TIMEOUT_MS);
    assert.ok(agents.length >= 2, "the gateways' keep-alive agents were not captured");
    const stuck = agents.map((a) => ({
      inUse: Object.values(a.sockets).flat().length,
      queued: Object.values(a.requests).flat().length,
      free: Object.values(a.freeSockets).flat().length,
    }));
    for (const s of stuck) {
      assert.equal(s.inUse, 0, `a socket still carries a request: ${JSON.stringify(stuck)}`);
      assert.equal(s.queued, 0, `a request waits for a socket: ${JSON.stringify(stuck)}`);
      assert.ok(s.free <= 1, `more idle sockets than a sequential run needs: ${JSON.stringify(stuck)}`);
    }
    const after = counts(process.getActiveResourcesInfo());
    for (const [type, n] of Object.entries(after)) {
      assert.ok(n <= (resourcesBefore[type] ?? 0), `${type}: ${resourcesBefore[type] ?? 0} before the matrix, ${n} after (${JSON.stringify(after)})`);
    }
    const listeners = Object.fromEntries(process.eventNames().map((n) => [String(n), process.listenerCount(n)]));
    assert.deepEqual(listeners, listenersBefore);
  });
});
