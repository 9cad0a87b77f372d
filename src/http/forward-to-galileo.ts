/** Forwards the validated request and leaves Galileo's reply for the next middleware. */
import type { RequestHandler } from 'express';
import type { Forwarder } from '../galileo/forward.js';
import type { Metrics } from '../metrics.js';
import { context } from './context.js';
import { requestFormat, validatedParams } from './params.js';

export function forwardToGalileo(forwarder: Forwarder, metrics: Metrics, operationId: string): RequestHandler {
  return async (req, res, next) => {
    const reply = await forwarder.forward(operationId, validatedParams(req, res), requestFormat(req));
    const outcome = reply.kind === 'galileo' ? 'galileo' : reply.code;
    context(res).upstream = {
      httpStatus: reply.httpStatus,
      statusCode: reply.kind === 'galileo' ? reply.statusCode : undefined,
      attempts: reply.attempts,
      durationMs: Math.round(reply.durationMs * 100) / 100,
      outcome,
    };
    metrics.upstreamDuration.observe({ operation: operationId, outcome }, reply.durationMs / 1000);
    res.locals.reply = reply;
    next();
  };
}
