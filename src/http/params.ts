/**
 * The caller's parameters on their way through validation. Before validation the gateway notes
 * which fields the caller sent (a JSON null counts as not sent, as the served spec says; a form's
 * empty value is its null, see coerce-types.ts). After validation it reads back only those
 * fields, with their form values read as the spec's types: nothing the validator might add
 * (a default) is ever forwarded, since defaults are Galileo's to apply.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { ResponseFormat } from '../galileo/forward.js';
import { context } from './context.js';

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
    const ctx = context(res);
    ctx.callerFields = Object.keys(record);
    // An unknown field sent as null is still refused (coerce-types.ts reads this).
    ctx.nullFields = nulls;
  }
  next();
};

/** Read once validation has passed (the idempotency and forwarding steps both ask). */
export function validatedParams(req: Request, res: Response): Record<string, unknown> {
  const ctx = context(res);
  if (ctx.params !== undefined) return ctx.params;
  const body = req.body as Record<string, unknown>;
  const sent = ctx.callerFields ?? [];
  // A field removed on the way (a form's empty optional value) is absent: neither forwarded nor
  // part of the fingerprint, or it would be a different request from the one without it.
  const params: Record<string, unknown> = {};
  for (const field of sent) {
    const value = body[field];
    if (value !== null && value !== undefined) params[field] = value;
  }
  ctx.params = params;
  // Every operation carries one (the spec requires it): the log line shows it, reads included.
  ctx.transactionId = String(params.transactionId);
  return params;
}

/** The spec allows only json|xml and defaults to json. */
export function requestFormat(req: Request): ResponseFormat {
  return req.headers['response-content-type'] === 'xml' ? 'xml' : 'json';
}
