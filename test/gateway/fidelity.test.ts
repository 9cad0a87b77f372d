/**
 * Fidelity with Galileo (docs/galileo-fidelity.md): the gateway refuses only what Galileo refuses
 * for every program, and refuses what Galileo always refuses. Each accepted case goes through the
 * real gateway to the simulator and arrives intact; each refused one is a 400 naming the field and
 * never reaches Galileo. The served spec (Ajv over generated/gateway.openapi.json) must give the
 * same verdict as the gateway on every JSON body here.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { operation } from '../fuzz/spec-model.js';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { formFields, gatewaySuite, txId, uniqueSsn } from '../helpers/harness.js';

/** Valid customers a stricter-than-Galileo spec used to refuse. */
const ACCEPTED: Record<string, Array<[string, Record<string, unknown>]>> = {
  createAccount: [
    [
      'names with accents and other letters (special-character support is a program setting)',
      { firstName: 'José', middleName: 'Ñ', lastName: 'Peña-Łukasiewicz' },
    ],
    ['a Canadian postal code with a space', { postalCode: 'K1A 1A1', countryCode: '124' }],
    ['a six-digit Colombian postal code', { postalCode: '110111', countryCode: '170' }],
    ['a state longer than three letters', { state: 'Quebec', shipToState: 'Yucatán' }],
    ['apostrophes and digits in the secret question and answer', { secretQuestion: "What's the name of pet 2?", secretAnswer: "O'Malley 2nd" }],
    ['punctuation Galileo allows in income source and occupation', { incomeSource: "O'Brien | Sons, Inc.", occupation: 'Eng. R&D @ HQ' }],
    ['separators in webUid and externalAccountId', { webUid: 'ed_harley-2', externalAccountId: 'ABC-123_x/y=+' }],
    [
      '`_` and `/` dates in ID layouts (no CV test name, so no CIP)',
      { firstName: 'Ed', idType: 4, id: 'AB_12345|05-22-2027', idType2: 1, id2: 'D12_34|ut|12/25/2030' },
    ],
    ['a P.O. box in address1 (EAPOB is a product parameter)', { address1: 'P.O. Box 123' }],
    [
      'the fields Galileo added: politicalAffiliation, kycRefNo, externalCustomerId, riskContextId',
      { politicalAffiliation: 1, kycRefNo: 'KYC-1', externalCustomerId: 'acv#-@45!sbsxm%-', riskContextId: '300dcfeesarEEd' },
    ],
    ['an ID type Galileo added (18)', { idType3: 18, id3: 'any-layout' }],
    ['a leap day', { dateOfBirth: '2000-02-29' }],
  ],
  createIvrCall: [['callParams as a JSON array', { callParams: '[{"panLastFour":"1234","passCode":"0123","expiryDate":"2011-01-01"}]' }]],
};

/** What Galileo refuses for every program, refused at the gateway (field named, nothing forwarded). */
const REFUSED: Record<string, Array<[string, Record<string, unknown>, string]>> = {
  createAccount: [
    ['idType outside 0-18', { idType: 19, id: '1' }, 'idType'],
    ['idType2 negative', { idType2: -1, id2: '1' }, 'idType2'],
    ['idType3 outside 0-18', { idType3: 99, id3: '1' }, 'idType3'],
    ['expressMail outside its values', { expressMail: 'X' }, 'expressMail'],
    ['an impossible calendar date', { dateOfBirth: '2021-02-30' }, 'dateOfBirth'],
    ['a 29 February outside a leap year', { sweepDate: '2023-02-29' }, 'sweepDate'],
    ['prodId beyond its maximum', { prodId: 100_000_001 }, 'prodId'],
    ['politicalAffiliation other than 0 or 1', { politicalAffiliation: 2 }, 'politicalAffiliation'],
    ['kycRefNo over 36 characters', { kycRefNo: 'K'.repeat(37) }, 'kycRefNo'],
    ['a postal code with a character Galileo refuses', { postalCode: 'K1A#1A1' }, 'postalCode'],
  ],
  modifyOnDemandAlertStatus: [['mobileCarrierId beyond 32 bits', { mobileCarrierId: 2 ** 31 }, 'mobileCarrierId']],
};

