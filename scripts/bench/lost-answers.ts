/**
 * What resolving a lost answer costs the caller (docs/contract.md, Lost answers): the gateway as it
 * ships (memory store) in front of the simulator, each in its own process. For each case, N
 * createAccount calls whose answer is lost, timed end to end at the caller, beside N ordinary
 * calls; the gateway's own histogram gives the time spent on the lookups.
 *
 *   ordinary        the call answers normally
 *   executed        the socket is reset after Galileo ran the call: one lookup finds it
 *   not executed    the socket is reset before Galileo ran it: one lookup finds nothing
 *   unknown         getCallStatus itself fails (edge 503, retried by the gateway): every lookup fails
 *
 *   npm run bench:lost-answers -- [--calls N] [--out DIR]
 * Writes DIR/lost-answers.json and DIR/lost-answers.md.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { postJson, stopAllServices } from './procs.js';
import { CLIENT_KEY, buildGateway, removeLogFiles, startGateway, startSimulator } from './servers.js';
import { round } from './stats.js';

const PATH = '/intserv/4.0/createAccount';

type Case = 'ordinary' | 'executed' | 'not executed' | 'unknown';
const FAULTS: Record<Case, Array<Record<string, unknown>>> = {
  ordinary: [],
  executed: [{ fault: { type: 'reset_after_body', execute: true } }],
  'not executed': [{ fault: { type: 'reset_after_body' } }],
  unknown: [{ fault: { type: 'reset_after_body', execute: true } }, { fault: { type: 'edge', status: 503 }, match: { operation: 'getCallStatus' } }],
};
const RESULT: Partial<Record<Case, string>> = { executed: 'executed', 'not executed': 'not_executed', unknown: 'unknown' };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '30' }, out: { type: 'string', default: 'bench' } } });
  const calls = Number(values.calls);
  buildGateway();
  const sim = await startSimulator();
  // The defaults that matter here: GALILEO_MAX_RETRIES 2 (a lookup refused by the edge is retried),
  // GALILEO_RESOLVE_ATTEMPTS 2. The breaker is off: the unknown case fails on purpose, every call.
  const gateway = await startGateway({
    name: 'gateway-lost-answers',
    galileoUrl: `${sim.origin}/intserv/4.0`,
    store: 'memory',
    env: { GALILEO_CIRCUIT_FAILURES: '0' },
  });
  const headers = { 'content-type': 'application/json', 'response-content-type': 'json', authorization: `Bearer ${CLIENT_KEY}` };
  const rows: Array<{ case: Case; calls: number; statuses: Record<string, number>; p50Ms: number; maxMs: number; lookupMsMean?: number }> = [];
  try {
    for (const name of Object.keys(FAULTS) as Case[]) {
      const times: number[] = [];
      const statuses: Record<string, number> = {};
      for (let i = 0; i < calls; i++) {
        const transactionId = randomUUID();
        for (const rule of FAULTS[name]) {
          const match = (rule.match as Record<string, string> | undefined) ?? { transactionId };
          await postJson(`${sim.origin}/__sim/faults`, JSON.stringify({ ...rule, match, ...(rule.match ? {} : { times: 1 }) }));
        }
        const started = performance.now();
        const answer = await postJson(`${gateway.origin}${PATH}`, JSON.stringify({ transactionId, prodId: 501, firstName: 'Ada', lastName: 'Lovelace' }), headers);
        times.push(performance.now() - started);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        await fetch(`${sim.origin}/__sim/faults`, { method: 'DELETE' });
      }
      times.sort((a, b) => a - b);
      const result = RESULT[name];
      const lookupMsMean = result === undefined ? undefined : await lookupMean(gateway.origin, result);
      rows.push({ case: name, calls, statuses, p50Ms: round(times[Math.floor(times.length / 2)]!), maxMs: round(times.at(-1)!), lookupMsMean });
    }
  } finally {
    await stopAllServices();
    removeLogFiles();
  }
  const table = [
    '| case | calls | answers | caller p50 ms | caller max ms | lookups per call, mean ms |',
    '|---|---:|---|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.case} | ${r.calls} | ${Object.entries(r.statuses)
          .map(([s, n]) => `${s} ×${n}`)
          .join(', ')} | ${r.p50Ms} | ${r.maxMs} | ${r.lookupMsMean ?? '—'} |`,
    ),
  ].join('\n');
  writeFileSync(join(values.out, 'lost-answers.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
  writeFileSync(
    join(values.out, 'lost-answers.md'),
    `# Lost answers: what resolving one costs the caller\n\n\`npm run bench:lost-answers\` (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, the gateway as it ships, memory store, defaults: GALILEO_MAX_RETRIES 2, GALILEO_RESOLVE_ATTEMPTS 2, the breaker off; the simulator answers at once). A lookup that fails is retried twice by the forwarder (100 and 200 ms backoff with jitter) and the resolver pauses 200 ms before its second lookup: that is the unknown case's half second.\n\n${table}\n`,
  );
  console.log(table);
}

/** The mean time of one resolution with this result, from the gateway's histogram. */
async function lookupMean(origin: string, result: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}\\{result="${result}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return round((value('gateway_lost_answer_resolution_seconds_sum') / value('gateway_lost_answer_resolution_seconds_count')) * 1000);
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
