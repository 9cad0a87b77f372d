/**
 * Everything the simulator remembers during a run (in memory; `reset()` forgets it): the accounts
 * and applications it created, consumed transactionIds, loads per customer per day, IVR calls.
 * The clock is injectable and can be advanced, so PIN expiry and day roll-over are testable.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { luhnCheckDigit } from './card-numbers.js';
import { CALL_STATUS_WINDOW_MS, CARD_BIN, DUPLICATE_WINDOW_MS } from './rules.js';
import type { OperationName, StatusCode } from './types.js';

export type CipVerdict = 'P' | 'F' | 'R';
export type AlertStatus = 'none' | 'enrolled' | 'registered';

interface OnDemandAlerts {
  /** none → E/U → enrolled (PIN sent) → C → registered; F registers directly; S back to none. */
  status: AlertStatus;
  mobileCarrierId: number | null;
  /** The PIN waiting for confirmation (null once confirmed or never sent). */
  pin: string | null;
  pinExpiresAt: number | null;
  /** The last PIN "texted", kept for tests since no SMS exists. */
  lastPin: string | null;
}

export interface SimAccount {
  prn: string;
  pan: string;
  cardId: number;
  galileoAccountNumber: string;
  productId: number;
  customerId: number;
  /** `idType:id` (lower case) when an id was sent: the identity behind 407-02 and the daily limit. */
  customerKey: string | null;
  names: { first: string | null; middle: string | null; last: string | null };
  phones: { primary: string | null; other: string | null; mobile: string | null };
  instantIssue: boolean;
  primaryPrn: string | null;
  secondaryPrns: string[];
  sharedBalance: boolean;
  balance: number;
  /** Amount of a load delayed to tomorrow (407-15). */
  delayedLoad: number;
  cip: CipVerdict | null;
  expiryDate: string;
  cardSecurityCode: string;
  embossLine2: string | null;
  embossUuid: string;
  billingCycleDay: number;
  createdAt: number;
  alerts: OnDemandAlerts;
}

/** A cipStatus "1" application: customer created and CIP run, no account (407-13). */
export interface SimApplication {
  customerId: number;
  customerKey: string | null;
  productId: number;
  cip: CipVerdict;
  createdAt: number;
}

export interface SimIvrCall {
  callId: string;
  prn: string;
  phone: string;
  callType: string;
  createdAt: number;
}

export interface NewIdentity {
  prn: string;
  pan: string;
  cardId: number;
  galileoAccountNumber: string;
  customerId: number;
  expiryDate: string;
  cardSecurityCode: string;
  embossUuid: string;
  /** Day of the month the billing cycle starts. */
  billingCycleDay: number;
}

/** A call Galileo ran and answered (whether or not the answer arrived): what getCallStatus reports. */
export interface SimCall {
  galTransId: string;
  resultTransId: string | null;
  statusCode: StatusCode;
  /** "YYYY-MM-DD hh:mm:ss", as Galileo writes it. */
  inTimestamp: string;
  rtoken: string;
  at: number;
}

export class SimulatorState {
  readonly accounts = new Map<string, SimAccount>();
  readonly applications: SimApplication[] = [];
  readonly ivrCalls: SimIvrCall[] = [];
  private readonly panToPrn = new Map<string, string>();
  /** customerKey|productId of every account: 407-02 is looked up, not scanned (the benchmark creates thousands). */
  private readonly customerProducts = new Set<string>();
  private readonly consumed = new Map<string, number>();
  private readonly loads = new Map<string, number>();
  private readonly calls = new Map<string, SimCall[]>();
  private clockOffsetMs = 0;
  private seq = 0;
  private callSeq = 0;
  private galSeq = 0;

  constructor(private readonly baseNow: () => number = Date.now) {}

  now(): number {
    return this.baseNow() + this.clockOffsetMs;
  }

  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  reset(): void {
    this.accounts.clear();
    this.panToPrn.clear();
    this.customerProducts.clear();
    this.applications.length = 0;
    this.ivrCalls.length = 0;
    this.consumed.clear();
    this.loads.clear();
    this.calls.clear();
    this.clockOffsetMs = 0;
    this.seq = 0;
    this.callSeq = 0;
    this.galSeq = 0;
  }

