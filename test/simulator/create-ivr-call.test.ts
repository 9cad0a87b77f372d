/** createIvrCall: 0, 465-01, 465-02, 465-03, 12. */
import assert from 'node:assert/strict';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { accountWithMobile, call, expectStatus, MOBILE, newAccount } from './helpers.js';

const OP = 'createIvrCall';
const PARAMS = '{"panLastFour":"1234","passCode":"0123","expiryDate":"2011-01-01"}';

describe('simulator: createIvrCall', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ port: 0 });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  it('0: queues a call to the phone on file and answers its call_id', async () => {
    const prn = await accountWithMobile(sim);
    const env = await call(sim, OP, { accountNo: prn, callType: 'CPIN', callParams: PARAMS });
    expectStatus(env, 0, OP);
    assert.deepEqual(env.response_data, { call_id: '295502' });
    assert.deepEqual(sim.snapshot().ivrCalls, [{ callId: '295502', prn, phone: MOBILE, callType: 'CPIN' }]);
  });

  it('0: `phone` overrides the account phones; the account is found by PAN too', async () => {
    await newAccount(sim);
    const account = [...sim.state.accounts.values()][0];
    assert.ok(account);
    const env = await call(sim, OP, { accountNo: account.pan, callType: 'CPIN', callParams: PARAMS, phone: '8013656060' });
    expectStatus(env, 0, OP);
    assert.equal(sim.state.ivrCalls[0]?.phone, '8013656060');
  });

  it('465-01: a call type other than CPIN, even when another field is invalid too', async () => {
    const prn = await accountWithMobile(sim);
    for (const callType of ['XPIN', 'cpin']) {
      expectStatus(await call(sim, OP, { accountNo: prn, callType, callParams: PARAMS }), '465-01', OP);
    }
    expectStatus(await call(sim, OP, { accountNo: 'bad', callType: 'XPIN', callParams: PARAMS }), '465-01', OP);
  });

  it('465-02: callParams is not well-formed JSON; an object or an array is accepted', async () => {
    const prn = await accountWithMobile(sim);
    for (const callParams of ['{panLastFour: 1234}', '[1,,2]', '{"a":1}}']) {
      const env = await call(sim, OP, { accountNo: prn, callType: 'CPIN', callParams });
      expectStatus(env, '465-02', OP);
      assert.equal(env.errors?.length, 1);
    }
    for (const callParams of ['[{"panLastFour":"1234"}]', '{"a":{"b":[1]}}']) {
      expectStatus(await call(sim, OP, { accountNo: prn, callType: 'CPIN', callParams }), 0, OP);
    }
    // What the spec's pattern already rejects is an invalid parameter (2).
    expectStatus(await call(sim, OP, { accountNo: prn, callType: 'CPIN', callParams: '"text"' }), 2, OP);
  });

  it('465-03: no phone on file and no phone sent', async () => {
    const prn = await newAccount(sim);
    expectStatus(await call(sim, OP, { accountNo: prn, callType: 'CPIN', callParams: PARAMS }), '465-03', OP);
    assert.equal(sim.state.ivrCalls.length, 0);
  });

  it('12: accountNo is not an account', async () => {
    expectStatus(await call(sim, OP, { accountNo: '999999999999', callType: 'CPIN', callParams: PARAMS }), 12, OP);
  });
});
