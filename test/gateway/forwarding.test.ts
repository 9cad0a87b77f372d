/**
 * Every operation, as JSON and as a form, is forwarded exactly: form-encoded, the gateway's
 * credentials injected, every field the caller sent and nothing else, the response format header.
 * Galileo's answer comes back unchanged with an x-request-id.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { CREDENTIALS, formFields, gatewaySuite, txId, uniqueSsn } from '../helpers/harness.js';
import { OPERATIONS, asForm, asWire, exampleBody, pathOf } from '../../scripts/lib/examples.js';

describe('forwarding to Galileo', () => {
  const suite = gatewaySuite();
  let prn: string;

  before(async () => {
    // An account for the operations that need one.
    const created = await request(suite.gw.url)
      .post(pathOf('createAccount'))
      .send({ ...exampleBody('createAccount'), transactionId: txId('setup'), idType: undefined, id: undefined, idType2: undefined, id2: undefined });
    assert.equal(created.status, 200, created.text);
    prn = JSON.parse(created.text).response_data[0].pmt_ref_no;
    assert.match(prn, /^\d{12}$/);
  });

  const bodyFor = (operationId: string) => {
    const body: Record<string, unknown> = { ...exampleBody(operationId), transactionId: txId(operationId) };
    if ('accountNo' in body) body.accountNo = prn;
    // Galileo (and the simulator) refuse a second account for the same id and product: 407-02.
    if (operationId === 'createAccount') Object.assign(body, { id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` });
    if (operationId === 'modifyOnDemandAlertStatus') {
      Object.assign(body, { actionType: 'F', mobilePhone: '8015556060' });
      delete body.verificationPin;
    }
    return body;
  };

  const lastUpstream = (transactionId: string) => {
    const seen = suite.sim.requests().filter((r) => r.params.transactionId === transactionId);
    assert.equal(seen.length, 1, `Galileo received ${seen.length} requests for ${transactionId}`);
    return seen[0]!;
  };

  for (const { operationId } of OPERATIONS) {
    it(`${operationId}: a JSON request reaches Galileo form-encoded, with credentials and every field`, async () => {
      const body = bodyFor(operationId);
      const res = await request(suite.gw.url).post(pathOf(operationId)).send(body);
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers['content-type']!, /^application\/json/);
      assert.match(res.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
      const envelope = JSON.parse(res.text);
      assert.equal(envelope.status_code, 0, res.text);
      assert.equal(envelope.echo.transaction_id, body.transactionId);

      const upstream = lastUpstream(String(body.transactionId));
      assert.equal(upstream.path, `/intserv/4.0/${operationId}`);
      assert.match(String(upstream.headers['content-type']), /^application\/x-www-form-urlencoded/);
      assert.equal(upstream.headers['response-content-type'], 'json');
      assert.deepEqual(formFields(upstream.body), {
        ...asWire(body),
        apiLogin: CREDENTIALS.apiLogin,
        apiTransKey: CREDENTIALS.apiTransKey,
        providerId: String(CREDENTIALS.providerId),
      });
    });

    it(`${operationId}: a form request is forwarded the same way and XML comes back unchanged`, async () => {
      const body = bodyFor(operationId);
      const res = await request(suite.gw.url)
        .post(pathOf(operationId))
        .set('content-type', 'application/x-www-form-urlencoded')
        .set('response-content-type', 'xml')
        .set('x-request-id', 'caller-chosen-id.1')
        .send(asForm(body));
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers['content-type']!, /^application\/xml/);
      assert.equal(res.headers['x-request-id'], 'caller-chosen-id.1');
      assert.match(res.text, /^(<\?xml[^>]*>\s*)?<response>[\s\S]*<status_code>0<\/status_code>[\s\S]*<\/response>\s*$/);

      const upstream = lastUpstream(String(body.transactionId));
      assert.equal(upstream.headers['response-content-type'], 'xml');
      assert.deepEqual(formFields(upstream.body), {
        ...asWire(body),
        apiLogin: CREDENTIALS.apiLogin,
        apiTransKey: CREDENTIALS.apiTransKey,
        providerId: String(CREDENTIALS.providerId),
      });
    });
  }

  it('forwards only what the caller sent: no spec defaults, JSON null treated as absent', async () => {
    const transactionId = txId('nulls');
    const res = await request(suite.gw.url).post(pathOf('createAccount')).send({ transactionId, prodId: 501, locale: null, firstName: null });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(formFields(lastUpstream(transactionId).body), {
      transactionId,
      prodId: '501',
      apiLogin: CREDENTIALS.apiLogin,
      apiTransKey: CREDENTIALS.apiTransKey,
      providerId: String(CREDENTIALS.providerId),
    });
  });

  it("passes Galileo's business errors through unchanged", async () => {
    const transactionId = txId('biz');
    const res = await request(suite.gw.url)
      .post(pathOf('createIvrCall'))
      .send({ ...exampleBody('createIvrCall'), transactionId, accountNo: '999999999999' });
    assert.equal(res.status, 200);
    const envelope = JSON.parse(res.text);
    assert.equal(envelope.status_code, 12);
    assert.equal(envelope.echo.transaction_id, transactionId);
  });

  it('every example of the inbound spec passes validation and is forwarded', async () => {
    for (const { operationId } of OPERATIONS) {
      const body = { ...exampleBody(operationId), transactionId: txId('example') };
      const res = await request(suite.gw.url).post(pathOf(operationId)).send(body);
      assert.equal(res.status, 200, `${operationId}: ${res.text}`);
      lastUpstream(String(body.transactionId));
    }
  });
});
