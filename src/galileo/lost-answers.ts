/**
 * What became of a call whose answer was lost (docs/contract.md, Lost answers). The gateway asks
 * Galileo's own record, the spec's outcome lookup (getCallStatus: x-outcome-lookup), under a fresh
 * transactionId of its own, a bounded number of times. Galileo lists the calls it ran under that
 * transactionId and endpoint, each with its status code and rtoken:
 * - one or more: `executed`, with the call that changed state if one did, else the latest;
 * - none: `not executed` (Galileo keeps these for 2 days; the gateway asks within seconds);
 * - no usable answer: `unknown`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiCall, CallStatus } from '../../generated/galileo-client/types.gen.js';
import { isUuid } from '../sensitive-numbers.js';
import type { GatewaySpec, OutcomeLookup } from '../spec.js';
import { isGalileoStatusCode, type GalileoStatusCode } from './envelope.js';
import type { Forwarder } from './forward.js';

const LOOKUP_BACKOFF_MS = 200;

/** The pauses between `attempts` lookups at most: the lock TTL covers them (lock-ttl.ts). */
export function lookupPausesMs(attempts: number): number {
  return attempts > 1 ? LOOKUP_BACKOFF_MS * (2 ** (attempts - 1) - 1) : 0;
}

export type Resolution =
  { executed: true; statusCode: GalileoStatusCode; rtoken: string | undefined } | { executed: false } | { executed: 'unknown'; reason: string };

export interface LostAnswerResolver {
  /** Never throws: a lookup that cannot be made is an `unknown`. */
  resolve(operationId: string, transactionId: string): Promise<Resolution & { durationMs: number; lookups: number }>;
}

/** The resolver GALILEO_RESOLVE_ATTEMPTS asks for: none at 0, or when the spec names no outcome lookup. */
export function lostAnswerResolverFor(spec: GatewaySpec, forwarder: Forwarder, attempts: number): LostAnswerResolver | undefined {
  if (spec.outcomeLookup === undefined || attempts === 0) return undefined;
  return createLostAnswerResolver({ forwarder, lookup: spec.outcomeLookup, attempts, stateChangingCodes: spec.stateChangingCodes });
}

function createLostAnswerResolver(options: {
  forwarder: Forwarder;
  lookup: OutcomeLookup;
  /** Lookups at most (GALILEO_RESOLVE_ATTEMPTS); each is one forwarded call, retried only where it cannot have run. */
  attempts: number;
  /** Which status codes mean the call changed state at Galileo, per operation. */
  stateChangingCodes: (operationId: string) => ReadonlySet<string>;
}): LostAnswerResolver {
  const { forwarder, lookup, attempts, stateChangingCodes } = options;
  // The lookup is a read: the one status the spec marks `changesState` for it is its success, the
  // only answer that lists calls (x-galileo-global-status-codes).
  const lookupSucceeded = stateChangingCodes(lookup.operationId);

  const ask = async (operationId: string, transactionId: string): Promise<Resolution> => {
    const reply = await forwarder.forward(
      lookup.operationId,
      { transactionId: randomUUID(), [lookup.transactionIdField]: transactionId, [lookup.methodNameField]: operationId },
      'json',
    );
    if (reply.kind === 'failure') return { executed: 'unknown', reason: reply.code };
    if (!lookupSucceeded.has(String(reply.statusCode))) return { executed: 'unknown', reason: `the lookup answered status ${safeCode(reply.statusCode)}` };
    const calls = callsIn(reply.body);
    if (calls === undefined) return { executed: 'unknown', reason: 'the lookup answer has no list of calls' };
    if (calls.length === 0) return { executed: false };
    const changing = stateChangingCodes(operationId);
    const call = calls.find((c) => changing.has(String(c.status_code))) ?? calls[calls.length - 1]!;
    const code = String(call.status_code ?? '');
    if (!isGalileoStatusCode(code)) return { executed: 'unknown', reason: 'the call found has no status code of Galileo shape' };
    return { executed: true, statusCode: /^-?\d+$/.test(code) ? Number(code) : code, rtoken: isUuid(call.rtoken ?? '') ? call.rtoken! : undefined };
  };

  return {
    async resolve(operationId, transactionId) {
      const started = performance.now();
      let result: Resolution = { executed: 'unknown', reason: 'no lookup was made' };
      let lookups = 0;
      while (lookups < attempts) {
        if (lookups > 0) await sleep(LOOKUP_BACKOFF_MS * 2 ** (lookups - 1));
        lookups++;
        result = await ask(operationId, transactionId).catch((): Resolution => ({ executed: 'unknown', reason: 'the lookup failed' }));
        if (result.executed !== 'unknown') break;
      }
      return { ...result, durationMs: performance.now() - started, lookups };
    },
  };
}

/** The calls of a JSON lookup answer (the gateway always asks for JSON), if it has a list of them. */
function callsIn(body: string): ApiCall[] | undefined {
  try {
    const data = (JSON.parse(body) as { response_data?: Partial<CallStatus> }).response_data;
    return Array.isArray(data?.api_calls) ? data.api_calls.filter((c): c is ApiCall => typeof c === 'object' && c !== null) : undefined;
  } catch {
    return undefined;
  }
}

function safeCode(code: GalileoStatusCode): string {
  return isGalileoStatusCode(code) ? String(code) : 'unrecognized';
}
