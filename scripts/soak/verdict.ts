/**
 * The soak's judgement: what the simulator received and executed, against what callers were told.
 * Every rule here is a promise of docs/contract.md (Errors, Idempotency, Calling Galileo), checked
 * per transactionId.
 */
import type { RecordedRequest } from '../../src/simulator/request-log.js';
import { statusCodeOf, type Answer, type Sendable } from './traffic.js';

export interface Exchange {
  request: Sendable;
  gateway: string;
  /** The caller's answer, or why there was none. */
  answer: Answer | { error: string; at: number };
  /** A client retry of an earlier exchange (after 409/502/503/504). */
  retry: boolean;
}

export interface VerdictInput {
  exchanges: Exchange[];
  galileo: RecordedRequest[];
  /** Galileo's own record of a successful execution (its duplicate detection). */
  executedAtGalileo: (operationId: string, transactionId: string) => boolean;
  /** Status codes after which the call changed state at Galileo (0 and the changesState codes). */
  successCodes: (operationId: string) => ReadonlySet<string>;
  /** When the store may have lost writes (a failover), if the run caused any. */
  storeLosses?: number[];
}

export interface Verdict {
  violations: string[];
  replays: number;
  originals: number;
  galileoSuccesses: number;
  galileoDuplicates: number;
  /** Consumed records lost with the store: a later retry reached Galileo, which answered 24. */
  lostReplays: number;
  /** Lost answers looked up with Galileo's record, by what it said (the problem's galileo.executed). */
  lostAnswers: { executed: number; notExecuted: number; unknown: number; unresolvedAtEnd: number };
}

const isAnswer = (a: Exchange['answer']): a is Answer => 'status' in a;

/** The requests whose last answer said Galileo's record did not (yet) settle their call. */
export function lastAnswerUnknown(exchanges: Exchange[]): Exchange['request'][] {
  const last = new Map<string, Exchange>();
  for (const e of exchanges) last.set(e.request.transactionId, e);
  return [...last.values()].filter((e) => isAnswer(e.answer) && !e.answer.replayed && lostAnswerOf(e.answer)?.executed === 'unknown').map((e) => e.request);
}

/** The `galileo` member of a gateway problem: what Galileo's record said of a lost answer. */
function lostAnswerOf(a: Answer): { executed: unknown; statusCode?: unknown } | undefined {
  if (!/problem\+json/.test(a.contentType)) return undefined;
  return (JSON.parse(a.text) as { galileo?: { executed: unknown; statusCode?: unknown } }).galileo;
}

