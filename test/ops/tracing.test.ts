/**
 * Tracing (docs/tracing.md) against a real gateway process and a real OTLP/HTTP receiver in the
 * test: the caller's trace continued, the span tree (server, store steps, one Galileo client span
 * per attempt), the attributes, a retry and a lost answer, the service name, log lines joined by
 * trace_id, nothing sensitive in any exported byte (protobuf and JSON), nothing exported without
 * an endpoint, a dead or hanging collector costing requests nothing, and spans flushed on SIGTERM.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { isUuid } from '../../src/sensitive-numbers.js';
import { CREDENTIALS, txId, uniqueSsn } from '../helpers/harness.js';
import { KIND, STATUS_ERROR, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { gatewayProcessSuite, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';

const CREATE = pathOf('createAccount');
const traceparent = (traceId: string, spanId: string, flags = '01') => `00-${traceId}-${spanId}-${flags}`;
const newIds = () => ({ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') });
const accountBody = () => ({ ...exampleBody('createAccount'), transactionId: txId('trace'), id: uniqueSsn() });
const ofTrace = (spans: ReceivedSpan[], traceId: string) => spans.filter((s) => s.traceId === traceId);
const serverSpan = (spans: ReceivedSpan[]) => spans.find((s) => s.kind === KIND.SERVER);

describe('ops: tracing (OpenTelemetry)', function () {
  this.timeout(30_000);
  const suite = gatewayProcessSuite();
  let receiver: OtlpReceiver;
  beforeEach(async () => (receiver = await startOtlpReceiver()));
  afterEach(() => receiver.close());

  /** A gateway exporting to this test's receiver every 50 ms. */
  const traced = (env: Record<string, string> = {}) =>
    startGatewayProcess(suite.galileoEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', ...env }));

  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    describe(protocol, () => {
      it('continues the caller’s trace: server span → store steps and a Galileo client span, with their attributes', async () => {
        const gw = await traced({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
        const caller = newIds();
        const body = accountBody();
        const res = await request(gw.url)
          .post(CREATE)
          .set('traceparent', traceparent(caller.traceId, caller.spanId))
          .set('tracestate', 'vendor=abc')
          .send(body);
        assert.equal(res.status, 200, res.text);
        const spans = ofTrace(await receiver.waitFor((all) => ofTrace(all, caller.traceId).length >= 4), caller.traceId);

        assert.ok(receiver.exports.every((e) => e.path === '/v1/traces'));
        assert.match(receiver.exports[0]!.contentType, protocol === 'http/json' ? /^application\/json/ : /^application\/x-protobuf/);
        const server = serverSpan(spans)!;
        assert.equal(server.parentSpanId, caller.spanId, 'the caller’s span is the parent');
        assert.equal(server.traceState, 'vendor=abc');
        assert.equal(server.name, `POST ${CREATE}`);
        assert.equal(server.resource['service.name'], 'galileo-gateway');
        const a = server.attributes;
        assert.equal(a['http.request.method'], 'POST');
        assert.equal(a['http.route'], CREATE);
        assert.equal(a['http.response.status_code'], 200);
        assert.equal(a['gateway.operation'], 'createAccount');
        assert.equal(a['gateway.idempotency'], 'forwarded');
        assert.equal(a['galileo.status_code'], 0);
        assert.match(String(a['galileo.rtoken']), /^[0-9a-f-]{36}$/);
        assert.equal(a['gateway.request_id'], res.headers['x-request-id']);
        assert.notEqual(server.status.code, STATUS_ERROR);

        const children = spans.filter((s) => s.parentSpanId === server.spanId);
        assert.deepEqual(children.map((s) => s.name).sort(), [`POST /intserv/4.0/createAccount`, 'idempotency claim', 'idempotency complete'].sort());
        const claim = children.find((s) => s.name === 'idempotency claim')!;
        assert.equal(claim.attributes['gateway.idempotency.state'], 'claimed');
        assert.equal(claim.attributes['gateway.idempotency.store'], 'memory');
        const client = children.find((s) => s.kind === KIND.CLIENT)!;
        assert.equal(client.attributes['server.address'], '127.0.0.1');
        assert.equal(client.attributes['server.port'], Number(new URL(suite.sim.url).port));
        assert.equal(client.attributes['gateway.galileo.attempt'], 1);
        assert.equal(client.attributes['gateway.galileo.outcome'], 'galileo');
        assert.equal(client.attributes['galileo.status_code'], '0');

        // Galileo is a third party: no traceparent unless GALILEO_TRACEPARENT=on.
        assert.ok(suite.sim.requests().some((r) => r.params.transactionId === body.transactionId));
        assert.equal(sentTraceparent(body.transactionId as string), undefined);

        // The log line of the request names its trace and span.
        const line = await gw.waitForLog((l) => l.msg === 'request completed' && l.requestId === res.headers['x-request-id']);
        assert.equal(line.trace_id, caller.traceId);
        assert.equal(line.span_id, server.spanId);
      });

      it('exports nothing sensitive: card numbers, SSNs, PINs, credentials and bearer keys in every form the logs mask', async () => {
        const gw = await traced({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_SERVICE_NAME: 'gw-leak-test' });
        await sendSensitiveRequests(gw);
        gw.signal('SIGTERM');
        await gw.exited;
        assert.ok(receiver.spans().length >= SENSITIVE_REQUESTS, `only ${receiver.spans().length} spans`);
        assert.ok(receiver.spans().every((s) => s.resource['service.name'] === 'gw-leak-test'));
        const bytes = Buffer.concat(receiver.exports.map((e) => e.raw));
        for (const secret of SECRETS) {
          for (const form of [secret, secret.replace(/[^0-9A-Za-z]/g, '')]) {
            if (form.length < 6) continue;
            assert.equal(bytes.indexOf(Buffer.from(form, 'utf8')), -1, `"${form}" is in the exported ${protocol} bytes`);
            assert.equal(bytes.indexOf(Buffer.from(form, 'utf16le')), -1);
          }
        }
        // Decoded too: no attribute value holds six digits in a row, whatever separates them.
        for (const span of receiver.spans()) {
          for (const [key, value] of Object.entries({ ...span.attributes, name: span.name, status: span.status.message })) {
            // Where Galileo is (configuration) and UUIDs (request ids, rtokens) are kept, as in the logs.
            if (key === 'url.full' || key === 'server.address' || typeof value !== 'string' || isUuid(value)) continue;
            assert.doesNotMatch(value.normalize('NFKC'), /[0-9](?:[^0-9\p{L}]*[0-9]){5}/u, `${key}=${value}`);
          }
        }
      });
    });
  }

  it('shows a retry: the edge’s 503, then Galileo’s answer, as two client spans', async () => {
    const gw = await traced();
    const body = accountBody();
    suite.sim.addFault({ fault: { type: 'edge', status: 503 }, match: { transactionId: body.transactionId as string }, times: 1 });
    const res = await request(gw.url).post(CREATE).send(body);
    assert.equal(res.status, 200, res.text);
    const server = (
      await receiver.waitFor((all) => all.some((s) => s.kind === KIND.SERVER && s.attributes['gateway.request_id'] === res.headers['x-request-id']))
    ).find((s) => s.kind === KIND.SERVER && s.attributes['gateway.request_id'] === res.headers['x-request-id'])!;
    const clientSpans = () => receiver.spans().filter((s) => s.kind === KIND.CLIENT && s.parentSpanId === server.spanId);
    await receiver.waitFor(() => clientSpans().length >= 2);
    const attempts = clientSpans().sort((x, y) => Number(x.attributes['gateway.galileo.attempt']) - Number(y.attributes['gateway.galileo.attempt']));
    assert.equal(attempts.length, 2);
    assert.equal(attempts[0]!.attributes['http.response.status_code'], 503);
    assert.equal(attempts[0]!.attributes['gateway.galileo.outcome'], 'upstream_unavailable');
    assert.equal(attempts[0]!.attributes['gateway.galileo.retryable'], true);
    assert.equal(attempts[0]!.status.code, STATUS_ERROR);
    assert.equal(attempts[1]!.attributes['gateway.galileo.outcome'], 'galileo');
    assert.equal(attempts[1]!.attributes['http.request.resend_count'], 1);
    assert.equal(attempts[1]!.attributes['gateway.galileo.retryable'], undefined);
  });

  it("shows a lost answer: the attempt timed out, the lookup of Galileo's record, and what it said on the request's span", async () => {
    const gw = await traced({ GALILEO_TIMEOUT_MS: '300' });
    const body = accountBody();
    suite.sim.addFault({ fault: { type: 'no_answer', execute: true }, match: { transactionId: body.transactionId as string }, times: 1 });
    const res = await request(gw.url).post(CREATE).send(body);
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.code, 'upstream_answer_lost');
    type Spans = Awaited<ReturnType<typeof receiver.waitFor>>;
    const serverOf = (all: Spans) => all.find((s) => s.kind === KIND.SERVER && s.attributes['gateway.request_id'] === res.headers['x-request-id']);
    const ofRequest = (all: Spans) => all.filter((s) => s.kind === KIND.CLIENT && s.parentSpanId === serverOf(all)?.spanId);
    const spans = await receiver.waitFor((all) => serverOf(all) !== undefined && ofRequest(all).length >= 2);
    const server = serverOf(spans)!;
    const call = ofRequest(spans).find((s) => String(s.attributes['url.full']).endsWith('/createAccount'))!;
    const lookup = ofRequest(spans).find((s) => String(s.attributes['url.full']).endsWith('/getCallStatus'))!;
    assert.equal(call.attributes['gateway.galileo.outcome'], 'upstream_timeout');
    assert.equal(call.status.code, STATUS_ERROR);
    assert.equal(lookup.attributes['gateway.galileo.outcome'], 'galileo');
    assert.equal(server.status.code, STATUS_ERROR);
    assert.equal(server.attributes['gateway.problem'], 'upstream_answer_lost');
    assert.equal(server.attributes['gateway.lost_answer.executed'], 'true');
    assert.equal(server.attributes['gateway.lost_answer.status_code'], 0);
    assert.equal(server.attributes['http.response.status_code'], 502);
  });

  it('GALILEO_TRACEPARENT=on: the call to Galileo carries the client span’s traceparent, or the request’s when it is not sampled', async () => {
    const gw = await traced({ GALILEO_TRACEPARENT: 'on' });
    const caller = newIds();
    const body = accountBody();
    const res = await request(gw.url).post(CREATE).set('traceparent', traceparent(caller.traceId, caller.spanId)).send(body);
    assert.equal(res.status, 200);
    const sent = suite.sim.requests().find((r) => r.params.transactionId === body.transactionId)!;
    const spans = await receiver.waitFor((all) => ofTrace(all, caller.traceId).some((s) => s.kind === KIND.CLIENT));
    const client = ofTrace(spans, caller.traceId).find((s) => s.kind === KIND.CLIENT)!;
    assert.equal(sent.headers.traceparent, traceparent(caller.traceId, client.spanId));

    // A request the caller does not sample makes no client span; Galileo still gets the caller's
    // decision, under the request's (unexported) span, which its log line names.
    const unsampled = newIds();
    const quiet = accountBody();
    const res2 = await request(gw.url)
      .post(CREATE)
      .set('traceparent', traceparent(unsampled.traceId, unsampled.spanId, '00'))
      .send(quiet);
    assert.equal(res2.status, 200);
    const line = await gw.waitForLog((l) => l.msg === 'request completed' && l.requestId === res2.headers['x-request-id']);
    const sent2 = suite.sim.requests().find((r) => r.params.transactionId === quiet.transactionId)!;
    assert.equal(sent2.headers.traceparent, traceparent(unsampled.traceId, line.span_id as string, '00'));
  });

  it('follows the caller’s sampling decision: a trace it does not sample is not exported, yet the log line still names it', async () => {
    const gw = await traced();
    const caller = newIds();
    const res = await request(gw.url)
      .post(CREATE)
      .set('traceparent', traceparent(caller.traceId, caller.spanId, '00'))
      .send(accountBody());
    assert.equal(res.status, 200);
    // A sampled request after it: once its spans are in, the unsampled one would have been too.
    const marker = newIds();
    await request(gw.url).post(CREATE).set('traceparent', traceparent(marker.traceId, marker.spanId)).send(accountBody());
    await receiver.waitFor((all) => ofTrace(all, marker.traceId).length >= 4);
    assert.deepEqual(ofTrace(receiver.spans(), caller.traceId), []);
    const line = await gw.waitForLog((l) => l.msg === 'request completed' && l.requestId === res.headers['x-request-id']);
    assert.equal(line.trace_id, caller.traceId);
  });

  it('flushes the spans of a request in flight on SIGTERM (the batch delay is a minute)', async () => {
    const gw = await traced({ OTEL_BSP_SCHEDULE_DELAY: '60000' });
    const body = accountBody();
    suite.sim.addFault({ fault: { type: 'latency', ms: 600 }, match: { transactionId: body.transactionId as string }, times: 1 });
    const pending = request(gw.url).post(CREATE).send(body);
    const answer = pending.then((r) => r);
    await suite.reachedGalileo(body.transactionId as string);
    gw.signal('SIGTERM');
    assert.equal((await answer).status, 200);
    assert.deepEqual(await gw.exited, { code: 0, signal: null });
    const requestId = (await answer).headers['x-request-id'];
    const server = receiver.spans().find((s) => s.kind === KIND.SERVER && s.attributes['gateway.request_id'] === requestId);
    assert.ok(server, 'the in-flight request’s span was exported before the exit');
    assert.equal(receiver.spans().filter((s) => s.parentSpanId === server.spanId).length, 3);
  });

  it('exports nothing without an endpoint (or with OTEL_SDK_DISABLED=true), and adds no trace ids to the logs', async () => {
    const defaultPort = await listenOn(4318); // where an exporter without a URL would send
    try {
      const disabled = await traced({ OTEL_SDK_DISABLED: 'true' });
      const plain = await startGatewayProcess(suite.galileoEnv({ OTEL_SERVICE_NAME: 'unused', OTEL_BSP_SCHEDULE_DELAY: '50' }));
      for (const gw of [disabled, plain]) {
        const caller = newIds();
        const body = accountBody();
        const res = await request(gw.url).post(CREATE).set('traceparent', traceparent(caller.traceId, caller.spanId)).send(body);
        assert.equal(res.status, 200);
        const line = await gw.waitForLog((l) => l.msg === 'request completed' && l.requestId === res.headers['x-request-id']);
        assert.equal(line.trace_id, undefined);
        assert.equal(gw.logs().find((l) => l.msg === 'gateway started')!.tracing, false);
        assert.equal(sentTraceparent(body.transactionId as string), undefined);
        gw.signal('SIGTERM');
        await gw.exited;
      }
      assert.equal(receiver.exports.length, 0);
      assert.equal(defaultPort?.requests ?? 0, 0);
    } finally {
      await defaultPort?.close();
    }
  });

  it('an unreachable or hanging collector never slows or fails a request', async () => {
    const hanging = await listenOn(0, { hang: true });
    const closedPort = await listenOn(0);
    const closedUrl = closedPort!.url;
    await closedPort!.close();
    for (const endpoint of [closedUrl, hanging!.url]) {
      const gw = await startGatewayProcess(
        suite.galileoEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          OTEL_BSP_SCHEDULE_DELAY: '20',
          OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
          SHUTDOWN_DRAIN_MS: '1000',
        }),
      );
      for (let i = 0; i < 30; i++) {
        const started = performance.now();
        const res = await request(gw.url).post(CREATE).send(accountBody());
        assert.equal(res.status, 200);
        assert.ok(performance.now() - started < 1000, `request ${i} took ${Math.round(performance.now() - started)} ms with the collector at ${endpoint}`);
      }
      const stopAt = performance.now();
      gw.signal('SIGTERM');
      assert.deepEqual(await gw.exited, { code: 0, signal: null });
      assert.ok(performance.now() - stopAt < 3000, 'the stop waits at most the drain timeout for the collector');
    }
    await hanging!.close();
  });

  /** The transactionId's request at the simulator: its traceparent header, if any. */
  function sentTraceparent(transactionId: string): string | string[] | undefined {
    return suite.sim.requests().find((r) => r.params.transactionId === transactionId)?.headers.traceparent;
  }
});

