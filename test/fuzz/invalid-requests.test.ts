/**
 * Property: a valid request with one thing broken (each broken thing derived from the spec's
 * constraints: a length one past a bound, a pattern, an enum, a range, a wrong type, a missing
 * required field, an unknown field, a credential; plus what the gateway refuses beyond the
 * schema: duplicate keys, lone surrogates, `__proto__`, lax numerals) is a 400 problem+json
 * naming the broken field, and nothing reaches Galileo.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FUZZ_RUNS,
  Tripwire,
  assertProblem,
  closeClient,
  fuzzParams,
  post,
  propertyTimeout,
  startTarget,
  uniqueTransactionId,
  type Target,
} from './fuzz-harness.js';
import { credentialFields, operations, type FieldModel, type Json, type OperationModel } from './spec-model.js';

interface Case {
  kind: string;
  /** The field the problem must name. */
  field: string;
  code: 'invalid_request' | 'credentials_not_accepted';
  bytes: string;
  contentType: string;
  /** The typed body, when the spec's own schema can judge it (it must reject it). */
  typed?: Record<string, unknown>;
}

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

const asForm = (entries: Array<[string, unknown]>) => new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString();

/** A case as JSON and, when every value is a string or number, as a form too. */
function both(
  kind: string,
  field: string,
  body: Record<string, unknown>,
  options: { code?: Case['code']; judge?: boolean; jsonOnly?: boolean } = {},
): fc.Arbitrary<Case> {
  const code = options.code ?? 'invalid_request';
  const typed = options.judge === false ? undefined : body;
  const json: Case = { kind: `${kind} (json)`, field, code, bytes: JSON.stringify(body), contentType: JSON_TYPE, typed };
  const formable = Object.values(body).every((v) => typeof v === 'string' || typeof v === 'number');
  if (!formable || options.jsonOnly) return fc.constant(json);
  const form: Case = { kind: `${kind} (form)`, field, code, bytes: asForm(Object.entries(body)), contentType: FORM_TYPE, typed: undefined };
  return fc.constantFrom(json, form);
}

