/**
 * createAccount's business logic. Checks run in this documented order; the first that fails answers:
 *  1. accountNo (instant-issue card) already belongs to an account          → 407-03
 *  2. primaryAccount unknown → 12; instant-issue → 407-07; itself a secondary → 407-08;
 *     already has MAX_SECONDARY_ACCOUNTS secondaries                          → 407-09
 *  3. fundingAccountNo not an account of this simulator                      → 407-21
 *  4. loadFromAccountNo unknown → 407-18; with loadAmount absent or 0        → 407-19
 *  5. loadAmount above MAX_LOAD_AMOUNT                                       → 407-04
 *  6. same idType+id already has an account for prodId → 407-02; a pending cipStatus "1"
 *     application for it → 407-12
 *  7. CIP runs (cipStatus "1", or a CV test name unless cipStatus "2") with an id whose idType is
 *     not 2 (SSN)                                                            → 407-10
 *  8. loadFromAccountNo's balance below the amount that would be loaded      → 40
 *  9. verifyOnly 1: nothing is created                                       → 0, response_data []
 * 10. cipStatus "1": customer + CIP, no account                              → 407-13 (verdict)
 * 11. account created; CIP F or R → 407-11 (no load); else the load against the customer's
 *     daily allowance: full → 0, part → 407-14, none left → 407-15 (delayed).
 */
import { DAILY_LOAD_LIMIT, MAX_LOAD_AMOUNT, MAX_SECONDARY_ACCOUNTS } from '../rules.js';
import type { CipVerdict, SimAccount } from '../state.js';
import type { CoercedParams, Outcome } from '../types.js';
import { applicationData, newAccountData } from './account-data.js';
import { num, text, type OperationContext } from './context.js';

