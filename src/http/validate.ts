/**
 * Validation against the inbound spec (generated/gateway.openapi.json) with
 * express-openapi-validator: every problem is reported (allErrors), form values are coerced to
 * the spec's types, and the validator's errors are renamed to the fields the caller sent.
 */
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import { GatewayError, type FieldError } from '../errors.js';

export function validateRequest(document: object): RequestHandler[] {
  const middlewares = OpenApiValidator.middleware({
    apiSpec: structuredClone(document) as OpenAPIV3.DocumentV3_1,
    validateRequests: { allErrors: true, coerceTypes: true },
    validateResponses: false,
    validateSecurity: false,
    ignoreUndocumented: true,
  }) as RequestHandler[];
  return middlewares.map(
    (middleware): RequestHandler =>
      (req, res, next) =>
        middleware(req, res, (err?: unknown) => next(err === undefined ? undefined : translate(err))),
  );
}

interface ValidatorError {
  status?: number;
  errors?: Array<{ path?: string; message?: string; errorCode?: string }>;
}

function translate(err: unknown): unknown {
  const { status, errors } = err as ValidatorError;
  if (status === 415) {
    return new GatewayError('unsupported_media_type', 'Content-Type must be application/json or application/x-www-form-urlencoded.', {
      errors: [{ field: 'content-type', message: 'is not supported' }],
    });
  }
  if (status !== 400 || !Array.isArray(errors)) return err;
  const fieldErrors: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // `if`/`then` rules add a generic "must match then schema" next to the precise error.
    if (e.errorCode?.startsWith('if.') || /must match "(then|else)" schema/.test(e.message ?? '')) continue;
    const item = { field: fieldName(e.path), message: e.message ?? 'is invalid' };
    const id = `${item.field}\u0000${item.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      fieldErrors.push(item);
    }
  }
  const summary = fieldErrors.map((e) => `${e.field} ${e.message}`).join('; ');
  return new GatewayError('invalid_request', summary || 'The request does not match the specification.', {
    errors: fieldErrors,
  });
}

/** "/body/prodId" -> "prodId", "/headers/response-content-type" -> "response-content-type". */
function fieldName(path: string | undefined): string {
  if (path === undefined || path === '') return 'body';
  const trimmed = path.replace(/^[./]?(body|headers|query|params)(?=[./]|$)[./]?/, '');
  return trimmed === '' ? (path.includes('header') ? 'headers' : 'body') : trimmed.replace(/^[./]/, '');
}
