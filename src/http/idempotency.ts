/**
 * Idempotency on transactionId (docs/contract.md, Idempotency), the HTTP side. `claimTransaction`
 * applies the table (claim / 409 / 422 / replay / 503) before anything is forwarded;
 * `recordOutcome` consumes or releases the claim once Galileo has answered. The store behind it is
 * memory or Redis: this module does not know which.
 */
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { fingerprint, recordKeyer } from '../idempotency/fingerprint.js';
import { StoreFencedError, StoreUnavailableError, WITHHELD_NO_ROOM, type IdempotencyStore, type StoredResponse } from '../idempotency/store.js';
import type { GalileoReply } from '../galileo/forward.js';
import type { Storable } from '../galileo/pci.js';
import { context } from './context.js';
import type { Metrics } from '../metrics.js';
import { holdsLongNumber } from '../sensitive-numbers.js';
import { lostAnswerProblem, type LostAnswer } from './lost-answers.js';
import { requestFormat, validatedParams } from './params.js';
import { problemBody } from './problem.js';

/**
 * Galileo may echo the transactionId in its answer: one that could hold a card number or an SSN
 * (nine digits or more in a group, in any script) is never stored there either.
 */
const ID_WITH_NUMBER = 'the transactionId holds what could be a card number or an SSN';

export interface IdempotencyDeps {
  store: IdempotencyStore;
  /** The HMAC key of fingerprints and record names (IDEMPOTENCY_FINGERPRINT_KEY): the same on every replica. */
  fingerprintKey: Buffer;
  /** Galileo scopes transactionIds per provider: so does the key. */
  providerId: number;
  metrics: Metrics;
  logger: Logger;
}

export function claimTransaction(deps: IdempotencyDeps, operationId: string): RequestHandler {
  const { store, providerId, metrics } = deps;
  const recordKey = recordKeyer(deps.fingerprintKey);
  return async (req, res, next) => {
    const ctx = context(res);
    const params = validatedParams(req, res);
    const transactionId = ctx.transactionId!;
    const key = recordKey(`${providerId}:${operationId}:${transactionId}`);
    // The client is part of the request: another client's request under this transactionId is a
    // different request (422, never a replay of someone else's answer).
    const print = fingerprint({ client: ctx.client, params, format: requestFormat(req) }, deps.fingerprintKey);

    const outcome = (value: typeof ctx.idempotency) => {
      ctx.idempotency = value;
      metrics.idempotencyOutcomes.inc({ operation: operationId, outcome: value });
    };

    let found;
    try {
      found = await store.claim(key, print);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      metrics.storeErrors.inc({ operation: 'claim' });
      outcome('store_unavailable');
      // Why, every time (a record encrypted under a key the ring lacks, a tampered record, Redis
      // down): the 503 alone does not say. Store messages hold no secret and no request data.
      deps.logger.warn({ requestId: ctx.requestId, reason: err.message }, 'idempotency claim failed: nothing was forwarded');
      throw storeUnavailable(err);
    }

    switch (found.state) {
      case 'claimed':
        outcome('forwarded');
        ctx.claim = {
          key,
          token: found.token,
          withhold: holdsLongNumber(transactionId, 9) ? ID_WITH_NUMBER : undefined,
          unresolved: found.unresolved === true,
        };
        return next();
      case 'in_progress':
        if (found.sameFingerprint) {
          outcome('in_progress');
          throw new GatewayError('idempotency_in_progress', 'A request with this transactionId is still being processed; retry later with the same request.', {
            headers: { 'retry-after': '1' },
          });
        }
        break;
      case 'consumed':
        if (found.sameFingerprint && found.response.withheld !== undefined) {
          outcome('replay_withheld');
          // Why it was withheld, by class only: a scan's reason may quote the answer's text.
          const why =
            found.response.withheld === WITHHELD_NO_ROOM
              ? 'the gateway had no room to keep its answer'
              : 'its answer could hold card data, which the gateway never keeps';
          throw new GatewayError(
            'idempotency_replay_withheld',
            `The first call with this transactionId succeeded at Galileo, but ${why}; the call is not repeated. Look the result up at Galileo.`,
          );
        }
        if (found.sameFingerprint) {
          outcome('replayed');
          const { status, contentType, body } = found.response;
          res.status(status);
          res.setHeader('content-type', contentType);
          res.setHeader('content-length', Buffer.byteLength(body));
          res.setHeader('idempotent-replayed', 'true');
          res.end(body);
          return;
        }
        break;
    }
    outcome('key_reused');
    throw new GatewayError('idempotency_key_reused', `This transactionId was already used for a different ${operationId} request; use a new transactionId.`, {
      errors: [{ field: 'transactionId', message: 'was already used for a different request' }],
    });
  };
}

