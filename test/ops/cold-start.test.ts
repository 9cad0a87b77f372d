/**
 * Cold start, measured on real processes: the gateway warms its request path (src/warm-up.ts)
 * before it listens, so the first request of each operation after start-up costs about what a
 * warm one does, instead of waiting 65–200 ms for the validator to compile its schemas.
 *
 * Five fresh gateway processes; in each, the first request of every operation and then ten warm
 * ones. Times come from the gateway's own `request completed` line, so the test's HTTP client does
 * not count: the gateway's time is `durationMs` (first byte in to last byte out) minus
 * `upstream.durationMs` (Galileo's answer, here the simulator's, which includes opening the first
 * pooled connection to it: no warm-up can do that without calling Galileo). The simulator is
 * warmed first, directly: it compiles its own validators on first use. The goal is 2×; the
 * assertion allows 2.5× on the medians (shared 2-core machines are noisy), far below what a cold
 * path costs (8× to 100× before the warm-up).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { asForm, exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { CREDENTIALS, txId, uniqueSsn } from '../helpers/harness.js';
import { gatewayProcessSuite, startGatewayProcess } from '../helpers/process.js';

const OPERATIONS = ['createAccount', 'createIvrCall', 'modifyOnDemandAlertStatus'];
const PROCESSES = 5;
const WARM = 10;
const GOAL = 2;
const ALLOWED = 2.5;

describe('ops: cold start', function () {
  this.timeout(60_000);
  const suite = gatewayProcessSuite();
  const agent = new http.Agent({ keepAlive: true });
  after(() => agent.destroy());

  const body = (operation: string) => {
    const fields = { ...exampleBody(operation), transactionId: txId('cold') };
    return operation === 'createAccount' ? { ...fields, id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` } : fields;
  };
  const post = (url: string, payload: string, headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(payload);
    });
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

  it(`the first request of each operation after start-up takes at most ${GOAL}× a warm one (asserted: ${ALLOWED}×)`, async () => {
    // The simulator's own first calls are cold too: not what is measured here.
    for (const operation of OPERATIONS) {
      for (let i = 0; i < 3; i++) {
        const form = asForm({ ...body(operation), apiLogin: CREDENTIALS.apiLogin, apiTransKey: CREDENTIALS.apiTransKey, providerId: CREDENTIALS.providerId });
        await post(`${suite.sim.url}/${operation}`, form, { 'content-type': 'application/x-www-form-urlencoded', 'response-content-type': 'json' });
      }
    }

    const first = new Map<string, number[]>(OPERATIONS.map((op) => [op, []]));
    const warm = new Map<string, number[]>(OPERATIONS.map((op) => [op, []]));
    for (let p = 0; p < PROCESSES; p++) {
      const proc = await startGatewayProcess(suite.galileoEnv());
      assert.equal(await new Promise<number>((resolve) => http.get(`${proc.url}/readyz`, { agent }, (res) => resolve(res.resume().statusCode ?? 0))), 200);
      for (const operation of OPERATIONS) {
        for (let i = 0; i <= WARM; i++) {
          const status = await post(`${proc.url}${pathOf(operation)}`, JSON.stringify(body(operation)), { 'content-type': 'application/json' });
          assert.equal(status, 200);
        }
      }
      proc.signal('SIGTERM');
      assert.equal((await proc.exited).code, 0);
      for (const operation of OPERATIONS) {
        const times = proc
          .logs()
          .filter((l) => l.msg === 'request completed' && l.operation === operation)
          .map((l) => Number(l.durationMs) - Number((l.upstream as { durationMs: number }).durationMs));
        assert.equal(times.length, WARM + 1);
        first.get(operation)!.push(times[0]!);
        warm.get(operation)!.push(...times.slice(1));
      }
    }

    const report = OPERATIONS.map((operation) => {
      const f = median(first.get(operation)!);
      const w = median(warm.get(operation)!);
      return { operation, first: f, warm: w, ratio: f / w };
    });
    const summary = report
      .map((r) => `${r.operation}: first ${r.first.toFixed(2)} ms, warm ${r.warm.toFixed(2)} ms in the gateway, ${r.ratio.toFixed(2)}×`)
      .join('; ');
    for (const r of report) assert.ok(r.ratio <= ALLOWED, summary);
  });
});
