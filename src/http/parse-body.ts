/**
 * Reads the body: JSON (parsed with secure-json-parse, which refuses __proto__ and constructor
 * keys instead of letting them reach an object) or form-urlencoded (flat, every value a string;
 * coerce-types.ts reads them as the spec's types). Anything else is 415, and so is a charset other
 * than UTF-8. Everything that can be refused from the headers is refused before a byte of the body
 * is read: the type, the charset, a declared length over the limit; only then does a client that
 * sent `Expect: 100-continue` get its `100 Continue`. Parser failures become problems here, so the
 * error handler only ever sees GatewayErrors or bugs.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler, type Response } from 'express';
import secureJson from 'secure-json-parse';
import { GatewayError } from '../errors.js';
import { mediaType } from '../media-type.js';
import { context } from './context.js';

export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

export function parseBody(limit: number): RequestHandler[] {
  const text = express.text({ type: JSON_TYPE, limit, inflate: false, defaultCharset: 'utf-8', verify: verifyJsonBytes });
  const form = express.urlencoded({ type: FORM_TYPE, limit, inflate: false, extended: false, parameterLimit: 1000, verify: verifyFormBytes });

  const checkHeaders: RequestHandler = (req, res, next) => {
    const media = mediaType(req.headers['content-type']);
    if (media?.type !== JSON_TYPE && media?.type !== FORM_TYPE) {
      throw new GatewayError('unsupported_media_type', `Content-Type must be ${JSON_TYPE} or ${FORM_TYPE}.`, {
        errors: [{ field: 'content-type', message: `must be ${JSON_TYPE} or ${FORM_TYPE}` }],
      });
    }
    if (media.charset !== undefined && media.charset !== 'utf-8' && media.charset !== 'utf8') throw fromParserError(bodyError('charset.unsupported'));
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) throw fromParserError(bodyError('entity.too.large'));
    if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue();
    context(res).mediaType = media.type;
    next();
  };

  const parse: RequestHandler = (req, res, next) => {
    const json = bodyMediaType(res) === JSON_TYPE;
    (json ? text : form)(req, res, (err?: unknown) => {
      if (err) return next(fromParserError(err));
      if (json) {
        try {
          req.body = parseJson(req.body);
        } catch (parseError) {
          return next(parseError);
        }
      }
      next();
    });
  };

  return [checkHeaders, parse];
}

/** The body's media type, as the headers step found it: application/json or a form. */
export function bodyMediaType(res: Response): typeof JSON_TYPE | typeof FORM_TYPE {
  const type = context(res).mediaType;
  if (type === undefined) throw new Error('bodyMediaType: the headers step has not run');
  return type;
}

function parseJson(body: unknown): unknown {
  if (typeof body !== 'string' || body.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const forbidden = /prototype/i.test((err as Error).message);
    throw new GatewayError('invalid_request', forbidden ? 'The JSON body contains a forbidden key.' : 'The body is not valid JSON.', {
      errors: [
        forbidden
          ? { field: '__proto__', message: 'keys "__proto__" and "constructor.prototype" are not allowed' }
          : { field: 'body', message: 'must be valid JSON' },
      ],
    });
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) rejectAmbiguousMembers(body, parsed as Record<string, unknown>);
  return parsed;
}

/**
 * Found by fuzzing (test/fuzz): two JSON bodies that differ reached Galileo as the same request.
 * - A duplicate member (`{"transactionId":"a","transactionId":"b"}`) was silently resolved to the
 *   last one, while the form equivalent (`a=1&a=2`) is a 400; parsers disagree on which one wins.
 * - A lone surrogate (`"\ud800"`) is valid JSON text but not Unicode: it reached Galileo (and the
 *   Redis key) as U+FFFD, so "\ud800" and "\udbff" became one transactionId.
 * - A number JSON.parse cannot hold: 1e400 became Infinity (forwarded as "Infinity" or "null"), and
 *   the integer 12345678901234567891 became 12345678901234567000 (a different transactionId).
 * Only the top level matters: a nested value is not a valid field value anyway.
 */