const deepNesting = (depth: number): Json => {
  let value: Json = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

const wrongTypes: fc.Arbitrary<Json> = fc.oneof(
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.constant(deepNesting(2000)),
  fc.constant(Array.from({ length: 5000 }, (_, i) => i) as Json),
) as fc.Arbitrary<Json>;

/** Numerals that must not pass as numbers (Ajv alone would coerce most of them). */
const laxNumerals = (integer: boolean) =>
  fc.oneof(
    fc.constantFrom('0x1F5', '0b101', '0o7', 'Infinity', '-Infinity', 'NaN', ' ', '\t', '1e400', '1_000', '١٢٣', '５０１', '+-1', '--1', 'true'),
    ...(integer ? [fc.constantFrom('12345678901234567891', '-9007199254740993', '1e300')] : []),
    fc.string({ minLength: 1, maxLength: 12 }).filter((s) => Number.isNaN(Number(s))),
  );

const cycle = (seed: string, length: number) => {
  const chars = [...(seed === '' ? 'a' : seed)];
  return Array.from({ length }, (_, i) => chars[i % chars.length]).join('');
};

/** Everything that can break one field, from the field's own schema. */
function fieldBreakers(body: Record<string, Json>, f: FieldModel): Array<fc.Arbitrary<Case>> {
  const s = f.schema;
  const withValue = (value: unknown) => ({ ...body, [f.name]: value });
  const out: Array<fc.Arbitrary<Case>> = [];
  const numeric = f.types.includes('integer') || f.types.includes('number');
  const rejected = <T>(arb: fc.Arbitrary<T>) => arb.filter((v) => !f.accepts(v));
  // In a form an empty optional value is absent (the form's null), so it breaks nothing there.
  const formBreaks = (v: unknown) => ({ jsonOnly: v === '' && !f.required });

  if (f.types.includes('string')) {
    if (typeof s.maxLength === 'number') out.push(f.valid.chain((v) => both(`${f.name} of maxLength+1`, f.name, withValue(cycle(String(v), s.maxLength + 1)))));
    if (typeof s.minLength === 'number' && s.minLength > 0) {
      out.push(
        f.valid
          .map((v) => [...String(v)].slice(0, s.minLength - 1).join(''))
          .chain((short) => both(`${f.name} of minLength-1`, f.name, withValue(short), formBreaks(short))),
      );
    }
    if (typeof s.pattern === 'string')
      out.push(rejected(fc.string({ unit: 'binary', maxLength: 30 })).chain((v) => both(`${f.name} off its pattern`, f.name, withValue(v), formBreaks(v))));
    if (Array.isArray(s.enum))
      out.push(rejected(fc.string({ maxLength: 8 })).chain((v) => both(`${f.name} outside its enum`, f.name, withValue(v), formBreaks(v))));
    // A lone surrogate is valid JSON text but not Unicode: refused by the gateway, not the schema.
    out.push(f.valid.chain((v) => both(`${f.name} with a lone surrogate`, f.name, withValue(`${String(v)}\ud800`), { judge: false, jsonOnly: true })));
  }
  if (numeric) {
    const integer = !f.types.includes('number');
    if (typeof s.minimum === 'number') out.push(both(`${f.name} below its minimum`, f.name, withValue(s.minimum - 1)));
    if (typeof s.maximum === 'number') out.push(both(`${f.name} above its maximum`, f.name, withValue(s.maximum + 1)));
    if (integer)
      out.push(
        rejected(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 })).chain((v) => both(`${f.name} not an integer`, f.name, withValue(v))),
      );
    if (Array.isArray(s.enum)) out.push(rejected(fc.integer({ min: -1000, max: 1000 })).chain((v) => both(`${f.name} outside its enum`, f.name, withValue(v))));
    out.push(fc.boolean().chain((v) => both(`${f.name} as a boolean`, f.name, withValue(v))));
    out.push(laxNumerals(integer).chain((v) => both(`${f.name} as the lax numeral ${JSON.stringify(v)}`, f.name, withValue(v), { judge: false })));
  }
  out.push(wrongTypes.chain((v) => both(`${f.name} of a wrong type`, f.name, withValue(v))));
  if (f.required) {
    const { [f.name]: _gone, ...rest } = body;
    out.push(both(`${f.name} missing`, f.name, rest));
  }
  // An integer literal no double holds exactly (JSON.parse would change it), as raw JSON text.
  const { [f.name]: _replaced, ...others } = body;
  out.push(
    fc
      .bigInt({ min: 2n ** 53n + 1n, max: 10n ** 30n })
      .filter((b) => BigInt(Number(b)) !== b)
      .map((b) => ({
        kind: `${f.name} as the inexact integer ${b}`,
        field: f.name,
        code: 'invalid_request' as const,
        bytes: withRawMember(others, f.name, String(b)),
        contentType: JSON_TYPE,
      })),
  );
  // The same member twice: JSON as raw text, a form as a repeated key.
  const value = body[f.name];
  if (value !== undefined) {
    const first = JSON.stringify({ ...body, [f.name]: value });
    out.push(
      fc.constantFrom<Case>(
        {
          kind: `${f.name} twice (json)`,
          field: f.name,
          code: 'invalid_request',
          bytes: `${first.slice(0, -1)},${JSON.stringify(f.name)}:${JSON.stringify(value)}}`,
          contentType: JSON_TYPE,
        },
        {
          kind: `${f.name} twice (form)`,
          field: f.name,
          code: 'invalid_request',
          bytes: `${asForm(Object.entries(body))}&${asForm([[f.name, value]])}`,
          contentType: FORM_TYPE,
        },
      ),
    );
  }
  return out;
}

function withRawMember(body: Record<string, unknown>, name: string, raw: string): string {
  const open = JSON.stringify(body).slice(0, -1);
  return `${open}${open === '{' ? '' : ','}${JSON.stringify(name)}:${raw}}`;
}

const PROTOTYPE_KEYS = ['constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', '__lookupSetter__', 'then'];

