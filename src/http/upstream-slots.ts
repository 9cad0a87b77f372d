/**
 * The bulkhead (cockatiel's) on calls to Galileo: a replica holds at most `maxInFlight` requests
 * between the claim and the answer, so a slow Galileo cannot pile up sockets and memory. A request
 * beyond it is answered at once, before anything is claimed: 503 `upstream_busy`, Retry-After 1.
 * No queue: a queued caller would hold its connection and its memory for as long as Galileo is
 * slow, which is what the bound is for; the caller (the typed client does) retries after a second.
 */
import { bulkhead } from 'cockatiel';
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { context } from './context.js';

export function holdUpstreamSlot(maxInFlight: number, metrics: Metrics): RequestHandler {
  if (maxInFlight === 0) return (_req, _res, next) => next();
  const slots = bulkhead(maxInFlight, 0);
  return (_req, res, next) => {
    if (slots.executionSlots === 0) {
      metrics.trafficRefusals.inc({ reason: 'upstream_busy', client: context(res).client ?? 'anonymous', limit: 'none' });
      throw new GatewayError(
        'upstream_busy',
        `This gateway already has ${maxInFlight} calls to Galileo in flight; nothing was sent. Retry after Retry-After with the same transactionId.`,
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    // The slot is held until the answer is sent or the connection dies ('close' comes either way).
    const showSlots = () => metrics.galileoInFlight.set(maxInFlight - slots.executionSlots);
    void slots.execute(() => new Promise<void>((resolve) => res.once('close', resolve))).then(showSlots);
    showSlots();
    next();
  };
}
