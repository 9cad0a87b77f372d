/**
 * The served spec (generated/gateway.openapi.json) as an independent judge of the gateway's
 * answers: Ajv 2020 over the document itself, never the gateway's own validator or code.
 * A response is checked for: a documented status for its path and method (or, for a request that
 * matches no operation, the spec's routing responses), a documented media type, every required
 * header, and a body that validates against the schema. XML bodies are read into the JSON shape
 * the schema describes, following its `xml` hints (wrapped arrays and their item names), so the
 * same schema judges both formats, as OpenAPI means it to.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { XMLParser } from 'fast-xml-parser';

type Json = Record<string, any>;

export interface ReceivedResponse {
  method: string;
  /** The request path as sent (query included). */
  url: string;
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const SPEC_ID = 'gateway';
export const servedSpec = JSON.parse(readFileSync(new URL('../../generated/gateway.openapi.json', import.meta.url), 'utf8')) as Json;

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
// OpenAPI's numeric formats: checked as the ranges they name.
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
ajv.addFormat('double', { type: 'number', validate: () => true });
ajv.addSchema(servedSpec, SPEC_ID);

const validators = new Map<string, ValidateFunction>();
function validatorAt(pointer: string): ValidateFunction {
  let v = validators.get(pointer);
  if (!v) {
    v = ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
    validators.set(pointer, v);
  }
  return v;
}

const escape = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');
const at = (pointer: string): any =>
  pointer
    .split('/')
    .slice(1)
    .reduce((node: any, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], servedSpec);
/** Follows $refs: the pointer of the object a pointer finally names. */
function deref(pointer: string): string {
  const node = at(pointer);
  return typeof node?.$ref === 'string' ? deref(node.$ref.slice(1)) : pointer;
}

/** Where the spec documents this answer, or why it does not. */
function documented(r: ReceivedResponse): { pointer: string } | { problem: string } {
  const path = r.url.split('?')[0]!;
  // A HEAD is answered as its GET, without the body.
  const method = r.method === 'HEAD' ? 'get' : r.method.toLowerCase();
  const item = servedSpec.paths[path];
  // An operation's own answers, then those given before any operation is matched (an unknown path,
  // another method, a request too slow or too large to be read), which can answer any request.
  const lists = [...(item?.[method] ? [`/paths/${escape(path)}/${method}/responses`] : []), '/x-gateway/routingResponses'];
  const status = String(r.status);
  for (const answers of lists) {
    if (at(`${answers}/${status}`) !== undefined) return { pointer: deref(`${answers}/${status}`) };
    if (at(`${answers}/default`) !== undefined) return { pointer: deref(`${answers}/default`) };
  }
  return { problem: `status ${status} is not documented for ${r.method} ${path}` };
}

/** Mismatches between one answer and the served spec (empty when it conforms). */
export function checkResponse(r: ReceivedResponse): string[] {
  const where = documented(r);
  if ('problem' in where) return [where.problem];
  const response = at(where.pointer);
  const problems: string[] = [];
  for (const name of Object.keys(response.headers ?? {})) {
    const required = at(deref(`${where.pointer}/headers/${escape(name)}`))?.required === true;
    if (required && r.headers[name.toLowerCase()] === undefined) problems.push(`required header ${name} is missing`);
  }
  if (r.method === 'HEAD') return problems;
  const contentType = String(r.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  if (!response.content) return r.body === '' ? problems : [...problems, 'a body where the spec documents none'];
  if (!(contentType in response.content))
    return [...problems, `content type ${contentType || '(none)'} is not documented (${Object.keys(response.content).join(', ')})`];
  const schemaPointer = `${where.pointer}/content/${escape(contentType)}/schema`;
  if (at(schemaPointer) === undefined) return problems;
  let value: unknown;
  try {
    value = /xml/.test(contentType) ? fromXml(r.body, schemaPointer) : contentType === 'text/plain' ? r.body : JSON.parse(r.body);
  } catch (error) {
    return [...problems, `body cannot be read as ${contentType}: ${(error as Error).message}`];
  }
  const validate = validatorAt(schemaPointer);
  if (!validate(value)) problems.push(...(validate.errors ?? []).map((e) => `body${e.instancePath} ${e.message ?? ''} (${e.schemaPath})`));
  return problems;
}

// ---------------------------------------------------------------------------------------------
// XML, read as the schema describes it.

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: () => true });

