/**
 * What a call gives back: Galileo's answer (passed through the gateway) or the gateway's own
 * problem. The caller must tell them apart by `kind` before reading either.
 */
import type { Envelope, Problem, ProblemCode } from './generated/types.gen.js';

interface Common {
  /** The idempotency key the call was made with (generated when the caller passed none): store it. */
  transactionId: string;
  /** The gateway's x-request-id of this answer: quote it when reporting a problem. */
  requestId: string | undefined;
  /** HTTP status of this answer. */
  httpStatus: number;
  /** Attempts made, the first included. */
  attempts: number;
}

export interface GalileoAnswer<Data> extends Common {
  kind: 'galileo';
  /** Galileo's status_code: a number for global codes, a string such as "407-02" for an operation's own. */
  statusCode: Envelope['status_code'];
  /** Galileo succeeded or changed state: statusCode is one the spec marks `changesState` for this operation. */
  ok: boolean;
  /** The answer as the spec types it for this operation; the XML text when XML was asked for. */
  data: Data;
  /** A replay of the first call with this transactionId (Idempotent-Replayed: true): Galileo was not called again. */
  replayed: boolean;
}

export interface GatewayProblem extends Common {
  kind: 'problem';
  code: ProblemCode;
  /** The RFC 9457 document the gateway answered. */
  problem: Problem;
}

/**
 * Galileo's answer was lost on the way, but Galileo's own record says the call ran (the gateway
 * asked it: problem upstream_answer_lost). Its status code is the outcome, exactly as if the answer
 * had arrived; the answer's data itself is gone. Asking again with the same transactionId gives
 * this same result when `ok` (the call changed state); otherwise the next call is sent to Galileo.
 */
export interface LostAnswer extends Common {
  kind: 'answer_lost';
  /** The status code Galileo's record holds for the call. */
  statusCode: number | string;
  /** The call succeeded or changed state: statusCode is one the spec marks `changesState` for this operation. */
  ok: boolean;
  /** Galileo's tracking id of the call, when its record gave one: what Galileo support asks for. */
  rtoken: string | undefined;
  /** A replay of the first call with this transactionId's outcome (Idempotent-Replayed: true). */
  replayed: boolean;
  problem: Problem;
}

export type CallResult<Data> = GalileoAnswer<Data> | LostAnswer | GatewayProblem;

/** Thrown when no usable answer came: no connection, every attempt timed out, the caller aborted, or a proxy answered instead of the gateway. */
export class GatewayCallError extends Error {
  override readonly name = 'GatewayCallError';
  constructor(
    message: string,
    /** The transactionId every attempt carried: sending it again later is safe. */
    readonly transactionId: string,
    readonly attempts: number,
    /** The last HTTP status, when something answered that was neither Galileo nor the gateway. */
    readonly httpStatus: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const STATUS_CODE = 'status_code' satisfies keyof Envelope;
const XML_STATUS_CODE = new RegExp(`<${STATUS_CODE}>([^<]*)</${STATUS_CODE}>`);

/** Galileo's status_code in an envelope (JSON object or XML text); undefined when the body is not one. */
export function envelopeStatusCode(body: unknown): Envelope['status_code'] | undefined {
  if (typeof body === 'string') {
    const text = XML_STATUS_CODE.exec(body)?.[1]?.trim();
    // XML carries every code as text; JSON carries the global codes as numbers: read them alike.
    return text === undefined ? undefined : /^-?\d+$/.test(text) ? Number(text) : text;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const code: unknown = (body as Record<string, unknown>)[STATUS_CODE];
  return typeof code === 'number' || typeof code === 'string' ? code : undefined;
}

export function isProblem(contentType: string | null, body: unknown): body is Problem {
  return /^application\/problem\+json\b/i.test(contentType ?? '') && typeof body === 'object' && body !== null && typeof (body as Problem).code === 'string';
}
