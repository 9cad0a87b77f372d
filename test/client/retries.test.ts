/**
 * The callers' client (clients/typescript) against a real gateway process and the simulator's
 * fault injection. Through an upstream timeout, an edge 503 and a dropped connection a
 * createAccount ends with exactly one account, and the same call again is a replay of it; every
 * retry carries the same transactionId and body, as the client's fetch, the gateway's log and the
 * simulator each see; what must not be retried comes back after one attempt.
 */
import assert from 'node:assert/strict';
import { createServer as httpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import type { Fault } from '../../src/simulator/faults.js';
import { createGatewayClient, GatewayCallError, type GatewayClient, type GatewayClientOptions } from '../../clients/typescript/src/index.js';
import { CREDENTIALS, sha256, startTestSimulator, txId, type Simulator } from '../helpers/harness.js';
import { killAllGatewayProcesses, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';

const API_KEY = 'client-test-key-0001';
const LIMITED_KEY = 'client-test-limited-key-0001';
const GALILEO_TIMEOUT_MS = 1_000;
// Short waits so the suite stays fast; the defaults are sized for production.
const FAST_RETRY = { attempts: 5, deadlineMs: 8_000, baseDelayMs: 5, maxDelayMs: 20 };

/** One attempt as the client's fetch sent it, and how it ended (an HTTP status or the error's name). */
interface Sent {
  body: string;
  authorization: string | null;
  at: number;
  ended?: number | string;
}

/** The global fetch, keeping what each attempt sent. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const entry: Sent = { body: await request.clone().text(), authorization: request.headers.get('authorization'), at: Date.now() };
    sent.push(entry);
    try {
      const response = await fetch(request);
      entry.ended = response.status;
      return response;
    } catch (error) {
      entry.ended = (error as Error).name;
      throw error;
    }
  };
}

describe('client: typed calls with safe retries, against a real gateway process', function () {
  this.timeout(20_000);
  let sim: Simulator;
  let gw: GatewayProcess & { url: string };
  let sent: Sent[];

  const client = (options: Partial<GatewayClientOptions> = {}): GatewayClient =>
    createGatewayClient({ baseUrl: gw.url, apiKey: API_KEY, timeoutMs: 3_000, retry: FAST_RETRY, fetch: recordingFetch(sent), ...options });
  const account = (transactionId = txId('client')) => ({ transactionId, prodId: 501, firstName: 'Ada', lastName: 'Lovelace', loadAmount: 20 });
  const accountCount = () => sim.snapshot().accounts.length;
  const atSimulator = (transactionId: string) => sim.requests().filter((r) => r.params.transactionId === transactionId);
  const gatewayLines = (transactionId: string) => gw.logs().filter((l) => l.msg === 'request completed' && l.transactionId === transactionId);
  /** The gateway writes its line once the answer is sent: wait until it has written `count` for this transactionId. */
  const gatewaySaw = async (transactionId: string, count: number) => {
    await gw.waitForLog(() => gatewayLines(transactionId).length >= count, 5_000);
    return gatewayLines(transactionId);
  };

  before(async () => {
    sim = await startTestSimulator();
    gw = await startGatewayProcess({
      GALILEO_BASE_URL: sim.url,
      GALILEO_API_LOGIN: CREDENTIALS.apiLogin,
      GALILEO_API_TRANS_KEY: CREDENTIALS.apiTransKey,
      GALILEO_PROVIDER_ID: String(CREDENTIALS.providerId),
      GALILEO_TIMEOUT_MS: String(GALILEO_TIMEOUT_MS),
      // The gateway's own retries would absorb an edge 503: here each fault reaches the caller.
      GALILEO_MAX_RETRIES: '0',
      GATEWAY_CLIENTS: JSON.stringify([
        { name: 'onboarding', keySha256: sha256(API_KEY), operations: ['*'] },
        { name: 'batch', keySha256: sha256(LIMITED_KEY), operations: ['*'], rateLimit: { requestsPerSecond: 1, burst: 1 } },
      ]),
      LOG_LEVEL: 'info',
    });
  });
  beforeEach(() => {
    sent = [];
    sim.clearFaults();
  });
  after(async () => {
    await killAllGatewayProcesses();
    await sim.close();
  });

  /** Every attempt carried the same body (so the same transactionId) at the client, at the simulator and, as the gateway judged it, at the gateway. */
  async function assertSameRequestThroughout(transactionId: string, attempts: number, forwarded: number) {
    assert.equal(sent.length, attempts, 'attempts sent by the client');
    for (const s of sent) {
      assert.equal(s.body, sent[0]!.body, 'a retry changed the body');
      assert.equal(s.authorization, `Bearer ${API_KEY}`);
    }
    assert.equal((JSON.parse(sent[0]!.body) as { transactionId: string }).transactionId, transactionId);
    const upstream = atSimulator(transactionId);
    assert.equal(upstream.length, forwarded, 'requests that reached the simulator');
    for (const r of upstream) assert.deepEqual(r.params, upstream[0]!.params, 'a retry changed what reached Galileo');
    const lines = await gatewaySaw(transactionId, attempts);
    assert.equal(lines.length, attempts, 'requests the gateway logged');
    // A changed body under the same transactionId would have been idempotency_key_reused (422).
    assert.ok(
      lines.every((l) => l.idempotency !== 'key_reused' && l.client === 'onboarding'),
      JSON.stringify(lines),
    );
  }

  const ENDS_IN_ONE_ACCOUNT: Array<{ through: string; faults: Fault[]; statuses: number[] }> = [
    { through: 'an upstream timeout', faults: [{ type: 'no_answer' }], statuses: [504, 200] },
    { through: 'an edge 503', faults: [{ type: 'edge', status: 503 }], statuses: [502, 200] },
    { through: 'a dropped connection', faults: [{ type: 'reset_after_body' }], statuses: [502, 200] },
    {
      through: 'an upstream timeout, an edge 503 and a dropped connection in turn',
      faults: [{ type: 'no_answer' }, { type: 'edge', status: 503 }, { type: 'reset_after_body' }],
      statuses: [504, 502, 502, 200],
    },
  ];
  for (const { through, faults, statuses } of ENDS_IN_ONE_ACCOUNT) {
    it(`createAccount through ${through}: one account, the caller holds the success, the same call again is its replay`, async () => {
      const body = account();
      for (const fault of faults) sim.addFault({ fault, match: { transactionId: body.transactionId }, times: 1 });
      const before = accountCount();

      const result = await client().createAccount(body);

      assert.ok(result.kind === 'galileo', JSON.stringify(result));
      assert.deepEqual([result.statusCode, result.ok, result.replayed, result.attempts], [0, true, false, statuses.length]);
      assert.equal(result.transactionId, body.transactionId);
      assert.deepEqual(
        sent.map((s) => s.ended),
        statuses,
      );
      await assertSameRequestThroughout(body.transactionId, statuses.length, statuses.length);
      assert.deepEqual(
        gatewayLines(body.transactionId).map((l) => l.status),
        statuses,
      );
      assert.equal(accountCount(), before + 1, 'accounts created');
      const created = result.data.response_data;
      assert.ok(Array.isArray(created));
      assert.equal(sim.snapshot().accounts.filter((a) => a.prn === created[0]?.pmt_ref_no).length, 1);

      // The caller (say, restarted) sends it again under the transactionId it stored: the original success, replayed.
      sent = [];
      const again = await client().createAccount(body);
      assert.ok(again.kind === 'galileo' && again.replayed, JSON.stringify(again));
      assert.deepEqual(again.data, result.data);
      assert.equal(again.attempts, 1);
      assert.equal(atSimulator(body.transactionId).length, statuses.length, 'a replay never reaches Galileo');
      assert.equal(accountCount(), before + 1);
    });
  }

  it('createAccount where Galileo is slower than the attempt timeout: the aborted attempt is retried, 409 waits Retry-After, the caller gets the replay', async () => {
    const body = account();
    sim.addFault({ fault: { type: 'latency', ms: GALILEO_TIMEOUT_MS - 100 }, match: { transactionId: body.transactionId }, times: 1 });
    const before = accountCount();

    const result = await client({ timeoutMs: 300 }).createAccount(body);

    assert.ok(result.kind === 'galileo' && result.ok && result.replayed, JSON.stringify(result));
    const ended = sent.map((s) => s.ended);
    assert.equal(ended[0], 'TimeoutError', `the first attempt ran out of time: ${ended.join(', ')}`);
    assert.deepEqual(ended.slice(1), [409, 200], 'the retry found the first attempt in progress, then its outcome');
    assert.ok(sent[2]!.at - sent[1]!.at >= 1_000 - 20, `waited ${sent[2]!.at - sent[1]!.at} ms, Retry-After is 1 s`);
    await assertSameRequestThroughout(body.transactionId, 3, 1);
    assert.deepEqual(
      gatewayLines(body.transactionId)
        .map((l) => l.idempotency)
        .sort(),
      ['forwarded', 'in_progress', 'replayed'],
    );
    assert.equal(accountCount(), before + 1, 'accounts created');
  });

  it("a connection dropped after Galileo acted: the gateway reads Galileo's record, the client returns its outcome at once (answer_lost); still one account", async () => {
    const body = account();
    sim.addFault({ fault: { type: 'reset_after_body', execute: true }, match: { transactionId: body.transactionId }, times: 1 });
    const before = accountCount();

    const result = await client().createAccount(body);

    assert.ok(result.kind === 'answer_lost', JSON.stringify(result));
    assert.deepEqual([result.statusCode, result.ok, result.replayed, result.attempts], [0, true, false, 1]);
    assert.match(result.rtoken ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      sent.map((s) => s.ended),
      [502],
    );
    await assertSameRequestThroughout(body.transactionId, 1, 1);
    assert.equal(accountCount(), before + 1, 'accounts created');

    // Asked again, the same outcome comes back as a replay, and nothing reaches Galileo.
    const again = await client().createAccount(body);
    assert.ok(again.kind === 'answer_lost' && again.replayed && again.statusCode === 0, JSON.stringify(again));
    assert.equal(atSimulator(body.transactionId).length, 1);
  });

  it('Galileo could not be asked whether the call ran (executed "unknown"): the client retries, and the gateway asks again first', async () => {
    const body = account();
    sim.addFault({ fault: { type: 'edge', status: 503 }, match: { operation: 'getCallStatus' }, times: 3 });
    sim.addFault({ fault: { type: 'reset_after_body', execute: true }, match: { transactionId: body.transactionId }, times: 1 });

    const result = await client().createAccount(body);

    assert.ok(result.kind === 'answer_lost', JSON.stringify(result));
    assert.deepEqual([result.statusCode, result.ok, result.attempts], [0, true, 2]);
    assert.equal(atSimulator(body.transactionId).length, 1, 'the retry was not forwarded');
  });

  it('a 429 is retried after its Retry-After (nothing was claimed), and the call then goes through once', async () => {
    const limited = client({ apiKey: LIMITED_KEY });
    assert.equal((await limited.createAccount(account())).kind, 'galileo');
    sent = [];
    const transactionId = txId('limited');
    const started = Date.now();
    const result = await limited.createAccount(account(transactionId));
    assert.equal(result.kind, 'galileo', JSON.stringify(result));
    assert.equal(result.attempts, 2);
    assert.ok(Date.now() - started >= 900, `waited ${Date.now() - started} ms, Retry-After says 1 s`);
    assert.equal(atSimulator(transactionId).length, 1);
  });

  it('a 422 comes back at once: the transactionId was used for another request', async () => {
    const body = account();
    assert.equal((await client().createAccount(body)).kind, 'galileo');
    sent = [];
    const result = await client().createAccount({ ...body, firstName: 'Grace' });
    assert.ok(result.kind === 'problem', JSON.stringify(result));
    assert.deepEqual([result.httpStatus, result.code, result.attempts, sent.length], [422, 'idempotency_key_reused', 1, 1]);
    assert.equal(result.requestId, result.problem.requestId);
  });

  it('a 400 comes back at once, listing the fields', async () => {
    const result = await client().createAccount({ ...account(), transactionId: 'x'.repeat(61) });
    assert.ok(result.kind === 'problem', JSON.stringify(result));
    assert.deepEqual([result.httpStatus, result.code, result.attempts, sent.length], [400, 'invalid_request', 1, 1]);
    assert.deepEqual(
      result.problem.errors?.map((e) => e.field),
      ['transactionId'],
    );
  });

  it('a 401 comes back at once', async () => {
    const result = await client({ apiKey: 'not-the-key' }).createIvrCall({ accountNo: '074100000001', callType: 'CPIN', callParams: '{}' });
    assert.ok(result.kind === 'problem', JSON.stringify(result));
    assert.deepEqual([result.httpStatus, result.code, result.attempts, sent.length], [401, 'unauthenticated', 1, 1]);
  });

  it('a Galileo business error comes back at once, ok false, response_data empty', async () => {
    const body = account();
    sim.addFault({ fault: { type: 'respond', statusCode: '407-02' }, match: { transactionId: body.transactionId }, times: 1 });
    const result = await client().createAccount(body);
    assert.ok(result.kind === 'galileo', JSON.stringify(result));
    assert.deepEqual([result.statusCode, result.ok, result.attempts, result.data.response_data], ['407-02', false, 1, {}]);
  });

  it('generates a UUID transactionId when none is given, and returns it', async () => {
    const { transactionId: _omitted, ...body } = account();
    const result = await client().createAccount(body);
    assert.ok(result.kind === 'galileo' && result.ok, JSON.stringify(result));
    assert.match(result.transactionId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(atSimulator(result.transactionId).length, 1);
  });

  it('XML answers come back as text, read for statusCode and ok', async () => {
    const result = await client().createAccount(account(), { responseContentType: 'xml' });
    assert.ok(result.kind === 'galileo', JSON.stringify(result));
    assert.deepEqual([result.statusCode, result.ok], [0, true]);
    assert.match(result.data, /^<\?xml[^>]*>\s*<response><status_code>0<\/status_code>/);
  });

  it('connection failures are retried with the same request up to the attempt bound, then throw with the transactionId', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const body = account();
    const error = await client({ baseUrl: `http://127.0.0.1:${closedPort}`, retry: { ...FAST_RETRY, attempts: 3 } })
      .createAccount(body)
      .then(
        (result) => assert.fail(`expected GatewayCallError, got ${JSON.stringify(result)}`),
        (e: unknown) => e,
      );
    assert.ok(error instanceof GatewayCallError, String(error));
    assert.deepEqual([error.transactionId, error.attempts, error.httpStatus], [body.transactionId, 3, undefined]);
    assert.equal(sent.length, 3);
    assert.ok(sent.every((s) => s.body === sent[0]!.body && s.ended === 'TypeError'));
  });

  it('the deadline bounds a call whose attempts would go on', async () => {
    sim.addFault({ fault: { type: 'edge', status: 503 }, match: { operation: 'createAccount' } });
    const result = await client({ retry: { attempts: 1_000, deadlineMs: 400, baseDelayMs: 50, maxDelayMs: 50 } }).createAccount(account());
    assert.ok(result.kind === 'problem', JSON.stringify(result));
    assert.equal(result.code, 'upstream_unavailable', 'the last answer is returned once no retry is left');
    assert.ok(result.attempts > 1 && result.attempts < 1_000, `attempts: ${result.attempts}`);
    assert.equal(sent.length, result.attempts);
  });

  it('a redirect is never followed: a 307 to another origin gets nothing, the call throws after one attempt', async () => {
    // The third review: a 307 re-posted the body (accountNo, passCode, expiryDate) to another origin.
    const stolen: string[] = [];
    const elsewhere = await listening(
      httpServer((req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => res.end(stolen.push(body) && 'thanks'));
      }),
    );
    const redirector = await listening(
      httpServer((req, res) => {
        req.resume();
        res.writeHead(307, { location: `${elsewhere.url}/intserv/4.0/createIvrCall` }).end();
      }),
    );
    try {
      const error = await client({ baseUrl: redirector.url })
        .createIvrCall({
          accountNo: '074103447228',
          callType: 'CPIN',
          callParams: JSON.stringify({ panLastFour: '1264', passCode: '0123', expiryDate: '2029-11-30' }),
        })
        .catch((e: unknown) => e);
      assert.ok(error instanceof GatewayCallError, String(error));
      assert.deepEqual([error.httpStatus, error.attempts], [307, 1]);
      assert.deepEqual(stolen, []);
    } finally {
      await Promise.all([elsewhere.close(), redirector.close()]);
    }
  });

  it("the caller's signal stops the call: GatewayCallError, nothing sent", async () => {
    const error = await client()
      .createAccount(account(), { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    assert.ok(error instanceof GatewayCallError && /aborted/.test(error.message), String(error));
    assert.equal(sent.length, 0);
  });
});

async function listening(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
