/** createAccount's response_data entry (GALILEO.md / the spec's NewAccount), from simulator state. */
import { maskPan } from '../card-numbers.js';
import type { CipVerdict, NewIdentity, SimAccount } from '../state.js';

const VERDICT_TEXT: Record<CipVerdict, string> = { P: 'Pass', F: 'Fail', R: 'Refer' };

export function cipData(verdict: CipVerdict | null): { verdict: CipVerdict; description: string } | null {
  return verdict === null ? null : { verdict, description: VERDICT_TEXT[verdict] };
}

export function newAccountData(
  account: Pick<SimAccount, 'prn' | 'pan' | 'productId' | 'galileoAccountNumber' | 'cip' | 'cardId' | 'embossUuid' | 'expiryDate' | 'cardSecurityCode' | 'embossLine2'>,
  pciEnabled: boolean,
): Record<string, unknown> {
  return {
    pmt_ref_no: account.prn,
    product_id: account.productId,
    galileo_account_number: account.galileoAccountNumber,
    cip: cipData(account.cip),
    card_id: account.cardId,
    new_emboss_uuid: account.embossUuid,
    // PCI data only for PCI-enabled providers; otherwise a masked PAN and no expiry/CSC.
    card_number: pciEnabled ? account.pan : maskPan(account.pan),
    expiry_date: pciEnabled ? account.expiryDate : null,
    card_security_code: pciEnabled ? account.cardSecurityCode : null,
    emboss_line_2: account.embossLine2,
  };
}

/** 407-13: customer created and CIP run, no account: the same shape with the account fields null. */
export function applicationData(productId: number, verdict: CipVerdict): Record<string, unknown> {
  return {
    pmt_ref_no: null,
    product_id: productId,
    galileo_account_number: null,
    cip: cipData(verdict),
    card_id: null,
    new_emboss_uuid: null,
    card_number: null,
    expiry_date: null,
    card_security_code: null,
    emboss_line_2: null,
  };
}

/** For the `respond` fault: a plausible account that is not kept in state. */
export function plausibleAccountData(identity: NewIdentity, productId: number, pciEnabled: boolean): Record<string, unknown> {
  return newAccountData({ ...identity, productId, cip: null, embossLine2: null }, pciEnabled);
}
