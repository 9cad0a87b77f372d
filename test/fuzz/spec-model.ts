/**
 * Arbitraries built from the inbound spec itself (generated/gateway.openapi.json), never from a
 * second copy of its rules: each body field's type, enum, length, pattern, range and format become
 * a fast-check arbitrary, and the same request schema compiled with Ajv 2020 (allErrors, no
 * coercion) is the oracle that keeps only bodies the spec accepts, so cross-field rules
 * (dependentRequired, if/then) stay the spec's.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { loadGatewaySpec } from '../../src/spec.js';

// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Schema = Record<string, any>;

export interface FieldModel {
  name: string;
  schema: Schema;
  /** The spec's types, without "null". */
  types: string[];
  required: boolean;
  /** Accepts a value of this field alone (its property schema, no coercion). */
  accepts: (value: unknown) => boolean;
  /** Values the field's own schema accepts. */
  valid: fc.Arbitrary<Json>;
}

export interface OperationModel {
  operationId: string;
  path: string;
  fields: FieldModel[];
  field(name: string): FieldModel;
  /** The whole request schema (cross-field rules included), no coercion. */
  accepts: ValidateFunction;
  /** Body objects the spec accepts: required fields, a few optional ones, filtered by `accepts`. */
  validBody: fc.Arbitrary<Record<string, Json>>;
}

const spec = loadGatewaySpec();
const document = spec.document as Schema;

const ajv = new Ajv2020({ allErrors: true, coerceTypes: false, strict: false });
addFormats(ajv);

/** Inlines every local $ref, so each schema compiles on its own. */
function inline(node: unknown): any {
  if (Array.isArray(node)) return node.map(inline);
  if (typeof node !== 'object' || node === null) return node;
  const record = node as Schema;
  if (typeof record.$ref === 'string') {
    const target = record.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((at: any, part: string) => at?.[part], document);
    return inline(target);
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, inline(v)]));
}

export const credentialFields = spec.credentialFields;

/** The response-content-type header's values, from the spec's parameter. */
export const responseFormats: string[] = inline(document.components.parameters.ResponseContentType).schema.enum;

export const operations: OperationModel[] = spec.operations.map(({ operationId, path }) => {
  const schema = inline(document.paths[path].post.requestBody.content['application/json'].schema) as Schema;
  const required = new Set<string>(schema.required ?? []);
  const fields = Object.entries(schema.properties as Record<string, Schema>).map(([name, property]) => fieldModel(name, property, required.has(name)));
  const accepts = ajv.compile(schema);
  const byName = new Map(fields.map((f) => [f.name, f]));
  return {
    operationId,
    path,
    fields,
    field: (name) => byName.get(name) ?? assertNever(name),
    accepts,
    validBody: bodyArbitrary(fields, accepts),
  };
});

function assertNever(name: string): never {
  throw new Error(`no field ${name}`);
}

export function operation(operationId: string): OperationModel {
  return operations.find((o) => o.operationId === operationId)!;
}

function fieldModel(name: string, schema: Schema, required: boolean): FieldModel {
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t: unknown) => typeof t === 'string' && t !== 'null');
  const check = ajv.compile(schema);
  const accepts = (value: unknown) => check(value);
  const values = valueArbitrary(schema, types).filter(accepts);
  return { name, schema, types, required, accepts, valid: types.includes('string') ? withLengthBounds(values, schema, accepts) : values };
}

/** Also values exactly at minLength and maxLength, stretched or cut from a valid one when the field still accepts it. */
function withLengthBounds(values: fc.Arbitrary<Json>, schema: Schema, accepts: (v: unknown) => boolean): fc.Arbitrary<Json> {
  const sized = (length: number) =>
    values.map((v) => {
      const chars = [...String(v)];
      if (chars.length === 0) return v;
      const candidate = Array.from({ length }, (_, i) => chars[i % chars.length]).join('');
      return accepts(candidate) ? candidate : v;
    });
  const bounds = [schema.minLength, schema.maxLength].filter((n): n is number => typeof n === 'number' && n > 0);
  return bounds.length === 0 ? values : fc.oneof({ weight: 3, arbitrary: values }, ...bounds.map(sized));
}

