/**
 * Validates a form body against the operation's request schema from galileo.yaml, and turns Ajv's
 * errors into Galileo's: `required`/`dependentRequired` failures are status 1, anything else 2,
 * with one human string per field, in the style of Galileo's
 * "prodId='prodId' is required and cannot be empty".
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { requestSchemaPointer, type GalileoSpec } from './galileo-spec.js';
import { OPERATIONS, type CoercedParams, type FormParams, type OperationName } from './types.js';

interface ValidationResult {
  /** One message per missing field (status 1). */
  missing: string[];
  /** One message per invalid field (status 2). */
  invalid: string[];
  /** Field names with an invalid value, for endpoint-specific checks. */
  invalidFields: Set<string>;
  /** The body coerced to the spec's types (empty values removed). */
  params: CoercedParams;
}

export type OperationValidator = (form: FormParams) => ValidationResult;

// ajv-formats is CommonJS; under NodeNext its default import is the plugin function at runtime.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => void;
const compiled = new WeakMap<GalileoSpec, Record<OperationName, OperationValidator>>();

export function validatorsFor(spec: GalileoSpec): Record<OperationName, OperationValidator> {
  const existing = compiled.get(spec);
  if (existing) return existing;
  // coerceTypes: every form value is a string; strict false: the document carries OpenAPI keywords.
  // verbose: each error carries the schema it came from, so a rule's `then` can name its `if`.
  const ajv = new Ajv2020({ allErrors: true, coerceTypes: true, strict: false, verbose: true });
  addFormats(ajv);
  for (const name of ['int32', 'int64', 'float', 'double']) ajv.addFormat(name, true);
  ajv.addSchema(spec.document, 'galileo.yaml');
  const triggers = ruleTriggers(spec.document);
  const validators = Object.fromEntries(
    OPERATIONS.map((op) => [op, makeValidator(ajv.compile({ $ref: `galileo.yaml${requestSchemaPointer(op)}` }), triggers)]),
  ) as Record<OperationName, OperationValidator>;
  compiled.set(spec, validators);
  return validators;
}

/** Each if/then rule's `then` -> the fields whose presence triggers it (from its `if`). */
type Triggers = WeakMap<object, string[]>;

function ruleTriggers(document: object): Triggers {
  const triggers: Triggers = new WeakMap();
  const requiredOf = (schema: unknown): string[] => {
    const s = schema as { required?: string[]; anyOf?: unknown[] } | undefined;
    return [...(s?.required ?? []), ...(s?.anyOf ?? []).flatMap(requiredOf)];
  };
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    if (typeof record['then'] === 'object' && record['then'] !== null) triggers.set(record['then'], requiredOf(record['if']));
    Object.values(record).forEach(visit);
  };
  visit(document);
  return triggers;
}

function makeValidator(validate: ValidateFunction, triggers: Triggers): OperationValidator {
  return (form) => {
    // An empty form value is no value: Galileo reports a required one as "cannot be empty" (status 1).
    const params: CoercedParams = {};
    for (const [key, value] of Object.entries(form)) if (value !== '') params[key] = value;
    // Two passes: Ajv coerces inside `properties`, which runs after `allOf`/`if` have already looked
    // at the raw strings (so `sharedBalance: "1"` would not match `const: 1`). The second pass sees
    // the coerced values and is the one that counts.
    validate(params);
    validate(params);
    return describe(validate.errors ?? [], params, triggers);
  };
}

function describe(errors: ErrorObject[], params: CoercedParams, triggers: Triggers): ValidationResult {
  const missing = new Map<string, string>();
  const invalid = new Map<string, string>();
  for (const error of errors) {
    if (error.keyword === 'if') continue; // the generic "must match then schema" that accompanies the real error
    if (error.keyword === 'required') {
      const field = String(error.params['missingProperty']);
      // A cross-field rule names what triggered it, as Galileo's messages do.
      const sent = (triggers.get(error.parentSchema as object) ?? []).filter((name) => params[name] !== undefined);
      const when = sent.length > 0 ? ` when ${sent.join(' or ')} is sent` : '';
      if (!missing.has(field)) missing.set(field, `${field}='${field}' is required and cannot be empty${when}`);
    } else {
      const field = fieldOf(error);
      if (!invalid.has(field)) invalid.set(field, `${field}='${field}' is invalid: ${error.message ?? 'invalid value'}`);
    }
  }
  return { missing: [...missing.values()], invalid: [...invalid.values()], invalidFields: new Set(invalid.keys()), params };
}

/** "/prodId" → "prodId"; errors on the whole body name the property Ajv reports. */
function fieldOf(error: ErrorObject): string {
  const first = error.instancePath.split('/')[1];
  if (first) return first.replace(/~1/g, '/').replace(/~0/g, '~');
  const named = error.params['additionalProperty'] ?? error.params['unevaluatedProperty'] ?? error.params['propertyName'];
  return named === undefined ? 'request' : String(named);
}
