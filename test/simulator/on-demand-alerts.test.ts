/** modifyOnDemandAlertStatus: the E/U/F/C/S flow and 476-01 … 476-08, 12. */
import assert from 'node:assert/strict';
import { PIN_TTL_MS } from '../../src/simulator/rules.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { accountWithMobile, admin, call, expectStatus, MOBILE, newAccount, type Env, type Fields } from './helpers.js';

const OP = 'modifyOnDemandAlertStatus';

describe('simulator: modifyOnDemandAlertStatus', () => {
  let sim: RunningSimulator;
  before(async () => {
    // A frozen clock: PIN expiry is exact, only advanceClock() moves time.
    const frozen = Date.parse('2030-01-01T12:00:00Z');
    sim = await startSimulator({ port: 0, now: () => frozen });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  const alert = (accountNo: string, actionType: string, extra: Fields = {}): Promise<Env> =>
    call(sim, OP, { accountNo, prodId: 501, mobilePhone: MOBILE, mobileCarrierId: 8, actionType, ...extra });

  /** The PIN the simulator "texted", read through the admin API as an out-of-process test would. */
  async function pinOf(prn: string): Promise<string> {
    const reply = await admin(sim, 'GET', `accounts/${prn}/pin`);
    assert.equal(reply.status, 200);
    return (reply.json as { pin: string }).pin;
  }

  it('E then C: enrols with a texted PIN, then registers', async () => {
    const prn = await accountWithMobile(sim);
    const enrol = await alert(prn, 'E');
    expectStatus(enrol, 0, OP);
    assert.deepEqual(enrol.response_data, {});
    const pin = await pinOf(prn);
    assert.match(pin, /^\d{4}$/);
    const state = sim.snapshot().accounts[0]?.onDemandAlerts;
    assert.equal(state?.status, 'enrolled');
    assert.equal(state?.lastPin, pin);
    assert.equal(state?.mobileCarrierId, 8);
    expectStatus(await alert(prn, 'C', { verificationPin: pin }), 0, OP);
    assert.equal(sim.snapshot().accounts[0]?.onDemandAlerts.status, 'registered');
  });

  it('476-06: E on an account with no mobile phone on file', async () => {
    const prn = await newAccount(sim);
    expectStatus(await alert(prn, 'E'), '476-06', OP);
  });

  it('476-07: E, C or S with a mobilePhone that differs from the one on file', async () => {
    const prn = await accountWithMobile(sim);
    expectStatus(await alert(prn, 'E', { mobilePhone: '8015550000' }), '476-07', OP);
    await alert(prn, 'E');
    const pin = await pinOf(prn);
    expectStatus(await alert(prn, 'C', { verificationPin: pin, mobilePhone: '8015550000' }), '476-07', OP);
    expectStatus(await alert(prn, 'S', { mobilePhone: '8015550000' }), '476-07', OP);
  });

  it('476-02: C or S on an account that is not enrolled', async () => {
    const prn = await accountWithMobile(sim);
    expectStatus(await alert(prn, 'C', { verificationPin: '1234' }), '476-02', OP);
    expectStatus(await alert(prn, 'S'), '476-02', OP);
  });

  it('476-03: E or C on an account already registered', async () => {
    const prn = await accountWithMobile(sim);
    expectStatus(await alert(prn, 'F'), 0, OP);
    expectStatus(await alert(prn, 'E'), '476-03', OP);
    expectStatus(await alert(prn, 'C', { verificationPin: '1234' }), '476-03', OP);
  });

  it(`476-04: the PIN expired (${PIN_TTL_MS / 60000} minutes, clock advanced through the admin API)`, async () => {
    const prn = await accountWithMobile(sim);
    await alert(prn, 'E');
    const pin = await pinOf(prn);
    const wrong = pin === '0000' ? '0001' : '0000';
    assert.equal((await admin(sim, 'POST', 'clock', { advanceMs: PIN_TTL_MS - 1 })).status, 200);
    expectStatus(await alert(prn, 'C', { verificationPin: wrong }), '476-05', OP); // still valid, wrong
    assert.equal((await admin(sim, 'POST', 'clock', { advanceMs: 1 })).status, 200);
    expectStatus(await alert(prn, 'C', { verificationPin: pin }), '476-04', OP);
    // A new E texts a new, valid PIN.
    await alert(prn, 'E');
    expectStatus(await alert(prn, 'C', { verificationPin: await pinOf(prn) }), 0, OP);
  });

  it('476-05: the PIN does not match', async () => {
    const prn = await accountWithMobile(sim);
    await alert(prn, 'E');
    const pin = await pinOf(prn);
    const wrong = pin === '0000' ? '0001' : '0000';
    expectStatus(await alert(prn, 'C', { verificationPin: wrong }), '476-05', OP);
    assert.equal(sim.snapshot().accounts[0]?.onDemandAlerts.status, 'enrolled');
  });

  it('476-08: an action type the endpoint does not know, before the generic check', async () => {
    const prn = await accountWithMobile(sim);
    expectStatus(await alert(prn, 'X'), '476-08', OP);
    expectStatus(await alert(prn, 'e'), '476-08', OP);
  });

  it('476-01 is not reachable through the spec (its PIN pattern answers 2 first); C without a PIN is 1', async () => {
    const prn = await accountWithMobile(sim);
    await alert(prn, 'E');
    expectStatus(await alert(prn, 'C'), 1, OP);
    expectStatus(await alert(prn, 'C', { verificationPin: '12a4' }), 2, OP);
    sim.addFault({ fault: { type: 'respond', statusCode: '476-01' }, match: { operation: OP }, times: 1 });
    const env = await alert(prn, 'C', { verificationPin: '1234' });
    expectStatus(env, '476-01', OP);
    assert.deepEqual(env.errors, [env.status]);
  });

  it('U: updates the mobile phone on file and texts a PIN for it', async () => {
    const prn = await newAccount(sim);
    expectStatus(await alert(prn, 'U', { mobilePhone: '8015557777' }), 0, OP);
    const summary = sim.snapshot().accounts[0];
    assert.equal(summary?.phones.mobile, '8015557777');
    assert.equal(summary?.onDemandAlerts.status, 'enrolled');
    expectStatus(await alert(prn, 'C', { mobilePhone: '8015557777', verificationPin: await pinOf(prn) }), 0, OP);
  });

  it('F: updates the phone and registers without a PIN; S unregisters', async () => {
    const prn = await newAccount(sim);
    expectStatus(await alert(prn, 'F'), 0, OP);
    assert.equal(sim.snapshot().accounts[0]?.onDemandAlerts.status, 'registered');
    assert.equal(sim.snapshot().accounts[0]?.onDemandAlerts.lastPin, null);
    expectStatus(await alert(prn, 'S'), 0, OP);
    assert.equal(sim.snapshot().accounts[0]?.onDemandAlerts.status, 'none');
    expectStatus(await alert(prn, 'S'), '476-02', OP);
  });

  it('12: accountNo is not an account', async () => {
    expectStatus(await alert('999999999999', 'E'), 12, OP);
  });
});
