/**
 * How long a claim lives (docs/idempotency.md, "Claims expire"). It must outlive the worst-case
 * Galileo call (every attempt timing out, plus the backoff between them) and, when the answer is
 * lost, the lookups of its outcome (each a call of the same bound, plus their pauses): a retry that
 * takes over an unresolved record looks up before it forwards and again after, so twice the lookups.
 * Shorter, and a second request could be forwarded while the first is still in flight.
 */
import type { Config } from '../config.js';
import { lookupPausesMs } from './lost-answers.js';

export function lockTtlMs(galileo: Pick<Config['galileo'], 'timeoutMs' | 'maxRetries' | 'backoffMs' | 'resolveAttempts'>): number {
  const call = (galileo.maxRetries + 1) * galileo.timeoutMs + galileo.backoffMs * (2 ** galileo.maxRetries - 1);
  // The margin covers the claim-to-call and answer-to-record steps (milliseconds normally).
  return call * (1 + 2 * galileo.resolveAttempts) + 2 * lookupPausesMs(galileo.resolveAttempts) + 2_000;
}
