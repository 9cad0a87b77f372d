/**
 * Reads a form body as the spec's types, before validation. A form carries only text: each value
 * becomes its field's type (the served spec's types), and an empty value of an optional field is
 * the form's way of saying null, so it is absent. JSON bodies are left alone: JSON values must
 * already have the spec's types (the served spec says so, and the validator holds JSON to it).
 * - Converting here rather than with Ajv's coerceTypes: Ajv coerces inside `properties`, after
 *   `if`/`then` rules have seen the raw "1", so a cross-field rule on an integer field would not
 *   apply; and Ajv's coercion is laxer than the spec (found by fuzzing, test/fuzz): "0x1F5"
 *   became 501, " " became 0, "Infinity" was forwarded as "null", and integers beyond 2^53 lost
 *   digits on the way to Galileo. Such values are named here and removed, so the validator does
 *   not report them a second time.
 * - An unknown field sent as JSON null is still an unknown field (null = absent holds for the
 *   spec's fields only).
 * - Many unknown fields are refused here, before the validator: 3,000 of them cost 150 ms of CPU
 *   there and a 128 KB problem (found by the security review).
 * The problems found are reported together with the validator's (validate.ts).
 */
import type { RequestHandler, Response } from 'express';
import { GatewayError, type FieldError } from '../errors.js';
import type { FieldFacts } from '../spec.js';
import { context } from './context.js';
import { FORM_TYPE, bodyMediaType } from './parse-body.js';

/** Plain decimal notation: the only numeric text a number field accepts. */
const DECIMAL = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** More unknown fields than this: refused at once, the first ones named. */
const MAX_UNKNOWN_FIELDS = 20;
const UNKNOWN = 'must NOT have additional properties';

type Coerced = { value: unknown } | { problem: string };

export function coerceToSpecTypes(fields: ReadonlyMap<string, FieldFacts>): RequestHandler {
  return (req, res, next) => {
    const problems: FieldError[] = [];
    const body: unknown = req.body;
    const ctx = context(res);
    refuseManyUnknownFields(body, ctx.nullFields, fields);
    if (bodyMediaType(res) === FORM_TYPE && typeof body === 'object' && body !== null) {
      const record = body as Record<string, unknown>;
      for (const [field, value] of Object.entries(record)) {
        const facts = fields.get(field);
        if (!facts || typeof value !== 'string') continue; // an unknown field: the validator names it
        if (value === '' && !facts.required) {
          delete record[field];
          continue;
        }
        const result = fromText(value, facts.types);
        if ('problem' in result) {
          problems.push({ field, message: result.problem });
          delete record[field];
        } else {
          record[field] = result.value;
        }
      }
    }
    for (const field of ctx.nullFields ?? []) {
      if (!fields.has(field)) problems.push({ field, message: UNKNOWN });
    }
    ctx.coercionProblems = problems;
    next();
  };
}

function refuseManyUnknownFields(body: unknown, nullFields: string[] | undefined, fields: ReadonlyMap<string, FieldFacts>): void {
  if (typeof body !== 'object' || body === null) return;
  const unknown = [...Object.keys(body), ...(nullFields ?? [])].filter((field) => !fields.has(field));
  if (unknown.length <= MAX_UNKNOWN_FIELDS) return;
  const named = unknown.slice(0, MAX_UNKNOWN_FIELDS).map((field) => ({ field, message: UNKNOWN }));
  throw new GatewayError('invalid_request', `The body has ${unknown.length} fields the operation does not have.`, {
    errors: [...named, { field: 'body', message: `and ${unknown.length - MAX_UNKNOWN_FIELDS} more unknown fields` }],
  });
}

/** The problems coerceToSpecTypes found, for the validator step to report with its own. */
export function coercionProblems(res: Response): FieldError[] {
  return context(res).coercionProblems;
}

/** A form value as its field's type; text stays text for string fields and for the validator. */
function fromText(value: string, types: readonly string[]): Coerced {
  if (types.includes('string') || !(types.includes('integer') || types.includes('number'))) return { value };
  if (value === '') return { value }; // a required number left empty: the validator says "must be integer"
  if (!DECIMAL.test(value)) return Number.isNaN(Number(value)) ? { value } : { problem: 'must be a decimal number' };
  const n = Number(value);
  if (!Number.isFinite(n)) return { problem: 'must be a finite number' };
  if (types.includes('integer') && Number.isInteger(n)) {
    return Number.isSafeInteger(n) ? { value: n } : { problem: `must be an integer between ${-Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}` };
  }
  return types.includes('number') ? { value: n } : { value };
}
