/**
 * The HTTP face: /__sim/ → admin API; /intserv/… → Galileo (request log, faults, checks, envelope);
 * anything else → plain 404. Nothing a client does (abort, garbage, huge body) may throw out of here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleAdmin } from './admin.js';
import { parseForm, readBody } from './body.js';
import { resetSocket, sendBody, sendEdgePage, sendMalformed, sendPartial, sendPlain, sendTrickle, sleep } from './delivery.js';
import { buildEnvelope, responseFormat, serializeEnvelope } from './envelope-writer.js';
import { faultExecutes, type FaultBook } from './faults.js';
import { runGalileo, type GalileoCore } from './pipeline.js';
import type { RequestLog } from './request-log.js';
import { respondOutcome } from './respond-fault.js';
import { BODY_LIMIT_BYTES } from './rules.js';
import type { Simulator } from './simulator.js';
import { isOperationName, type OperationName, type Outcome } from './types.js';

export interface HandlerContext {
  core: GalileoCore;
  log: RequestLog;
  faults: FaultBook;
  /** Aborted by dispose()/close(): pending latency and trickle timers stop at once. */
  lifetime: AbortSignal;
  simulator: () => Simulator;
}

const BASE_PATH = '/intserv/4.0/';

export function createHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      console.error(`simulator: unexpected error: ${describe(err)}`);
      if (!res.headersSent) sendPlain(res, 500, 'Simulator error', { connection: 'close' });
      else res.destroy();
    });
  };
}

async function route(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req.url);
  if (path === '/__sim' || path.startsWith('/__sim/')) return handleAdmin(ctx.simulator(), req, res, path);
  if (path === '/intserv' || path.startsWith('/intserv/')) return handleGalileo(ctx, req, res, path);
  sendPlain(res, 404, 'Not Found');
}

async function handleGalileo(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const name = path.split('/').filter(Boolean).pop() ?? '';
  const operation: OperationName | null = path.startsWith(BASE_PATH) && isOperationName(path.slice(BASE_PATH.length)) ? (name as OperationName) : null;
  const entry = ctx.log.record({
    operation: name,
    method: req.method ?? '',
    path,
    headers: { ...req.headers },
    body: '',
    params: {},
    receivedAt: new Date(ctx.core.state.now()).toISOString(),
  });

  const early = ctx.faults.takeOnHeaders(name);
  if (early) {
    entry.fault = early.type;
    return resetSocket(req.socket);
  }

  const read = await readBody(req, BODY_LIMIT_BYTES);
  if (read.kind === 'aborted') return;
  if (read.kind === 'too_large') return sendPlain(res, 413, 'Payload Too Large', { connection: 'close' });
  entry.body = read.body;
  const form = (entry.params = parseForm(read.body, req.headers['content-type']));

  const fault = ctx.faults.takeAfterBody(name, form['transactionId']);
  if (fault) entry.fault = fault.type;
  if (fault?.type === 'edge') return sendEdgePage(res, fault.status);
  if (fault?.type === 'malformed') return sendMalformed(res);

  const startedAt = performance.now();
  if (fault?.type === 'latency' && !(await sleep(fault.ms, ctx.lifetime))) return void res.destroy();

  let outcome: Outcome | undefined;
  if (fault?.type === 'respond') outcome = respondOutcome(ctx.core, operation, fault.statusCode, form);
  else if (!fault || faultExecutes(fault)) outcome = galileo(ctx.core, req, operation, form);

  const envelope = outcome && buildEnvelope({ spec: ctx.core.spec, operation, outcome, form, startedAt, now: ctx.core.state.now() });
  if (envelope && operation !== null && isProvidersCall(ctx.core, form, envelope.status_code)) {
    ctx.core.state.recordCall(form['providerId'] ?? '', operation, form['transactionId'] ?? '', { statusCode: envelope.status_code, rtoken: envelope.rtoken });
  }
  // The request was read (and perhaps executed) but no answer ever comes: the client must time out.
  if (fault?.type === 'no_answer') return;
  if (fault?.type === 'reset_after_body') return resetSocket(req.socket);
  if (!envelope) return;

  entry.statusCode = envelope.status_code;
  const { spec } = ctx.core;
  const itemNames = operation === null ? spec.envelopeXmlItemNames : spec.xmlItemNames[operation];
  const { contentType, body } = serializeEnvelope(envelope, responseFormat(req.headers['response-content-type']), itemNames);
  if (fault?.type === 'partial') return sendPartial(res, contentType, body);
  if (fault?.type === 'trickle') return sendTrickle(res, contentType, body, fault.ms, ctx.lifetime);
  sendBody(res, 200, contentType, body);
}

/** A call getCallStatus reports: one the provider's credentials made, to a real endpoint. */
function isProvidersCall(core: GalileoCore, form: Record<string, string>, code: string | number): boolean {
  return code !== 4 && code !== -4 && code !== 17 && form['providerId'] === String(core.credentials.providerId) && Boolean(form['transactionId']);
}

function galileo(core: GalileoCore, req: IncomingMessage, operation: OperationName | null, form: Record<string, string>): Outcome {
  // Galileo's API is POST only; another method on a real endpoint is "invalid API usage".
  if (operation !== null && req.method !== 'POST') return { code: 17, errors: ['Only POST is supported'] };
  try {
    return runGalileo(core, operation, form);
  } catch (err) {
    console.error(`simulator: business logic failed: ${describe(err)}`);
    return { code: -1 };
  }
}

function pathOf(url: string | undefined): string {
  const raw = (url ?? '/').split('?')[0] ?? '/';
  return raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
}

/**
 * Name and message only: embedded, the simulator writes to the gateway's stderr, and a whole error
 * object could carry request data.
 */
function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
}