/** An element as the parser gives it: text, or children by name (each a list, in order). */
type Element = string | { [name: string]: Element[] };

function fromXml(body: string, schemaPointer: string): unknown {
  const document = parser.parse(body, true) as Record<string, Element[]>;
  const roots = Object.keys(document).filter((k) => k !== '?xml');
  if (roots.length !== 1) throw new Error(`expected one root element, got ${roots.join(', ') || 'none'}`);
  const rootName = roots[0]!;
  const expected = xmlName(schemaPointer);
  if (expected !== undefined && expected !== rootName) throw new Error(`root element <${rootName}>, the schema says <${expected}>`);
  return read(document[rootName]![0]!, schemaPointer);
}

/** The schema's parts at a pointer: its own keywords merged with those of its allOf parts. */
function parts(pointer: string): string[] {
  const p = deref(pointer);
  const node = at(p);
  return [p, ...((node?.allOf as unknown[] | undefined) ?? []).flatMap((_, i) => parts(`${p}/allOf/${i}`))];
}

function xmlName(pointer: string): string | undefined {
  for (const p of parts(pointer)) if (at(p)?.xml?.name) return at(p).xml.name as string;
  return undefined;
}

function typesAt(pointer: string): Set<string> {
  const types = new Set<string>();
  for (const p of parts(pointer)) {
    const t = at(p)?.type;
    for (const name of Array.isArray(t) ? t : t ? [t] : []) types.add(name);
    if (at(p)?.properties) types.add('object');
    if (at(p)?.items) types.add('array');
  }
  return types;
}

/** The property's schema pointer, the last allOf part that names it winning (as a refinement). */
function propertyPointer(pointer: string, name: string): string | undefined {
  let found: string | undefined;
  for (const p of parts(pointer)) if (at(p)?.properties?.[name] !== undefined) found = `${p}/properties/${escape(name)}`;
  return found;
}

const isEmpty = (element: Element) => element === '' || (typeof element === 'object' && Object.keys(element).length === 0);

function read(element: Element, pointer: string): unknown {
  const p = deref(pointer);
  const node = at(p);
  const alternatives = (node?.anyOf ?? node?.oneOf) as unknown[] | undefined;
  if (alternatives) {
    // The first alternative the element reads as, by the schema's own judgement.
    const key = node.anyOf ? 'anyOf' : 'oneOf';
    const readings = alternatives.map((_, i) => read(element, `${p}/${key}/${i}`));
    const fits = readings.findIndex((value, i) => validatorAt(`${p}/${key}/${i}`)(value));
    return readings[fits === -1 ? 0 : fits];
  }
  const types = typesAt(p);
  if (isEmpty(element)) {
    if (types.has('null')) return null;
    if (types.has('array')) return [];
    if (types.has('object')) return {};
    return '';
  }
  if (types.has('array') && typeof element === 'object') {
    const items = `${p}/items`;
    const itemName = xmlName(items);
    const children = itemName ? (element[itemName] ?? []) : Object.values(element).flat();
    return children.map((child) => read(child, items));
  }
  if (typeof element === 'object') {
    const value: Record<string, unknown> = {};
    for (const [name, occurrences] of Object.entries(element)) {
      const property = propertyPointer(p, name);
      if (property === undefined) {
        value[name] = occurrences.length === 1 ? occurrences[0] : occurrences;
        continue;
      }
      // An unwrapped array repeats the element; anything else occurs once.
      const propertyTypes = typesAt(property);
      const wrapped = parts(property).some((q) => at(q)?.xml?.wrapped === true);
      value[name] =
        propertyTypes.has('array') && !wrapped && !isEmpty(occurrences[0]!)
          ? occurrences.map((o) => read(o, `${deref(property)}/items`))
          : read(occurrences[0]!, property);
    }
    return value;
  }
  // Text: a number where the schema allows one and the text is one, else the text.
  if ((types.has('integer') && /^-?\d+$/.test(element)) || (types.has('number') && /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(element))) return Number(element);
  return element;
}
