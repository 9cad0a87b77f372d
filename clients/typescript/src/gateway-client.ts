/**
 * createGatewayClient: one typed method per Galileo operation the gateway serves. Each call
 * generates a transactionId when none is given, sends the same body under it on every attempt, and
 * retries as retry-policy.ts says.
 */
import { callWithRetries, type Outcome } from './call-with-retries.js';
import { createClient } from './generated/client/index.js';
import * as sdk from './generated/sdk.gen.js';
import { stateChangingCodes } from './generated/spec-facts.gen.js';
import type * as api from './generated/types.gen.js';
import { envelopeStatusCode, GatewayCallError, isProblem, type CallResult, type GalileoAnswer, type GatewayProblem, type LostAnswer } from './results.js';
import { DEFAULT_RETRY, isRetriedProblem, RETRIED_STATUSES, retryAfterMs, type RetryOptions } from './retry-policy.js';

/** The Galileo operations of the served spec. */
export type OperationId = keyof typeof stateChangingCodes;

/** Each operation's generated request and answer types. */
interface Operations {
  createAccount: { data: api.CreateAccountData; answer: api.CreateAccountResponses[200] };
  createIvrCall: { data: api.CreateIvrCallData; answer: api.CreateIvrCallResponses[200] };
  modifyOnDemandAlertStatus: { data: api.ModifyOnDemandAlertStatusData; answer: api.ModifyOnDemandAlertStatusResponses[200] };
  getCallStatus: { data: api.GetCallStatusData; answer: api.GetCallStatusResponses[200] };
}

// The generated request function of each operation: one the spec adds or drops does not compile.
const REQUESTS = {
  createAccount: sdk.createAccount,
  createIvrCall: sdk.createIvrCall,
  modifyOnDemandAlertStatus: sdk.modifyOnDemandAlertStatus,
  getCallStatus: sdk.getCallStatus,
} satisfies Record<OperationId, unknown>;

/** `json` (the default) or `xml`, as the spec's response-content-type header allows. */
export type ResponseFormat = NonNullable<NonNullable<api.CreateAccountData['headers']>['response-content-type']>;

/** The operation's request; transactionId may be left out (a UUID is generated and returned). */
export type OperationRequest<Op extends OperationId> = Omit<Operations[Op]['data']['body'], 'transactionId'> & { transactionId?: api.TransactionId };

/** Galileo's answer typed as the spec says (the text when XML was asked for), or the gateway's problem. */
export type OperationResult<Op extends OperationId, F extends ResponseFormat = 'json'> = CallResult<F extends 'xml' ? string : Operations[Op]['answer']>;

export interface CallOptions<F extends ResponseFormat> {
  responseContentType?: F;
  /** Stops the call (the attempt in flight and any wait); the call then throws GatewayCallError. */
  signal?: AbortSignal;
}

export type GatewayClient = {
  readonly [Op in OperationId]: <F extends ResponseFormat = 'json'>(request: OperationRequest<Op>, options?: CallOptions<F>) => Promise<OperationResult<Op, F>>;
};

export interface GatewayClientOptions {
  /** The gateway's base URL, e.g. http://galileo-gateway:8080. */
  baseUrl: string;
  /** This service's bearer key; leave it out when the gateway runs with authentication off. */
  apiKey?: string;
  /** Each attempt's own limit (default 20 s, above the gateway's own Galileo timeout): one that runs out is retried like a 504. */
  timeoutMs?: number;
  /** Retry bounds (DEFAULT_RETRY for what is left out); false for one attempt only. */
  retry?: Partial<RetryOptions> | false;
  /** The fetch to use; globalThis.fetch by default. */
  fetch?: typeof fetch;
}

export const DEFAULT_TIMEOUT_MS = 20_000;

/** One attempt's answer; the call's attempt count is added once the loop has ended. */
type Reading = Omit<GalileoAnswer<unknown>, 'attempts'> | Omit<LostAnswer, 'attempts'> | Omit<GatewayProblem, 'attempts'>;

