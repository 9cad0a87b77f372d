/**
 * Requests that break the spec are answered 400 problem+json naming every offending field, and
 * never reach Galileo. So are caller-sent credentials.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { gatewaySuite, txId } from '../helpers/harness.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';

interface Case {
  name: string;
  change: Record<string, unknown>;
  remove?: string[];
  fields: string[];
}

const CASES: Record<string, Case[]> = {
  createAccount: [
    { name: 'prodId not an integer (type)', change: { prodId: 'abc' }, fields: ['prodId'] },
    { name: 'prodId above its maximum (range)', change: { prodId: 100_000_001 }, fields: ['prodId'] },
    { name: 'firstName over 40 characters (length)', change: { firstName: 'J'.repeat(41) }, fields: ['firstName'] },
    { name: "idType outside Galileo's enum 0-18", change: { idType: 19 }, fields: ['idType'] },
    { name: 'dateOfBirth that is not a calendar date (format)', change: { dateOfBirth: '2021-02-30' }, fields: ['dateOfBirth'] },
    { name: 'expressMail outside its documented values (enum)', change: { expressMail: 'X' }, fields: ['expressMail'] },
    { name: 'id without idType (cross-field)', change: { id: '123456789' }, remove: ['idType'], fields: ['idType'] },
    { name: 'mobilePhone without mobilePhoneCountryCode (cross-field)', change: {}, remove: ['mobilePhoneCountryCode'], fields: ['mobilePhoneCountryCode'] },
    { name: 'sharedBalance 1 without primaryAccount (cross-field)', change: { sharedBalance: 1 }, fields: ['primaryAccount'] },
    { name: 'SSN that cannot exist for idType 2 (layout by type)', change: { id: '000123456' }, fields: ['id'] },
    { name: 'locale outside its enum', change: { locale: 'de_DE' }, fields: ['locale'] },
    { name: 'transactionId over 60 characters', change: { transactionId: 'x'.repeat(61) }, fields: ['transactionId'] },
    { name: 'transactionId missing', change: {}, remove: ['transactionId'], fields: ['transactionId'] },
    { name: 'an unknown field', change: { colour: 'red' }, fields: ['colour'] },
  ],
  createIvrCall: [
    { name: 'callType other than CPIN (enum)', change: { callType: 'XPIN' }, fields: ['callType'] },
    { name: 'phone not 10 digits (pattern)', change: { phone: '80136560' }, fields: ['phone'] },
    { name: 'accountNo empty (at least one character)', change: { accountNo: '' }, fields: ['accountNo'] },
    { name: 'callParams not a JSON object (pattern)', change: { callParams: 'panLastFour=1234' }, fields: ['callParams'] },
    { name: 'callParams missing (required)', change: {}, remove: ['callParams'], fields: ['callParams'] },
  ],
  modifyOnDemandAlertStatus: [
    { name: 'actionType outside E/U/F/C/S (enum)', change: { actionType: 'X' }, fields: ['actionType'] },
    { name: 'actionType C without verificationPin (cross-field)', change: { actionType: 'C' }, remove: ['verificationPin'], fields: ['verificationPin'] },
    { name: 'mobilePhone of 9 digits (pattern)', change: { mobilePhone: '801365605' }, fields: ['mobilePhone'] },
    { name: 'prodId 0 (minimum 1)', change: { prodId: 0 }, fields: ['prodId'] },
    { name: 'mobileCarrierId beyond 32 bits (int32 maximum)', change: { mobileCarrierId: 2 ** 31 }, fields: ['mobileCarrierId'] },
    { name: 'verificationPin of 3 digits (length)', change: { verificationPin: '123' }, fields: ['verificationPin'] },
  ],
};

describe('validation', () => {
  const suite = gatewaySuite();

  const expectRejected = async (operationId: string, body: Record<string, unknown>, fields: string[], asForm = false) => {
    const before = suite.sim.requests().length;
    const req = request(suite.gw.url).post(pathOf(operationId));
    const res = asForm
      ? await req.type('form').send(new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString())
      : await req.send(body);
    assert.equal(res.status, 400, res.text);
    assert.match(res.headers['content-type']!, /^application\/problem\+json/);
    const problem = JSON.parse(res.text);
    assert.equal(problem.code, 'invalid_request');
    assert.equal(problem.status, 400);
    assert.equal(problem.requestId, res.headers['x-request-id']);
    const named = problem.errors.map((e: { field: string }) => e.field);
    for (const field of fields) assert.ok(named.includes(field), `${field} not named in ${JSON.stringify(problem.errors)}`);
    for (const e of problem.errors) assert.ok(e.message.length > 0 && !/must match "then"/.test(e.message), e.message);
    assert.equal(suite.sim.requests().length, before, 'a rejected request reached Galileo');
    return problem;
  };

  for (const [operationId, cases] of Object.entries(CASES)) {
    for (const c of cases) {
      it(`${operationId}: ${c.name} -> 400 naming ${c.fields.join(', ')}`, async () => {
        const body: Record<string, unknown> = { ...exampleBody(operationId), transactionId: txId(), ...c.change };
        for (const field of c.remove ?? []) delete body[field];
        await expectRejected(operationId, body, c.fields);
      });
    }
  }

  it('the same violation in a form body is named the same way', async () => {
    await expectRejected('createIvrCall', { ...exampleBody('createIvrCall'), transactionId: txId(), phone: '12' }, ['phone'], true);
  });

  // Form values arrive as strings: cross-field rules on integer fields must still apply.
  for (const [name, body, field] of [
    ['sharedBalance=1 without primaryAccount', { transactionId: 'f1', prodId: 501, sharedBalance: 1 }, 'primaryAccount'],
    ['idType=2 with an impossible SSN', { transactionId: 'f2', prodId: 501, idType: 2, id: '000123456' }, 'id'],
    ['idType=0 with a 5-digit id', { transactionId: 'f3', prodId: 501, idType: 0, id: '12345' }, 'id'],
  ] as const) {
    it(`a form body with ${name} is rejected like the JSON one`, async () => {
      await expectRejected('createAccount', { ...body, transactionId: txId() }, [field], true);
      await expectRejected('createAccount', { ...body, transactionId: txId() }, [field]);
    });
  }

  it('JSON is typed: a number sent as a string (or a string as a number) is refused, naming the field', async () => {
    await expectRejected('createAccount', { transactionId: txId(), prodId: '501' }, ['prodId']);
    await expectRejected('createAccount', { transactionId: txId(), prodId: 501, mobileCarrierId: 8 }, ['mobileCarrierId']);
    await expectRejected('modifyOnDemandAlertStatus', { ...exampleBody('modifyOnDemandAlertStatus'), transactionId: txId(), mobileCarrierId: '8' }, [
      'mobileCarrierId',
    ]);
  });

  it('reports every problem, not the first', async () => {
    const problem = await expectRejected(
      'modifyOnDemandAlertStatus',
      { ...exampleBody('modifyOnDemandAlertStatus'), transactionId: txId(), prodId: 'x', mobilePhone: '1', actionType: 'Q', extra: 1 },
      ['prodId', 'mobilePhone', 'actionType', 'extra'],
    );
    assert.ok(problem.errors.length >= 4);
  });

  it('a JSON body that is not an object is rejected', async () => {
    await expectRejected('createAccount', [1, 2] as unknown as Record<string, unknown>, ['body']);
  });

  it('a response-content-type other than json or xml is rejected', async () => {
    const res = await request(suite.gw.url)
      .post(pathOf('createIvrCall'))
      .set('response-content-type', 'html')
      .send({ ...exampleBody('createIvrCall'), transactionId: txId() });
    assert.equal(res.status, 400);
    assert.deepEqual(
      JSON.parse(res.text).errors.map((e: { field: string }) => e.field),
      ['response-content-type'],
    );
  });

  for (const field of ['apiLogin', 'apiTransKey', 'providerId']) {
    it(`a caller-sent ${field} -> 400 credentials_not_accepted, value not echoed, nothing forwarded`, async () => {
      const before = suite.sim.requests().length;
      const secret = field === 'providerId' ? 424242 : `caller-secret-${field}`;
      const res = await request(suite.gw.url)
        .post(pathOf('createAccount'))
        .send({ transactionId: txId(), prodId: 501, [field]: secret });
      assert.equal(res.status, 400);
      const problem = JSON.parse(res.text);
      assert.equal(problem.code, 'credentials_not_accepted');
      assert.deepEqual(
        problem.errors.map((e: { field: string }) => e.field),
        [field],
      );
      assert.ok(!res.text.includes(String(secret)), 'the problem echoes the credential');
      assert.equal(suite.sim.requests().length, before);
    });
  }

  it('credentials in a form body are refused too', async () => {
    const res = await request(suite.gw.url).post(pathOf('createAccount')).type('form').send(`transactionId=${txId()}&prodId=501&apiTransKey=abc`);
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.text).code, 'credentials_not_accepted');
  });
});
