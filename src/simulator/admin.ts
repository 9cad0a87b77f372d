/**
 * The test-only admin API under /__sim/ (JSON). The same operations are methods on the simulator
 * object; this is the HTTP face for tests that run the simulator out of process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './body.js';
import { sendJson } from './delivery.js';
import { FaultRuleError } from './faults.js';
import type { Simulator } from './simulator.js';

const ADMIN_BODY_LIMIT = 64 * 1024;

export async function handleAdmin(sim: Simulator, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const route = `${req.method ?? 'GET'} ${path.replace(/\/+$/, '')}`;
  const pin = /^GET \/__sim\/accounts\/(\d{12}|\d{16})\/pin$/.exec(route);
  if (pin) {
    const lastPin = sim.lastPin(pin[1] ?? '');
    return lastPin === null ? sendJson(res, 404, { error: 'no such account or no PIN sent' }) : sendJson(res, 200, { pin: lastPin });
  }
  switch (route) {
    case 'GET /__sim/requests':
      return sendJson(res, 200, sim.requests());
    case 'DELETE /__sim/requests':
      sim.clearRequests();
      return sendJson(res, 204, null);
    case 'GET /__sim/faults':
      return sendJson(res, 200, sim.faults());
    case 'POST /__sim/faults': {
      const body = await readJson(req, res);
      if (body === undefined) return;
      try {
        return sendJson(res, 201, sim.addFault(body as never));
      } catch (err) {
        if (err instanceof FaultRuleError) return sendJson(res, 400, { error: err.message });
        throw err;
      }
    }
    case 'DELETE /__sim/faults':
      sim.clearFaults();
      return sendJson(res, 204, null);
    case 'GET /__sim/state':
      return sendJson(res, 200, sim.snapshot());
    case 'POST /__sim/reset':
      sim.reset();
      return sendJson(res, 204, null);
    case 'GET /__sim/clock':
      return sendJson(res, 200, { now: sim.snapshot().now });
    case 'POST /__sim/clock': {
      const body = await readJson(req, res);
      if (body === undefined) return;
      const advanceMs = (body as { advanceMs?: unknown } | null)?.advanceMs;
      if (typeof advanceMs !== 'number' || !Number.isFinite(advanceMs)) return sendJson(res, 400, { error: 'advanceMs must be a number' });
      sim.advanceClock(advanceMs);
      return sendJson(res, 200, { now: sim.snapshot().now });
    }
    default:
      return sendJson(res, 404, { error: `no admin route ${route}` });
  }
}

/** The parsed JSON body, or undefined after answering 400/413 itself. */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const read = await readBody(req, ADMIN_BODY_LIMIT);
  if (read.kind === 'aborted') return undefined;
  if (read.kind === 'too_large') {
    sendJson(res, 413, { error: 'body too large' });
    return undefined;
  }
  try {
    return JSON.parse(read.body) as unknown;
  } catch {
    sendJson(res, 400, { error: 'body must be JSON' });
    return undefined;
  }
}
