/**
 * Brings each top-level value to its field's type in the spec before validation, and refuses the
 * values only a lax coercion would accept.
 * - Form values are all strings, and Ajv's own coerceTypes runs too late for `if`/`then` rules:
 *   `if` sees the raw "1", not 1, so a cross-field rule on an integer field would silently not apply.
 * - Ajv's coercion is laxer than the spec (found by fuzzing, test/fuzz): JSON `true` became 1
 *   (prodId!), "0x1F5" became 501, " " became 0, "Infinity" was forwarded as "null", and integers
 *   beyond 2^53 lost digits on the way to Galileo. Such values are named here and removed, so the
 *   validator does not report them a second time.
 * - An unknown field sent as JSON null is still an unknown field (null = absent holds for the
 *   spec's optional fields only).
 * The problems found are reported together with the validator's (validate.ts).
 */
import type { RequestHandler, Response } from 'express';
import type { FieldError } from '../errors.js';

/** Plain decimal notation: the only numeric text a number field accepts. */
const DECIMAL = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

type Coerced = { value: unknown } | { problem: string };

export function coerceToSpecTypes(fieldTypes: ReadonlyMap<string, readonly string[]>): RequestHandler {
  return (req, res, next) => {
    const problems: FieldError[] = [];
    const body: unknown = req.body;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const record = body as Record<string, unknown>;
      for (const [field, value] of Object.entries(record)) {
        const types = fieldTypes.get(field);
        if (!types) continue; // an unknown field: the validator names it
        const result = coerce(value, types);
        if ('problem' in result) {
          problems.push({ field, message: result.problem });
          delete record[field];
        } else {
          record[field] = result.value;
        }
      }
    }
    const nullFields = (res.locals.nullFields as string[] | undefined) ?? [];
    for (const field of nullFields) {
      if (!fieldTypes.has(field)) problems.push({ field, message: 'must NOT have additional properties' });
    }
    res.locals.coercionProblems = problems;
    next();
  };
}

/** The problems coerceToSpecTypes found, for the validator step to report with its own. */
export function coercionProblems(res: Response): FieldError[] {
  return (res.locals.coercionProblems as FieldError[] | undefined) ?? [];
}

function coerce(value: unknown, types: readonly string[]): Coerced {
  const numeric = types.includes('integer') || types.includes('number');
  const expected = types.filter((t) => t !== 'null').join(' or ');
  const unsafe = `must be an integer between ${-Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`;

  if (typeof value === 'boolean') {
    if (types.includes('string')) return { value: String(value) };
    return numeric ? { problem: `must be ${expected}, not a boolean` } : { value };
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { problem: 'must be a finite number' };
    if (types.includes('integer') && Number.isInteger(value) && !Number.isSafeInteger(value)) return { problem: unsafe };
    if (!numeric && types.includes('string')) return { value: String(value) };
    return { value };
  }
  if (typeof value === 'string' && numeric && !types.includes('string')) {
    // "" stays for the validator (a nullable field: null, i.e. absent; else "must be integer").
    if (value === '') return { value };
    if (!DECIMAL.test(value)) return Number.isNaN(Number(value)) ? { value } : { problem: 'must be a decimal number' };
    const n = Number(value);
    if (!Number.isFinite(n)) return { problem: 'must be a finite number' };
    if (types.includes('integer') && Number.isInteger(n)) return Number.isSafeInteger(n) ? { value: n } : { problem: unsafe };
    if (types.includes('number')) return { value: n };
  }
  return { value };
}
