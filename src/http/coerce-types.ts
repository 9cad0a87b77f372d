/**
 * Brings each top-level value to its field's type in the spec before validation. Form values are
 * all strings, and Ajv's own coerceTypes runs too late for `if`/`then` rules: `if` sees the raw
 * "1", not 1, so a cross-field rule on an integer field would silently not apply. Values that do
 * not convert cleanly are left as they are, for the validator to reject.
 */
import type { RequestHandler } from 'express';

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export function coerceToSpecTypes(fieldTypes: ReadonlyMap<string, readonly string[]>): RequestHandler {
  return (req, _res, next) => {
    const body: unknown = req.body;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const record = body as Record<string, unknown>;
      for (const [field, value] of Object.entries(record)) {
        const types = fieldTypes.get(field);
        if (types) record[field] = coerce(value, types);
      }
    }
    next();
  };
}

function coerce(value: unknown, types: readonly string[]): unknown {
  const actual = typeof value === 'number' ? (Number.isInteger(value) ? ['integer', 'number'] : ['number']) : [typeof value];
  if (actual.some((t) => types.includes(t))) return value;
  if (typeof value === 'string' && NUMBER.test(value.trim())) {
    const n = Number(value.trim());
    if (types.includes('integer') && Number.isSafeInteger(n)) return n;
    if (types.includes('number') && Number.isFinite(n)) return n;
  }
  if (types.includes('string') && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  return value;
}
