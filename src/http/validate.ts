/**
 * Validation against the inbound spec (generated/gateway.openapi.json) with
 * express-openapi-validator: every problem is reported (allErrors), together with the ones
 * coerceToSpecTypes found, and the validator's errors are renamed to the fields the caller sent.
 *
 * One validator per operation, each given the inbound spec with that operation's path alone: the
 * route already chose the operation, and a validator given every path looks the request's path up
 * again on each request (compiling a path pattern per path it tries).
 */
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import { GatewayError, type FieldError } from '../errors.js';
import { coercionProblems } from './coerce-types.js';
import { inSequence } from './in-sequence.js';

export interface RequestValidator {
  /**
   * The validation step of the route at `path` (a path of the spec). Built on first use and kept:
   * the warm-up's copy of the app and the real one share it (warm-up.ts).
   */
  forPath(path: string): RequestHandler;
}

export function validateRequest(document: Record<string, unknown>): RequestValidator {
  const paths = document.paths as Record<string, unknown>;
  const built = new Map<string, RequestHandler>();
  return {
    forPath(path) {
      let handler = built.get(path);
      if (handler === undefined) {
        if (paths[path] === undefined) throw new Error(`the inbound spec has no path ${path}`);
        // A copy: the validator rewrites the document it is given.
        handler = validatorFor(structuredClone({ ...document, paths: { [path]: paths[path] } }));
        built.set(path, handler);
      }
      return handler;
    },
  };
}

function validatorFor(document: object): RequestHandler {
  const middlewares = OpenApiValidator.middleware({
    apiSpec: document as OpenAPIV3.DocumentV3_1,
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
  return inSequence([...validators, reportCoercionProblems]);
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
  const summary = named
    .slice(0, 10)
    .map((e) => `${e.field} ${e.message}`)
    .join('; ');
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
