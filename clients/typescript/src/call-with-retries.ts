/**
 * The attempt loop: each attempt under its own timeout, retried as the outcome says, with backoff
 * (or Retry-After when longer), bounded by the attempt count and by the call's deadline. The
 * caller's own signal stops it at once.
 */
import { backoffMs, type RetryOptions } from './retry-policy.js';

/** What one attempt came to. */
export type Outcome<T> =
  /** An answer for the caller; `retry` when a later attempt may do better (returned as is once none is left). */
  | { kind: 'answer'; value: T; retry: boolean; retryAfterMs?: number }
  /** No usable answer (connection failure, timeout, a proxy's page). */
  | { kind: 'failure'; error: unknown; retry: boolean; httpStatus?: number; retryAfterMs?: number };

/**
 * How the loop ended: the last answer any attempt got (a later attempt that got none, say one cut
 * short by the deadline, does not hide it), else the last failure (`aborted` when the caller's
 * signal stopped the call).
 */
export type Ending<T> =
  { kind: 'answer'; value: T; attempts: number } | { kind: 'failure'; error: unknown; httpStatus?: number; attempts: number; aborted: boolean };

export interface LoopOptions {
  retry: RetryOptions;
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function callWithRetries<T>(attempt: (signal: AbortSignal) => Promise<Outcome<T>>, options: LoopOptions): Promise<Ending<T>> {
  const deadline = Date.now() + options.retry.deadlineMs;
  const abortedAfter = (attempts: number): Ending<T> => ({ kind: 'failure', error: options.signal?.reason, attempts, aborted: true });
  let lastAnswer: { value: T } | undefined;
  for (let attempts = 1; ; attempts += 1) {
    if (options.signal?.aborted) return abortedAfter(attempts - 1);
    const outcome = await withTimeout(Math.max(1, Math.min(options.timeoutMs, deadline - Date.now())), options.signal, attempt);
    if (options.signal?.aborted) return abortedAfter(attempts);
    if (outcome.kind === 'answer') lastAnswer = { value: outcome.value };
    const delay = Math.max(outcome.retryAfterMs ?? 0, backoffMs(attempts, options.retry));
    if (!outcome.retry || attempts >= options.retry.attempts || Date.now() + delay >= deadline) {
      if (lastAnswer) return { kind: 'answer', value: lastAnswer.value, attempts };
      // No attempt got an answer, this one included.
      if (outcome.kind === 'failure') return { kind: 'failure', error: outcome.error, httpStatus: outcome.httpStatus, attempts, aborted: false };
    }
    if (!(await sleep(delay, options.signal))) return abortedAfter(attempts);
  }
}

/** Runs `task` with a signal that aborts (as a TimeoutError) after `ms`, or when the caller's signal does. */
async function withTimeout<T>(ms: number, callerSignal: AbortSignal | undefined, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  try {
    return await task(callerSignal ? AbortSignal.any([controller.signal, callerSignal]) : controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (slept: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(slept);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
