/**
 * Reads the body: JSON (parsed with secure-json-parse, which refuses __proto__ and constructor
 * keys instead of letting them reach an object) or form-urlencoded (flat, every value a string;
 * the validator coerces to the spec's types). Anything else is 415. Parser failures become
 * problems here, so the error handler only ever sees GatewayErrors or bugs.
 */
import express, { type RequestHandler } from 'express';
import secureJson from 'secure-json-parse';
import { GatewayError } from '../errors.js';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

export function parseBody(limit: string): RequestHandler[] {
  const text = express.text({ type: JSON_TYPE, limit, inflate: false, defaultCharset: 'utf-8' });
  const form = express.urlencoded({ type: FORM_TYPE, limit, inflate: false, extended: false, parameterLimit: 1000 });

  const requireSupportedType: RequestHandler = (req, _res, next) => {
    if (!req.is([JSON_TYPE, FORM_TYPE])) {
      throw new GatewayError('unsupported_media_type', `Content-Type must be ${JSON_TYPE} or ${FORM_TYPE}.`, {
        errors: [{ field: 'content-type', message: `must be ${JSON_TYPE} or ${FORM_TYPE}` }],
      });
    }
    next();
  };

  const parse: RequestHandler = (req, res, next) => {
    const parser = req.is(JSON_TYPE) ? text : form;
    parser(req, res, (err?: unknown) => {
      if (err) return next(fromParserError(err));
      if (req.is(JSON_TYPE)) {
        try {
          req.body = parseJson(req.body);
        } catch (parseError) {
          return next(parseError);
        }
      }
      next();
    });
  };

  return [requireSupportedType, parse];
}

function parseJson(body: unknown): unknown {
  if (typeof body !== 'string' || body.trim() === '') return undefined;
  try {
    return secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' });
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