/** Required fields always, up to six optional ones; the spec's oracle keeps the acceptable bodies. */
function bodyArbitrary(fields: FieldModel[], accepts: ValidateFunction): fc.Arbitrary<Record<string, Json>> {
  const required = fields.filter((f) => f.required);
  const optional = fields.filter((f) => !f.required);
  return fc
    .subarray(optional, { maxLength: Math.min(6, optional.length) })
    .chain((chosen) => fc.record(Object.fromEntries([...required, ...chosen].map((f) => [f.name, f.valid]))))
    .filter((body) => accepts(body) === true) as fc.Arbitrary<Record<string, Json>>;
}

/** Control characters, unicode beyond the BMP, combining marks: what a string field may carry. */
function anyText(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', minLength, maxLength }),
    fc.string({ unit: 'grapheme', minLength, maxLength }),
    // exactly at the bounds
    fc.string({ unit: 'binary', minLength: maxLength, maxLength }),
    fc.string({ unit: 'grapheme-ascii', minLength, maxLength: minLength }),
  );
}

function valueArbitrary(schema: Schema, types: string[]): fc.Arbitrary<Json> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as Json[]).filter((v) => v !== null));
  if (schema.const !== undefined) return fc.constant(schema.const as Json);
  const type = types[0];
  if (type === 'integer' || type === 'number') {
    const min = typeof schema.minimum === 'number' ? schema.minimum : Number.MIN_SAFE_INTEGER;
    const max = typeof schema.maximum === 'number' ? schema.maximum : Number.MAX_SAFE_INTEGER;
    const integers = fc.integer({ min: Math.ceil(Math.max(min, Number.MIN_SAFE_INTEGER)), max: Math.floor(Math.min(max, Number.MAX_SAFE_INTEGER)) });
    const bounds = fc.constantFrom(...[min, max].filter((n) => Number.isSafeInteger(n) || type === 'number'));
    if (type === 'integer') return fc.oneof(integers, bounds);
    return fc.oneof(
      integers,
      bounds,
      fc.double({ min, max: typeof schema.maximum === 'number' ? max : Number.MAX_VALUE, noNaN: true, noDefaultInfinity: true }),
    );
  }
  if (type !== 'string') throw new Error(`no generator for type ${String(type)}`);
  const minLength: number = schema.minLength ?? 0;
  const maxLength: number = schema.maxLength ?? Math.max(minLength, 80);
  if (schema.format === 'date') {
    return fc
      .date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
  }
  if (schema.format === 'email') return fc.emailAddress().filter((e) => e.length >= minLength && e.length <= maxLength);
  if (typeof schema.pattern === 'string') return patternArbitrary(schema.pattern);
  return anyText(minLength, maxLength);
}

/**
 * fast-check generates from a regular expression except lookahead assertions: those are stripped
 * for generation, a positive one's atom (`(?=.*[A-Z])`) is inserted into the result, and the
 * field's own schema then filters by the full pattern.
 */
function patternArbitrary(pattern: string): fc.Arbitrary<string> {
  const lookaheads = [...pattern.matchAll(/\(\?([=!])((?:\\.|[^()\\])*)\)/g)];
  if (lookaheads.length === 0) return fc.stringMatching(new RegExp(pattern, 'u'));
  const stripped = pattern.replace(/\(\?([=!])((?:\\.|[^()\\])*)\)/g, '');
  const atoms = lookaheads.filter((m) => m[1] === '=').map((m) => m[2]!.replace(/^\.\*/, ''));
  const base = fc.stringMatching(new RegExp(stripped, 'u'));
  if (atoms.length === 0) return base;
  // Each required atom replaces one character (the length stays within the pattern's bounds).
  return fc
    .tuple(
      base,
      fc.array(fc.nat(), { minLength: atoms.length, maxLength: atoms.length }),
      fc.tuple(...atoms.map((atom) => fc.stringMatching(new RegExp(`^(?:${atom})$`, 'u')))),
    )
    .map(([text, positions, pieces]) =>
      pieces.reduce((acc, piece, n) => {
        const chars = [...acc];
        chars.splice(positions[n]! % (chars.length + 1), chars.length > 0 ? 1 : 0, piece);
        return chars.join('');
      }, text),
    );
}
