/**
 * Rate limits, after authentication and before the body is read (docs/contract.md, Traffic
 * protection): the caller's own token bucket (its `rateLimit` in GATEWAY_CLIENTS) and the budget
 * every caller shares for Galileo (GALILEO_MAX_REQUESTS_PER_SECOND). Over either: 429
 * `rate_limited` with Retry-After and the RateLimit-Policy / RateLimit fields of
 * draft-ietf-httpapi-ratelimit-headers; nothing is claimed or forwarded, and the early answer
 * closes the connection. The buckets live where the idempotency records do (memory or Redis), and
 * a store that cannot be reached fails closed like the idempotency store (503).
 */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ClientConfig, RateLimit } from '../config.js';
import { LastingCondition } from '../diagnostics/lasting-condition.js';
import { GatewayError } from '../errors.js';
import { BucketsUnavailableError, type Bucket, type TokenBuckets } from '../limits/token-buckets.js';
import type { Metrics } from '../metrics.js';
import { context } from './context.js';

export interface RateLimitDeps {
  buckets: TokenBuckets;
  clients: ClientConfig[] | undefined;
  /** The Galileo-wide budget in calls per second; 0: none. */
  galileoPerSecond: number;
  metrics: Metrics;
  logger: Logger;
  /** A limit that keeps refusing is logged again at most this often. */
  repeatLogIntervalMs: number;
}

type Limit = { policy: 'client' | 'galileo'; client: string | undefined; bucket: Bucket };

export function limitRate(deps: RateLimitDeps): RequestHandler {
  const { buckets, metrics, logger } = deps;
  const galileo =
    deps.galileoPerSecond > 0
      ? budget('galileo', { requestsPerSecond: deps.galileoPerSecond, burst: Math.max(1, Math.ceil(deps.galileoPerSecond)) })
      : undefined;
  const galileoLimit: Limit[] = galileo ? [{ policy: 'galileo', client: undefined, bucket: galileo }] : [];
  // Each client's buckets, decided once: its own limit (if any) and the budget every client shares.
  const limitsOf = new Map<string | undefined, Limit[]>(
    (deps.clients ?? []).map((c) => [
      c.name,
      [...(c.rateLimit ? [{ policy: 'client' as const, client: c.name, bucket: budget(`c:${c.name}`, c.rateLimit) }] : []), ...galileoLimit],
    ]),
  );
  if (galileoLimit.length === 0 && [...limitsOf.values()].every((l) => l.length === 0)) return (_req, _res, next) => next();
  const limits = (client: string | undefined): Limit[] => limitsOf.get(client) ?? galileoLimit;
  const refusing = new Map<string, LastingCondition>();
  // A limit has stopped refusing once a request passes it after a quiet second (or one token's
  // time, if longer): a client far over its limit still gets a token now and then, and each of
  // those must not end the episode (one start line and one stop line, not a pair per token).
  const stoppedRefusing = (limit: Limit, now: number): void => {
    const condition = refusing.get(limit.bucket.key);
    if (condition?.active && now - condition.lastOccurredAt >= Math.max(1000, 1000 / limit.bucket.ratePerSecond)) condition.resolved();
  };
  const refusalLog = (limit: Limit): LastingCondition => {
    let condition = refusing.get(limit.bucket.key);
    if (condition === undefined) {
      const who = { limit: limit.policy, ...(limit.client !== undefined && { client: limit.client }) };
      condition = new LastingCondition(deps.repeatLogIntervalMs, {
        report: ({ occurrences, sinceMs }) => logger.warn({ ...who, refused: occurrences, sinceMs }, 'rate limit refusing requests'),
        recovered: ({ durationMs, occurrences }) => logger.info({ ...who, refused: occurrences, durationMs }, 'rate limit no longer refusing'),
      });
      refusing.set(limit.bucket.key, condition);
    }
    return condition;
  };
  const unreachable = new LastingCondition(deps.repeatLogIntervalMs, {
    report: ({ occurrences, sinceMs }) =>
      logger.warn({ failures: occurrences, sinceMs }, 'rate limits cannot be read from the store: requests are refused (503)'),
    recovered: ({ durationMs }) => logger.info({ durationMs }, 'rate limits readable again'),
  });

  return async (_req, res, next) => {
    const ctx = context(res);
    const apply = limits(ctx.client);
    if (apply.length === 0) return next();
    let result;
    try {
      result = await buckets.take(apply.map((l) => l.bucket));
    } catch (err) {
      if (!(err instanceof BucketsUnavailableError)) throw err;
      unreachable.occurred();
      throw new GatewayError(
        'idempotency_store_unavailable',
        'The store that holds the rate limits cannot be reached; nothing was sent to Galileo. Retry with the same transactionId.',
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    unreachable.resolved();
    const galileoAt = apply.findIndex((l) => l.policy === 'galileo');
    if (galileoAt !== -1) metrics.galileoBudgetTokens.set(result.remaining[galileoAt]!);
    if (!result.taken) {
      const limit = apply[result.refusedBy]!;
      metrics.trafficRefusals.inc({ reason: 'rate_limited', client: ctx.client ?? 'anonymous', limit: limit.policy });
      refusalLog(limit).occurred();
      const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      const { ratePerSecond, burst } = limit.bucket;
      throw new GatewayError(
        'rate_limited',
        limit.policy === 'client'
          ? `This client is over its own rate limit (${ratePerSecond} requests a second, bursts of ${burst}); nothing was sent to Galileo. Retry after ${seconds} s with the same transactionId.`
          : `The gateway's budget for calls to Galileo, shared by every client, is used up for now; nothing was sent to Galileo. Retry after ${seconds} s with the same transactionId.`,
        { headers: { 'retry-after': String(seconds), ...rateLimitFields(limit, 0) } },
      );
    }
    const now = Date.now();
    for (const limit of apply) stoppedRefusing(limit, now);
    const clientAt = apply.findIndex((l) => l.policy === 'client');
    if (clientAt !== -1) {
      for (const [name, value] of Object.entries(rateLimitFields(apply[clientAt]!, result.remaining[clientAt]!))) res.setHeader(name, value);
    }
    next();
  };
}

function budget(key: string, limit: RateLimit): Bucket {
  return { key, ratePerSecond: limit.requestsPerSecond, burst: limit.burst };
}

/** draft-ietf-httpapi-ratelimit-headers: the policy (quota, window to refill it) and what is left of it. */
function rateLimitFields(limit: Limit, remaining: number): Record<string, string> {
  const { ratePerSecond, burst } = limit.bucket;
  const window = Math.max(1, Math.ceil(burst / ratePerSecond));
  const untilFull = Math.max(0, Math.ceil((burst - remaining) / ratePerSecond));
  return { 'ratelimit-policy': `"${limit.policy}";q=${burst};w=${window}`, ratelimit: `"${limit.policy}";r=${remaining};t=${untilFull}` };
}
