/**
 * createIvrCall's business logic (callType was already checked: only CPIN gets here).
 *  1. callParams must parse as a JSON object or array (the reference calls it an array and
 *     shows an object)                                                       → else 465-02
 *  2. accountNo must be an account of this simulator                           → else 12
 *  3. a number to call: `phone`, else the account's mobile, primary, other phone → else 465-03
 * Success queues the call (kept in state) and answers { call_id }.
 */
import type { CoercedParams, Outcome } from '../types.js';
import { text, type OperationContext } from './context.js';

export function createIvrCall(ctx: OperationContext, params: CoercedParams): Outcome {
  if (!isJsonObjectOrArray(text(params, 'callParams') ?? '')) {
    return { code: '465-02', errors: ['callParams must be a JSON-encoded object or array'] };
  }
  const account = ctx.state.findAccount(text(params, 'accountNo') ?? '');
  if (!account) return { code: 12 };
  const phone = text(params, 'phone') ?? account.phones.mobile ?? account.phones.primary ?? account.phones.other;
  if (!phone) return { code: '465-03' };
  const callId = ctx.state.nextCallId();
  ctx.state.ivrCalls.push({ callId, prn: account.prn, phone, callType: text(params, 'callType') ?? 'CPIN', createdAt: ctx.state.now() });
  return { code: 0, responseData: { call_id: callId } };
}

function isJsonObjectOrArray(raw: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return false;
  }
  return parsed !== null && typeof parsed === 'object';
}
