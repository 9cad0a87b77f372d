/**
 * The caller's parameters on their way through validation. Before validation the gateway notes
 * which fields the caller sent (a JSON null counts as not sent: a form cannot carry null).
 * After validation it reads back only those fields, with their coerced values: the validator
 * also fills in the spec's defaults, which are Galileo's to apply, not the gateway's.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { ResponseFormat } from '../galileo/forward.js';

export const captureCallerFields: RequestHandler = (req, res, next) => {
  const body: unknown = req.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    const nulls: string[] = [];
    for (const key of Object.keys(record)) {
      if (record[key] === null) {
        delete record[key];
        nulls.push(key);
      }
    }
    res.locals.callerFields = Object.keys(record);
    // An unknown field sent as null is still refused (coerce-types.ts reads this).
    res.locals.nullFields = nulls;
  }
  next();
};

export function validatedParams(req: Request, res: Response): Record<string, unknown> {
  const body = req.body as Record<string, unknown>;
  const sent = (res.locals.callerFields as string[] | undefined) ?? [];
  // An empty value of a nullable non-string field (form `loadAmount=`, JSON "") is coerced to null
  // by the validator: it is not forwarded (the client skips nulls), so it must not be part of the
  // fingerprint either, or it would be a different request from the one without it (found by fuzzing).
  return Object.fromEntries(sent.filter((field) => body[field] !== null && body[field] !== undefined).map((field) => [field, body[field]]));
}

/** The spec allows only json|xml and defaults to json. */
export function requestFormat(req: Request): ResponseFormat {
  return req.headers['response-content-type'] === 'xml' ? 'xml' : 'json';
}