describe('fidelity with Galileo: what is accepted and what is refused', () => {
  const suite = gatewaySuite();
  let prn: string;
  before(async () => {
    const created = await request(suite.gw.url)
      .post(pathOf('createAccount'))
      .send({ transactionId: txId('setup'), prodId: 501, mobilePhone: '8015556060', mobilePhoneCountryCode: '+1' });
    prn = JSON.parse(created.text).response_data[0].pmt_ref_no;
  });

  const base = (operationId: string): Record<string, unknown> => {
    const body: Record<string, unknown> = { ...exampleBody(operationId), transactionId: txId(operationId) };
    if ('accountNo' in body) body.accountNo = prn;
    if (operationId === 'createAccount') Object.assign(body, { id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` });
    return body;
  };
  const upstreamOf = (transactionId: unknown) => suite.sim.requests().filter((r) => r.params.transactionId === transactionId);

  for (const [operationId, cases] of Object.entries(ACCEPTED)) {
    for (const [name, change] of cases) {
      it(`${operationId} accepts ${name}: forwarded intact`, async () => {
        const body = { ...base(operationId), ...change };
        assert.equal(operation(operationId).accepts(body), true, 'the served spec accepts it');
        const res = await request(suite.gw.url).post(pathOf(operationId)).send(body);
        assert.equal(res.status, 200, res.text);
        assert.equal(JSON.parse(res.text).status_code, 0, res.text);
        const [upstream] = upstreamOf(body.transactionId);
        for (const [field, value] of Object.entries(change)) assert.equal(formFields(upstream!.body)[field], String(value), field);
      });
    }
  }

  for (const [operationId, cases] of Object.entries(REFUSED)) {
    for (const [name, change, field] of cases) {
      it(`${operationId} refuses ${name}, naming ${field}`, async () => {
        const body = { ...base(operationId), ...change };
        assert.equal(operation(operationId).accepts(body), false, 'the served spec refuses it');
        const res = await request(suite.gw.url).post(pathOf(operationId)).send(body);
        assert.equal(res.status, 400, res.text);
        assert.ok(
          JSON.parse(res.text).errors.some((e: { field: string }) => e.field === field),
          res.text,
        );
        assert.equal(upstreamOf(body.transactionId).length, 0);
      });
    }
  }

  it('providerTransactionId and providerTimestamp are forwarded and echoed back, on every operation', async () => {
    for (const operationId of ['createAccount', 'createIvrCall', 'modifyOnDemandAlertStatus']) {
      const body: Record<string, unknown> = { ...base(operationId), providerTransactionId: `ptx-${operationId}`, providerTimestamp: '2026-11-30 12:00:00' };
      if (operationId === 'modifyOnDemandAlertStatus') Object.assign(body, { actionType: 'F', mobilePhone: '8015556060', verificationPin: undefined });
      const res = await request(suite.gw.url).post(pathOf(operationId)).send(body);
      assert.equal(res.status, 200, res.text);
      const envelope = JSON.parse(res.text);
      assert.equal(envelope.status_code, 0, res.text);
      assert.deepEqual(envelope.echo, {
        provider_transaction_id: `ptx-${operationId}`,
        provider_timestamp: '2026-11-30 12:00:00',
        transaction_id: body.transactionId,
      });
    }
  });

  describe('null means absent, as the served spec says', () => {
    it('a null idType next to an id is refused by the spec and by the gateway', async () => {
      const body = { transactionId: txId(), prodId: 501, id: uniqueSsn(), idType: null };
      assert.equal(operation('createAccount').accepts(body), false);
      const res = await request(suite.gw.url).post(pathOf('createAccount')).send(body);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(
        JSON.parse(res.text).errors.map((e: { field: string }) => e.field),
        ['idType'],
      );
    });

    it('a null id (with or without idType) is accepted by both, and not forwarded', async () => {
      for (const extra of [{}, { idType: null }, { idType: 2 }]) {
        const body = { transactionId: txId(), prodId: 501, id: null, ...extra };
        assert.equal(operation('createAccount').accepts(body), true);
        const res = await request(suite.gw.url).post(pathOf('createAccount')).send(body);
        assert.equal(res.status, 200, res.text);
        const sent = formFields(upstreamOf(body.transactionId)[0]!.body);
        assert.ok(!('id' in sent), 'a null id was forwarded');
      }
    });

    it('a null sharedBalance with a primaryAccount is refused by both', async () => {
      const body = { transactionId: txId(), prodId: 501, primaryAccount: prn, sharedBalance: null };
      assert.equal(operation('createAccount').accepts(body), false);
      assert.equal((await request(suite.gw.url).post(pathOf('createAccount')).send(body)).status, 400);
    });

    it('in a form an empty optional value is absent; an empty required value is refused', async () => {
      const transactionId = txId();
      const ok = await request(suite.gw.url)
        .post(pathOf('createAccount'))
        .type('form')
        .send(`transactionId=${transactionId}&prodId=501&loadAmount=&firstName=&idType=`);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(Object.keys(formFields(upstreamOf(transactionId)[0]!.body)).sort(), [
        'apiLogin',
        'apiTransKey',
        'prodId',
        'providerId',
        'transactionId',
      ]);
      const missing = await request(suite.gw.url).post(pathOf('createAccount')).type('form').send(`transactionId=${txId()}&prodId=`);
      assert.equal(missing.status, 400, missing.text);
      assert.deepEqual(
        JSON.parse(missing.text).errors.map((e: { field: string }) => e.field),
        ['prodId'],
      );
    });
  });
});
