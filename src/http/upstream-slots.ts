/**
 * The bulkhead (cockatiel's) on calls to Galileo: a replica holds at most `maxInFlight` requests
 * between the claim and the answer, so a slow Galileo cannot pile up sockets and memory. A request
 * beyond it is answered at once, before anything is claimed: 503 `upstream_busy`, Retry-After 1.
 * No queue: a queued caller would hold its connection and its memory for as long as Galileo is
 * slow, which is what the bound is for; the caller (the typed client does) retries after a second.
 *
 * The log says when the bulkhead starts refusing and when it stops, as the rate limits do (a
 * LastingCondition), never a line per request. It has stopped when a slot is given back and
 * nobody was refused since the previous one was, or when nothing is in flight any more: while it
 * stays full, each slot given back is taken at once and the next caller refused again, which is
 * still one episode, not one each.
 */
import { bulkhead } from 'cockatiel';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { LastingCondition } from '../diagnostics/lasting-condition.js';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { context } from './context.js';

export interface UpstreamSlotsDeps {
  /** Calls this replica may have in flight to Galileo; 0: no bound. */
  maxInFlight: number;
  metrics: Metrics;
  logger: Logger;
  /** While it keeps refusing, logged again at most this often. */
  repeatLogIntervalMs: number;
}

export function holdUpstreamSlot(deps: UpstreamSlotsDeps): RequestHandler {
  const { maxInFlight, metrics, logger } = deps;
  if (maxInFlight === 0) return (_req, _res, next) => next();
  const slots = bulkhead(maxInFlight, 0);
  const refusing = new LastingCondition(deps.repeatLogIntervalMs, {
    report: ({ occurrences, sinceMs }) => logger.warn({ maxInFlight, refused: occurrences, sinceMs }, 'bulkhead refusing requests'),
    recovered: ({ durationMs, occurrences }) => logger.info({ maxInFlight, refused: occurrences, durationMs }, 'bulkhead no longer refusing'),
  });
  let refusedSinceRelease = false;
  const released = () => {
    metrics.galileoInFlight.set(maxInFlight - slots.executionSlots);
    // Nothing in flight any more: over too, even with no caller since (a bound of one has no next release).
    if (!refusedSinceRelease || slots.executionSlots === maxInFlight) refusing.resolved();
    refusedSinceRelease = false;
  };
  return (_req, res, next) => {
    if (slots.executionSlots === 0) {
      metrics.trafficRefusals.inc({ reason: 'upstream_busy', client: context(res).client ?? 'anonymous', limit: 'none' });
      refusing.occurred();
      refusedSinceRelease = true;
      throw new GatewayError(
        'upstream_busy',
        `This gateway already has ${maxInFlight} calls to Galileo in flight; nothing was sent. Retry after Retry-After with the same transactionId.`,
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    // The slot is held until the answer is sent or the connection dies ('close' comes either way).
    void slots.execute(() => new Promise<void>((resolve) => res.once('close', resolve))).then(released);
    metrics.galileoInFlight.set(maxInFlight - slots.executionSlots);
    next();
  };
}
