/**
 * Caller authentication off is said at start-up, with the reason config.ts allowed it: in front
 * of the embedded simulator, or GATEWAY_AUTH=off (docs/configuration.md).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';

export function warnWhenAuthOff(config: Config, embeddedSimulator: boolean, logger: Logger): void {
  if (config.clients !== undefined) return;
  const why = embeddedSimulator ? 'in front of the embedded simulator' : 'GATEWAY_AUTH=off';
  logger.warn(`caller authentication is OFF (${why}): any caller may use the gateway`);
}
