/**
 * `npm start` as an operator runs it: npm, then `node dist/src/main.js` (built first when stale),
 * no tsx at run time. A signal to the process the operator holds (npm's pid, or the terminal's
 * process group on Ctrl-C) drains the gateway: the request in flight is answered, npm exits 0,
 * and no gateway process is left serving.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { shippedNodeArgs } from '../../scripts/lib/start-command.js';
import { txId, uniqueSsn } from '../helpers/harness.js';
import { gatewayProcessSuite, probe, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { rawConnection } from '../helpers/raw-http.js';

describe('ops: npm start', function () {
  // The first start may build dist/ (a few seconds on a fresh clone).
  this.timeout(90_000);
  const suite = gatewayProcessSuite();

  const npmStart = () =>
    startGatewayProcess(
      { HOME: process.env.HOME ?? '/tmp', npm_config_update_notifier: 'false', ...suite.galileoEnv({ GALILEO_TIMEOUT_MS: '5000' }) },
      { command: ['npm', 'start'], detached: true, startTimeoutMs: 80_000 },
    );

  /** The process npm started, and its command line. */
  const childOf = (pid: number) => {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    assert.equal(children.length, 1, `npm has ${children.length} children`);
    const child = children[0]!;
    return { pid: child, cmdline: readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean) };
  };
  const groupAlive = (pgid: number) => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  /** A createAccount that takes `ms` at the simulator, sent on its own connection. */
  const slowRequest = async (proc: GatewayProcess & { url: string }, ms: number) => {
    const body = { ...exampleBody('createAccount'), transactionId: txId('npm'), id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` };
    suite.sim.addFault({ fault: { type: 'latency', ms }, match: { transactionId: body.transactionId } });
    const conn = await rawConnection(proc.url);
    conn.send('POST', pathOf('createAccount'), { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    await suite.reachedGalileo(body.transactionId);
    return { conn, transactionId: body.transactionId };
  };

  const assertDrainedAndGone = async (proc: GatewayProcess & { url: string }, gatewayPid: number, inFlight: Awaited<ReturnType<typeof slowRequest>>) => {
    const [answer] = await inFlight.conn.responses(1);
    assert.equal(answer!.status, 200, answer!.body);
    assert.equal(JSON.parse(answer!.body).status_code, 0, answer!.body);
    assert.deepEqual(await proc.exited, { code: 0, signal: null }, proc.stderr());

    const messages = proc.logs().map((l) => String(l.msg));
    assert.equal(messages.filter((m) => m === 'signal received').length, 1, messages.join('\n'));
    assert.ok(!messages.includes('second signal during the drain: exiting now'), messages.join('\n'));
    const completed = proc.logs().find((l) => l.msg === 'request completed' && l.transactionId === inFlight.transactionId);
    assert.equal(completed?.status, 200);
    assert.equal(proc.logs().find((l) => l.msg === 'gateway stopped')?.drained, true);

    assert.ok(!existsSync(`/proc/${gatewayPid}`), `the gateway (pid ${gatewayPid}) is still running`);
    assert.ok(!groupAlive(proc.child.pid!), 'a process of the npm start group is still running');
    assert.equal(await probe(`${proc.url}/healthz`), 'ECONNREFUSED');
  };

  it('runs node on dist/ (no tsx), with the heap cap the default memory store fits; SIGTERM to npm: the in-flight request is answered, npm exits 0, no gateway left', async () => {
    const proc = await npmStart();
    const gateway = childOf(proc.child.pid!);
    const flags = shippedNodeArgs(fileURLToPath(new URL('../..', import.meta.url)));
    assert.ok(
      flags.some((f) => f.startsWith('--max-old-space-size=')),
      flags.join(' '),
    );
    assert.deepEqual(gateway.cmdline.slice(1), [...flags, 'dist/src/main.js'], gateway.cmdline.join(' '));
    assert.ok(!proc.stdout().includes('tsx'), proc.stdout());

    const inFlight = await slowRequest(proc, 1000);
    proc.signal('SIGTERM'); // to npm's pid, not the gateway's
    await assertDrainedAndGone(proc, gateway.pid, inFlight);
  });

  it('Ctrl-C (SIGINT to the whole process group, relayed again by npm): one drain, exit 0', async () => {
    const proc = await npmStart();
    const gateway = childOf(proc.child.pid!);
    const inFlight = await slowRequest(proc, 1000);
    process.kill(-proc.child.pid!, 'SIGINT');
    await assertDrainedAndGone(proc, gateway.pid, inFlight);
  });
});
