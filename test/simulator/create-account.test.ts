/** createAccount: every code the simulator derives from its state, CV names, verifyOnly, PCI. */
import assert from 'node:assert/strict';
import { isLuhnValid } from '../../src/simulator/card-numbers.js';
import { DAILY_LOAD_LIMIT, MAX_LOAD_AMOUNT, MAX_SECONDARY_ACCOUNTS } from '../../src/simulator/rules.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { accountData, call, expectStatus, newAccount, tid } from './helpers.js';

const OP = 'createAccount';
const JOHN = (middleName: string) => ({ firstName: 'John', middleName, lastName: 'Smith' });

describe('simulator: createAccount', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ port: 0 });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  it("0: creates the account; response_data is one masked new-account object in Galileo's shape", async () => {
    const env = await call(sim, OP, {
      prodId: 501,
      loadAmount: '100.50',
      embossLine2: 'Scarlet Ibis',
      mobilePhone: '8015556060',
      mobilePhoneCountryCode: '+1',
    });
    expectStatus(env, 0, OP);
    assert.equal(env.errors, undefined);
    const data = accountData(env);
    assert.deepEqual(Object.keys(data), [
      'pmt_ref_no',
      'product_id',
      'galileo_account_number',
      'cip',
      'card_id',
      'new_emboss_uuid',
      'card_number',
      'expiry_date',
      'card_security_code',
      'emboss_line_2',
      'billing_cycle_day',
    ]);
    assert.match(String(data['pmt_ref_no']), /^\d{12}$/);
    // Identifiers are strings, as in Galileo's own response schema.
    assert.equal(data['product_id'], '501');
    assert.equal(typeof data['galileo_account_number'], 'string');
    assert.equal(typeof data['card_id'], 'string');
    assert.ok(Number.isInteger(data['billing_cycle_day']) && (data['billing_cycle_day'] as number) >= 1 && (data['billing_cycle_day'] as number) <= 28);
    assert.equal(data['cip'], null);
    assert.match(String(data['card_number']), /^487093XXXXXX\d{4}$/);
    assert.equal(data['expiry_date'], null);
    assert.equal(data['card_security_code'], null);
    assert.equal(data['emboss_line_2'], 'Scarlet Ibis');
    const account = sim.state.findAccount(String(data['pmt_ref_no']));
    assert.ok(account);
    assert.ok(isLuhnValid(account.pan) && account.pan.startsWith('487093') && account.pan.length === 16);
    assert.equal(String(data['card_number']).slice(-4), account.pan.slice(-4));
    assert.equal(account.balance, 100.5);
    assert.equal(account.phones.mobile, '8015556060');
    assert.equal(sim.state.findAccount(account.pan), account, 'found by PAN too');
  });

  it('pciEnabled: full Luhn-valid PAN, YYYY-MM-DD expiry (last day of its month) and a security code', async () => {
    const pci = await startSimulator({ port: 0, pciEnabled: true });
    try {
      const data = accountData(await call(pci, OP, { prodId: 501 }));
      assert.match(String(data['card_number']), /^487093\d{10}$/);
      assert.ok(isLuhnValid(String(data['card_number'])));
      const expiry = String(data['expiry_date']);
      assert.match(expiry, /^\d{4}-(0[1-9]|1[0-2])-\d{2}$/);
      const next = new Date(`${expiry}T00:00:00Z`);
      next.setUTCDate(next.getUTCDate() + 1);
      assert.equal(next.getUTCDate(), 1, 'the card expires at the end of that month');
      assert.match(String(data['card_security_code']), /^\d{3}$/);
    } finally {
      await pci.close();
    }
  });

  it('407-02: the same id already has this product; another product is fine', async () => {
    const id = { idType: 2, id: '123456789' };
    await newAccount(sim, { ...id });
    const env = await call(sim, OP, { prodId: 501, ...id });
    expectStatus(env, '407-02', OP);
    assert.deepEqual(env.errors, [env.status]);
    await newAccount(sim, { ...id, prodId: 502 });
    assert.equal(sim.state.accounts.size, 2);
  });

  it('407-03: an instant-issue card (accountNo) that was already sold', async () => {
    const env = await call(sim, OP, { prodId: 501, accountNo: '123456789012' });
    expectStatus(env, 0, OP);
    assert.equal(accountData(env)['pmt_ref_no'], '123456789012');
    expectStatus(await call(sim, OP, { prodId: 501, accountNo: '123456789012' }), '407-03', OP);
  });

  it(`407-04: loadAmount above ${MAX_LOAD_AMOUNT} creates nothing`, async () => {
    expectStatus(await call(sim, OP, { prodId: 501, loadAmount: MAX_LOAD_AMOUNT + 0.01 }), '407-04', OP);
    assert.equal(sim.state.accounts.size, 0);
  });

  it(`407-14: above the daily limit (${DAILY_LOAD_LIMIT}) only the allowance is loaded`, async () => {
    const env = await call(sim, OP, { prodId: 501, loadAmount: 3000 });
    expectStatus(env, '407-14', OP);
    assert.equal(env.errors, undefined, 'a success code carries no errors');
    const account = sim.state.findAccount(String(accountData(env)['pmt_ref_no']));
    assert.equal(account?.balance, DAILY_LOAD_LIMIT);
  });

  it('407-15: no allowance left today for this customer: account created, load delayed; next day loads again', async () => {
    const id = { idType: 2, id: '123456789' };
    await newAccount(sim, { ...id, loadAmount: DAILY_LOAD_LIMIT });
    const env = await call(sim, OP, { prodId: 502, ...id, loadAmount: 100 });
    expectStatus(env, '407-15', OP);
    const account = sim.state.findAccount(String(accountData(env)['pmt_ref_no']));
    assert.equal(account?.balance, 0);
    assert.equal(account?.delayedLoad, 100);
    sim.advanceClock(24 * 60 * 60 * 1000);
    expectStatus(await call(sim, OP, { prodId: 503, ...id, loadAmount: 100 }), 0, OP);
  });

  it('12: primaryAccount is not an account', async () => {
    expectStatus(await call(sim, OP, { prodId: 501, primaryAccount: '999999999999', sharedBalance: 0 }), 12, OP);
  });

  it('407-07: primaryAccount is an instant-issue card', async () => {
    await newAccount(sim, { accountNo: '123456789012' });
    expectStatus(await call(sim, OP, { prodId: 501, primaryAccount: '123456789012', sharedBalance: 0 }), '407-07', OP);
  });

  it('407-08: primaryAccount is itself a secondary account', async () => {
    const primary = await newAccount(sim);
    const secondary = await newAccount(sim, { primaryAccount: primary, sharedBalance: 0 });
    assert.equal(sim.state.findAccount(secondary)?.primaryPrn, primary);
    expectStatus(await call(sim, OP, { prodId: 501, primaryAccount: secondary, sharedBalance: 0 }), '407-08', OP);
  });

  it(`407-09: more than ${MAX_SECONDARY_ACCOUNTS} secondary accounts`, async () => {
    const primary = await newAccount(sim);
    for (let i = 0; i < MAX_SECONDARY_ACCOUNTS; i++) await newAccount(sim, { primaryAccount: primary, sharedBalance: 1 });
    expectStatus(await call(sim, OP, { prodId: 501, primaryAccount: primary, sharedBalance: 1 }), '407-09', OP);
    assert.equal(sim.state.findAccount(primary)?.secondaryPrns.length, MAX_SECONDARY_ACCOUNTS);
  });

  it('a shared-balance secondary loads onto its primary', async () => {
    const primary = await newAccount(sim);
    await newAccount(sim, { primaryAccount: primary, sharedBalance: 1, loadAmount: 40 });
    assert.equal(sim.state.findAccount(primary)?.balance, 40);
  });

  it('407-18: loadFromAccountNo does not exist', async () => {
    expectStatus(await call(sim, OP, { prodId: 501, loadFromAccountNo: '999999999999', loadAmount: 10 }), '407-18', OP);
  });

  it('407-19: a load from an account for a non-positive amount', async () => {
    const source = await newAccount(sim, { loadAmount: 100 });
    expectStatus(await call(sim, OP, { prodId: 501, loadFromAccountNo: source, loadAmount: 0 }), '407-19', OP);
    expectStatus(await call(sim, OP, { prodId: 501, loadFromAccountNo: source }), '407-19', OP);
  });

  it('40: loadFromAccountNo has less than the amount; otherwise the amount moves', async () => {
    const source = await newAccount(sim, { loadAmount: 100 });
    expectStatus(await call(sim, OP, { prodId: 501, loadFromAccountNo: source, loadAmount: 100.01 }), 40, OP);
    const target = await newAccount(sim, { loadFromAccountNo: source, loadAmount: 60 });
    assert.equal(sim.state.findAccount(source)?.balance, 40);
    assert.equal(sim.state.findAccount(target)?.balance, 60);
  });

  it('407-21: fundingAccountNo is not an account', async () => {
    expectStatus(await call(sim, OP, { prodId: 501, fundingAccountNo: '999999999999' }), '407-21', OP);
    const funding = await newAccount(sim);
    await newAccount(sim, { fundingAccountNo: funding });
  });

  it('407-10: CIP runs with a main id that is not an SSN', async () => {
    const env = await call(sim, OP, { prodId: 501, ...JOHN('P'), idType: 1, id: 'A123|ut|12-25-2030' });
    expectStatus(env, '407-10', OP);
  });

  it('CV name John F Smith: 407-11, account created, CIP verdict F, transactionId consumed', async () => {
    const transactionId = tid();
    const env = await call(sim, OP, { prodId: 501, transactionId, ...JOHN('F'), loadAmount: 50 });
    expectStatus(env, '407-11', OP);
    assert.equal(env.errors, undefined);
    const data = accountData(env);
    const cip = data['cip'] as Array<Record<string, string>>;
    assert.equal(cip.length, 1);
    assert.equal(cip[0]!['status'], 'Fail');
    assert.match(cip[0]!['customer_id'] ?? '', /^\d+$/);
    const account = sim.state.findAccount(String(data['pmt_ref_no']));
    assert.equal(account?.cip, 'F');
    assert.equal(account?.balance, 0, 'no load when CIP fails');
    expectStatus(await call(sim, OP, { prodId: 501, transactionId, ...JOHN('F') }), 24);
  });

  it('CV name John R Smith: 407-11 with verdict R', async () => {
    const env = await call(sim, OP, { prodId: 501, ...JOHN('R'), idType: 2, id: '123456789' });
    expectStatus(env, '407-11', OP);
    assert.deepEqual(
      (accountData(env)['cip'] as Array<{ status: string }>).map((c) => c.status),
      ['Refer'],
    );
  });

  it('CV name John P Smith: 0 with verdict P; cipStatus 2 skips CIP', async () => {
    const env = await call(sim, OP, { prodId: 501, ...JOHN('P') });
    expectStatus(env, 0, OP);
    assert.deepEqual(
      (accountData(env)['cip'] as Array<{ status: string }>).map((c) => c.status),
      ['Pass'],
    );
    const skipped = await call(sim, OP, { prodId: 501, ...JOHN('F'), cipStatus: '2' });
    expectStatus(skipped, 0, OP);
    assert.equal(accountData(skipped)['cip'], null);
  });

  it('407-13: cipStatus 1 creates the customer and runs CIP, no account', async () => {
    for (const [middle, status] of [
      ['F', 'Fail'],
      ['R', 'Refer'],
      ['P', 'Pass'],
      ['W', 'Pass'],
    ] as const) {
      const env = await call(sim, OP, { prodId: 501, ...JOHN(middle), cipStatus: '1' });
      expectStatus(env, '407-13', OP);
      const data = accountData(env);
      assert.equal(data['pmt_ref_no'], '', 'no account, so no PRN');
      assert.equal(data['card_number'], null);
      assert.deepEqual(
        (data['cip'] as Array<{ status: string }>).map((c) => c.status),
        [status],
      );
    }
    assert.equal(sim.state.accounts.size, 0);
    assert.equal(sim.state.applications.length, 4);
  });

  it('407-12: an application with the same id was already submitted', async () => {
    const id = { idType: 2, id: '123456789' };
    expectStatus(await call(sim, OP, { prodId: 501, ...id, cipStatus: '1' }), '407-13', OP);
    expectStatus(await call(sim, OP, { prodId: 501, ...id }), '407-12', OP);
  });

  it('verifyOnly 1: answers 0 and commits nothing (no account, transactionId not used)', async () => {
    const transactionId = tid();
    const env = await call(sim, OP, { prodId: 501, transactionId, verifyOnly: 1, loadAmount: 10 });
    expectStatus(env, 0, OP);
    assert.deepEqual(env.response_data, []);
    assert.equal(sim.state.accounts.size, 0);
    assert.equal(sim.snapshot().consumedTransactionIds, 0);
    await newAccount(sim, { transactionId });
    expectStatus(await call(sim, OP, { prodId: 501, verifyOnly: 1, loadAmount: MAX_LOAD_AMOUNT + 1 }), '407-04', OP);
  });
});
