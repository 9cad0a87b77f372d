/**
 * The `respond` fault: an envelope with a chosen status_code and no checks or business logic.
 * A success or changesState code consumes the transactionId as a real success would (so a retry
 * gets 24) and carries plausible response_data; those accounts are not kept in state.
 */
import { normalizeStatusCode } from './envelope-writer.js';
import { applicationData, plausibleAccountData } from './operations/account-data.js';
import type { GalileoCore } from './pipeline.js';
import { isConsumingCode } from './galileo-spec.js';
import type { FormParams, OperationName, Outcome } from './types.js';

export function respondOutcome(core: GalileoCore, operation: OperationName | null, statusCode: string | number, form: FormParams): Outcome {
  const code = normalizeStatusCode(statusCode);
  if (operation === null || !isConsumingCode(core.spec, operation, code)) return { code };
  const transactionId = form['transactionId'];
  if (transactionId) core.state.markConsumed(form['providerId'] ?? String(core.credentials.providerId), operation, transactionId);
  switch (operation) {
    case 'createAccount': {
      const productId = Number(form['prodId'] ?? 0) || 0;
      const identity = core.state.newIdentity();
      if (code === '407-13') return { code, responseData: [applicationData(productId, 'P', identity.customerId)] };
      return { code, responseData: [plausibleAccountData(identity, productId, core.pciEnabled, code === '407-11' ? 'F' : null)] };
    }
    case 'createIvrCall':
      return { code, responseData: { call_id: core.state.nextCallId() } };
    case 'modifyOnDemandAlertStatus':
      return { code, responseData: {} };
    case 'getCallStatus':
      return { code, responseData: { request_transaction_id: form['requestTransactionId'] ?? '', api_calls: [] } };
  }
}