/**
 * After the call: consume (store the response for replay), release (let the caller retry), or,
 * when Galileo's record of a lost answer could not be read, leave the record unresolved (a retry
 * asks again first: lost-answers.ts). A store failure here never loses Galileo's answer: the
 * caller still gets it, and the claim expires after the lock TTL (a later retry then reaches
 * Galileo, which answers 24, and that is looked up).
 */
export function recordOutcome(
  deps: IdempotencyDeps,
  consumed: (reply: GalileoReply) => boolean,
  /** What of the answer may be kept for replay (never card data): galileo/pci.ts. */
  storable: (reply: Extract<GalileoReply, { kind: 'galileo' }>) => Storable,
): RequestHandler {
  const { store, metrics, logger } = deps;
  return async (_req, res, next) => {
    const ctx = context(res);
    const { claim, reply, lostAnswer } = ctx;
    if (claim && (reply || lostAnswer)) {
      const answered = reply?.kind === 'galileo' ? reply : undefined;
      // What Galileo's record said of a lost answer decides; otherwise the answer itself does.
      const transition = lostAnswer ? SETTLE[lostAnswer.settle] : answered && consumed(answered) ? 'complete' : 'release';
      try {
        const stored =
          transition !== 'complete'
            ? undefined
            : lostAnswer
              ? lostAnswerStored(lostAnswer, ctx.requestId)
              : answered && toStored(answered, claim.withhold ? { kind: 'withheld', reason: claim.withhold } : storable(answered));
        if (stored?.withheld !== undefined) {
          logger.warn(
            { requestId: ctx.requestId, reason: stored.withheld },
            'answer withheld from replay: it may hold card data; the transactionId stays consumed',
          );
        }
        const owned = stored
          ? await store.complete(claim.key, claim.token, stored)
          : transition === 'leaveUnresolved'
            ? await store.leaveUnresolved(claim.key, claim.token)
            : await store.release(claim.key, claim.token);
        if (!owned) logClaimLost(logger, res, transition);
      } catch (err) {
        metrics.storeErrors.inc({ operation: transition });
        logger.error({ requestId: ctx.requestId, err: errorSummary(err) }, `idempotency ${transition} failed; the claim will expire after the lock TTL`);
      }
      ctx.claim = undefined;
    }
    next();
  };
}

/** A lost answer's record: consumed (replayed), released, or left unresolved. */
const SETTLE = { consume: 'complete', release: 'release', unresolved: 'leaveUnresolved' } as const;

/** A lost answer whose call changed state is replayed as the same problem: it holds Galileo's status code and rtoken, never card data. */
function lostAnswerStored(lost: LostAnswer, requestId: string): StoredResponse {
  const error = lostAnswerProblem(lost);
  return { status: error.status, contentType: 'application/problem+json', body: problemBody(error, requestId).toString() };
}

/** Galileo's status and content type, with the body as kept, or none and why it was withheld. */
function toStored(reply: { httpStatus: number; contentType: string }, kept: Storable): StoredResponse {
  const answer = { status: reply.httpStatus, contentType: reply.contentType };
  return kept.kind === 'response' ? { ...answer, body: kept.body } : { ...answer, body: '', withheld: kept.reason };
}

/** A fenced store says how long it refuses claims; Retry-After tells the caller. */
function storeUnavailable(err: StoreUnavailableError): GatewayError {
  if (err instanceof StoreFencedError) {
    const seconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
    return new GatewayError(
      'idempotency_store_unavailable',
      `The idempotency store may have lost recent claims (a Redis restart or failover), so no new call is sent for ${seconds} s while an earlier one may still be running; nothing was sent to Galileo. Retry with the same transactionId.`,
      { headers: { 'retry-after': String(seconds) } },
    );
  }
  return new GatewayError(
    'idempotency_store_unavailable',
    'The idempotency store cannot be reached; nothing was sent to Galileo. Retry with the same transactionId.',
    {
      headers: { 'retry-after': '1' },
    },
  );
}

function logClaimLost(logger: Logger, res: Response, transition: string): void {
  logger.warn(
    { requestId: context(res).requestId },
    `idempotency ${transition} skipped: the claim is gone (it expired and was taken by another request, or the store lost it)`,
  );
}

function errorSummary(err: unknown) {
  return { type: (err as Error)?.name, message: (err as Error)?.message };
}
