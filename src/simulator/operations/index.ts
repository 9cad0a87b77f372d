/** Operation name → business logic, plus each operation's own check of its "type" field. */
import type { OperationName, StatusCode } from '../types.js';
import type { OperationLogic } from './context.js';
import { createAccount } from './create-account.js';
import { createIvrCall } from './create-ivr-call.js';
import { getCallStatus } from './get-call-status.js';
import { modifyOnDemandAlertStatus } from './modify-on-demand-alert-status.js';

export const OPERATION_LOGIC: Record<OperationName, OperationLogic> = {
  createAccount,
  createIvrCall,
  modifyOnDemandAlertStatus,
  getCallStatus,
};

/**
 * Fields for which the endpoint has its own code for an unknown value (465-01 unknown IVR call type,
 * 476-08 unknown action type). Real Galileo answers those codes, not the generic 2, so this check
 * runs after the missing-parameter check (1) and before the generic invalid-parameter check (2).
 */
export const TYPE_FIELD_CHECKS: Partial<Record<OperationName, { field: string; allowed: readonly string[]; code: StatusCode }>> = {
  createIvrCall: { field: 'callType', allowed: ['CPIN'], code: '465-01' },
  modifyOnDemandAlertStatus: { field: 'actionType', allowed: ['E', 'U', 'F', 'C', 'S'], code: '476-08' },
};
