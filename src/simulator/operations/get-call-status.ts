/**
 * getCallStatus's business logic: the calls this simulator answered for that transactionId and
 * endpoint in the last 2 days, each with its own status code and rtoken, oldest first.
 * An assumption (Galileo's pages do not say): a transactionId Galileo never saw, or one whose
 * request it read but never ran (a fault without `execute`), is a success with no calls, not an
 * error status. See docs/simulator.md.
 */
import type { CoercedParams, Outcome } from '../types.js';
import { text, type OperationContext } from './context.js';

export function getCallStatus(ctx: OperationContext, params: CoercedParams): Outcome {
  const transactionId = text(params, 'requestTransactionId') ?? '';
  const calls = ctx.state.callsFor(text(params, 'providerId') ?? '', text(params, 'requestMethodName') ?? '', transactionId);
  return {
    code: 0,
    responseData: {
      request_transaction_id: transactionId,
      api_calls: calls.map((call) => ({
        gal_trans_id: call.galTransId,
        result_trans_id: call.resultTransId,
        status_code: String(call.statusCode),
        in_timestamp: call.inTimestamp,
        rtoken: call.rtoken,
      })),
    },
  };
}