export function judge(input: VerdictInput): Verdict {
  const violations: string[] = [];
  const byTx = new Map<string, Exchange[]>();
  for (const e of input.exchanges) byTx.set(e.request.transactionId, [...(byTx.get(e.request.transactionId) ?? []), e]);
  const atGalileo = new Map<string, RecordedRequest[]>();
  for (const r of input.galileo) {
    const tx = r.params.transactionId;
    if (tx !== undefined) atGalileo.set(tx, [...(atGalileo.get(tx) ?? []), r]);
  }

  let replays = 0;
  let originals = 0;
  let galileoSuccesses = 0;
  let galileoDuplicates = 0;
  let lostReplays = 0;
  const lostAnswers = { executed: 0, notExecuted: 0, unknown: 0, unresolvedAtEnd: 0 };
  for (const [tx, exchanges] of byTx) {
    const { operationId, valid } = exchanges[0]!.request;
    const success = input.successCodes(operationId);
    const received = atGalileo.get(tx) ?? [];
    const executions = received.filter((r) => r.statusCode !== undefined && success.has(String(r.statusCode)));
    galileoSuccesses += executions.length;
    galileoDuplicates += received.filter((r) => String(r.statusCode) === '24').length;
    const executed = executions.length > 0 || input.executedAtGalileo(operationId, tx);

    // 1. Never two successful executions of one transactionId at Galileo.
    if (executions.length > 1) violations.push(`${tx}: executed ${executions.length} times at Galileo`);

    for (const e of exchanges) {
      if (!isAnswer(e.answer)) {
        violations.push(`${tx}: no answer from gateway ${e.gateway}: ${e.answer.error}`);
        continue;
      }
      const a = e.answer;
      if (a.status >= 500 && ![502, 503, 504].includes(a.status)) violations.push(`${tx}: HTTP ${a.status} from gateway ${e.gateway}: ${a.text.slice(0, 200)}`);
      // 2. Nobody is told "success" for something Galileo never did.
      if (a.status === 200 && statusCodeOf(a) === '0' && !executed) violations.push(`${tx}: caller told status 0 but Galileo never executed it`);
      if (!valid && a.status !== 400) violations.push(`${tx}: an invalid request was answered ${a.status}`);
      // 4. A lost answer is looked up (an unknown one again by the retry: checked below), and no
      //    caller is left with a bare 24 (every call here went through the gateway).
      const lost = a.replayed ? undefined : lostAnswerOf(a);
      if (lost?.executed === true) lostAnswers.executed += 1;
      else if (lost?.executed === false) lostAnswers.notExecuted += 1;
      else if (lost !== undefined) lostAnswers.unknown += 1;
      if (a.status === 200 && statusCodeOf(a) === '24') violations.push(`${tx}: a caller got a bare 24 from gateway ${e.gateway}`);
    }
    if (!valid && received.length > 0) violations.push(`${tx}: an invalid request reached Galileo`);
    // An "unknown" (a timeout whose call the record did not show yet) is asked again by the retry:
    // the last answer a caller got for this transactionId must not still be one.
    const last = exchanges
      .map((e) => e.answer)
      .filter(isAnswer)
      .at(-1);
    if (last !== undefined && !last.replayed && lostAnswerOf(last)?.executed === 'unknown') {
      lostAnswers.unresolvedAtEnd += 1;
      violations.push(`${tx}: a lost answer stayed unresolved (${last.text.slice(0, 120)})`);
    }

    // 3. Every replay is the original answer, byte for byte; and after the original was delivered
    //    the transactionId never reached Galileo again.
    const answered = exchanges.map((e) => e.answer).filter(isAnswer);
    // The original is a success, or a lost answer whose call Galileo's record shows changed state.
    const firsts = answered.filter((a) => {
      if (a.replayed) return false;
      if (a.status === 200) return success.has(String(statusCodeOf(a)));
      const lost = lostAnswerOf(a);
      return lost?.executed === true && success.has(String(lost.statusCode));
    });
    const replayed = answered.filter((a) => a.replayed);
    originals += firsts.length;
    replays += replayed.length;
    if (firsts.length > 1) violations.push(`${tx}: ${firsts.length} callers got a fresh (not replayed) success`);
    const original = firsts[0];
    if (replayed.length > 0 && original === undefined) violations.push(`${tx}: replayed, but no caller got the original`);
    for (const r of replayed) {
      if (original && (r.status !== original.status || r.contentType !== original.contentType || r.text !== original.text)) {
        violations.push(`${tx}: a replay differs from the original (${r.status} ${r.text.slice(0, 80)} vs ${original.status} ${original.text.slice(0, 80)})`);
      }
    }
    if (original) {
      const late = received.filter((r) => Date.parse(r.receivedAt) > original.at);
      // A consumed record the store lost (a failover between the answer and the retry) lets the
      // retry through to Galileo, whose own duplicate check answers 24: documented, not a second
      // execution (rule 1 still holds).
      const afterLoss = late.filter(
        (r) => String(r.statusCode) === '24' && (input.storeLosses ?? []).some((t) => t > original.at && t < Date.parse(r.receivedAt)),
      );
      lostReplays += afterLoss.length;
      if (late.length > afterLoss.length)
        violations.push(`${tx}: reached Galileo ${late.length - afterLoss.length} time(s) after the original success was delivered`);
    }
  }
  return { violations, replays, originals, galileoSuccesses, galileoDuplicates, lostReplays, lostAnswers };
}
