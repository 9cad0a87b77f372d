/**
 * Lost answers resolved, not released blindly (docs/contract.md, Lost answers). When a call's
 * answer never came back after the request may have reached Galileo, or Galileo answered 24
 * (duplicate transaction), the gateway asks Galileo's own record what became of the call
 * (galileo/lost-answers.ts) and decides by what it finds, with the same consume/release rule as a
 * live answer. Two steps around the forward:
 * - `beforeForward`: the claim took over an unresolved record (an earlier lookup failed): ask
 *   first, and forward only when Galileo says the call did not run or ran without changing state;
 * - `afterForward`: no answer after the request may have been sent, or a 24: ask what happened.
 * Each leaves its finding in the request context; recordOutcome settles the record by it and
 * sendReply answers it (502 upstream_answer_lost, or the failure's own problem, with a `galileo`
 * member saying what Galileo did).
 */
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { GatewayError, type GalileoOutcome, type ProblemCode } from '../errors.js';
import type { GalileoReply } from '../galileo/forward.js';
import type { LostAnswerResolver, Resolution } from '../galileo/lost-answers.js';
import type { Metrics } from '../metrics.js';
import { context } from './context.js';

/** What the gateway does with a call whose answer was lost, once Galileo's record was read. */
export interface LostAnswer {
  /** What the caller is told: Galileo's finding. */
  galileo: GalileoOutcome;
  /** The problem answered. */
  code: ProblemCode;
  detail: string;
  /** The record: consumed (this answer is replayed), released (a retry is forwarded), unresolved (a retry asks again first). */
  settle: 'consume' | 'release' | 'unresolved';
}

/** The problem a lost answer is answered with, and replayed as. */
export function lostAnswerProblem(lost: LostAnswer): GatewayError {
  return new GatewayError(lost.code, lost.detail, { galileo: lost.galileo });
}

export interface LostAnswerDeps {
  resolver: LostAnswerResolver;
  /** Status codes after which the call changed state at Galileo (the spec's changesState). */
  stateChangingCodes: ReadonlySet<string>;
  /** Galileo's "this transactionId already succeeded" codes (the spec's duplicateTransaction). */
  duplicateCodes: ReadonlySet<string>;
  metrics: Metrics;
  logger: Logger;
}

export function resolveLostAnswers(deps: LostAnswerDeps, operationId: string) {
  const { resolver, stateChangingCodes, duplicateCodes, metrics, logger } = deps;

  const lookUp = async (res: Response, cause: string) => {
    const ctx = context(res);
    const found = await resolver.resolve(operationId, ctx.transactionId!);
    const result = found.executed === true ? 'executed' : found.executed === false ? 'not_executed' : 'unknown';
    metrics.lostAnswers.inc({ operation: operationId, result });
    metrics.lostAnswerDuration.observe({ result }, found.durationMs / 1000);
    logger.warn(
      {
        requestId: ctx.requestId,
        operation: operationId,
        cause,
        result,
        statusCode: found.executed === true ? found.statusCode : undefined,
        rtoken: found.executed === true ? found.rtoken : undefined,
        reason: found.executed === 'unknown' ? found.reason : undefined,
        lookups: found.lookups,
        durationMs: Math.round(found.durationMs * 100) / 100,
      },
      'lost answer looked up',
    );
    if (found.executed === true && ctx.upstream) ctx.upstream.rtoken = found.rtoken;
    return found;
  };

  const ran = (found: Extract<Resolution, { executed: true }>): LostAnswer => {
    const changed = stateChangingCodes.has(String(found.statusCode));
    return {
      galileo: { executed: true, statusCode: found.statusCode, ...(found.rtoken && { rtoken: found.rtoken }) },
      code: 'upstream_answer_lost',
      detail: changed
        ? `Galileo's answer was lost, but its own record shows the call ran and ended with status ${found.statusCode}. It is not sent again: a retry with this transactionId gets this same answer.`
        : `Galileo's answer was lost, but its own record shows the call ran and ended with status ${found.statusCode}, which changed nothing at Galileo; a retry with this transactionId is sent again.`,
      settle: changed ? 'consume' : 'release',
    };
  };

  const cannotAsk: LostAnswer = {
    galileo: { executed: 'unknown' },
    code: 'upstream_answer_lost',
    detail:
      "An earlier call with this transactionId lost its answer, and Galileo's record of it could not be read; nothing was sent. Retry later with the same transactionId: the gateway asks again first.",
    settle: 'unresolved',
  };

  /**
   * Galileo's record of an earlier call under this transactionId: unreadable, the record stays
   * unresolved; run and changed state, its answer; not run, or run without changing anything,
   * nothing (Galileo takes the transactionId again, so does the gateway).
   */
  const earlierCall = (found: Resolution): LostAnswer | undefined =>
    found.executed === 'unknown' ? cannotAsk : found.executed === true && stateChangingCodes.has(String(found.statusCode)) ? ran(found) : undefined;

  const beforeForward: RequestHandler = async (_req, res, next) => {
    const ctx = context(res);
    if (ctx.claim?.unresolved) {
      ctx.lostAnswer = earlierCall(await lookUp(res, 'unresolved_record'));
    }
    next();
  };

  const afterForward: RequestHandler = async (_req, res, next) => {
    const ctx = context(res);
    const reply = ctx.reply;
    if (ctx.claim === undefined || reply === undefined) return next();
    if (reply.kind === 'failure' && reply.mayHaveExecuted) {
      const found = await lookUp(res, reply.code);
      // After a timeout Galileo may still be running the call: a record that does not show it yet is
      // no proof it never ran (a 407-11 after it would not be covered by Galileo's 24), so the
      // record stays unresolved and the retry asks again before anything is sent.
      const maybeRunning = found.executed === false && reply.code === 'upstream_timeout';
      ctx.lostAnswer = found.executed === true ? ran(found) : failureWith(reply, maybeRunning ? 'not_yet' : found.executed);
    } else if (reply.kind === 'galileo' && duplicateCodes.has(String(reply.statusCode))) {
      // 24: this transactionId already succeeded at Galileo, perhaps through a call of the gateway's
      // whose answer was lost. Galileo's record gives its outcome; when the record has no success
      // (it keeps calls 2 days, duplicates are detected for 90), Galileo's 24 goes through as it is.
      ctx.lostAnswer = earlierCall(await lookUp(res, 'duplicate_transaction'));
    }
    next();
  };

  return { beforeForward, afterForward };
}

/** The failure's own problem (502 or 504), saying whether Galileo ran the call, as far as its record shows. */
function failureWith(reply: Extract<GalileoReply, { kind: 'failure' }>, executed: false | 'unknown' | 'not_yet'): LostAnswer {
  if (executed === false) {
    return {
      galileo: { executed: false },
      code: reply.code,
      detail: `${reply.detail} Galileo's own record shows the call did not run; a retry with this transactionId is sent again.`,
      settle: 'release',
    };
  }
  return {
    galileo: { executed: 'unknown' },
    code: reply.code,
    detail:
      executed === 'not_yet'
        ? `${reply.detail} Galileo's record does not show the call yet, and it may still be running; a retry with this transactionId asks again before anything is sent.`
        : `${reply.detail} Galileo could not be asked whether the call ran; a retry with this transactionId asks again before anything is sent.`,
    settle: 'unresolved',
  };
}
