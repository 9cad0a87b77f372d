/** Fault injection, each type observed from a raw http.request, plus matching and times. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { admin, call, expectStatus, rawForm, rawPost, statusText, tid, type Env } from './helpers.js';

describe('simulator: faults', () => {
  let sim: RunningSimulator;
  let url: string;
  before(async () => {
    sim = await startSimulator({ port: 0 });
    url = `${sim.url}/createAccount`;
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  it('latency: answers normally after the delay', async () => {
    sim.addFault({ fault: { type: 'latency', ms: 150 } });
    const result = await rawPost(url, rawForm({ prodId: 501 }));
    assert.equal(result.kind, 'response');
    assert.ok(result.elapsedMs >= 140, `took ${result.elapsedMs} ms`);
    if (result.kind === 'response') assert.equal((JSON.parse(result.body) as Env).status_code, 0);
  });

  it('no_answer: reads the request and never answers (client times out); not executed by default', async () => {
    sim.addFault({ fault: { type: 'no_answer' }, times: 1 });
    const transactionId = tid();
    const result = await rawPost(url, rawForm({ prodId: 501, transactionId }), { timeoutMs: 200 });
    assert.equal(result.kind, 'timeout');
    const logged = sim.requests()[0];
    assert.equal(logged?.fault, 'no_answer');
    assert.equal(logged?.params['transactionId'], transactionId);
    assert.equal(sim.state.accounts.size, 0);
    expectStatus(await call(sim, 'createAccount', { prodId: 501, transactionId }), 0);
  });

  it('no_answer with execute: the call happened, so the retry gets 24', async () => {
    sim.addFault({ fault: { type: 'no_answer', execute: true }, times: 1 });
    const transactionId = tid();
    assert.equal((await rawPost(url, rawForm({ prodId: 501, transactionId }), { timeoutMs: 200 })).kind, 'timeout');
    assert.equal(sim.state.accounts.size, 1);
    expectStatus(await call(sim, 'createAccount', { prodId: 501, transactionId }), 24);
  });

  it('no_answer: close() ends hung sockets (the client sees the connection drop)', async () => {
    const other = await startSimulator({ port: 0, faults: [{ fault: { type: 'no_answer' } }] });
    const pending = rawPost(`${other.url}/createAccount`, rawForm({ prodId: 501 }));
    while (other.requests().length === 0 || other.requests()[0]?.body === '') await new Promise((r) => setTimeout(r, 10));
    await other.close();
    const result = await pending;
    assert.equal(result.kind, 'error');
  });

  it('reset_before_body: the socket is reset as soon as the headers arrive; the body is never read', async () => {
    sim.addFault({ fault: { type: 'reset_before_body' }, match: { operation: 'createAccount' } });
    const result = await rawPost(url, rawForm({ prodId: 501 }));
    assert.equal(result.kind, 'error');
    if (result.kind === 'error') assert.match(result.code, /ECONNRESET|EPIPE/);
    const logged = sim.requests()[0];
    assert.equal(logged?.fault, 'reset_before_body');
    assert.equal(logged?.body, '');
    assert.equal(sim.state.accounts.size, 0);
  });

  it('reset_after_body: the whole body is read, then the socket is reset without an answer', async () => {
    sim.addFault({ fault: { type: 'reset_after_body' }, times: 1 });
    const body = rawForm({ prodId: 501 });
    const result = await rawPost(url, body);
    assert.equal(result.kind, 'error');
    // An RST ("read ECONNRESET"), not a FIN, which Node reports as "socket hang up".
    if (result.kind === 'error') assert.deepEqual([result.code, result.message], ['ECONNRESET', 'read ECONNRESET']);
    assert.equal(sim.requests()[0]?.body, body);
    assert.equal(sim.state.accounts.size, 0);
  });

  for (const status of [502, 503, 504, 429]) {
    it(`edge ${status}: a Cloudflare-style HTML page, no envelope`, async () => {
      sim.addFault({ fault: { type: 'edge', status } });
      const result = await rawPost(url, rawForm({ prodId: 501 }));
      assert.equal(result.kind, 'response');
      if (result.kind !== 'response') return;
      assert.equal(result.status, status);
      assert.match(String(result.headers['content-type']), /^text\/html/);
      assert.equal(result.headers['server'], 'cloudflare');
      assert.match(result.body, /^<!DOCTYPE html>/);
      assert.match(result.body, new RegExp(`Error code ${status}`));
      assert.doesNotMatch(result.body, /status_code/);
      assert.equal(sim.state.accounts.size, 0);
    });
  }

  it('malformed: HTTP 200, application/json, a body that is not JSON', async () => {
    sim.addFault({ fault: { type: 'malformed' } });
    const result = await rawPost(url, rawForm({ prodId: 501 }));
    assert.equal(result.kind, 'response');
    if (result.kind !== 'response') return;
    assert.equal(result.status, 200);
    assert.equal(result.headers['content-type'], 'application/json');
    assert.throws(() => JSON.parse(result.body) as unknown, SyntaxError);
  });

  it('partial: Content-Length of the whole envelope, part of it sent, then the connection drops', async () => {
    sim.addFault({ fault: { type: 'partial' }, times: 1 });
    const transactionId = tid();
    const result = await rawPost(url, rawForm({ prodId: 501, transactionId }));
    assert.equal(result.kind, 'error');
    if (result.kind !== 'error') return;
    const announced = Number(result.headers?.['content-length']);
    assert.ok(announced > 0);
    assert.ok(result.partialBody.length > 0 && Buffer.byteLength(result.partialBody) < announced, `${result.partialBody.length} of ${announced}`);
    assert.ok(result.partialBody.startsWith('{"status_code":0,"status":"Success"'), result.partialBody);
    // The envelope was real: the account exists and the transactionId is consumed.
    expectStatus(await call(sim, 'createAccount', { prodId: 501, transactionId }), 24);
  });

  it('trickle: a valid response delivered in many chunks over the given time', async () => {
    sim.addFault({ fault: { type: 'trickle', ms: 300 } });
    const result = await rawPost(url, rawForm({ prodId: 501 }));
    assert.equal(result.kind, 'response');
    if (result.kind !== 'response') return;
    assert.ok(result.elapsedMs >= 250, `took ${result.elapsedMs} ms`);
    assert.ok(result.chunks > 5, `${result.chunks} chunks`);
    assert.equal((JSON.parse(result.body) as Env).status_code, 0);
  });

  it('respond: the chosen error code with the spec text, no business logic', async () => {
    sim.addFault({ fault: { type: 'respond', statusCode: '407-05' } });
    const env = await call(sim, 'createAccount', { prodId: 501 });
    expectStatus(env, '407-05', 'createAccount');
    assert.deepEqual(env.errors, [statusText('407-05', 'createAccount')]);
    assert.deepEqual(env.response_data, {});
    assert.equal(sim.state.accounts.size, 0);
  });

  it('respond: a success code consumes the transactionId and carries plausible response_data', async () => {
    sim.addFault({ fault: { type: 'respond', statusCode: 0 }, times: 1 });
    const transactionId = tid();
    const env = await call(sim, 'createAccount', { prodId: 501, transactionId });
    expectStatus(env, 0);
    const data = (env.response_data as Array<Record<string, unknown>>)[0];
    assert.match(String(data?.['pmt_ref_no']), /^\d{12}$/);
    assert.match(String(data?.['card_number']), /^487093X{6}\d{4}$/);
    expectStatus(await call(sim, 'createAccount', { prodId: 501, transactionId }), 24);
    sim.addFault({ fault: { type: 'respond', statusCode: '24' }, times: 1 });
    expectStatus(await call(sim, 'createAccount', { prodId: 501 }), 24);
  });

  it('match on operation and transactionId; times counts down; the first matching rule wins', async () => {
    const target = tid();
    sim.addFault({ fault: { type: 'respond', statusCode: '407-06' }, match: { operation: 'createAccount', transactionId: target }, times: 1 });
    sim.addFault({ fault: { type: 'respond', statusCode: '465-04' }, match: { operation: 'createIvrCall' } });
    sim.addFault({ fault: { type: 'respond', statusCode: '465-05' }, match: { operation: 'createIvrCall' } });
    expectStatus(await call(sim, 'createAccount', { prodId: 501 }), 0);
    expectStatus(await call(sim, 'createAccount', { prodId: 501, transactionId: target }), '407-06', 'createAccount');
    expectStatus(await call(sim, 'createAccount', { prodId: 501, transactionId: target }), 0);
    expectStatus(await call(sim, 'createIvrCall', {}), '465-04', 'createIvrCall');
    assert.equal(sim.faults().length, 2);
  });

  it('admin API: add, list, reject invalid rules, clear', async () => {
    const added = await admin(sim, 'POST', 'faults', { fault: { type: 'edge', status: 503 }, times: 2 });
    assert.equal(added.status, 201);
    assert.deepEqual((await admin(sim, 'GET', 'faults')).json, [
      { id: (added.json as { id: number }).id, fault: { type: 'edge', status: 503 }, match: {}, times: 2 },
    ]);
    for (const bad of [
      { fault: { type: 'explode' } },
      { fault: { type: 'latency' } },
      { fault: { type: 'reset_before_body' }, match: { transactionId: 'x' } },
      { fault: { type: 'malformed' }, times: 0 },
    ]) {
      const reply = await admin(sim, 'POST', 'faults', bad);
      assert.equal(reply.status, 400, JSON.stringify(bad));
      assert.equal(typeof (reply.json as { error: string }).error, 'string');
    }
    assert.equal((await admin(sim, 'DELETE', 'faults')).status, 204);
    assert.deepEqual(sim.faults(), []);
    expectStatus(await call(sim, 'createAccount', { prodId: 501 }), 0);
  });

  it('faults given at start (SIMULATOR_FAULTS) apply per run and come back after reset()', async () => {
    const other = await startSimulator({ port: 0, faults: [{ fault: { type: 'respond', statusCode: -1 }, times: 1 }] });
    try {
      expectStatus(await call(other, 'createAccount', { prodId: 501 }), -1);
      expectStatus(await call(other, 'createAccount', { prodId: 501 }), 0);
      other.reset();
      expectStatus(await call(other, 'createAccount', { prodId: 501 }), -1);
    } finally {
      await other.close();
    }
  });

  it('survives garbage, aborted uploads and oversized bodies', async () => {
    const garbage = await new Promise<string>((resolve) => {
      const socket = net.connect(sim.port, '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    assert.match(garbage, /^HTTP\/1\.1 400/);
    await new Promise<void>((resolve) => {
      const socket = net.connect(sim.port, '127.0.0.1', () => {
        socket.write('POST /intserv/4.0/createAccount HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nprodId=5');
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => undefined);
    });
    const big = await fetch(`${sim.url}/createAccount`, { method: 'POST', body: 'a='.padEnd(1024 * 1024 + 10, 'x') });
    assert.equal(big.status, 413);
    expectStatus(await call(sim, 'createAccount', { prodId: 501 }), 0);
  });
});
