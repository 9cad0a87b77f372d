/**
 * What the soak sends: valid requests of the three operations (JSON or form, JSON or XML answers),
 * some invalid ones, and the faults it asks the simulator for. Bodies start from the spec's own
 * examples; only what makes each request unique (transactionId, customer id) or executable
 * (an account the simulator knows) is changed.
 */
import http from 'node:http';
import { exampleBody, pathOf } from '../lib/examples.js';
import type { Fault } from '../../src/simulator/faults.js';

export type OperationId = 'createAccount' | 'createIvrCall' | 'modifyOnDemandAlertStatus';
const OPERATION_IDS: OperationId[] = ['createAccount', 'createIvrCall', 'modifyOnDemandAlertStatus'];

export interface Sendable {
  operationId: OperationId;
  transactionId: string;
  path: string;
  contentType: string;
  format: 'json' | 'xml';
  body: string;
  /** Invalid requests must be refused and never reach Galileo. */
  valid: boolean;
}

export interface Answer {
  status: number;
  contentType: string;
  replayed: boolean;
  retryAfter: string | undefined;
  text: string;
  /** Wall clock when the answer was complete. */
  at: number;
}

/** A small deterministic PRNG, so SOAK_SEED replays the same traffic decisions. */
export function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

export class Traffic {
  private sequence = 0;
  constructor(
    private readonly random: () => number,
    private readonly runId: string,
    private readonly accounts: () => string[],
  ) {}

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  between(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  nextTransactionId(): string {
    this.sequence += 1;
    return `soak-${this.runId}-${this.sequence.toString(36)}`;
  }

  /** A valid request; createIvrCall and alerts need an account the simulator created. */
  valid(operationId: OperationId = this.pick(this.accounts().length > 0 ? OPERATION_IDS : ['createAccount'])): Sendable {
    const transactionId = this.nextTransactionId();
    const params: Record<string, unknown> = { ...exampleBody(operationId), transactionId };
    if (operationId === 'createAccount') {
      // No customer id: Galileo would refuse a second account for the same one (407-02).
      for (const field of ['idType', 'id', 'idType2', 'id2', 'idType3', 'id3']) delete params[field];
      params.loadAmount = this.pick([0, 10, 25.5, 100]);
    } else {
      params.accountNo = this.pick(this.accounts());
    }
    if (operationId === 'modifyOnDemandAlertStatus') {
      Object.assign(params, { actionType: 'F', mobilePhone: '8015556060' });
      delete params.verificationPin;
    }
    return this.encode(operationId, transactionId, params, true);
  }

  /** One thing wrong, from the kinds the contract names. */
  invalid(): Sendable {
    const operationId = this.pick(OPERATION_IDS);
    const transactionId = this.nextTransactionId();
    const params: Record<string, unknown> = { ...exampleBody(operationId), transactionId };
    switch (this.between(0, 4)) {
      case 0:
        params.prodId = 'not-a-number';
        break;
      case 1:
        params.colour = 'red';
        break;
      case 2:
        params.apiTransKey = 'caller-secret';
        break;
      case 3:
        params.transactionId = `${transactionId}-${'x'.repeat(60)}`;
        break;
      default:
        params.accountNo = '12';
        params.prodId = 0;
    }
    return this.encode(operationId, transactionId, params, false);
  }

  private encode(operationId: OperationId, transactionId: string, params: Record<string, unknown>, valid: boolean): Sendable {
    const form = this.chance(0.3);
    return {
      operationId,
      transactionId,
      path: pathOf(operationId),
      contentType: form ? 'application/x-www-form-urlencoded' : 'application/json',
      format: this.chance(0.2) ? 'xml' : 'json',
      body: form ? new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString() : JSON.stringify(params),
      valid,
    };
  }

  /** A fault for one transactionId; `times` covers every attempt the gateway may make. */
  fault(): Fault {
    return this.pick<Fault>([
      { type: 'latency', ms: 150 },
      { type: 'latency', ms: 900 },
      { type: 'no_answer' },
      { type: 'no_answer', execute: true },
      { type: 'reset_after_body' },
      { type: 'reset_after_body', execute: true },
      { type: 'edge', status: 429 },
      { type: 'edge', status: 502 },
      { type: 'edge', status: 503 },
      { type: 'edge', status: 504 },
      { type: 'malformed' },
      { type: 'partial' },
      { type: 'partial', execute: false },
      { type: 'trickle', ms: 200 },
      { type: 'trickle', ms: 1500 },
    ]);
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

/**
 * Requests resent because the server closed an idle kept-alive socket just as it was reused (the
 * race Node's documentation describes for `request.reusedSocket`): the request never reached the
 * gateway. A connection the gateway itself drops mid-request is caught in its log instead (499).
 */
export const keepAliveRaces = { count: 0 };

export function send(baseUrl: string, request: Sendable, resent = false): Promise<Answer> {
  const payload = Buffer.from(request.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(request.path, baseUrl),
      {
        method: 'POST',
        agent,
        headers: { 'content-type': request.contentType, 'content-length': payload.length, 'response-content-type': request.format },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            replayed: res.headers['idempotent-replayed'] === 'true',
            retryAfter: res.headers['retry-after'] as string | undefined,
            text: Buffer.concat(chunks).toString('utf8'),
            at: Date.now(),
          }),
        );
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer from the gateway within 30 s')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (req.reusedSocket && err.code === 'ECONNRESET' && !resent) {
        keepAliveRaces.count += 1;
        resolve(send(baseUrl, request, true));
      } else {
        reject(err);
      }
    });
    req.end(payload);
  });
}

export function closeAgent(): void {
  agent.destroy();
}

/** Galileo's status_code in a JSON or XML envelope, or undefined for a problem or garbage. */
export function statusCodeOf(answer: Pick<Answer, 'contentType' | 'text'>): string | undefined {
  if (/xml/i.test(answer.contentType)) return /<status_code>\s*([^<\s]+)\s*<\/status_code>/.exec(answer.text)?.[1];
  if (!/^application\/json/i.test(answer.contentType)) return undefined;
  try {
    const code = (JSON.parse(answer.text) as { status_code?: unknown }).status_code;
    return code === undefined ? undefined : String(code);
  } catch {
    return undefined;
  }
}
