/**
 * The security review's smaller findings, each reproduced against the real gateway: a form in
 * another charset, an empty form value against JSON null, thousands of unknown fields, the bearer
 * scheme's case, an upstream status_code that is no Galileo code, a compressed bomb from upstream.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import request from 'supertest';
import { pathOf } from '../../scripts/lib/examples.js';
import { gatewaySuite, sha256, startTestGateway, txId, type TestGateway } from '../helpers/harness.js';

const KEY = 'review-findings-test-key-012345678';

describe('security review: smaller findings', function () {
  this.timeout(30_000);
  const suite = gatewaySuite({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'reviewer', keySha256: sha256(KEY), operations: ['*'] }]) });
  const post = (operationId: string) => request(suite.gw.url).post(pathOf(operationId)).set('authorization', `Bearer ${KEY}`);

  it('a form body in a charset other than UTF-8 is 415, nothing forwarded', async () => {
    const transactionId = txId('latin1');
    for (const charset of ['iso-8859-1', 'latin1', 'utf-16']) {
      const res = await post('createAccount')
        .set('content-type', `application/x-www-form-urlencoded; charset=${charset}`)
        .send(`transactionId=${transactionId}&prodId=501`);
      assert.equal(res.status, 415, `${charset}: ${res.text}`);
      assert.deepEqual(
        JSON.parse(res.text).errors.map((e: { field: string }) => e.field),
        ['content-type'],
      );
    }
    // Review 3, finding 11: a quoted parameter that reads like a charset is not the charset.
    for (const contentType of [
      'application/x-www-form-urlencoded; x="a;charset=utf-8"; charset=iso-8859-1',
      'application/json; q="; charset=utf-8"; charset=latin1',
    ]) {
      const res = await post('createAccount').set('content-type', contentType).send(`transactionId=${transactionId}&prodId=501&firstName=Jos\xe9`);
      assert.equal(res.status, 415, `${contentType}: ${res.text}`);
    }
    assert.equal(suite.sim.requests().filter((r) => r.params.transactionId === transactionId).length, 0);
    const utf8 = await post('createAccount')
      .set('content-type', 'application/x-www-form-urlencoded; charset=UTF-8')
      .send(`transactionId=${transactionId}&prodId=501`);
    assert.equal(utf8.status, 200, utf8.text);
  });

  it('an empty form value and a JSON null are the same request (one fingerprint: a replay, not a 422)', async () => {
    const transactionId = txId('empty-null');
    const json = await post('createAccount').send({ transactionId, prodId: 501, firstName: null, loadAmount: null });
    assert.equal(json.status, 200, json.text);
    const form = await post('createAccount').type('form').send(`transactionId=${transactionId}&prodId=501&firstName=&loadAmount=`);
    assert.equal(form.status, 200, form.text);
    assert.equal(form.headers['idempotent-replayed'], 'true');
  });

  it('3,000 unknown fields: a bounded problem naming the first ones, refused before the validator', async () => {
    const body: Record<string, unknown> = { transactionId: txId('unknown'), prodId: 501 };
    for (let i = 0; i < 3000; i++) body[`f${i}`] = i;
    const res = await post('createAccount').send(body);
    assert.equal(res.status, 400);
    const problem = JSON.parse(res.text);
    assert.ok(problem.errors.length <= 21, `${problem.errors.length} errors`);
    assert.equal(problem.errors[0].field, 'f0');
    assert.match(problem.errors.at(-1).message, /2980 more unknown fields/);
    assert.ok(res.text.length < 4096, `${res.text.length} bytes`);
  });

  it('the bearer scheme is matched case-insensitively', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      const res = await request(suite.gw.url)
        .post(pathOf('createAccount'))
        .set('authorization', `${scheme} ${KEY}`)
        .send({ transactionId: txId('scheme'), prodId: 501 });
      assert.equal(res.status, 200, `${scheme}: ${res.text}`);
    }
  });

  it('an upstream status_code that is no Galileo code is passed through, but logged as "unrecognized"', async () => {
    const weird = '4111111111111111';
    const transactionId = txId('weird');
    suite.sim.addFault({ fault: { type: 'respond', statusCode: weird }, match: { transactionId }, times: 1 });
    const res = await post('createAccount').send({ transactionId, prodId: 501 });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.text).status_code, Number(weird));
    const line = suite.gw.logs.find((l) => l.requestId === res.headers['x-request-id'] && l.msg === 'request completed')!;
    assert.equal((line.upstream as { statusCode: unknown }).statusCode, 'unrecognized');
    assert.ok(!suite.gw.rawLogs.join('').includes(weird));
  });

  describe('a compressed answer from upstream', () => {
    let bomb: Buffer;
    let upstream: http.Server;
    let bombGateway: TestGateway;
    const asked: Array<string | undefined> = [];
    before(async () => {
      // 400 MB of zeros, gzipped to a few hundred KB, streamed so the test never holds 400 MB.
      const gzip = zlib.createGzip({ level: 9 });
      const chunks: Buffer[] = [];
      gzip.on('data', (c: Buffer) => chunks.push(c));
      const done = new Promise((resolve) => gzip.on('end', resolve));
      const zeros = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < 400; i++) if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
      gzip.end();
      await done;
      bomb = Buffer.concat(chunks);
      upstream = http.createServer((req, res) => {
        asked.push(req.headers['accept-encoding']);
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb));
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const { port } = upstream.address() as AddressInfo;
      bombGateway = await startTestGateway(`http://127.0.0.1:${port}/intserv/4.0`);
    });
    after(async () => {
      await bombGateway.stop();
      await new Promise((resolve) => upstream.close(resolve));
    });

    it('the gateway asks for identity, and a bomb is a 502 upstream_bad_response, decoding capped', async () => {
      const res = await request(bombGateway.url)
        .post(pathOf('createAccount'))
        .send({ transactionId: txId('bomb'), prodId: 501 });
      assert.equal(res.status, 502, res.text);
      assert.equal(JSON.parse(res.text).code, 'upstream_bad_response');
      // Every call asks for identity: the createAccount and the lookups of its lost answer alike.
      assert.ok(asked.length >= 1 && asked.every((a) => a === 'identity'), JSON.stringify(asked));
      assert.ok(bomb.length < 1024 * 1024, `${bomb.length} bytes of gzip`);
      // Decoding all 400 MB took 8.7 s of blocked event loop; capped, it stops at 10 MB. A loose
      // bound, far from either: this is about the attack, not a performance goal.
      const line = bombGateway.logs.find((l) => l.requestId === res.headers['x-request-id'] && l.msg === 'request completed')!;
      assert.ok((line.durationMs as number) < 3000, `${String(line.durationMs)} ms`);
    });
  });
});
