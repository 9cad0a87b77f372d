/**
 * Per-request facts the middleware chain accumulates for the one `request completed` log line
 * (docs/contract.md, Logs and metrics). Lives in res.locals so every middleware reads and writes the same typed object.
 */
import type { Response } from 'express';

export type IdempotencyOutcome = 'forwarded' | 'replayed' | 'replay_withheld' | 'in_progress' | 'key_reused' | 'store_unavailable' | 'none';

export interface UpstreamSummary {
  httpStatus: number | undefined;
  statusCode: string | number | undefined;
  /** Galileo's tracking id and processing time (seconds): what Galileo support asks for. */
  rtoken: string | undefined;
  processingTime: number | undefined;
  attempts: number;
  durationMs: number;
  outcome: string;
}

export interface RequestContext {
  requestId: string;
  startedAt: bigint;
  client: string | undefined;
  operation: string | undefined;
  transactionId: string | undefined;
  idempotency: IdempotencyOutcome;
  upstream: UpstreamSummary | undefined;
  /** Code of the gateway problem answered, if any. */
  problem: string | undefined;
}

export function context(res: Response): RequestContext {
  return res.locals.ctx as RequestContext;
}
