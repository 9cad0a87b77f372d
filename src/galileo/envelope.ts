/**
 * Recognises a Galileo answer: a JSON object or an XML <response> carrying `status_code`.
 * Anything else (a Cloudflare page, a truncated body) is not Galileo speaking.
 *
 * Besides the status code only two envelope fields are read, for ops quoting a call to Galileo
 * support: `rtoken` (Galileo's tracking id) and `processing_time` (seconds). Never a field of
 * `response_data` or `echo`: those may hold customer or card data.
 */
import { isXml } from '../media-type.js';
import { isUuid } from '../sensitive-numbers.js';

/** Galileo's status_code: a number for global codes, a string like "407-02" for endpoint codes. */
export type GalileoStatusCode = number | string;

export interface Envelope {
  statusCode: GalileoStatusCode;
  /** Absent unless it looks like a tracking id (a UUID for Galileo): it goes into the log. */
  rtoken: string | undefined;
  /** Seconds Galileo says it spent; absent unless a finite, non-negative number. */
  processingTime: number | undefined;
}

/**
 * Whether a status_code has Galileo's shape (a global code such as 0, -3 or 24, or an endpoint
 * code such as "407-02"). The answer is passed through whatever it carries, but only a code of
 * this shape goes into the log line: anything else could be anything, a card number included.
 */
export function isGalileoStatusCode(code: GalileoStatusCode): boolean {
  return /^(?:-?\d{1,3}|\d{3}-\d{2})$/.test(String(code));
}

export function readEnvelope(contentType: string, body: string): Envelope | undefined {
  return isXml(contentType) ? fromXml(body) : fromJson(body);
}

function fromJson(body: string): Envelope | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { status_code: code, rtoken, processing_time: time } = parsed as Record<string, unknown>;
  if (!(typeof code === 'number' || (typeof code === 'string' && code !== ''))) return undefined;
  return { statusCode: code, rtoken: trackingId(rtoken), processingTime: seconds(time) };
}

const XML_ENVELOPE = /^\s*(?:<\?xml[^>]*\?>\s*)?<response>[\s\S]*<\/response>\s*$/;
const XML_STATUS = /<status_code>\s*([^<\s]+)\s*<\/status_code>/;
const XML_RTOKEN = /<rtoken>\s*([^<\s]*)\s*<\/rtoken>/;
const XML_PROCESSING_TIME = /<processing_time>\s*([^<\s]*)\s*<\/processing_time>/;

function fromXml(body: string): Envelope | undefined {
  if (!XML_ENVELOPE.test(body)) return undefined;
  const raw = XML_STATUS.exec(body)?.[1];
  if (raw === undefined) return undefined;
  const time = XML_PROCESSING_TIME.exec(body)?.[1];
  return {
    statusCode: /^-?\d+$/.test(raw) ? Number(raw) : raw,
    rtoken: trackingId(XML_RTOKEN.exec(body)?.[1]),
    processingTime: seconds(time === undefined || time === '' ? undefined : Number(time)),
  };
}

/**
 * Galileo's rtokens are UUIDs. Anything else must at least be id-shaped (letters, digits, dashes,
 * at most 64) without nine digits in a row, dashes between them or not: never a card number.
 */
function trackingId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return isUuid(value) || (/^[A-Za-z0-9-]{1,64}$/.test(value) && !/\d(?:-?\d){8}/.test(value)) ? value : undefined;
}

function seconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
