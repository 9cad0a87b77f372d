/** The admin view of the state (GET /__sim/state): PANs masked, PRNs in full so tests can use them. */
import { maskPan } from './card-numbers.js';
import type { AlertStatus, CipVerdict, SimulatorState } from './state.js';

interface AccountSummary {
  prn: string;
  pan: string;
  productId: number;
  instantIssue: boolean;
  primaryAccount: string | null;
  secondaryAccounts: string[];
  sharedBalance: boolean;
  balance: number;
  delayedLoad: number;
  cip: CipVerdict | null;
  phones: { primary: string | null; other: string | null; mobile: string | null };
  onDemandAlerts: { status: AlertStatus; mobileCarrierId: number | null; lastPin: string | null; pinExpiresAt: string | null };
}

export interface StateSnapshot {
  now: string;
  accounts: AccountSummary[];
  applications: Array<{ customerId: number; productId: number; cip: CipVerdict }>;
  ivrCalls: Array<{ callId: string; prn: string; phone: string; callType: string }>;
  consumedTransactionIds: number;
}

export function snapshot(state: SimulatorState): StateSnapshot {
  return {
    now: new Date(state.now()).toISOString(),
    accounts: [...state.accounts.values()].map((a) => ({
      prn: a.prn,
      pan: maskPan(a.pan),
      productId: a.productId,
      instantIssue: a.instantIssue,
      primaryAccount: a.primaryPrn,
      secondaryAccounts: [...a.secondaryPrns],
      sharedBalance: a.sharedBalance,
      balance: a.balance,
      delayedLoad: a.delayedLoad,
      cip: a.cip,
      phones: { ...a.phones },
      onDemandAlerts: {
        status: a.alerts.status,
        mobileCarrierId: a.alerts.mobileCarrierId,
        lastPin: a.alerts.lastPin,
        pinExpiresAt: a.alerts.pinExpiresAt === null ? null : new Date(a.alerts.pinExpiresAt).toISOString(),
      },
    })),
    applications: state.applications.map(({ customerId, productId, cip }) => ({ customerId, productId, cip })),
    ivrCalls: state.ivrCalls.map(({ callId, prn, phone, callType }) => ({ callId, prn, phone, callType })),
    consumedTransactionIds: state.consumedCount(),
  };
}