/** Secrets sent in the requests below, as written; each is also looked for with its separators removed. */
const PAN = '4111111111111111';
const BEARER = 'sk_live_tracing_bearer_0123456789abcdef';
const SSN = '123-45-6789';
const SECRETS = [
  PAN,
  '4111 1111 1111 1111',
  '4111-1111-1111-1111',
  '５５０００００００００００００００４',
  SSN,
  '123456789',
  '1234',
  BEARER,
  CREDENTIALS.apiTransKey,
  CREDENTIALS.apiLogin,
  'super-secret-passcode-77',
  '4012888888881881',
];
const SENSITIVE_REQUESTS = 8;

async function sendSensitiveRequests(gw: GatewayProcess & { url: string }): Promise<void> {
  const agent = request(gw.url);
  const bearer = `Bearer ${BEARER}`;
  const answers = await Promise.all([
    // Forwarded: an SSN and a card number where the spec has them.
    agent
      .post(CREATE)
      .set('authorization', bearer)
      .send({ ...exampleBody('createAccount'), transactionId: txId('leak'), id: '123456789' }),
    // The card number in the path, plain and percent-encoded, and in the request id.
    agent.post(`/intserv/4.0/${PAN}`).set('x-request-id', PAN).send({}),
    agent.post(`/intserv/4.0/%34%31%31%31-1111-1111-1111`).send({}),
    // In a transactionId, in every separator and script the censor knows.
    agent.post(CREATE).send({ ...exampleBody('createAccount'), transactionId: '4111 1111 1111 1111', id: SSN }),
    agent.post(CREATE).send({ ...exampleBody('createAccount'), transactionId: '５５０００００００００００００００４' }),
    // Credentials the caller must not send, a PIN, a passcode.
    agent
      .post(CREATE)
      .send({ ...exampleBody('createAccount'), transactionId: txId('leak'), apiLogin: CREDENTIALS.apiLogin, apiTransKey: CREDENTIALS.apiTransKey }),
    agent.post(CREATE).send({
      ...exampleBody('createAccount'),
      transactionId: txId('leak'),
      pin: '1234',
      passcode: 'super-secret-passcode-77',
      cardNumber: '4012888888881881',
    }),
    // A form body with a card number where no field takes one.
    agent
      .post(CREATE)
      .type('form')
      .set('x-request-id', '4012-8888-8888-1881')
      .send(new URLSearchParams({ transactionId: `tx-${PAN}`, prodId: '4111111111111111' }).toString()),
  ]);
  assert.equal(answers.length, SENSITIVE_REQUESTS);
}

/** A plain server on `port` (0: any) counting requests; `hang`: never answers. Undefined when the port is taken. */
async function listenOn(port: number, options: { hang?: boolean } = {}) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    if (!options.hang) res.end();
  });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!listening) return undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
