/**
 * Validation against the inbound spec (generated/gateway.openapi.json) with
 * express-openapi-validator: every problem is reported (allErrors), together with the ones
 * coerceToSpecTypes found, and the validator's errors are renamed to the fields the caller sent.
 */
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import { GatewayError, type FieldError } from '../errors.js';
import { coercionProblems } from './coerce-types.js';

export function validateRequest(document: object): RequestHandler[] {
  const middlewares = OpenApiValidator.middleware({
    apiSpec: structuredClone(document) as OpenAPIV3.DocumentV3_1,
    // No coercion: JSON must have the served spec's types, and forms were read as them already.
    validateRequests: { allErrors: true, coerceTypes: false },
    // Full formats: a date must exist in the calendar (2021-02-30 is refused).
    validateFormats: true,
    ajvFormats: { mode: 'full' },
    validateResponses: false,
    validateSecurity: false,
    ignoreUndocumented: true,
    // No operation takes a file: the multipart uploader is not even loaded.
    fileUploader: false,
  }) as RequestHandler[];
  const validators = middlewares.map(
    (middleware): RequestHandler =>
      (req, res, next) =>
        middleware(req, res, (err?: unknown) => next(err === undefined ? undefined : translate(err, coercionProblems(res)))),
  );
  // The validator passed: the coercion step's problems alone still refuse the request.
  const reportCoercionProblems: RequestHandler = (_req, res, next) => {
    const problems = coercionProblems(res);
    next(problems.length > 0 ? invalid(problems) : undefined);
  };
  return [...validators, reportCoercionProblems];
}

interface ValidatorError {
  status?: number;
  errors?: Array<{ path?: string; message?: string; errorCode?: string }>;
}

/** A problem names at most this many fields (and says how many more), so its size is bounded. */
const MAX_ERRORS = 50;

function invalid(fieldErrors: FieldError[]): GatewayError {
  const named = fieldErrors.slice(0, MAX_ERRORS);
  if (fieldErrors.length > MAX_ERRORS) named.push({ field: 'body', message: `and ${fieldErrors.length - MAX_ERRORS} more problems` });
  const summary = named.slice(0, 10).map((e) => `${e.field} ${e.message}`).join('; ');
  return new GatewayError('invalid_request', summary || 'The request does not match the specification.', { errors: named });
}

function translate(err: unknown, earlier: FieldError[]): unknown {
  const { status, errors } = err as ValidatorError;
  if (status === 415) {
    return new GatewayError('unsupported_media_type', 'Content-Type must be application/json or application/x-www-form-urlencoded.', {
      errors: [{ field: 'content-type', message: 'is not supported' }],
    });
  }
  if (status !== 400 || !Array.isArray(errors)) return err;
  const fieldErrors: FieldError[] = [...earlier];
  const reported = new Set(earlier.map((e) => e.field));
  const seen = new Set<string>();
  for (const e of errors) {
    // `if`/`then` rules add a generic "must match then schema" next to the precise error.
    if (e.errorCode?.startsWith('if.') || /must match "(then|else)" schema/.test(e.message ?? '')) continue;
    const item = { field: fieldName(e.path), message: e.message ?? 'is invalid' };
    if (reported.has(item.field)) continue;
    const id = `${item.field}\u0000${item.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      fieldErrors.push(item);
    }
  }
  return invalid(fieldErrors);
}

/** "/body/prodId" -> "prodId", "/headers/response-content-type" -> "response-content-type". */
function fieldName(path: string | undefined): string {
  if (path === undefined || path === '') return 'body';
  // Exactly one location prefix comes off. Found by fuzzing: stripping a further leading "." or
  // "/" renamed unknown fields (".x" was reported as "x", "/" as "", ".body" as "body").
  const match = /^[./]?(body|headers|query|params)(?:[./](.*))?$/s.exec(path);
  if (!match) return path;
  return match[2] === undefined ? (match[1] === 'headers' ? 'headers' : 'body') : match[2];
}
