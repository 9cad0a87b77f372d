/**
 * Calls one Galileo operation through the generated SDK: injects the credentials, always asks for
 * an explicit response format (Galileo's own default is XML), and retries only where the call
 * cannot have executed (docs/contract.md, Calling Galileo). Never throws for an upstream failure: it answers a
 * GalileoReply, so the caller decides what the outcome means for idempotency.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isAxiosError, type AxiosResponse } from 'axios';
import * as sdk from '../../generated/galileo-client/sdk.gen.js';
import type { GalileoCredentials } from '../config.js';
import type { GalileoClient } from './client.js';
import { CIRCUIT_OPEN, type GalileoCircuit } from './circuit-breaker.js';
import { readEnvelope, type GalileoStatusCode } from './envelope.js';

export type ResponseFormat = 'json' | 'xml';

type UpstreamFailureCode = 'upstream_timeout' | 'upstream_unavailable' | 'upstream_bad_response' | 'upstream_circuit_open';

interface Timing {
  attempts: number;
  durationMs: number;
}

export type GalileoReply =
  /** Galileo answered with its envelope (success or business error): passed through unchanged. */
  | ({
      kind: 'galileo';
      httpStatus: number;
      contentType: string;
      body: string;
      statusCode: GalileoStatusCode;
      /** Galileo's tracking id and its own processing time (s), for the log: see envelope.ts. */
      rtoken: string | undefined;
      processingTime: number | undefined;
    } & Timing)
  /** No Galileo answer: the gateway answers with a problem. */
  | ({
      kind: 'failure';
      code: UpstreamFailureCode;
      detail: string;
      httpStatus: number | undefined;
      retryAfterMs?: number;
      /** The request may have reached Galileo and run (a timeout, a reset after sending, a broken answer): its outcome is unknown. */
      mayHaveExecuted: boolean;
    } & Timing);

export interface Forwarder {
  forward(operationId: string, params: Record<string, unknown>, format: ResponseFormat): Promise<GalileoReply>;
}

type SdkCall = (options: Record<string, unknown>) => Promise<AxiosResponse<string>>;

/** Runs around every attempt sent (tracing: a CLIENT span each, docs/tracing.md); `send`'s headers go out with it. */
export type AttemptHook = (operationId: string, attempt: number, send: (headers?: Record<string, string>) => Promise<Attempt>) => Promise<Attempt>;

