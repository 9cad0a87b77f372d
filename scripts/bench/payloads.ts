/**
 * Request bodies: the spec's own examples (generated/gateway.openapi.json), with a unique
 * transactionId per request and, where the example has one (createAccount), a unique `id` (an
 * SSN, as its idType 2 says): the same idType+id and prodId twice is 407-02, as at Galileo, and a
 * call that creates nothing is released rather than consumed. A body is a template cut at its
 * placeholders once, so making one per request is a few string concatenations.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './procs.js';

export type Operation = 'createIvrCall' | 'createAccount';

export const OPERATIONS: readonly Operation[] = ['createIvrCall', 'createAccount'];

const TXN = 'ZZTXNZZ';
const ID = 'ZZIDZZ';

export interface Credentials {
  apiLogin: string;
  apiTransKey: string;
  providerId: number;
}

interface Spec {
  paths: Record<string, { post?: { requestBody?: { content?: Record<string, { examples?: Record<string, { value?: unknown }> }> } } }>;
}

export function exampleBody(operation: Operation): Record<string, unknown> {
  const spec = JSON.parse(readFileSync(join(ROOT, 'generated/gateway.openapi.json'), 'utf8')) as Spec;
  const examples = spec.paths[`/intserv/4.0/${operation}`]?.post?.requestBody?.content?.['application/json']?.examples ?? {};
  const first = Object.values(examples)[0]?.value;
  if (typeof first !== 'object' || first === null) throw new Error(`no JSON example for ${operation} in the inbound spec`);
  return { ...(first as Record<string, unknown>) };
}

/** Unique values across the whole run (one process, one counter each). */
let counter = 0;
const runTag = `b${Date.now().toString(36)}${process.pid.toString(36)}`;
export function nextTransactionId(): string {
  return `${runTag}-${++counter}`;
}
/** A unique SSN as the spec lays it out (area not 000, 666 or 9xx, group not 00, serial not 0000). */
let idCounter = Math.floor(Math.random() * 1e9);
function nextCustomerId(): string {
  const n = ++idCounter;
  const serial = 1 + (n % 9999);
  const group = 1 + (Math.floor(n / 9999) % 99);
  const area = 100 + (Math.floor(n / (9999 * 99)) % 500); // 100-599
  return `${area}${String(group).padStart(2, '0')}${String(serial).padStart(4, '0')}`;
}

export interface BodyFactory {
  /** One body with fresh unique values. */
  next(): string;
  /** The body with this transactionId (and a fresh id): for a replay, sent again unchanged. */
  fixed(transactionId: string): string;
}

/**
 * `fields` is the example with whatever the caller changed (e.g. accountNo). JSON for the gateway
 * and the baseline; a form carrying the credentials for the simulator itself.
 */
export function bodyFactory(fields: Record<string, unknown>, encoding: 'json' | { form: Credentials }): BodyFactory {
  const withId = 'id' in fields;
  const template: Record<string, unknown> = { ...fields, transactionId: TXN, ...(withId && { id: ID }) };
  let text: string;
  if (encoding === 'json') {
    text = JSON.stringify(template);
  } else {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(template)) if (value !== null && value !== undefined) form.append(key, String(value));
    form.set('apiLogin', encoding.form.apiLogin);
    form.set('apiTransKey', encoding.form.apiTransKey);
    form.set('providerId', String(encoding.form.providerId));
    text = form.toString();
  }
  // transactionId and id in the order the template has them.
  const markers = withId ? [TXN, ID].sort((a, b) => text.indexOf(a) - text.indexOf(b)) : [TXN];
  const parts = split(text, markers);
  const make = (txn: string) => {
    let out = parts[0]!;
    markers.forEach((marker, i) => (out += (marker === TXN ? txn : nextCustomerId()) + parts[i + 1]!));
    return out;
  };
  return { next: () => make(nextTransactionId()), fixed: make };
}

function split(text: string, markers: string[]): string[] {
  const parts: string[] = [];
  let rest = text;
  for (const marker of markers) {
    const at = rest.indexOf(marker);
    if (at < 0 || rest.indexOf(marker, at + 1) >= 0) throw new Error(`template must hold ${marker} exactly once`);
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + marker.length);
  }
  parts.push(rest);
  return parts;
}
