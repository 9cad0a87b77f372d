/**
 * The one `request completed` line per request (docs/contract.md, Logs and metrics), in-process:
 * its fields for a forwarded call, a replay, a validation failure, an upstream timeout and an
 * unknown path; the masking of caller-controlled texts; unhandled errors logged once; pino's redact
 * as the second line.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { errorHandler } from '../../src/http/error-handler.js';
import { requestContext } from '../../src/http/request-context.js';
import { createLogger, loggablePath, maskDigits } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { loadGatewaySpec } from '../../src/spec.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { gatewayClients, gatewaySuite, txId, uniqueSsn } from '../helpers/harness.js';

const KEY = 'ops-request-log-key-0123456789abcdef';
const IVR_ONLY_KEY = 'ops-request-log-ivr-only-key-fedcba';

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      raw.push(String(chunk));
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', sensitiveKeys: loadGatewaySpec().sensitiveKeys, destination }), lines, raw };
}

describe('ops: the request completed line', () => {
  const suite = gatewaySuite({
    GALILEO_TIMEOUT_MS: '300',
    GATEWAY_CLIENTS: gatewayClients([
      { name: 'ops-tests', key: KEY },
      { name: 'ivr-only', key: IVR_ONLY_KEY, operations: ['createIvrCall'] },
    ]),
  });

  const createAccountBody = () => ({ ...exampleBody('createAccount'), transactionId: txId('log'), id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` });
  const post = (operationId: string, body: object) => request(suite.gw.url).post(pathOf(operationId)).set('authorization', `Bearer ${KEY}`).send(body);
  /** Exactly one line for the request id, or the assertion says how many. */
  const lineFor = (requestId: string) => {
    const lines = suite.gw.logs.filter((l) => l.msg === 'request completed' && l.requestId === requestId);
    assert.equal(lines.length, 1, `${lines.length} request completed lines for ${requestId}`);
    return lines[0] as any;
  };

  it('a forwarded call: client, operation, transactionId, idempotency forwarded, upstream summary, status, duration', async () => {
    const body = createAccountBody();
    const res = await post('createAccount', body);
    assert.equal(res.status, 200, res.text);
    const line = lineFor(res.headers['x-request-id']!);
    assert.equal(line.level, 30);
    assert.equal(line.method, 'POST');
    assert.equal(line.path, '/intserv/4.0/createAccount');
    assert.equal(line.client, 'ops-tests');
    assert.equal(line.operation, 'createAccount');
    assert.equal(line.transactionId, body.transactionId);
    assert.equal(line.idempotency, 'forwarded');
    assert.equal(line.status, 200);
    assert.equal(line.problem, undefined);
    assert.equal(line.upstream.httpStatus, 200);
    assert.equal(line.upstream.statusCode, 0);
    assert.equal(line.upstream.attempts, 1);
    assert.equal(typeof line.upstream.durationMs, 'number');
    assert.ok(line.durationMs >= line.upstream.durationMs, `${line.durationMs} < ${line.upstream.durationMs}`);
    // The response is never logged: the PRN Galileo returned is nowhere in the log.
    const prn = JSON.parse(res.text).response_data[0].pmt_ref_no as string;
    assert.ok(!suite.gw.rawLogs.join('').includes(prn));
  });

  it('a replay: idempotency replayed and no upstream', async () => {
    const body = createAccountBody();
    assert.equal((await post('createAccount', body)).status, 200);
    const res = await post('createAccount', body);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['idempotent-replayed'], 'true');
    const line = lineFor(res.headers['x-request-id']!);
    assert.equal(line.idempotency, 'replayed');
    assert.equal(line.upstream, undefined);
    assert.equal(line.transactionId, body.transactionId);
    assert.equal(line.status, 200);
  });

  it('a validation failure: 400, the problem code, idempotency none, no upstream', async () => {
    const res = await post('createAccount', { ...createAccountBody(), prodId: 'not-a-number', dateOfBirth: '1980-99-99' });
    assert.equal(res.status, 400, res.text);
    const line = lineFor(res.headers['x-request-id']!);
    assert.equal(line.status, 400);
    assert.equal(line.problem, 'invalid_request');
    assert.equal(line.idempotency, 'none');
    assert.equal(line.upstream, undefined);
    assert.equal(line.operation, 'createAccount');
    assert.ok(!suite.gw.rawLogs.join('').includes('1980-99-99'), 'the invalid value is not logged');
  });

  it('an upstream timeout: 504, upstream.attempts 1, no httpStatus', async () => {
    const body = createAccountBody();
    suite.sim.addFault({ fault: { type: 'latency', ms: 900 }, match: { transactionId: body.transactionId } });
    const res = await post('createAccount', body);
    assert.equal(res.status, 504, res.text);
    const line = lineFor(res.headers['x-request-id']!);
    assert.equal(line.status, 504);
    assert.equal(line.problem, 'upstream_timeout');
    assert.equal(line.idempotency, 'forwarded');
    assert.equal(line.upstream.attempts, 1);
    assert.equal(line.upstream.httpStatus, undefined);
    assert.equal(line.upstream.outcome, 'upstream_timeout');
  });

  it('401 and 403 are logged with the operation, and the 403 with the client', async () => {
    const unauthenticated = await request(suite.gw.url).post(pathOf('createIvrCall')).set('authorization', 'Bearer wrong-key-4111111111111111').send({});
    assert.equal(unauthenticated.status, 401);
    const line = lineFor(unauthenticated.headers['x-request-id']!);
    assert.deepEqual([line.status, line.problem, line.operation, line.client], [401, 'unauthenticated', 'createIvrCall', undefined]);
    assert.ok(!suite.gw.rawLogs.join('').includes('wrong-key'), 'the presented key is not logged');

    const forbidden = await request(suite.gw.url).post(pathOf('createAccount')).set('authorization', `Bearer ${IVR_ONLY_KEY}`).send({});
    assert.equal(forbidden.status, 403);
    const line403 = lineFor(forbidden.headers['x-request-id']!);
    assert.deepEqual([line403.status, line403.problem, line403.operation, line403.client], [403, 'forbidden', 'createAccount', 'ivr-only']);
    assert.ok(!suite.gw.rawLogs.join('').includes(IVR_ONLY_KEY) && !suite.gw.rawLogs.join('').includes(KEY));
  });

  it('a card number in a path, whatever its separators, never reaches the log line or the 404 problem', async () => {
    const pan = '4111111111111111';
    const grouped = (sep: string) => pan.match(/.{4}/g)!.join(sep);
    const paths = ['_', '+', ',', '/', '-', '.', ':', '%2D', '%20', '%2F'].map((sep) => `/x/${grouped(sep)}`);
    paths.push(`/x/${[...pan].map((d) => `%3${d}`).join('')}`); // every digit percent-encoded
    for (const path of paths) {
      const res = await request(suite.gw.url).post(path).send({});
      assert.equal(res.status, 404, path);
      const line = lineFor(res.headers['x-request-id']!);
      for (const text of [JSON.stringify(line), res.text]) {
        assert.ok(!text.replace(/[^0-9]/g, '').includes(pan.slice(0, 12)), `${path}: ${text}`);
      }
      assert.match(String(line.path), /\*{6}1111/, path);
    }
  });

  it('a transactionId that is a card number is logged masked, and no problem echoes it', async () => {
    const pan = '4111-1111-1111-1111';
    const post = (body: object) => request(suite.gw.url).post(pathOf('createAccount')).set('authorization', `Bearer ${KEY}`).send(body);
    const created = await post({ transactionId: pan, prodId: 501 });
    const reused = await post({ transactionId: pan, prodId: 502 });
    assert.equal(reused.status, 422);
    for (const res of [created, reused]) {
      const line = lineFor(res.headers['x-request-id']!);
      assert.equal(line.transactionId, '******1111');
    }
    assert.ok(!reused.text.includes('1111-1111'), reused.text);
    // An ordinary transactionId is logged as it is.
    const plain = txId('plain');
    const ok = await post({ transactionId: plain, prodId: 501 });
    assert.equal(lineFor(ok.headers['x-request-id']!).transactionId, plain);
  });

  it('an unknown path: digit runs masked to the last four, long paths truncated', async () => {
    const res = await request(suite.gw.url).post('/intserv/4.0/4111111111111111').send({});
    assert.equal(res.status, 404);
    const line = lineFor(res.headers['x-request-id']!);
    // Separators join digit groups, so the version's "4.0/" goes with the number.
    assert.equal(line.path, '/intserv/******1111');
    assert.equal(line.operation, undefined);

    const long = await request(suite.gw.url).get(`/x/${'a'.repeat(5000)}`);
    assert.equal(long.status, 404);
    assert.ok(lineFor(long.headers['x-request-id']!).path.length <= 121);
    assert.ok(!suite.gw.rawLogs.join('').includes('4111111111111111'));
  });

  it('a caller x-request-id is kept, unless it holds nine digits or more, whatever separates them', async () => {
    // UUIDs whose digits line up across the dashes into nine or more are UUIDs all the same.
    for (const id of ['trace-0f1e2d3c-4b5a', '3f6c1d2e-8a4b-4c6f-9b1e-2d7a5c9e0f11', '12345678-1234-4123-8123-123456789012', 'req.2026-11-30']) {
      const kept = await request(suite.gw.url).get('/healthz').set('x-request-id', id);
      assert.equal(kept.headers['x-request-id'], id);
      lineFor(id);
    }
    for (const id of ['ssn-123456789', '4111-1111-1111-1111', '4111.1111.1111.1111', '4111:1111:1111:1111', '123.45.6789']) {
      const replaced = await request(suite.gw.url).get('/healthz').set('x-request-id', id);
      assert.match(replaced.headers['x-request-id']!, /^[0-9a-f-]{36}$/, id);
      lineFor(replaced.headers['x-request-id']!);
      assert.ok(!suite.gw.rawLogs.join('').includes(id), id);
    }
  });
});

