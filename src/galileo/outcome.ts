/**
 * What a forwarded call means for its transactionId (docs/contract.md, Idempotency): consumed when
 * Galileo changed state (the spec marks which status codes do), released for everything else, so
 * the caller may retry exactly as Galileo allows.
 */
import type { GatewaySpec } from '../spec.js';
import type { GalileoReply } from './forward.js';

export function isConsumed(spec: GatewaySpec, operationId: string, reply: GalileoReply): boolean {
  return reply.kind === 'galileo' && spec.stateChangingCodes(operationId).has(String(reply.statusCode));
}
