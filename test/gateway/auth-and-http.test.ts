/** Caller authentication (before the body is read) and the HTTP-level errors. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import request from 'supertest';
import { gatewaySuite, sha256, txId } from '../helpers/harness.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';

const ONBOARDING_KEY = 'onboarding-test-key-5f1c0e';
const OPS_KEY = 'ops-test-key-9a7d21';

describe('caller authentication', () => {
  const suite = gatewaySuite({
    GATEWAY_CLIENTS: JSON.stringify([
      { name: 'onboarding', keySha256: sha256(ONBOARDING_KEY), operations: ['createAccount'] },
      { name: 'ops', keySha256: sha256(OPS_KEY), operations: ['*'] },
    ]),
  });

  const call = (key?: string) => {
    const req = request(suite.gw.url).post(pathOf('createAccount'));
    return key === undefined ? req : req.set('authorization', `Bearer ${key}`);
  };

  it('no key -> 401 with WWW-Authenticate, nothing forwarded', async () => {
    const before = suite.sim.requests().length;
    const res = await call().send({ transactionId: txId(), prodId: 501 });
    assert.equal(res.status, 401);
    assert.match(res.headers['www-authenticate']!, /^Bearer/);
    assert.equal(JSON.parse(res.text).code, 'unauthenticated');
    assert.equal(suite.sim.requests().length, before);
  });

  it('an unknown key -> 401', async () => {
    const res = await call('not-a-key').send({ transactionId: txId(), prodId: 501 });
    assert.equal(res.status, 401);
  });

  it('a malformed Authorization header -> 401', async () => {
    const res = await request(suite.gw.url)
      .post(pathOf('createAccount'))
      .set('authorization', `Basic ${ONBOARDING_KEY}`)
      .send({ transactionId: txId(), prodId: 501 });
    assert.equal(res.status, 401);
  });

  it('authentication happens before the body is read: an invalid body still gets 401', async () => {
    const res = await call().set('content-type', 'application/json').send('{not json');
    assert.equal(res.status, 401);
    const unsupported = await call('wrong').set('content-type', 'text/plain').send('hello');
    assert.equal(unsupported.status, 401);
  });

  it('a client calling an operation it is not allowed -> 403', async () => {
    const before = suite.sim.requests().length;
    const res = await request(suite.gw.url)
      .post(pathOf('createIvrCall'))
      .set('authorization', `Bearer ${ONBOARDING_KEY}`)
      .send({ ...exampleBody('createIvrCall'), transactionId: txId() });
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.text).code, 'forbidden');
    assert.equal(suite.sim.requests().length, before);
  });

  it('allowed clients get through, and the log names the client but never the key', async () => {
    const a = await call(ONBOARDING_KEY).send({ transactionId: txId(), prodId: 501 });
    assert.equal(a.status, 200, a.text);
    const b = await request(suite.gw.url)
      .post(pathOf('createIvrCall'))
      .set('authorization', `Bearer ${OPS_KEY}`)
      .send({ ...exampleBody('createIvrCall'), transactionId: txId() });
    assert.equal(b.status, 200, b.text);
    const lines = suite.gw.logs.filter((l) => l.msg === 'request completed' && l.status === 200);
    assert.ok(lines.some((l) => l.client === 'onboarding'));
    assert.ok(lines.some((l) => l.client === 'ops'));
    const all = suite.gw.rawLogs.join('');
    assert.ok(!all.includes(ONBOARDING_KEY) && !all.includes(OPS_KEY), 'a bearer key reached the logs');
  });
});

describe('HTTP-level errors', () => {
  const suite = gatewaySuite({ BODY_LIMIT: '2kb' });

  const problemOf = (res: request.Response, status: number, code: string) => {
    assert.equal(res.status, status, res.text);
    assert.match(res.headers['content-type']!, /^application\/problem\+json/);
    const problem = JSON.parse(res.text);
    assert.equal(problem.code, code);
    assert.equal(problem.status, status);
    assert.ok(problem.type && problem.title && problem.detail && problem.requestId);
    assert.ok(!/\n\s+at /.test(res.text), 'stack trace leaked');
    return problem;
  };

  it('unknown path -> 404 not_found', async () => {
    problemOf(await request(suite.gw.url).post('/intserv/4.0/deleteAccount').send({}), 404, 'not_found');
    problemOf(await request(suite.gw.url).get('/nothing-here'), 404, 'not_found');
  });

  it('wrong method -> 405 with Allow: POST', async () => {
    const res = await request(suite.gw.url).get(pathOf('createAccount'));
    problemOf(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow, 'POST');
    problemOf(await request(suite.gw.url).put(pathOf('createIvrCall')).send({}), 405, 'method_not_allowed');
  });

  it('a body over BODY_LIMIT -> 413, nothing forwarded', async () => {
    const before = suite.sim.requests().length;
    problemOf(
      await request(suite.gw.url)
        .post(pathOf('createAccount'))
        .send({ transactionId: txId(), prodId: 501, userData: 'x'.repeat(4000) }),
      413,
      'payload_too_large',
    );
    problemOf(
      await request(suite.gw.url)
        .post(pathOf('createAccount'))
        .type('form')
        .send(`transactionId=t&prodId=1&userData=${'y'.repeat(4000)}`),
      413,
      'payload_too_large',
    );
    assert.equal(suite.sim.requests().length, before);
  });

  it('neither JSON nor form -> 415 naming content-type', async () => {
    const problem = problemOf(
      await request(suite.gw.url).post(pathOf('createAccount')).set('content-type', 'text/plain').send('prodId=1'),
      415,
      'unsupported_media_type',
    );
    assert.deepEqual(
      problem.errors.map((e: { field: string }) => e.field),
      ['content-type'],
    );
    problemOf(await request(suite.gw.url).post(pathOf('createAccount')).set('content-type', 'application/xml').send('<a/>'), 415, 'unsupported_media_type');
    problemOf(await request(suite.gw.url).post(pathOf('createAccount')), 415, 'unsupported_media_type');
  });

  it('malformed JSON -> 400 invalid_request naming the body', async () => {
    const problem = problemOf(
      await request(suite.gw.url).post(pathOf('createAccount')).set('content-type', 'application/json').send('{"prodId": 501,'),
      400,
      'invalid_request',
    );
    assert.deepEqual(
      problem.errors.map((e: { field: string }) => e.field),
      ['body'],
    );
  });

  it('an empty JSON body -> 400 naming the body', async () => {
    const problem = problemOf(
      await request(suite.gw.url).post(pathOf('createAccount')).set('content-type', 'application/json').send(''),
      400,
      'invalid_request',
    );
    assert.ok(problem.errors.length >= 1);
  });

  it('__proto__ in JSON -> 400, and no prototype is polluted', async () => {
    const problem = problemOf(
      await request(suite.gw.url)
        .post(pathOf('createAccount'))
        .set('content-type', 'application/json')
        .send('{"transactionId":"p1","prodId":1,"__proto__":{"polluted":true}}'),
      400,
      'invalid_request',
    );
    assert.equal(problem.errors[0].field, '__proto__');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('x-request-id: a sane incoming id is echoed, anything else replaced', async () => {
    const kept = await request(suite.gw.url).get('/healthz').set('x-request-id', 'abc-123');
    assert.equal(kept.headers['x-request-id'], 'abc-123');
    const replaced = await request(suite.gw.url).get('/healthz').set('x-request-id', 'a b <script>');
    assert.match(replaced.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
  });

  it("a request Node's HTTP parser refuses gets a problem+json 400 with an x-request-id, and one log line", async () => {
    const { port } = new URL(suite.gw.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.end('POST /intserv/4.0/createAccount HTTP/1.1\r\nhost: x\r\nx-request-id: a\u0000b\r\ncontent-length: 0\r\n\r\n');
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const [head, body] = raw.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 400 /);
    assert.match(head!, /content-type: application\/problem\+json/);
    const requestId = /x-request-id: ([0-9a-f-]{36})/.exec(head!)?.[1];
    assert.ok(requestId, head);
    const problem = JSON.parse(body!);
    assert.equal(problem.code, 'invalid_request');
    assert.equal(problem.requestId, requestId);
    assert.deepEqual(
      problem.errors.map((e: { field: string }) => e.field),
      ['headers'],
    );
    assert.equal(suite.gw.logs.filter((l) => l.msg === 'request completed' && l.requestId === requestId).length, 1);
  });

  it('ops endpoints answer without auth', async () => {
    assert.equal((await request(suite.gw.url).get('/healthz')).status, 200);
    const ready = await request(suite.gw.url).get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.text), { status: 'ready', checks: { config: 'ok', store: 'ok' } });
    const spec = await request(suite.gw.url).get('/openapi.json');
    assert.equal(JSON.parse(spec.text).openapi, '3.1.0');
    const metrics = await request(suite.gw.url).get('/metrics');
    assert.match(metrics.text, /gateway_requests_total/);
  });
});
