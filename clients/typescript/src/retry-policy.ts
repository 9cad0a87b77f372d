/**
 * When an attempt is sent again, and after how long. Every retry carries the same transactionId
 * and the same body, so the gateway answers it from the first attempt's outcome (a replay, or 409
 * while that attempt still runs) or forwards it exactly once.
 */
import type { ProblemCode } from './generated/types.gen.js';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Time for the whole call, every attempt and wait included. */
  deadlineMs: number;
  /** Backoff cap before the first retry; it doubles with each retry, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = { attempts: 5, deadlineMs: 60_000, baseDelayMs: 100, maxDelayMs: 5_000 };

/**
 * Whether each gateway problem is retried. Keyed by the spec's ProblemCode: a code the spec adds
 * does not compile until it is placed here.
 */
export const RETRIED_PROBLEMS = {
  // The same request is still running at the gateway: ask again after Retry-After.
  idempotency_in_progress: true,
  // Galileo did not answer usably, or nothing was forwarded: the gateway released the key.
  upstream_unavailable: true,
  upstream_bad_response: true,
  idempotency_store_unavailable: true,
  upstream_timeout: true,
  // The request did not reach the gateway in time (a slow network): it never ran, send it again.
  request_timeout: true,
  // Refused to protect Galileo before anything was claimed or sent: safe to send again after Retry-After.
  rate_limited: true,
  upstream_circuit_open: true,
  upstream_busy: true,
  // The request itself is wrong, or not allowed: sending it again changes nothing.
  invalid_request: false,
  credentials_not_accepted: false,
  unauthenticated: false,
  forbidden: false,
  not_found: false,
  method_not_allowed: false,
  payload_too_large: false,
  unsupported_media_type: false,
  headers_too_large: false,
  // An Expect the gateway cannot meet: the client never sends one, so it is another sender's bug.
  expectation_failed: false,
  // Two different requests share this transactionId: a bug in the caller.
  idempotency_key_reused: false,
  // Galileo's answer was lost and Galileo's record says it ran (problem.galileo has its status code):
  // the same answer comes back each time. When Galileo could not be asked (executed: "unknown"), the
  // client retries: the gateway asks again first (gateway-client.ts).
  upstream_answer_lost: false,
  // The call succeeded once; its answer held card data and is not kept: asking again changes nothing.
  idempotency_replay_withheld: false,
  // A bug at the gateway: report its requestId rather than hammer it.
  internal_error: false,
} as const satisfies Record<ProblemCode, boolean>;

/** Statuses retried when the answer is not a problem the client knows (a proxy in front of the gateway, a newer code). */
export const RETRIED_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

export function isRetriedProblem(code: string, httpStatus: number): boolean {
  return Object.hasOwn(RETRIED_PROBLEMS, code) ? RETRIED_PROBLEMS[code as ProblemCode] : RETRIED_STATUSES.has(httpStatus);
}

/** Full jitter: a uniform wait between 0 and the exponential cap, so callers that failed together do not retry together. */
export function backoffMs(retry: number, options: RetryOptions): number {
  return Math.random() * Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its month; Date.parse alone would also take "-1" for a year.
  const date = /[a-z]{3}/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
