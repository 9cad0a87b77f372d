/** The Galileo gateway's typed client: generated from its served spec, retrying safely. */
export {
  createGatewayClient,
  DEFAULT_TIMEOUT_MS,
  type CallOptions,
  type GatewayClient,
  type GatewayClientOptions,
  type OperationId,
  type OperationRequest,
  type OperationResult,
  type ResponseFormat,
} from './gateway-client.js';
export { GatewayCallError, type CallResult, type GalileoAnswer, type GatewayProblem, type LostAnswer } from './results.js';
export { DEFAULT_RETRY, RETRIED_PROBLEMS, RETRIED_STATUSES, type RetryOptions } from './retry-policy.js';
// The spec's own types (NewAccount, IvrCall, Envelope, Problem, the requests...), for callers' code.
export type * from './generated/types.gen.js';
