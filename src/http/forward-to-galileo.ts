/**
 * Forwards the validated request and leaves Galileo's reply for the next middleware; notes the
 * upstream facts for the log line and the metrics, and shows Galileo's answer to the
 * configuration watch (an answer that blames the gateway's credentials, IP or usage).
 */
import type { RequestHandler } from 'express';
import type { GalileoConfigWatch } from '../diagnostics/galileo-config-watch.js';
import { isGalileoStatusCode } from '../galileo/envelope.js';
import type { Forwarder } from '../galileo/forward.js';
import type { Metrics } from '../metrics.js';
import { context } from './context.js';
import { requestFormat, validatedParams } from './params.js';

export function forwardToGalileo(forwarder: Forwarder, metrics: Metrics, configWatch: GalileoConfigWatch, operationId: string): RequestHandler {
  return async (req, res, next) => {
    // Galileo's record already settled this call (lost-answers.ts, beforeForward): nothing is sent.
    if (context(res).lostAnswer) return next();
    const reply = await forwarder.forward(operationId, validatedParams(req, res), requestFormat(req));
    const galileo = reply.kind === 'galileo' ? reply : undefined;
    const outcome = reply.kind === 'galileo' ? 'galileo' : reply.code;
    const ctx = context(res);
    ctx.upstream = {
      httpStatus: reply.httpStatus,
      statusCode: galileo === undefined ? undefined : isGalileoStatusCode(galileo.statusCode) ? galileo.statusCode : 'unrecognized',
      rtoken: galileo?.rtoken,
      processingTime: galileo?.processingTime,
      attempts: reply.attempts,
      durationMs: Math.round(reply.durationMs * 100) / 100,
      outcome,
    };
    metrics.upstreamDuration.observe({ operation: operationId, outcome }, reply.durationMs / 1000);
    if (galileo) configWatch.answered(operationId, galileo.statusCode);
    ctx.reply = reply;
    next();
  };
}
