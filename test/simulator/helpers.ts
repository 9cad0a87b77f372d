/** Shared test helpers: real HTTP against startSimulator({ port: 0 }). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import YAML from 'yaml';
import type { Envelope } from '../../src/simulator/envelope-writer.js';
import { SIMULATOR_CREDENTIALS, type RunningSimulator } from '../../src/simulator/server.js';

/** The wire envelope, as the simulator builds it. */
export type Env = Envelope;

export type Fields = Record<string, string | number>;

export const CREDENTIAL_FIELDS: Fields = {
  apiLogin: SIMULATOR_CREDENTIALS.apiLogin,
  apiTransKey: SIMULATOR_CREDENTIALS.apiTransKey,
  providerId: String(SIMULATOR_CREDENTIALS.providerId),
};

export function tid(): string {
  return randomUUID();
}

export function form(fields: Fields): string {
  return new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

/** POSTs a form to an operation; credentials and a fresh transactionId are added unless given. */
export async function post(sim: RunningSimulator, op: string, fields: Fields, format: 'json' | 'xml' | null = 'json'): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (format) headers['response-content-type'] = format;
  const res = await fetch(`${sim.url}/${op}`, { method: 'POST', headers, body: form({ ...CREDENTIAL_FIELDS, transactionId: tid(), ...fields }) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** POST with JSON response; asserts HTTP 200 + application/json and returns the envelope. */
export async function call(sim: RunningSimulator, op: string, fields: Fields): Promise<Env> {
  const reply = await post(sim, op, fields);
  assert.equal(reply.status, 200);
  assert.equal(reply.headers.get('content-type'), 'application/json');
  return JSON.parse(reply.text) as Env;
}

const spec = YAML.parse(readFileSync(new URL('../../openapi/galileo.yaml', import.meta.url), 'utf8')) as {
  'x-galileo-global-status-codes': Array<{ code: number | string; status: string }>;
  paths: Record<string, { post: { 'x-galileo-status-codes': Array<{ code: number | string; status: string }> } }>;
};

/** Galileo's status text for a code, as the spec records it (operation list first). */
export function statusText(code: number | string, op?: string): string {
  const lists = [...(op ? [spec.paths[`/${op}`]?.post['x-galileo-status-codes'] ?? []] : []), spec['x-galileo-global-status-codes']];
  for (const list of lists) {
    const hit = list.find((c) => String(c.code) === String(code));
    if (hit) return hit.status;
  }
  throw new Error(`no status code ${code} in the spec`);
}

/** Asserts the status_code, the spec's text and (for errors) an errors array. */
export function expectStatus(env: Env, code: number | string, op?: string): void {
  assert.deepEqual({ status_code: env.status_code, status: env.status }, { status_code: code, status: statusText(code, op) }, JSON.stringify(env));
}

export function accountData(env: Env): Record<string, unknown> {
  assert.ok(Array.isArray(env.response_data), 'response_data is an array');
  assert.equal(env.response_data.length, 1);
  return env.response_data[0] as Record<string, unknown>;
}

/** Creates an account (status 0 expected) and returns its PRN. */
export async function newAccount(sim: RunningSimulator, fields: Fields = {}): Promise<string> {
  const env = await call(sim, 'createAccount', { prodId: 501, ...fields });
  assert.equal(env.status_code, 0, JSON.stringify(env));
  return String(accountData(env)['pmt_ref_no']);
}

export const MOBILE = '8015556060';

/** An account with a mobile phone on file. */
export function accountWithMobile(sim: RunningSimulator, mobile = MOBILE): Promise<string> {
  return newAccount(sim, { mobilePhone: mobile, mobilePhoneCountryCode: '+1' });
}

export type RawResult =
  | { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; body: string; elapsedMs: number; chunks: number }
  | { kind: 'error'; code: string; message: string; elapsedMs: number; partialBody: string; headers?: http.IncomingHttpHeaders }
  | { kind: 'timeout'; elapsedMs: number };

/** A bare http.request (no agent, no retries) that reports exactly what the socket did. */
export function rawPost(url: string, body: string, opts: { timeoutMs?: number; headers?: Record<string, string>; method?: string } = {}): Promise<RawResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    let partialBody = '';
    let headers: http.IncomingHttpHeaders | undefined;
    const finish = (result: RawResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const req = http.request(
      url,
      {
        method: opts.method ?? 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'response-content-type': 'json', ...opts.headers },
      },
      (res) => {
        headers = res.headers;
        let chunks = 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          chunks++;
          partialBody += chunk;
        });
        res.on('end', () =>
          finish({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: partialBody, elapsedMs: Date.now() - started, chunks }),
        );
        res.on('error', (err: NodeJS.ErrnoException) => finish(errorResult(err)));
        res.on('aborted', () => finish(errorResult(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))));
      },
    );
    const errorResult = (err: NodeJS.ErrnoException): RawResult => {
      const result: RawResult = { kind: 'error', code: err.code ?? err.message, message: err.message, elapsedMs: Date.now() - started, partialBody };
      if (headers) result.headers = headers;
      return result;
    };
    req.on('error', (err: NodeJS.ErrnoException) => finish(errorResult(err)));
    if (opts.timeoutMs !== undefined) {
      req.setTimeout(opts.timeoutMs, () => {
        finish({ kind: 'timeout', elapsedMs: Date.now() - started });
        req.destroy();
      });
    }
    req.end(body);
  });
}

/** A credentials-complete form body for raw requests. */
export function rawForm(fields: Fields): string {
  return form({ ...CREDENTIAL_FIELDS, transactionId: tid(), ...fields });
}

export async function admin(sim: RunningSimulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`${sim.origin}/__sim/${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}