function bodyBreakers(op: OperationModel, body: Record<string, Json>): Array<fc.Arbitrary<Case>> {
  const known = new Set(op.fields.map((f) => f.name));
  const unknownKey = fc.oneof(
    fc.constantFrom(...PROTOTYPE_KEYS),
    fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !known.has(k) && !credentialFields.includes(k) && k !== '__proto__' && k.trim() === k),
  );
  const open = JSON.stringify(body).slice(0, -1);
  return [
    fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 1 })).chain(([key, value]) => both(`unknown field ${JSON.stringify(key)}`, key, { ...body, [key]: value })),
    fc
      .tuple(fc.constantFrom(...credentialFields), fc.oneof(fc.string(), fc.integer()))
      .chain(([key, value]) => both(`credential ${key}`, key, { ...body, [key]: value }, { code: 'credentials_not_accepted', judge: false })),
    fc.constantFrom<Case>(
      {
        kind: '__proto__ member (json)',
        field: '__proto__',
        code: 'invalid_request',
        bytes: `${open},"__proto__":{"polluted":"yes"}}`,
        contentType: JSON_TYPE,
      },
      {
        kind: 'constructor.prototype member (json)',
        field: '__proto__',
        code: 'invalid_request',
        bytes: `${open},"constructor":{"prototype":{"polluted":"yes"}}}`,
        contentType: JSON_TYPE,
      },
      {
        kind: '__proto__ key (form)',
        field: '__proto__',
        code: 'invalid_request',
        bytes: `${asForm(Object.entries(body))}&__proto__=yes`,
        contentType: FORM_TYPE,
      },
      {
        kind: 'escaped __proto__ key (form)',
        field: '__proto__',
        code: 'invalid_request',
        bytes: `${asForm(Object.entries(body))}&%5F%5Fproto%5F%5F=yes`,
        contentType: FORM_TYPE,
      },
      {
        kind: '__proto__[polluted] key (form)',
        field: '__proto__[polluted]',
        code: 'invalid_request',
        bytes: `${asForm(Object.entries(body))}&__proto__[polluted]=yes`,
        contentType: FORM_TYPE,
      },
      {
        kind: 'constructor[prototype][polluted] key (form)',
        field: 'constructor[prototype][polluted]',
        code: 'invalid_request',
        bytes: `${asForm(Object.entries(body))}&constructor[prototype][polluted]=yes`,
        contentType: FORM_TYPE,
      },
    ),
  ];
}

describe('fuzz: invalid requests are refused, named, and never forwarded', function () {
  this.timeout(propertyTimeout());
  let target: Target;
  let tripwire: Tripwire;
  before(async () => {
    target = await startTarget();
    tripwire = new Tripwire(() => target.gw);
  });
  after(async () => {
    tripwire.dispose();
    closeClient();
    await target.close();
  });

  for (const op of operations) {
    it(`${op.operationId}: ${FUZZ_RUNS} valid bodies with one thing broken`, async () => {
      const cases = op.validBody.chain((generated) => {
        const body = { ...generated, transactionId: uniqueTransactionId(String(generated.transactionId)) };
        return fc.oneof(...op.fields.flatMap((f) => fieldBreakers(body, f)), ...bodyBreakers(op, body));
      });
      await fc.assert(
        fc.asyncProperty(cases, async (c) => {
          const context = `${op.operationId}: ${c.kind}: ${c.bytes.slice(0, 300)}`;
          // The spec itself must reject what it can judge: a mutation that stayed valid is no case.
          if (c.typed) fc.pre(op.accepts(c.typed) === false);
          const mark = target.mark();
          const reply = await post(target.gw.url, op.path, c.bytes, { 'content-type': c.contentType });
          const problem = assertProblem(reply, [400], context);
          assert.equal(problem.code, c.code, context);
          const named = problem.errors!.map((e) => e.field);
          assert.ok(named.includes(c.field), `${context}: ${c.field} not named in ${JSON.stringify(problem.errors)}`);
          assert.equal(target.forwardedSince(mark).length, 0, `${context}: reached Galileo`);
          tripwire.check(context);
        }),
        fuzzParams(),
      );
    });
  }
});
