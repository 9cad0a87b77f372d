/** Galileo's response envelope, built from an Outcome, and its JSON or XML bytes. */
import { randomUUID } from 'node:crypto';
import { isConsumingCode, statusInfo, type GalileoSpec } from './galileo-spec.js';
import type { FormParams, OperationName, Outcome, ResponseFormat, StatusCode } from './types.js';
import { envelopeToXml } from './xml.js';

export interface Envelope {
  status_code: StatusCode;
  status: string;
  processing_time: number;
  response_data: unknown;
  echo: { provider_transaction_id: string; provider_timestamp: string | null; transaction_id: string };
  errors?: string[];
  rtoken: string;
  system_timestamp: string;
}

export function buildEnvelope(args: {
  spec: GalileoSpec;
  operation: OperationName | null;
  outcome: Outcome;
  form: FormParams;
  /** performance.now() when Galileo started on the request: processing_time is measured from it. */
  startedAt: number;
  now: number;
}): Envelope {
  const { spec, operation, outcome, form } = args;
  const op = operation ?? undefined;
  const status = statusInfo(spec, op, outcome.code)?.text ?? 'Unknown status';
  const envelope: Envelope = {
    status_code: outcome.code,
    status,
    processing_time: Math.round(performance.now() - args.startedAt) / 1000,
    response_data: outcome.responseData ?? {},
    echo: {
      provider_transaction_id: form['providerTransactionId'] ?? '',
      provider_timestamp: form['providerTimestamp'] ?? null,
      transaction_id: form['transactionId'] ?? '',
    },
    rtoken: randomUUID(),
    system_timestamp: systemTimestamp(args.now),
  };
  // `errors` only on error; success and the state-changing codes carry their data instead.
  if (!isConsumingCode(spec, op, outcome.code)) {
    // Keep the wire order of Galileo's example: errors sits between echo and rtoken.
    const { rtoken, system_timestamp, ...head } = envelope;
    return { ...head, errors: outcome.errors ?? [status], rtoken, system_timestamp };
  }
  return envelope;
}

/** Global codes are numbers on the wire, endpoint codes ("407-02") strings. */
export function normalizeStatusCode(code: string | number): StatusCode {
  if (typeof code === 'number') return code;
  const trimmed = code.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** "YYYY-MM-DD hh:mm:ss" (UTC), Galileo's system_timestamp layout. */
function systemTimestamp(now: number): string {
  return new Date(now).toISOString().slice(0, 19).replace('T', ' ');
}

/** The header Galileo reads instead of Accept; absent or unknown → XML, Galileo's own default. */
export function responseFormat(header: string | string[] | undefined): ResponseFormat {
  const value = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  return value === 'json' ? 'json' : 'xml';
}

export function serializeEnvelope(
  envelope: Envelope,
  format: ResponseFormat,
  xmlItemNames: ReadonlyMap<string, string>,
): { contentType: string; body: string } {
  return format === 'json'
    ? { contentType: 'application/json', body: JSON.stringify(envelope) }
    : { contentType: 'application/xml', body: envelopeToXml(envelope, xmlItemNames) };
}