export function createAccount(ctx: OperationContext, params: CoercedParams): Outcome {
  const { state } = ctx;
  const productId = num(params, 'prodId') ?? 0;
  const accountNo = text(params, 'accountNo');
  const primaryNo = text(params, 'primaryAccount');
  const loadFromNo = text(params, 'loadFromAccountNo');
  const fundingNo = text(params, 'fundingAccountNo');
  const requestedLoad = roundCents(num(params, 'loadAmount') ?? 0);
  const idType = num(params, 'idType');
  const id = text(params, 'id');
  const customerKey = id !== undefined && idType !== undefined ? `${idType}:${id.toLowerCase()}` : null;
  const cipStatus = text(params, 'cipStatus');

  if (accountNo !== undefined && state.findAccount(accountNo)) return { code: '407-03' };

  let primary: SimAccount | undefined;
  if (primaryNo !== undefined) {
    primary = state.findAccount(primaryNo);
    if (!primary) return { code: 12, errors: ['primaryAccount is not a valid customer account'] };
    if (primary.instantIssue) return { code: '407-07' };
    if (primary.primaryPrn !== null) return { code: '407-08' };
    if (primary.secondaryPrns.length >= MAX_SECONDARY_ACCOUNTS) return { code: '407-09' };
  }

  if (fundingNo !== undefined && !state.findAccount(fundingNo)) return { code: '407-21' };

  const loadFrom = loadFromNo === undefined ? undefined : state.findAccount(loadFromNo);
  if (loadFromNo !== undefined) {
    if (!loadFrom) return { code: '407-18' };
    if (requestedLoad <= 0) return { code: '407-19' };
  }

  if (requestedLoad > MAX_LOAD_AMOUNT) return { code: '407-04' };

  if (customerKey !== null) {
    const sameProduct = (a: { customerKey: string | null; productId: number }) => a.customerKey === customerKey && a.productId === productId;
    if (state.hasAccountFor(customerKey, productId)) return { code: '407-02' };
    if (state.applications.some(sameProduct)) return { code: '407-12' };
  }

  const cvVerdict = cvTestVerdict(params);
  const cipRuns = cipStatus === '1' || (cipStatus !== '2' && cvVerdict !== null);
  if (cipRuns && idType !== undefined && idType !== 2) return { code: '407-10' };
  const verdict: CipVerdict | null = cipRuns ? (cvVerdict ?? 'P') : null;

  // The amount that would actually be loaded today (before CIP, which may cancel the load).
  const allowance = Math.max(0, DAILY_LOAD_LIMIT - (customerKey === null ? 0 : state.loadedToday(customerKey)));
  const toLoad = Math.min(requestedLoad, allowance);
  if (loadFrom && effectiveBalanceHolder(state, loadFrom).balance < toLoad) return { code: 40 };

  if (params['verifyOnly'] === 1) return { code: 0, responseData: [], committed: false };

  const identity = state.newIdentity(accountNo);
  if (cipStatus === '1') {
    state.applications.push({ customerId: identity.customerId, customerKey, productId, cip: verdict ?? 'P', createdAt: state.now() });
    return { code: '407-13', responseData: [applicationData(productId, verdict ?? 'P', identity.customerId)] };
  }

  const account: SimAccount = {
    ...identity,
    productId,
    customerKey,
    names: { first: text(params, 'firstName') ?? null, middle: text(params, 'middleName') ?? null, last: text(params, 'lastName') ?? null },
    phones: { primary: text(params, 'primaryPhone') ?? null, other: text(params, 'otherPhone') ?? null, mobile: text(params, 'mobilePhone') ?? null },
    instantIssue: accountNo !== undefined,
    primaryPrn: primary?.prn ?? null,
    secondaryPrns: [],
    sharedBalance: params['sharedBalance'] === 1 && primary !== undefined,
    balance: 0,
    delayedLoad: 0,
    cip: verdict,
    embossLine2: text(params, 'embossLine2') ?? null,
    createdAt: state.now(),
    alerts: { status: 'none', mobileCarrierId: null, pin: null, pinExpiresAt: null, lastPin: null },
  };
  state.addAccount(account);
  primary?.secondaryPrns.push(account.prn);

  // A failed or referred CIP leaves the account unfunded: the customer does not (yet) qualify.
  if (verdict === 'F' || verdict === 'R') return { code: '407-11', responseData: [newAccountData(account, ctx.pciEnabled)] };

  let code: string | number = 0;
  if (requestedLoad > 0) {
    if (toLoad > 0) {
      effectiveBalanceHolder(state, account).balance = roundCents(effectiveBalanceHolder(state, account).balance + toLoad);
      if (loadFrom) effectiveBalanceHolder(state, loadFrom).balance = roundCents(effectiveBalanceHolder(state, loadFrom).balance - toLoad);
      state.recordLoad(customerKey ?? account.prn, toLoad);
    }
    if (toLoad === 0) {
      account.delayedLoad = requestedLoad;
      code = '407-15';
    } else if (toLoad < requestedLoad) {
      code = '407-14';
    }
  }
  return { code, responseData: [newAccountData(account, ctx.pciEnabled)] };
}

/** CV sandbox names: John F Smith fails CIP, John R Smith is referred, John P Smith passes. */
function cvTestVerdict(params: CoercedParams): CipVerdict | null {
  const first = text(params, 'firstName')?.trim().toLowerCase();
  const last = text(params, 'lastName')?.trim().toLowerCase();
  const middle = text(params, 'middleName')?.trim().toUpperCase();
  if (first !== 'john' || last !== 'smith') return null;
  return middle === 'F' || middle === 'R' || middle === 'P' ? middle : null;
}

/** A shared-balance secondary spends and receives on its primary's balance. */
function effectiveBalanceHolder(state: OperationContext['state'], account: SimAccount): SimAccount {
  return account.sharedBalance && account.primaryPrn !== null ? (state.accounts.get(account.primaryPrn) ?? account) : account;
}

function roundCents(amount: number): number {
  return Math.round(amount * 100) / 100;
}
