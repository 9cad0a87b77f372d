/**
 * Galileo's order of checks for one request, as the real API applies them:
 * unknown endpoint (-4) → credentials (4) → missing parameters (1) → the endpoint's own type field
 * (465-01 / 476-08) → invalid parameters (2) → duplicate transactionId (24) → business logic.
 * A success (0 or a changesState code) consumes the transactionId for this provider and endpoint.
 */
import { OPERATION_LOGIC, TYPE_FIELD_CHECKS } from './operations/index.js';
import { isConsumingCode, type GalileoSpec } from './galileo-spec.js';
import type { SimulatorState } from './state.js';
import type { FormParams, OperationName, Outcome, SimulatorCredentials } from './types.js';
import { validatorsFor } from './validation.js';

export interface GalileoCore {
  spec: GalileoSpec;
  state: SimulatorState;
  credentials: SimulatorCredentials;
  pciEnabled: boolean;
}

export function runGalileo(core: GalileoCore, operation: OperationName | null, form: FormParams): Outcome {
  if (operation === null) return { code: -4 };

  const { credentials } = core;
  if (form['apiLogin'] !== credentials.apiLogin || form['apiTransKey'] !== credentials.apiTransKey || form['providerId'] !== String(credentials.providerId)) {
    return { code: 4 };
  }

  const validation = validatorsFor(core.spec)[operation](form);
  if (validation.missing.length > 0) return { code: 1, errors: validation.missing };

  const typeCheck = TYPE_FIELD_CHECKS[operation];
  if (typeCheck && !typeCheck.allowed.includes(form[typeCheck.field] ?? '')) {
    return { code: typeCheck.code, errors: [`${typeCheck.field}='${typeCheck.field}' is not a supported value`] };
  }

  if (validation.invalid.length > 0) return { code: 2, errors: validation.invalid };

  const transactionId = form['transactionId'] ?? '';
  const providerId = form['providerId'] ?? '';
  if (core.state.isConsumed(providerId, operation, transactionId)) return { code: 24 };

  const outcome = OPERATION_LOGIC[operation]({ state: core.state, pciEnabled: core.pciEnabled }, validation.params);
  if (outcome.committed !== false && isConsumingCode(core.spec, operation, outcome.code)) {
    core.state.markConsumed(providerId, operation, transactionId);
  }
  return outcome;
}
