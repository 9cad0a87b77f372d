/**
 * createAccount's response_data entry, in the shape of the spec's NewAccount (Galileo's own
 * schema): identifiers as strings, `cip` null or a list of verification results, expiry_date as
 * YYYY-MM-DD, billing_cycle_day.
 */
import { maskPan } from '../card-numbers.js';
import type { CipVerdict, NewIdentity, SimAccount } from '../state.js';

const VERDICT_STATUS: Record<CipVerdict, string> = { P: 'Pass', F: 'Fail', R: 'Refer' };

/** One IVS result, as Galileo answers when identity verification ran. */
function cipData(verdict: CipVerdict | null, customerId: number): Array<Record<string, string>> | null {
  return verdict === null ? null : [{ status: VERDICT_STATUS[verdict], entity_id: String(customerId), customer_id: String(customerId) }];
}

type AccountFacts = Pick<
  SimAccount,
  | 'prn'
  | 'pan'
  | 'productId'
  | 'galileoAccountNumber'
  | 'customerId'
  | 'cip'
  | 'cardId'
  | 'embossUuid'
  | 'expiryDate'
  | 'cardSecurityCode'
  | 'embossLine2'
  | 'billingCycleDay'
>;

export function newAccountData(account: AccountFacts, pciEnabled: boolean): Record<string, unknown> {
  return {
    pmt_ref_no: account.prn,
    product_id: String(account.productId),
    galileo_account_number: account.galileoAccountNumber,
    cip: cipData(account.cip, account.customerId),
    card_id: String(account.cardId),
    new_emboss_uuid: account.embossUuid,
    // PCI data only for PCI-enabled providers; otherwise a masked PAN and no expiry/CSC.
    card_number: pciEnabled ? account.pan : maskPan(account.pan),
    expiry_date: pciEnabled ? account.expiryDate : null,
    card_security_code: pciEnabled ? account.cardSecurityCode : null,
    emboss_line_2: account.embossLine2,
    billing_cycle_day: account.billingCycleDay,
  };
}

/** 407-13: customer created and CIP run, no account: the same shape, empty where nothing exists. */
export function applicationData(productId: number, verdict: CipVerdict, customerId: number): Record<string, unknown> {
  return {
    pmt_ref_no: '',
    product_id: String(productId),
    galileo_account_number: '',
    cip: cipData(verdict, customerId),
    card_id: null,
    new_emboss_uuid: null,
    card_number: null,
    expiry_date: null,
    card_security_code: null,
    emboss_line_2: null,
    billing_cycle_day: null,
  };
}

/** For the `respond` fault: a plausible account that is not kept in state. */
export function plausibleAccountData(identity: NewIdentity, productId: number, pciEnabled: boolean, cip: CipVerdict | null = null): Record<string, unknown> {
  return newAccountData({ ...identity, productId, cip, embossLine2: null }, pciEnabled);
}
