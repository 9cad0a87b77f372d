/**
 * The circuit breaker as the configuration sets it (GALILEO_CIRCUIT_FAILURES, 0: none;
 * GALILEO_CIRCUIT_OPEN_MS), its state the gateway_galileo_circuit_state gauge and each transition
 * one log line (docs/traffic-protection.md).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { createGalileoCircuit, type GalileoCircuit } from './circuit-breaker.js';

export function createCircuit(galileo: Config['galileo'], logger: Logger, metrics: Metrics): GalileoCircuit | undefined {
  const { circuitFailures: failures, circuitOpenMs: openMs } = galileo;
  if (failures === 0) return undefined;
  return createGalileoCircuit({
    failures,
    openMs,
    onStateChange: (state, value) => {
      metrics.circuitState.set(value);
      const line = { state, failures, openMs };
      if (state === 'closed') logger.info(line, 'circuit breaker on Galileo closed: calls flow again');
      else if (state === 'open') logger.warn(line, 'circuit breaker on Galileo opened: new requests are refused (503 upstream_circuit_open)');
      else logger.info(line, 'circuit breaker on Galileo half-open: one trial request');
    },
  });
}
