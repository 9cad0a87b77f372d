/** Unauthenticated ops endpoints: liveness, readiness, metrics, the inbound spec. */
import { Router } from 'express';
import type { IdempotencyStore } from '../idempotency/store.js';
import type { Metrics } from '../metrics.js';

export interface Readiness {
  /** Set on SIGTERM: load balancers stop sending before the listener closes. */
  shuttingDown: boolean;
}

export function opsRoutes(deps: { store: IdempotencyStore; metrics: Metrics; readiness: Readiness; specDocument: object }): Router {
  const router = Router();
  const specBody = JSON.stringify(deps.specDocument);

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = { config: 'ok' };
    try {
      await deps.store.ping();
      checks.store = 'ok';
    } catch {
      checks.store = 'unavailable';
    }
    if (deps.readiness.shuttingDown) checks.shutdown = 'in progress';
    const ready = checks.store === 'ok' && !deps.readiness.shuttingDown;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });

  router.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', deps.metrics.registry.contentType);
    res.end(await deps.metrics.registry.metrics());
  });

  router.get('/openapi.json', (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(specBody);
  });

  return router;
}
