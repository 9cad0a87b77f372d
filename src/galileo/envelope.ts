/**
 * Recognises a Galileo answer: a JSON object or an XML <response> carrying `status_code`.
 * Anything else (a Cloudflare page, a truncated body) is not Galileo speaking.
 */

/** Galileo's status_code: a number for global codes, a string like "407-02" for endpoint codes. */
export type GalileoStatusCode = number | string;

export function readStatusCode(contentType: string, body: string): GalileoStatusCode | undefined {
  return /xml/i.test(contentType) ? fromXml(body) : fromJson(body);
}

function fromJson(body: string): GalileoStatusCode | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const code = (parsed as { status_code?: unknown }).status_code;
  return typeof code === 'number' || (typeof code === 'string' && code !== '') ? code : undefined;
}

const XML_ENVELOPE = /^\s*(?:<\?xml[^>]*\?>\s*)?<response>[\s\S]*<\/response>\s*$/;
const XML_STATUS = /<status_code>\s*([^<\s]+)\s*<\/status_code>/;

function fromXml(body: string): GalileoStatusCode | undefined {
  if (!XML_ENVELOPE.test(body)) return undefined;
  const raw = XML_STATUS.exec(body)?.[1];
  if (raw === undefined) return undefined;
  return /^-?\d+$/.test(raw) ? Number(raw) : raw;
}
