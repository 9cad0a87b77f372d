/**
 * The one typed object a request carries through the chain (src/app.ts): created by the first
 * step (request-context.ts), then filled in step by step. Each field says which step writes it and
 * which read it, so the order the steps depend on is written down in one place. Kept in a WeakMap
 * keyed by the response, not in res.locals: no string keys, no casts.
 */
import type { Response } from 'express';
import type { FieldError } from '../errors.js';
import type { GalileoReply } from '../galileo/forward.js';
import type { LostAnswer } from './lost-answers.js';

type IdempotencyOutcome = 'forwarded' | 'replayed' | 'replay_withheld' | 'in_progress' | 'key_reused' | 'store_unavailable' | 'none';

interface UpstreamSummary {
  httpStatus: number | undefined;
  statusCode: string | number | undefined;
  /** Galileo's tracking id and processing time (seconds): what Galileo support asks for. */
  rtoken: string | undefined;
  processingTime: number | undefined;
  attempts: number;
  durationMs: number;
  outcome: string;
}

/** A claim on a transactionId, until its outcome is recorded. */
interface Claim {
  key: string;
  token: string;
  /** Why the answer must not be kept for replay whatever it holds, if it must not. */
  withhold: string | undefined;
  /** The claim took over an unresolved record: an earlier call's answer was lost and Galileo could not be asked. */
  unresolved: boolean;
}

export interface RequestContext {
  /** request-context.ts. Read by every line and problem of the request. */
  requestId: string;
  startedAt: bigint;
  /** authenticate.ts. Read by the rate limits, the traffic guards' metrics, the fingerprint, the log line. */
  client: string | undefined;
  operation: string | undefined;
  /** params.ts (validatedParams). Read by the claim, lost-answers.ts and the log line. */
  transactionId: string | undefined;
  idempotency: IdempotencyOutcome;
  /** forward-to-galileo.ts. Read by the log line. */
  upstream: UpstreamSummary | undefined;
  /** problem.ts: the code of the gateway problem answered. Read by the log line. */
  problem: string | undefined;
  /** parse-body.ts (its headers step). Read by its parse step, coerce-types.ts and requestFormat's callers. */
  mediaType: 'application/json' | 'application/x-www-form-urlencoded' | undefined;
  /** params.ts (captureCallerFields): the fields the caller sent, JSON nulls apart. Read by validatedParams. */
  callerFields: string[] | undefined;
  /** params.ts (captureCallerFields): the fields sent as JSON null. Read by coerce-types.ts (an unknown one is still refused). */
  nullFields: string[] | undefined;
  /** coerce-types.ts. Read by validate.ts, which reports them with its own. */
  coercionProblems: FieldError[];
  /** params.ts (validatedParams, once validation passed). Read by the claim and the forward. */
  params: Record<string, unknown> | undefined;
  /** idempotency.ts (claimTransaction). Read and cleared by recordOutcome. */
  claim: Claim | undefined;
  /** forward-to-galileo.ts (skipped when lostAnswer is already set). Read by recordOutcome and send-reply.ts. */
  reply: GalileoReply | undefined;
  /** lost-answers.ts: what Galileo's record says of a call whose answer was lost. Read by recordOutcome, send-reply.ts, the log line. */
  lostAnswer: LostAnswer | undefined;
}

const contexts = new WeakMap<Response, RequestContext>();

/** The first step's: a fresh context for this response. */
export function createContext(res: Response, requestId: string): RequestContext {
  const ctx: RequestContext = {
    requestId,
    startedAt: process.hrtime.bigint(),
    client: undefined,
    operation: undefined,
    transactionId: undefined,
    idempotency: 'none',
    upstream: undefined,
    problem: undefined,
    mediaType: undefined,
    callerFields: undefined,
    nullFields: undefined,
    coercionProblems: [],
    params: undefined,
    claim: undefined,
    reply: undefined,
    lostAnswer: undefined,
  };
  contexts.set(res, ctx);
  return ctx;
}

export function context(res: Response): RequestContext {
  const ctx = contexts.get(res);
  if (ctx === undefined) throw new Error('no request context: requestContext must be the first step');
  return ctx;
}

/** For the error handler, which may see a response the first step never reached. */
export function contextIfAny(res: Response): RequestContext | undefined {
  return contexts.get(res);
}
