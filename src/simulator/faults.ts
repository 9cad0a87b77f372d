/**
 * Fault rules for tests: what goes wrong, for which requests, how many times.
 * The first matching rule applies; `times` counts down (absent = forever). `reset_before_body` is
 * decided when the headers arrive, so it can only match on the operation (the path); every other
 * fault is decided once the body is read and may also match on transactionId.
 */

export type Fault =
  /** Wait, then run the request and answer normally. */
  | { type: 'latency'; ms: number }
  /** Read the request, never answer; the socket stays open until the client gives up or close(). */
  | { type: 'no_answer'; execute?: boolean }
  /** Destroy the socket (RST) as soon as the headers arrive, before reading the body. */
  | { type: 'reset_before_body' }
  /** Read the whole body, then destroy the socket (RST) without answering. */
  | { type: 'reset_after_body'; execute?: boolean }
  /** Cloudflare-style text/html error page with this HTTP status, no envelope. */
  | { type: 'edge'; status: number }
  /** HTTP 200, application/json, a body that is not JSON. */
  | { type: 'malformed' }
  /** Content-Length of the full envelope, half of it sent, then the socket destroyed. */
  | { type: 'partial'; execute?: boolean }
  /** The real response, its body sent in small chunks spread over `ms`. */
  | { type: 'trickle'; ms: number }
  /** An envelope with this status_code and the spec's text; no checks, no business logic. */
  | { type: 'respond'; statusCode: string | number };

export type FaultType = Fault['type'];

interface FaultMatch {
  operation?: string;
  transactionId?: string;
}

export interface FaultRuleInput {
  fault: Fault;
  match?: FaultMatch;
  times?: number;
}

export interface FaultRule {
  id: number;
  fault: Fault;
  match: FaultMatch;
  /** Applications left; undefined = forever. */
  times?: number;
}

/**
 * Whether the request runs through Galileo's checks and business logic before the fault: always
 * for latency/trickle (they answer for real), by default for partial (the answer was real, only
 * cut), and only with `execute: true` for no_answer/reset_after_body ("it happened, the answer was
 * lost", so a retry with the same transactionId gets 24).
 */
export function faultExecutes(fault: Fault): boolean {
  switch (fault.type) {
    case 'latency':
    case 'trickle':
      return true;
    case 'partial':
      return fault.execute !== false;
    case 'no_answer':
    case 'reset_after_body':
      return fault.execute === true;
    default:
      return false;
  }
}

export class FaultRuleError extends Error {
  override readonly name = 'FaultRuleError';
}

const MAX_MS = 10 * 60 * 1000;

/** Checks a rule from the admin API, SIMULATOR_FAULTS or addFault(); throws FaultRuleError. */
export function parseFaultRule(input: unknown): FaultRuleInput {
  const rule = asObject(input, 'rule');
  const fault = asObject(rule['fault'], 'fault');
  const type = fault['type'];
  let parsed: Fault;
  switch (type) {
    case 'latency':
    case 'trickle':
      parsed = { type, ms: numberIn(fault['ms'], 'fault.ms', 0, MAX_MS) };
      break;
    case 'no_answer':
    case 'reset_after_body':
    case 'partial': {
      const execute = fault['execute'];
      if (execute !== undefined && typeof execute !== 'boolean') throw new FaultRuleError('fault.execute must be a boolean');
      parsed = execute === undefined ? { type } : { type, execute };
      break;
    }
    case 'reset_before_body':
    case 'malformed':
      parsed = { type };
      break;
    case 'edge': {
      const status = numberIn(fault['status'], 'fault.status', 400, 599);
      if (!Number.isInteger(status)) throw new FaultRuleError('fault.status must be an integer HTTP status (429, 502, 503, 504, ...)');
      parsed = { type, status };
      break;
    }
    case 'respond': {
      const statusCode = fault['statusCode'];
      const ok = (typeof statusCode === 'number' && Number.isInteger(statusCode)) || (typeof statusCode === 'string' && statusCode.trim() !== '');
      if (!ok) throw new FaultRuleError('fault.statusCode must be a status code such as 0, 24 or "407-05"');
      parsed = { type, statusCode: statusCode as string | number };
      break;
    }
    default:
      throw new FaultRuleError('fault.type must be one of latency, no_answer, reset_before_body, reset_after_body, edge, malformed, partial, trickle, respond');
  }
  const result: FaultRuleInput = { fault: parsed };
  if (rule['match'] !== undefined) {
    const match = asObject(rule['match'], 'match');
    result.match = {};
    for (const key of ['operation', 'transactionId'] as const) {
      const value = match[key];
      if (value === undefined) continue;
      if (typeof value !== 'string') throw new FaultRuleError(`match.${key} must be a string`);
      result.match[key] = value;
    }
    if (parsed.type === 'reset_before_body' && result.match.transactionId !== undefined) {
      throw new FaultRuleError('reset_before_body cannot match on transactionId: the body is never read');
    }
  }
  if (rule['times'] !== undefined) {
    const times = rule['times'];
    if (typeof times !== 'number' || !Number.isInteger(times) || times < 1) throw new FaultRuleError('times must be a positive integer');
    result.times = times;
  }
  return result;
}

export class FaultBook {
  private rules: FaultRule[] = [];
  private nextId = 1;

  add(input: unknown): FaultRule {
    const parsed = parseFaultRule(input);
    const rule: FaultRule = { id: this.nextId++, fault: parsed.fault, match: parsed.match ?? {} };
    if (parsed.times !== undefined) rule.times = parsed.times;
    this.rules.push(rule);
    return structuredClone(rule);
  }

  list(): FaultRule[] {
    return structuredClone(this.rules);
  }

  clear(): void {
    this.rules = [];
  }

  /** On headers: a reset_before_body rule, unless an earlier rule decidable now matches first. */
  takeOnHeaders(operation: string): Fault | undefined {
    for (const rule of this.rules) {
      if (rule.match.transactionId !== undefined) continue; // undecidable before the body
      if (rule.match.operation !== undefined && rule.match.operation !== operation) continue;
      return rule.fault.type === 'reset_before_body' ? this.consume(rule) : undefined;
    }
    return undefined;
  }

  /** After the body: the first matching rule other than reset_before_body. */
  takeAfterBody(operation: string, transactionId: string | undefined): Fault | undefined {
    const rule = this.rules.find(
      (r) =>
        r.fault.type !== 'reset_before_body' &&
        (r.match.operation === undefined || r.match.operation === operation) &&
        (r.match.transactionId === undefined || r.match.transactionId === transactionId),
    );
    return rule ? this.consume(rule) : undefined;
  }

  private consume(rule: FaultRule): Fault {
    if (rule.times !== undefined && --rule.times <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule.fault;
  }
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FaultRuleError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function numberIn(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new FaultRuleError(`${what} must be a number from ${min} to ${max}`);
  }
  return value;
}