  /** By PRN (12 digits) or PAN (16 digits), as Galileo's accountNo accepts either. */
  findAccount(accountNo: string): SimAccount | undefined {
    const prn = accountNo.length === 16 ? this.panToPrn.get(accountNo) : accountNo;
    return prn === undefined ? undefined : this.accounts.get(prn);
  }

  addAccount(account: SimAccount): void {
    this.accounts.set(account.prn, account);
    this.panToPrn.set(account.pan, account.prn);
    if (account.customerKey !== null) this.customerProducts.add(`${account.customerKey}|${account.productId}`);
  }

  /** Whether this customer already has an account of this product (Galileo's 407-02). */
  hasAccountFor(customerKey: string, productId: number): boolean {
    return this.customerProducts.has(`${customerKey}|${productId}`);
  }

  // Galileo's duplicate detection: transactionId + providerId + endpoint, successful calls, 90 days.
  isConsumed(providerId: string, op: OperationName, transactionId: string): boolean {
    const at = this.consumed.get(duplicateKey(providerId, op, transactionId));
    return at !== undefined && this.now() - at < DUPLICATE_WINDOW_MS;
  }

  markConsumed(providerId: string, op: OperationName, transactionId: string): void {
    this.consumed.set(duplicateKey(providerId, op, transactionId), this.now());
  }

  /** Remembers a call that ran, for getCallStatus. */
  recordCall(providerId: string, op: string, transactionId: string, call: { statusCode: StatusCode; rtoken: string }): void {
    const key = duplicateKey(providerId, op, transactionId);
    const at = this.now();
    const n = ++this.galSeq;
    const record: SimCall = {
      ...call,
      galTransId: String(n),
      resultTransId: String(100000 + n),
      inTimestamp: new Date(at).toISOString().slice(0, 19).replace('T', ' '),
      at,
    };
    this.calls.set(key, [...(this.calls.get(key) ?? []), record]);
  }

  /** The calls that ran for this provider, endpoint and transactionId in getCallStatus's window. */
  callsFor(providerId: string, op: string, transactionId: string): SimCall[] {
    return (this.calls.get(duplicateKey(providerId, op, transactionId)) ?? []).filter((call) => this.now() - call.at < CALL_STATUS_WINDOW_MS);
  }

  consumedCount(): number {
    return this.consumed.size;
  }

  loadedToday(customerKey: string): number {
    return this.loads.get(`${customerKey}|${this.day()}`) ?? 0;
  }

  recordLoad(customerKey: string, amount: number): void {
    const key = `${customerKey}|${this.day()}`;
    this.loads.set(key, (this.loads.get(key) ?? 0) + amount);
  }

  /** Fresh numbers for a new account; `accountNo` of an instant-issue card keeps its PRN or PAN. */
  newIdentity(accountNo?: string): NewIdentity {
    const n = ++this.seq;
    let prn = accountNo?.length === 12 ? accountNo : '';
    let pan = accountNo?.length === 16 ? accountNo : '';
    for (let k = n; !prn; k++) {
      const candidate = '0741' + String(k).padStart(8, '0');
      if (!this.accounts.has(candidate)) prn = candidate;
    }
    for (let k = n; !pan; k++) {
      const payload = CARD_BIN + String(k).padStart(9, '0');
      const candidate = payload + luhnCheckDigit(payload);
      if (!this.panToPrn.has(candidate)) pan = candidate;
    }
    // Three years out; Galileo writes YYYY-MM-DD and the card expires at the end of that month.
    const now = new Date(this.now());
    const expiry = new Date(Date.UTC(now.getUTCFullYear() + 3, now.getUTCMonth() + 1, 0));
    return {
      prn,
      pan,
      cardId: 10000 + n,
      galileoAccountNumber: String(1000000000 + n),
      customerId: 500000 + n,
      expiryDate: expiry.toISOString().slice(0, 10),
      billingCycleDay: 1 + (n % 28),
      cardSecurityCode: String(randomInt(0, 1000)).padStart(3, '0'),
      embossUuid: randomUUID(),
    };
  }

  nextCallId(): string {
    return String(295501 + ++this.callSeq);
  }

  private day(): string {
    return new Date(this.now()).toISOString().slice(0, 10);
  }
}

function duplicateKey(providerId: string, op: string, transactionId: string): string {
  return `${providerId}:${op}:${transactionId}`;
}
