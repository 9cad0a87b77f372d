/**
 * What callers get when Galileo misbehaves (docs/contract.md, Errors and Calling Galileo): timeouts
 * are never retried, edge 429/502/503/504 and refused connections are, garbage is a 502. Faults
 * come from the simulator.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import request from 'supertest';
import { gatewaySuite, startTestGateway, txId } from '../helpers/harness.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';

describe('upstream faults', () => {
  const suite = gatewaySuite({ GALILEO_TIMEOUT_MS: '400', GALILEO_MAX_RETRIES: '2' });

  const call = (transactionId: string) =>
    request(suite.gw.url)
      .post(pathOf('createIvrCall'))
      .send({ ...exampleBody('createIvrCall'), transactionId });
  const received = (transactionId: string) => suite.sim.requests().filter((r) => r.params.transactionId === transactionId).length;
  const logLine = (transactionId: string) => suite.gw.logs.filter((l) => l.msg === 'request completed' && l.transactionId === transactionId).at(-1) as any;

  it('no answer within GALILEO_TIMEOUT_MS -> 504 upstream_timeout, one attempt only', async () => {
    const transactionId = txId('timeout');
    suite.sim.addFault({ fault: { type: 'no_answer' }, match: { transactionId } });
    const res = await call(transactionId);
    assert.equal(res.status, 504, res.text);
    assert.equal(JSON.parse(res.text).code, 'upstream_timeout');
    assert.equal(received(transactionId), 1);
    assert.equal(logLine(transactionId).upstream.attempts, 1);
  });

  it('latency under the timeout is just slow', async () => {
    const transactionId = txId('slow');
    suite.sim.addFault({ fault: { type: 'latency', ms: 150 }, match: { transactionId } });
    const res = await call(transactionId);
    assert.equal(res.status, 200, res.text);
  });

  it('edge 503 every time -> retried GALILEO_MAX_RETRIES times, then 502 upstream_unavailable', async () => {
    const transactionId = txId('edge503');
    suite.sim.addFault({ fault: { type: 'edge', status: 503 }, match: { transactionId } });
    const res = await call(transactionId);
    assert.equal(res.status, 502, res.text);
    assert.equal(JSON.parse(res.text).code, 'upstream_unavailable');
    assert.equal(received(transactionId), 3);
    assert.equal(logLine(transactionId).upstream.attempts, 3);
  });

  it('edge 429 once -> retried, then Galileo answers', async () => {
    const transactionId = txId('edge429');
    suite.sim.addFault({ fault: { type: 'edge', status: 429 }, match: { transactionId }, times: 1 });
    const res = await call(transactionId);
    assert.equal(res.status, 200, res.text);
    assert.equal(JSON.parse(res.text).echo.transaction_id, transactionId);
    assert.equal(received(transactionId), 2);
  });

  it('a body that is not a Galileo response -> 502 upstream_bad_response with the HTTP status, not retried', async () => {
    const transactionId = txId('garbage');
    suite.sim.addFault({ fault: { type: 'malformed' }, match: { transactionId } });
    const res = await call(transactionId);
    assert.equal(res.status, 502, res.text);
    const problem = JSON.parse(res.text);
    assert.equal(problem.code, 'upstream_bad_response');
    assert.match(problem.detail, /HTTP 200/);
    assert.equal(received(transactionId), 1);
  });

  it('connection reset after the request was sent -> 502, not retried (it may have executed)', async () => {
    const transactionId = txId('reset');
    suite.sim.addFault({ fault: { type: 'reset_after_body' }, match: { transactionId } });
    const res = await call(transactionId);
    assert.equal(res.status, 502, res.text);
    assert.equal(JSON.parse(res.text).code, 'upstream_unavailable');
    assert.equal(received(transactionId), 1);
  });

  it('after a failure the transactionId is released: the same request is forwarded again', async () => {
    const transactionId = txId('again');
    suite.sim.addFault({ fault: { type: 'edge', status: 502 }, match: { transactionId }, times: 3 });
    assert.equal((await call(transactionId)).status, 502);
    const retry = await call(transactionId);
    assert.equal(retry.status, 200, retry.text);
    assert.equal(received(transactionId), 4);
  });

  it('connection refused -> retried, then 502 upstream_unavailable', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const refused = await startTestGateway(`http://127.0.0.1:${port}/intserv/4.0`, { GALILEO_MAX_RETRIES: '2' });
    try {
      const transactionId = txId('refused');
      const res = await request(refused.url)
        .post(pathOf('createIvrCall'))
        .send({ ...exampleBody('createIvrCall'), transactionId });
      assert.equal(res.status, 502, res.text);
      assert.equal(JSON.parse(res.text).code, 'upstream_unavailable');
      const line = refused.logs.find((l) => l.msg === 'request completed' && l.transactionId === transactionId) as any;
      assert.equal(line.upstream.attempts, 3);
    } finally {
      await refused.stop();
    }
  });
});
