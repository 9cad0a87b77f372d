/** What every operation's business logic receives, and small readers for coerced form values. */
import type { SimulatorState } from '../state.js';
import type { CoercedParams, Outcome } from '../types.js';

export interface OperationContext {
  state: SimulatorState;
  /** Provider is PCI-enabled: createAccount returns the full PAN, expiry date and security code. */
  pciEnabled: boolean;
}

export type OperationLogic = (ctx: OperationContext, params: CoercedParams) => Outcome;

export function text(params: CoercedParams, name: string): string | undefined {
  const value = params[name];
  return value === undefined || value === null ? undefined : String(value);
}

export function num(params: CoercedParams, name: string): number | undefined {
  const value = params[name];
  return typeof value === 'number' ? value : undefined;
}