describe('ops: masking helpers', () => {
  it('maskDigits keeps the last four of any run of six or more digits, grouped or not', () => {
    assert.equal(maskDigits('4111111111111111'), '******1111');
    assert.equal(maskDigits('pan 4111 1111 1111 1234 and 4111-1111-1111-5678'), 'pan ******1234 and ******5678');
    assert.equal(maskDigits('ssn 123456789, dob 1980-01-01'), 'ssn ******6789, dob ******0101');
    assert.equal(maskDigits('12345 /intserv/4.0/x'), '12345 /intserv/4.0/x');
    assert.equal(maskDigits('a 4111_1111_1111_1111 b 4111+1111+1111+1112 c 4111/1111/1111/1113'), 'a ******1111 b ******1112 c ******1113');
  });

  it('loggablePath decodes percent-encoded digits before masking, and truncates', () => {
    assert.equal(loggablePath('/a/%34%31%31%311111%31111%3111111'), '/a/******1111');
    assert.equal(loggablePath('/a/4111%201111%201111%201111'), '/a/******1111');
    assert.equal(loggablePath('/intserv/4.0/createAccount'), '/intserv/4.0/createAccount');
    assert.equal(loggablePath(`/${'b'.repeat(500)}`).length, 121);
  });
});

describe('ops: unhandled errors and redact', () => {
  it('an unhandled error is logged once, with the request id and a masked message; the caller gets no stack', async () => {
    const { logger, lines } = captureLogger();
    const app = express();
    app.use(requestContext(logger, createMetrics()));
    app.get('/boom', () => {
      throw new TypeError('cannot charge card 4111111111111111');
    });
    app.use(errorHandler(logger));

    const res = await request(app).get('/boom');
    assert.equal(res.status, 500);
    assert.equal(JSON.parse(res.text).code, 'internal_error');
    assert.ok(!res.text.includes('TypeError') && !res.text.includes('4111'));
    const requestId = res.headers['x-request-id'];
    const errors = lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.requestId, requestId);
    assert.deepEqual((errors[0]!.err as any).type, 'TypeError');
    assert.equal((errors[0]!.err as any).message, 'cannot charge card ******1111');
    assert.ok(!JSON.stringify(lines).includes('4111111111111111'));
    assert.equal(lines.filter((l) => l.msg === 'request completed' && l.requestId === requestId && l.status === 500).length, 1);
  });

  it('redact censors secrets wherever a careless line would put them', () => {
    const { logger, raw } = captureLogger();
    logger.info(
      {
        authorization: 'Bearer k1',
        headers: { authorization: 'Bearer k2' },
        err: { config: { data: 'apiTransKey=k3' }, response: { data: 'k4' } },
        apiTransKey: 'k5',
        ctx: { params: { callParams: 'k6' }, body: 'k7' },
        deep: { a: { b: { webPwd: 'k8', verificationPin: 'k9', card_security_code: 'kA', expiry_date: 'kB', dateOfBirth: 'kC', id: 'kD' } } },
      },
      'careless',
    );
    const text = raw.join('');
    for (const secret of ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'kA', 'kB', 'kC', 'kD']) {
      assert.ok(!text.includes(`${secret}"`) && !text.includes(`${secret} `), `${secret} was logged: ${text}`);
    }
    assert.match(text, /\[redacted\]/);
  });

  it('an Error logged as err keeps only its type, masked message and stack, never its properties', () => {
    const { logger, lines } = captureLogger();
    const axiosLike = Object.assign(new Error('request failed for 4111111111111111'), {
      config: { data: 'apiTransKey=k1' },
      response: { data: 'k2' },
      code: 'ECONNRESET',
    });
    logger.error({ err: axiosLike }, 'careless');
    assert.equal(lines.length, 1);
    const err = lines[0]!.err as Record<string, unknown>;
    assert.deepEqual(Object.keys(err).sort(), ['message', 'stack', 'type']);
    assert.equal(err.type, 'Error');
    assert.equal(err.message, 'request failed for ******1111');
    assert.ok(!JSON.stringify(lines).includes('k1') && !JSON.stringify(lines).includes('4111111111111111'));
  });
});
