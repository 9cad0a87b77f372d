/**
 * Shutdown (docs/contract.md, Readiness, diagnostics and shutdown): stop accepting, let requests
 * in flight finish within the drain timeout, then cut what is left. It counts the requests in
 * flight itself, from the server's own events, rather than reading a metric.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';

export interface Drain {
  /** Closes the listener and waits; true when every request finished within `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean>;
}

export function trackDrain(server: Server, logger: Logger): Drain {
  /** Requests that arrived and whose response has not closed yet (logged, and awaited after a cut). */
  let inFlight = 0;
  server.on('request', (_req, res) => {
    inFlight++;
    res.once('close', () => inFlight--);
  });
  return {
    async drain(timeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // close() only drops the connections idle right now; a kept-alive one that finishes its
      // request later would hold the drain until its keep-alive timeout.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      logger.info({ drainTimeoutMs: timeoutMs, inFlight }, 'gateway stopping');
      const drained = await Promise.race([closed.then(() => true), sleep(timeoutMs).then(() => false)]);
      clearInterval(sweep);
      if (!drained) {
        logger.warn({ inFlight }, 'drain timeout reached: closing remaining connections');
        server.closeAllConnections();
        await closed;
        // Destroyed sockets report 'close' a loop turn or two later: wait (briefly) so every cut
        // request still gets its `request completed` line (status 499) before the exit.
        for (let i = 0; i < 50 && inFlight > 0; i++) await sleep(10);
      }
      return drained;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
