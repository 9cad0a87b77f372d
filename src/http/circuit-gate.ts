/**
 * While the breaker on Galileo is open (galileo/circuit-breaker.ts), a request is answered at once,
 * before its body is read: 503 `upstream_circuit_open` with Retry-After, nothing claimed or
 * forwarded. Requests that pass while the breaker is due for its trial meet it in the forwarder.
 */
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import type { GalileoCircuit } from '../galileo/circuit-breaker.js';
import type { Metrics } from '../metrics.js';
import { context } from './context.js';

export function refuseWhileCircuitOpen(circuit: GalileoCircuit | undefined, metrics: Metrics): RequestHandler {
  if (circuit === undefined) return (_req, _res, next) => next();
  return (_req, res, next) => {
    const ms = circuit.refusingForMs();
    if (ms === 0) return next();
    metrics.trafficRefusals.inc({ reason: 'circuit_open', client: context(res).client ?? 'anonymous', limit: 'none' });
    const seconds = Math.max(1, Math.ceil(ms / 1000));
    throw new GatewayError(
      'upstream_circuit_open',
      `Galileo has been failing, so the gateway is not sending calls to it for ${seconds} s; nothing was sent. Retry then with the same transactionId.`,
      {
        headers: { 'retry-after': String(seconds) },
      },
    );
  };
}
