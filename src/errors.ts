/**
 * Every error the gateway itself answers with: one stable code, one HTTP status, one title.
 * Rendered as RFC 9457 application/problem+json by http/problem.ts. Galileo's own business
 * errors are not here: those are passed through unchanged.
 */
export const PROBLEMS = {
  invalid_request: { status: 400, title: 'The request does not match the API specification' },
  credentials_not_accepted: { status: 400, title: 'Galileo credentials are added by the gateway; callers must not send them' },
  unauthenticated: { status: 401, title: 'A valid bearer key is required', headers: ['www-authenticate'] },
  forbidden: { status: 403, title: 'This client may not call this operation' },
  // `routing`: answered before any operation is matched (an unknown path, another method, a
  // request that is not valid HTTP or too slow): the served spec lists these apart.
  not_found: { status: 404, title: 'No such endpoint', routing: true },
  method_not_allowed: { status: 405, title: 'Method not allowed on this endpoint', routing: true, headers: ['allow'] },
  request_timeout: { status: 408, title: 'The request did not arrive in time', routing: true },
  idempotency_in_progress: { status: 409, title: 'A request with this transactionId is still being processed', headers: ['retry-after'] },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The body must be application/json or application/x-www-form-urlencoded' },
  idempotency_key_reused: { status: 422, title: 'This transactionId was already used for a different request' },
  headers_too_large: { status: 431, title: 'The request headers are too large', routing: true },
  internal_error: { status: 500, title: 'Internal error' },
  upstream_unavailable: { status: 502, title: 'Galileo is unavailable' },
  upstream_bad_response: { status: 502, title: 'Galileo answered with something that is not a Galileo response' },
  upstream_answer_lost: { status: 502, title: "Galileo's answer was lost; the problem's galileo member says what Galileo did" },
  idempotency_store_unavailable: { status: 503, title: 'The idempotency store is unavailable; nothing was sent to Galileo', headers: ['retry-after'] },
  upstream_timeout: { status: 504, title: 'Galileo did not answer in time' },
  expectation_failed: { status: 417, title: 'The request carries an expectation the gateway cannot meet', routing: true },
  rate_limited: {
    status: 429,
    title: 'Too many requests: a rate limit is used up; nothing was sent to Galileo',
    headers: ['retry-after', 'ratelimit-policy', 'ratelimit'],
  },
  upstream_circuit_open: { status: 503, title: 'Galileo is failing: the gateway is not sending calls for a while; nothing was sent', headers: ['retry-after'] },
  upstream_busy: { status: 503, title: 'Too many calls to Galileo are in flight; nothing was sent', headers: ['retry-after'] },
  idempotency_replay_withheld: { status: 410, title: 'This transactionId already succeeded; its answer held card data and is not kept for replay' },
} as const satisfies Record<string, ProblemInfo>;

/** What the served spec documents about each problem (scripts/gateway-spec.ts reads it). */
interface ProblemInfo {
  status: number;
  title: string;
  /** Only for requests that match no operation. */
  routing?: true;
  /** Response headers this problem always carries, besides x-request-id. */
  headers?: readonly string[];
}

export type ProblemCode = keyof typeof PROBLEMS;

/**
 * What Galileo did with a call whose answer was lost, as its own record says (galileo/lost-answers.ts):
 * the `galileo` member of upstream_answer_lost and of a lost answer's 502 or 504.
 */
export type GalileoOutcome = { executed: true; statusCode: string | number; rtoken?: string } | { executed: false } | { executed: 'unknown' };

/** One field-level problem, naming the field as the caller sent it. */
export interface FieldError {
  field: string;
  message: string;
}

interface ProblemOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
  galileo?: GalileoOutcome;
}

/**
 * Thrown (or passed to next()) anywhere in the request path; the error handler renders it. An
 * answer, not a bug: it carries no stack trace (capturing one was 5 % of the CPU of a refused
 * request), so `stack` holds only the name and the detail.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly code: ProblemCode;
  readonly detail: string;
  readonly options: ProblemOptions;
  constructor(code: ProblemCode, detail: string, options: ProblemOptions = {}) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = limit;
    this.name = 'GatewayError';
    this.code = code;
    this.detail = detail;
    this.options = options;
    this.status = PROBLEMS[code].status;
  }
}