// The generated functions differ only in their types, which OperationRequest and OperationResult carry.
type GeneratedRequest = (options: {
  client: ReturnType<typeof createClient>;
  body: unknown;
  headers?: Record<string, string>;
  signal: AbortSignal;
  parseAs: 'text';
}) => Promise<{ data?: unknown; error?: unknown; response?: Response }>;

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  // A bad URL or bound is a bug to report at once, not a call to retry.
  const baseUrl = new URL(options.baseUrl).toString().replace(/\/$/, '');
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...(options.retry === false ? { attempts: 1 } : options.retry) };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  for (const [name, value] of Object.entries({ ...retry, timeoutMs })) {
    if (!(Number.isFinite(value) && value >= (name === 'baseDelayMs' ? 0 : 1))) throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
  // Never follows a redirect: a 307 would re-send the body (account numbers, passcodes) to wherever
  // it points; the gateway never redirects, so one comes from something else and is an error.
  const client = createClient({ baseUrl, auth: options.apiKey, fetch: options.fetch, redirect: 'manual' });

  const method =
    (operationId: OperationId) =>
    async (input: OperationRequest<OperationId>, call: CallOptions<ResponseFormat> = {}) => {
      const transactionId = input.transactionId ?? crypto.randomUUID();
      // One body for every attempt: a change to the caller's object later cannot reach a retry.
      const body = structuredClone({ ...input, transactionId });
      const format = call.responseContentType;
      const request = REQUESTS[operationId] as GeneratedRequest;
      const ending = await callWithRetries(
        async (signal): Promise<Outcome<Reading>> => {
          try {
            const { data, error, response } = await request({
              client,
              body,
              headers: format === undefined ? undefined : { 'response-content-type': format },
              signal,
              // Read by what was asked for, not by the content type an intermediary may have changed.
              parseAs: 'text',
            });
            if (response === undefined) return { kind: 'failure', error, retry: true };
            // A problem is JSON (the generated client parsed it); Galileo's answer is JSON unless XML was asked for.
            const answer = !response.ok ? error : format === 'xml' ? data : parseJson(data);
            return readAnswer(operationId, response, answer, transactionId);
          } catch (error) {
            // The connection failed while the body was read: the same as no answer.
            return { kind: 'failure', error, retry: true };
          }
        },
        { retry, timeoutMs, signal: call.signal },
      );
      if (ending.kind === 'answer') return { ...ending.value, attempts: ending.attempts } satisfies CallResult<unknown>;
      const why = ending.aborted
        ? 'the caller aborted the call'
        : ending.httpStatus !== undefined
          ? `HTTP ${ending.httpStatus} that is neither Galileo's answer nor a gateway problem`
          : `no answer from the gateway (${describe(ending.error)})`;
      throw new GatewayCallError(
        `${operationId} ${transactionId}: ${why} after ${ending.attempts} attempt(s)`,
        transactionId,
        ending.attempts,
        ending.httpStatus,
        {
          cause: ending.error,
        },
      );
    };

  // Typed per operation by GatewayClient: at run time every method is the same loop.
  return Object.fromEntries(Object.keys(REQUESTS).map((operationId) => [operationId, method(operationId as OperationId)])) as unknown as GatewayClient;
}

/** One attempt's HTTP answer, read as Galileo's envelope, a gateway problem, or neither. */
function readAnswer(operationId: OperationId, response: Response, body: unknown, transactionId: string): Outcome<Reading> {
  const common = { transactionId, requestId: response.headers.get('x-request-id') ?? undefined, httpStatus: response.status };
  const wait = retryAfterMs(response.headers.get('retry-after'));
  const changing: readonly string[] = stateChangingCodes[operationId];
  const replayed = response.headers.get('idempotent-replayed') === 'true';
  if (isProblem(response.headers.get('content-type'), body)) {
    const galileo = body.galileo;
    if (galileo?.executed === true) {
      // Galileo ran the call: its status code is the outcome, never retried blindly.
      const { statusCode, rtoken } = galileo;
      const value = { kind: 'answer_lost', statusCode, ok: changing.includes(String(statusCode)), rtoken, replayed, problem: body, ...common } as const;
      return { kind: 'answer', value, retry: false };
    }
    const value = { kind: 'problem', code: body.code, problem: body, ...common } as const;
    // Galileo could not be asked whether the call ran: the gateway asks again first on a retry.
    const unknownOutcome = galileo?.executed === 'unknown';
    return { kind: 'answer', value, retry: unknownOutcome || isRetriedProblem(body.code, response.status), retryAfterMs: wait };
  }
  const statusCode = envelopeStatusCode(body);
  if (statusCode === undefined) {
    // Not from the gateway (a proxy's error page): retried like the gateway's own 502/503/504.
    return { kind: 'failure', error: body, httpStatus: response.status, retry: RETRIED_STATUSES.has(response.status), retryAfterMs: wait };
  }
  // Galileo's own answer, whatever it says, is never sent again: it is the outcome.
  return { kind: 'answer', value: { kind: 'galileo', statusCode, ok: changing.includes(String(statusCode)), data: body, replayed, ...common }, retry: false };
}

/** The JSON in `text`, or the text itself when it is not JSON (then it is no envelope either). */
function parseJson(text: unknown): unknown {
  try {
    return typeof text === 'string' ? JSON.parse(text) : text;
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}
