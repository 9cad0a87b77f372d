/**
 * Which Galileo the gateway calls: GALILEO_BASE_URL with its credentials or, when it is unset, the
 * embedded simulator, started here on loopback (docs/simulator.md; never in production, where
 * config.ts requires the URL). The simulator is referenced only here.
 */
import type { Logger } from 'pino';
import { ConfigError, type Config, type GalileoCredentials } from '../config.js';
import { baseUrlProblem } from './config-refusals.js';

export interface GalileoTarget {
  url: string;
  credentials: GalileoCredentials;
  /** The embedded simulator when it is the target: closed last on stop. */
  simulator: { close(): Promise<void> } | undefined;
}

export async function galileoTarget(config: Config, logger: Logger): Promise<GalileoTarget> {
  const { baseUrl, credentials } = config.galileo;
  if (baseUrl !== undefined) {
    const problem = baseUrlProblem(baseUrl);
    if (problem !== undefined) logger.warn({ galileo: loggableUrl(baseUrl) }, problem);
    if (credentials === undefined) throw new ConfigError('GALILEO_API_LOGIN', 'credentials are required');
    return { url: baseUrl, credentials, simulator: undefined };
  }
  const { startSimulator, SIMULATOR_CREDENTIALS } = await import('../simulator/server.js');
  const simulatorCredentials = credentials ?? SIMULATOR_CREDENTIALS;
  const simulator = await startSimulator({ port: 0, host: '127.0.0.1', credentials: simulatorCredentials });
  // Its admin API (state, the PINs it "texts", faults) is what the README's examples read (docs/simulator.md).
  logger.warn(
    { galileo: simulator.url, simulatorAdmin: `${simulator.origin}/__sim/` },
    'GALILEO_BASE_URL is not set: using the embedded Galileo simulator (never in production)',
  );
  return { url: simulator.url, credentials: simulatorCredentials, simulator };
}

/** A URL as it may be logged: origin and path, never a user or password. */
function loggableUrl(url: string): string {
  const parsed = new URL(url);
  return parsed.origin + parsed.pathname;
}
