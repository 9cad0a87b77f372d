/** The wire: envelope, formats, credentials (4), missing (1), invalid (2), -4, 17, 24, 404. */
import assert from 'node:assert/strict';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { call, CREDENTIAL_FIELDS, expectStatus, form, newAccount, post, statusText, tid, type Fields } from './helpers.js';

describe('simulator: protocol', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ port: 0 });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  it('answers a success with the full JSON envelope, no errors, connection keep-alive', async () => {
    const transactionId = tid();
    const reply = await post(sim, 'createAccount', { prodId: 501, transactionId, providerTransactionId: 'ptx-1', providerTimestamp: '2024-01-02 03:04:05' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-type'), 'application/json');
    assert.equal(reply.headers.get('connection'), 'keep-alive');
    const env = JSON.parse(reply.text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(env), ['status_code', 'status', 'processing_time', 'response_data', 'echo', 'rtoken', 'system_timestamp']);
    assert.equal(env['status_code'], 0);
    assert.equal(env['status'], 'Success');
    assert.equal(typeof env['processing_time'], 'number');
    assert.deepEqual(env['echo'], { provider_transaction_id: 'ptx-1', provider_timestamp: '2024-01-02 03:04:05', transaction_id: transactionId });
    assert.match(String(env['rtoken']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(String(env['system_timestamp']), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it('status 4 when apiTransKey, apiLogin or providerId do not match, before any other check', async () => {
    const wrongs: Fields[] = [{ apiTransKey: 'nope' }, { apiLogin: 'someone' }, { providerId: '1234' }];
    for (const wrong of wrongs) {
      const env = await call(sim, 'createAccount', { ...wrong }); // prodId missing too: 4 wins
      expectStatus(env, 4);
      assert.deepEqual(env.errors, [statusText(4)]);
      assert.deepEqual(env.response_data, {});
    }
    assert.equal(sim.state.accounts.size, 0);
  });

  it('status 4 when the credentials are absent or the body is not a form', async () => {
    const res = await fetch(`${sim.url}/createAccount`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'response-content-type': 'json' },
      body: JSON.stringify({ ...CREDENTIAL_FIELDS, transactionId: tid(), prodId: 501 }),
    });
    expectStatus((await res.json()) as never, 4);
  });

  it('status 1 names each missing field, Galileo style; an empty value counts as missing', async () => {
    const env = await call(sim, 'createAccount', { prodId: '' });
    expectStatus(env, 1);
    assert.deepEqual(env.errors, ["prodId='prodId' is required and cannot be empty"]);
    const ivr = await call(sim, 'createIvrCall', { accountNo: '074100000001' });
    expectStatus(ivr, 1);
    assert.deepEqual(ivr.errors?.sort(), ["callParams='callParams' is required and cannot be empty", "callType='callType' is required and cannot be empty"]);
  });

  it('status 1 for the spec cross-field rules (if/then), naming what triggered them', async () => {
    const env = await call(sim, 'createAccount', { prodId: 501, id: '123456789', mobilePhone: '8015556060', sharedBalance: 1 });
    expectStatus(env, 1);
    assert.deepEqual(env.errors?.sort(), [
      "idType='idType' is required and cannot be empty when id is sent",
      "mobilePhoneCountryCode='mobilePhoneCountryCode' is required and cannot be empty when mobilePhone is sent",
      "primaryAccount='primaryAccount' is required and cannot be empty when sharedBalance is sent",
    ]);
  });

  it('status 2 names each invalid field once; missing fields take precedence', async () => {
    const env = await call(sim, 'createAccount', { prodId: 'abc', loadAmount: '-5', locale: 'xx_XX', dateOfBirth: '2021-02-30' });
    expectStatus(env, 2);
    assert.equal(env.errors?.length, 4);
    for (const field of ['prodId', 'loadAmount', 'locale', 'dateOfBirth']) {
      assert.ok(
        env.errors?.some((e) => e.startsWith(`${field}='${field}' is invalid`)),
        field,
      );
    }
    const both = await call(sim, 'createIvrCall', { accountNo: '12', callType: 'CPIN' });
    expectStatus(both, 1);
  });

  it('status 2 for an if/then layout rule on a coerced integer (SSN layout when idType is 2)', async () => {
    const env = await call(sim, 'createAccount', { prodId: 501, idType: 2, id: '000123456' });
    expectStatus(env, 2);
    assert.equal(env.errors?.length, 1);
    assert.match(env.errors?.[0] ?? '', /^id='id' is invalid: must match pattern/);
  });

  it('status -4 for an unknown endpoint under /intserv', async () => {
    for (const path of ['/intserv/4.0/getBalance', '/intserv/3.0/createAccount']) {
      const res = await fetch(sim.origin + path, { method: 'POST', headers: { 'response-content-type': 'json' }, body: form(CREDENTIAL_FIELDS) });
      const env = (await res.json()) as never;
      expectStatus(env, -4);
    }
  });

  it('status 17 for a method other than POST on a real endpoint', async () => {
    const res = await fetch(`${sim.url}/createAccount`, { headers: { 'response-content-type': 'json' } });
    assert.equal(res.status, 200);
    expectStatus((await res.json()) as never, 17);
  });

  it('plain 404 outside /intserv and /__sim', async () => {
    const res = await fetch(`${sim.origin}/elsewhere`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await res.text(), 'Not Found\n');
  });

  it('status 24 for a transactionId that already succeeded, whatever the payload', async () => {
    const transactionId = tid();
    assert.equal((await call(sim, 'createAccount', { prodId: 501, transactionId })).status_code, 0);
    const again = await call(sim, 'createAccount', { prodId: 777, transactionId, firstName: 'Other' });
    expectStatus(again, 24);
    assert.deepEqual(again.errors, [statusText(24)]);
    assert.equal(sim.state.accounts.size, 1, 'no second account');
    // The key is per endpoint: the same id on another operation is not a duplicate.
    const prn = [...sim.state.accounts.keys()][0] ?? '';
    const ivr = await call(sim, 'createIvrCall', { transactionId, accountNo: prn, callType: 'CPIN', callParams: '{}', phone: '8015550000' });
    expectStatus(ivr, 0);
  });

  it('a transactionId whose call failed may be used again', async () => {
    const transactionId = tid();
    expectStatus(await call(sim, 'createAccount', { transactionId }), 1);
    expectStatus(await call(sim, 'createAccount', { transactionId, prodId: 'x' }), 2);
    const prn = await newAccount(sim, { transactionId });
    assert.match(prn, /^\d{12}$/);
  });

  it('answers XML when the header is absent (Galileo default) or xml: a success', async () => {
    const prn = await newAccount(sim, { mobilePhone: '8015556060', mobilePhoneCountryCode: '+1' });
    const reply = await post(sim, 'createIvrCall', { transactionId: 'tx-xml-1', accountNo: prn, callType: 'CPIN', callParams: '{"panLastFour":"1234"}' }, null);
    assert.equal(reply.headers.get('content-type'), 'application/xml');
    const normalized = reply.text
      .replace(/<processing_time>[\d.]+<\/processing_time>/, '<processing_time>T</processing_time>')
      .replace(/<rtoken>[0-9a-f-]{36}<\/rtoken>/, '<rtoken>R</rtoken>')
      .replace(/<system_timestamp>[\d: -]{19}<\/system_timestamp>/, '<system_timestamp>S</system_timestamp>');
    assert.equal(
      normalized,
      '<?xml version="1.0" encoding="UTF-8"?>\n<response><status_code>0</status_code><status>Success</status>' +
        '<processing_time>T</processing_time><response_data><call_id>295502</call_id></response_data>' +
        '<echo><provider_transaction_id/><provider_timestamp/><transaction_id>tx-xml-1</transaction_id></echo>' +
        '<rtoken>R</rtoken><system_timestamp>S</system_timestamp></response>',
    );
  });

  it('answers XML for an error: wrapped <errors><error>, escaped text, empty elements', async () => {
    const reply = await post(sim, 'createAccount', { transactionId: `a<b>&"c'`, prodId: 'x' }, 'xml');
    assert.equal(reply.headers.get('content-type'), 'application/xml');
    const normalized = reply.text
      .replace(/<processing_time>[\d.]+<\/processing_time>/, '<processing_time>T</processing_time>')
      .replace(/<rtoken>[0-9a-f-]{36}<\/rtoken>/, '<rtoken>R</rtoken>')
      .replace(/<system_timestamp>[\d: -]{19}<\/system_timestamp>/, '<system_timestamp>S</system_timestamp>');
    assert.equal(
      normalized,
      '<?xml version="1.0" encoding="UTF-8"?>\n<response><status_code>2</status_code><status>Invalid parameter(s)</status>' +
        '<processing_time>T</processing_time><response_data/>' +
        '<echo><provider_transaction_id/><provider_timestamp/><transaction_id>a&lt;b&gt;&amp;&quot;c&apos;</transaction_id></echo>' +
        '<errors><error>prodId=&apos;prodId&apos; is invalid: must be integer</error></errors>' +
        '<rtoken>R</rtoken><system_timestamp>S</system_timestamp></response>',
    );
  });

  it('wraps each createAccount account in <new_account> and each cip result in <aps> in XML', async () => {
    const reply = await post(sim, 'createAccount', { prodId: 501, embossLine2: "Ed's Shop", firstName: 'John', middleName: 'P', lastName: 'Smith' }, 'xml');
    assert.match(
      reply.text,
      /<response_data><new_account><pmt_ref_no>\d{12}<\/pmt_ref_no><product_id>501<\/product_id>.*<cip><aps><status>Pass<\/status><entity_id>\d+<\/entity_id><customer_id>\d+<\/customer_id><\/aps><\/cip>.*<card_number>487093XXXXXX\d{4}<\/card_number><expiry_date\/><card_security_code\/><emboss_line_2>Ed&apos;s Shop<\/emboss_line_2><billing_cycle_day>\d+<\/billing_cycle_day><\/new_account><\/response_data><echo>/,
    );
  });
});
