/**
 * Connections beyond MAX_CONNECTIONS are dropped by Node as they are accepted. Each drop is
 * counted; the log says so at most once every ten seconds (with how many were dropped since), so
 * a flood cannot flood the log too.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';

const LOG_INTERVAL_MS = 10_000;

export function onConnectionDropped(logger: Logger, metrics: Metrics, maxConnections: number): () => void {
  let unlogged = 0;
  let lastLog = -Infinity;
  return () => {
    metrics.connectionsDropped.inc();
    unlogged += 1;
    const now = performance.now();
    if (now - lastLog < LOG_INTERVAL_MS) return;
    logger.warn({ dropped: unlogged, maxConnections }, 'connection limit reached: new connections are being dropped (MAX_CONNECTIONS)');
    unlogged = 0;
    lastLog = now;
  };
}