/** The edge answers these when Galileo was not reached (docs/galileo.md, Transport); worth another attempt. */
const EDGE_RETRYABLE = new Set([429, 502, 503, 504]);
/** The connection failed before the request was sent: it cannot have executed. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function createForwarder(options: {
  galileo: GalileoClient;
  credentials: GalileoCredentials;
  maxRetries: number;
  /** First backoff in ms; doubles per retry, with full jitter on its upper half. */
  backoffMs: number;
  /** The breaker every attempt goes through, when there is one. */
  circuit?: GalileoCircuit;
  aroundAttempt?: AttemptHook;
}): Forwarder {
  const { galileo, credentials, maxRetries, backoffMs, circuit, aroundAttempt } = options;
  const calls = sdk as unknown as Record<string, SdkCall>;

  // Galileo's answer is a few hundred bytes: never compressed (a bomb is refused anyway, client.ts).
  const headers = {
    json: { 'response-content-type': 'json', 'accept-encoding': 'identity' },
    xml: { 'response-content-type': 'xml', 'accept-encoding': 'identity' },
  };
  const send = (call: SdkCall, body: Record<string, unknown>, format: ResponseFormat, signal?: AbortSignal, extra?: Record<string, string>) =>
    call({ client: galileo.client, body, headers: extra ?? headers[format], responseType: 'text', throwOnError: true, ...(signal && { signal }) });

  const attempt = async (call: SdkCall, body: Record<string, unknown>, format: ResponseFormat, extra?: Record<string, string>): Promise<Attempt> => {
    if (galileo.ownDeadline) {
      try {
        return classifyResponse(await send(call, body, format, undefined, extra));
      } catch (err) {
        return classifyError(err);
      }
    }
    // axios' `timeout` only bounds the wait for the response headers; after them it is a socket
    // idle timeout, so a body trickled in small chunks kept the call (and the idempotency claim)
    // open far beyond GALILEO_TIMEOUT_MS (found by the fault matrix, test/faults). With axios' own
    // adapter, this deadline covers the whole attempt, body included.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), galileo.timeoutMs);
    try {
      return classifyResponse(await send(call, body, format, deadline.signal, extra));
    } catch (err) {
      return deadline.signal.aborted ? TIMED_OUT : classifyError(err);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    async forward(operationId, params, format) {
      const call = calls[operationId];
      if (typeof call !== 'function') throw new Error(`no generated client function for ${operationId}`);
      // Credentials last: nothing a caller sends can override them (and callers cannot send them).
      const body = { ...params, ...credentials };
      const started = performance.now();
      let last: Attempt | undefined;
      for (let attempts = 1; ; attempts++) {
        const once = aroundAttempt
          ? () => aroundAttempt(operationId, attempts, (extra) => attempt(call, body, format, extra && { ...headers[format], ...extra }))
          : () => attempt(call, body, format);
        const result = circuit ? await circuit.run(once, breaksCircuit) : await once();
        if (result === CIRCUIT_OPEN) {
          // A retry the breaker refuses ends the call with the answer before it.
          const timing = { attempts: last === undefined ? 0 : attempts - 1, durationMs: performance.now() - started };
          return last === undefined ? { ...circuitOpen(circuit!.refusingForMs()), ...timing } : { ...last.reply, ...timing };
        }
        last = result;
        if (result.retryable && attempts <= maxRetries) {
          await sleep(backoffMs * 2 ** (attempts - 1) * (0.5 + Math.random() / 2));
          continue;
        }
        return { ...result.reply, attempts, durationMs: performance.now() - started };
      }
    },
  };
}

/** What counts against the breaker: no Galileo envelope because of its edge, a timeout or the connection. Any envelope is a success. */
function breaksCircuit(attempt: Attempt): boolean {
  return attempt.reply.kind === 'failure' && (attempt.reply.code === 'upstream_unavailable' || attempt.reply.code === 'upstream_timeout');
}

function circuitOpen(retryAfterMs: number): Omit<Extract<GalileoReply, { kind: 'failure' }>, keyof Timing> {
  return {
    kind: 'failure',
    code: 'upstream_circuit_open',
    detail:
      'Galileo has been failing, so the gateway is not sending calls to it for a while; nothing was sent. Retry after Retry-After with the same transactionId.',
    httpStatus: undefined,
    retryAfterMs: Math.max(1000, retryAfterMs),
    mayHaveExecuted: false,
  };
}

type Attempt = {
  retryable: boolean;
  reply: Omit<Extract<GalileoReply, { kind: 'galileo' }>, keyof Timing> | Omit<Extract<GalileoReply, { kind: 'failure' }>, keyof Timing>;
};

function classifyResponse(response: AxiosResponse<string>): Attempt {
  const httpStatus = response.status;
  const contentType = String(response.headers['content-type'] ?? 'application/octet-stream');
  const body = typeof response.data === 'string' ? response.data : String(response.data ?? '');
  const envelope = readEnvelope(contentType, body);
  if (envelope !== undefined) {
    return { retryable: false, reply: { kind: 'galileo', httpStatus, contentType, body, ...envelope } };
  }
  if (EDGE_RETRYABLE.has(httpStatus) || httpStatus >= 500) {
    return {
      retryable: EDGE_RETRYABLE.has(httpStatus),
      reply: {
        kind: 'failure',
        code: 'upstream_unavailable',
        detail: `Galileo's edge answered HTTP ${httpStatus} without a Galileo response.`,
        httpStatus,
        // 429, 502, 503, 504: the edge did not reach Galileo. Any other 5xx (a 524 origin timeout) may come after Galileo ran.
        mayHaveExecuted: !EDGE_RETRYABLE.has(httpStatus),
      },
    };
  }
  return {
    retryable: false,
    reply: {
      kind: 'failure',
      code: 'upstream_bad_response',
      detail: `Galileo answered HTTP ${httpStatus} with a body that is not a Galileo response.`,
      httpStatus,
      mayHaveExecuted: true,
    },
  };
}

/** The call may have executed: never retried here (docs/contract.md, Calling Galileo). */
const TIMED_OUT: Attempt = {
  retryable: false,
  reply: { kind: 'failure', code: 'upstream_timeout', detail: 'Galileo did not answer within the timeout.', httpStatus: undefined, mayHaveExecuted: true },
};

function classifyError(err: unknown): Attempt {
  if (!isAxiosError(err)) throw err;
  const code = err.code ?? '';
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return TIMED_OUT;
  if (NOT_SENT.has(code)) {
    return {
      retryable: true,
      reply: {
        kind: 'failure',
        code: 'upstream_unavailable',
        detail: `Could not connect to Galileo (${code}).`,
        httpStatus: undefined,
        mayHaveExecuted: false,
      },
    };
  }
  if (code === 'ERR_BAD_RESPONSE' || code === 'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED') {
    return {
      retryable: false,
      reply: {
        kind: 'failure',
        code: 'upstream_bad_response',
        detail: `Galileo's response could not be read (${code}).`,
        httpStatus: err.response?.status,
        mayHaveExecuted: true,
      },
    };
  }
  // Reset or dropped after the request was sent: it may have executed, so no retry.
  return {
    retryable: false,
    reply: {
      kind: 'failure',
      code: 'upstream_unavailable',
      detail: `The connection to Galileo failed (${code || 'unknown error'}).`,
      httpStatus: undefined,
      mayHaveExecuted: true,
    },
  };
}