function rejectAmbiguousMembers(text: string, body: Record<string, unknown>): void {
  const members = topLevelMembers(text);
  const errors = [
    ...members.duplicates.map((field) => ({ field, message: 'is sent more than once' })),
    ...members.inexact.map((field) => ({ field, message: 'is an integer too large to be carried exactly' })),
  ];
  for (const [field, value] of Object.entries(body)) {
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) errors.push({ field, message: 'must be well-formed Unicode (no lone surrogates)' });
    if (typeof value === 'number' && !Number.isFinite(value)) errors.push({ field, message: 'is a number out of range' });
  }
  if (errors.length > 0) {
    throw new GatewayError('invalid_request', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
  }
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Members of the top-level object that occur twice, and those whose value is an integer literal
 * that a double does not hold exactly. `text` is valid JSON (already parsed).
 */
function topLevelMembers(text: string): { duplicates: string[]; inexact: string[] } {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  const inexact: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1) {
        let next = end + 1;
        while (next < text.length && ' \t\n\r'.includes(text[next]!)) next++;
        if (text[next] === ':') {
          const raw = text.slice(i + 1, end);
          const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
          if (seen.has(key)) duplicates.add(key);
          seen.add(key);
          let value = next + 1;
          while (value < text.length && ' \t\n\r'.includes(text[value]!)) value++;
          // Only a number can be inexact: most values are strings, not worth the pattern.
          if (text[value] === '-' || (text[value]! >= '0' && text[value]! <= '9')) {
            const literal = /^(-?\d+)(?![\d.eE])/.exec(text.slice(value, value + 400))?.[1];
            if (literal !== undefined && !exactInteger(literal)) inexact.push(key);
          }
        }
      }
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return { duplicates: [...duplicates], inexact };
}

function exactInteger(literal: string): boolean {
  const n = Number(literal);
  return Number.isSafeInteger(n) || (Number.isFinite(n) && BigInt(literal) === BigInt(n));
}

/**
 * Found by fuzzing: bytes that are not UTF-8 (and JSON in another declared charset) were decoded
 * leniently, so different bytes reached Galileo as the same U+FFFD text. The contract says UTF-8.
 */
function verifyJsonBytes(_req: IncomingMessage, _res: unknown, buf: Buffer, encoding: string): void {
  if (!/^utf-?8$/i.test(encoding)) throw bodyError('charset.unsupported');
  if (!isUtf8(buf)) throw bodyError('gateway.not_utf8');
}

/**
 * Forms: besides UTF-8 (a percent-escape such as %FF was kept as the literal text "%FF", the same
 * value as %25FF), a `__proto__` key is refused as in JSON: the form parser (qs) drops it silently,
 * so `__proto__=x` was forwarded without a word instead of being a 400.
 */
function verifyFormBytes(_req: IncomingMessage, _res: unknown, buf: Buffer): void {
  const text = buf.toString('utf8');
  if (!isUtf8(buf) || !escapesAreUtf8(text)) throw bodyError('gateway.not_utf8');
  for (const key of new URLSearchParams(text).keys()) {
    if (key === '__proto__') throw bodyError('gateway.forbidden_key');
  }
}

/** Every run of %XX escapes must decode to UTF-8 (a stray "%" that is no escape stays literal). */
function escapesAreUtf8(text: string): boolean {
  for (const [run] of text.matchAll(/(?:%[0-9A-Fa-f]{2})+/g)) {
    try {
      decodeURIComponent(run);
    } catch {
      return false;
    }
  }
  return true;
}

function bodyError(type: string): Error {
  return Object.assign(new Error(type), { type });
}

/** body-parser's error types (https://github.com/expressjs/body-parser#errors). */
function fromParserError(err: unknown): GatewayError | unknown {
  const type = (err as { type?: string }).type;
  switch (type) {
    case 'entity.too.large':
      return new GatewayError('payload_too_large', 'The request body exceeds the configured limit.', {
        errors: [{ field: 'body', message: 'exceeds the body size limit' }],
      });
    case 'parameters.too.many':
      return new GatewayError('payload_too_large', 'The form body has too many parameters.', {
        errors: [{ field: 'body', message: 'has too many parameters' }],
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new GatewayError('unsupported_media_type', 'Compressed bodies and charsets other than UTF-8 are not accepted.', {
        errors: [{ field: type === 'charset.unsupported' ? 'content-type' : 'content-encoding', message: 'is not supported' }],
      });
    case 'gateway.not_utf8':
      return new GatewayError('unsupported_media_type', 'The body must be UTF-8 (percent-escapes in a form too).', {
        errors: [{ field: 'body', message: 'is not valid UTF-8' }],
      });
    case 'gateway.forbidden_key':
      return new GatewayError('invalid_request', 'The form body contains a forbidden key.', {
        errors: [{ field: '__proto__', message: 'key "__proto__" is not allowed' }],
      });
    case 'request.size.invalid':
    case 'request.aborted':
    case 'stream.encoding.set':
      return new GatewayError('invalid_request', 'The request body could not be read.', {
        errors: [{ field: 'body', message: 'could not be read completely' }],
      });
    default:
      return err;
  }
}
