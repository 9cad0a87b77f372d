/**
 * Reads openapi/galileo.yaml, the single source of the request schemas and the status-code texts.
 * The simulator never restates a status description or a field rule: it takes them from here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { OPERATIONS, type OperationName, type StatusCode } from './types.js';

export interface StatusInfo {
  /** The spec's description, used verbatim (minus a trailing period) as the envelope's `status`. */
  text: string;
  /** True when Galileo changed state: the transactionId is then consumed (24 on reuse). */
  changesState: boolean;
}

export interface GalileoSpec {
  path: string;
  document: Record<string, unknown>;
  globalCodes: Map<string, StatusInfo>;
  operationCodes: Record<OperationName, Map<string, StatusInfo>>;
  /** Per operation: wrapped array element -> its items' element name in XML (errors -> error, ...). */
  xmlItemNames: Record<OperationName, ReadonlyMap<string, string>>;
  /** The same for the bare envelope (an answer for no known operation). */
  envelopeXmlItemNames: ReadonlyMap<string, string>;
}

const cache = new Map<string, GalileoSpec>();

/** Finds openapi/galileo.yaml walking up from this file (works from src/ under tsx and from dist/). */
function findSpecPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'openapi', 'galileo.yaml');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('simulator: openapi/galileo.yaml not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function loadSpec(specPath?: string): GalileoSpec {
  const path = resolve(specPath ?? findSpecPath());
  const cached = cache.get(path);
  if (cached) return cached;
  const document = YAML.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const spec: GalileoSpec = {
    path,
    document,
    globalCodes: readCodes(document['x-galileo-global-status-codes'], 'x-galileo-global-status-codes'),
    operationCodes: Object.fromEntries(
      OPERATIONS.map((op) => [op, readCodes(operationObject(document, op)['x-galileo-status-codes'], `${op} x-galileo-status-codes`)]),
    ) as Record<OperationName, Map<string, StatusInfo>>,
    xmlItemNames: Object.fromEntries(OPERATIONS.map((op) => [op, xmlItemNames(document, answerSchema(document, op))])) as Record<
      OperationName,
      Map<string, string>
    >,
    envelopeXmlItemNames: xmlItemNames(document, { $ref: '#/components/schemas/Envelope' }),
  };
  cache.set(path, spec);
  return spec;
}

/** JSON pointer (for Ajv) of the operation's form-body schema: allOf [Credentials, <Op>Request]. */
export function requestSchemaPointer(op: OperationName): string {
  return `#/paths/~1${op}/post/requestBody/content/application~1x-www-form-urlencoded/schema`;
}

/** The operation's own code first (407-xx, and createAccount's own 48), then the global list. */
export function statusInfo(spec: GalileoSpec, op: OperationName | undefined, code: StatusCode): StatusInfo | undefined {
  const key = String(code);
  return (op ? spec.operationCodes[op].get(key) : undefined) ?? spec.globalCodes.get(key);
}

/** Success for Galileo's duplicate detection: 0 or a code the spec marks changesState. */
export function isConsumingCode(spec: GalileoSpec, op: OperationName | undefined, code: StatusCode): boolean {
  return statusInfo(spec, op, code)?.changesState === true;
}

function operationObject(document: Record<string, unknown>, op: OperationName): Record<string, unknown> {
  const paths = document['paths'] as Record<string, Record<string, unknown>> | undefined;
  const post = paths?.[`/${op}`]?.['post'] as Record<string, unknown> | undefined;
  if (!post) throw new Error(`simulator: openapi/galileo.yaml has no POST /${op}`);
  return post;
}

function readCodes(list: unknown, where: string): Map<string, StatusInfo> {
  if (!Array.isArray(list)) throw new Error(`simulator: openapi/galileo.yaml: ${where} is not a list`);
  const codes = new Map<string, StatusInfo>();
  for (const entry of list as Array<Record<string, unknown>>) {
    if (typeof entry['status'] !== 'string') throw new Error(`simulator: openapi/galileo.yaml: ${where}: code ${String(entry['code'])} has no status text`);
    codes.set(String(entry['code']), { text: entry['status'], changesState: entry['changesState'] === true });
  }
  return codes;
}

type Schema = Record<string, unknown>;

/**
 * Reads the XML names of the operation's answer from its response schema: a wrapped array is an
 * element whose children are named by `items.xml.name` (errors -> error, response_data ->
 * new_account, cip -> aps). Other arrays repeat the element itself (OpenAPI's default).
 */
function xmlItemNames(document: Schema, root: unknown): Map<string, string> {
  const names = new Map<string, string>();
  const resolve = (node: unknown): Schema | undefined => {
    if (typeof node !== 'object' || node === null) return undefined;
    const ref = (node as Schema)['$ref'];
    if (typeof ref !== 'string') return node as Schema;
    return resolve(
      ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((at, part) => (at as Schema | undefined)?.[part], document),
    );
  };
  const seen = new Set<Schema>();
  const visit = (node: unknown, name: string): void => {
    const schema = resolve(node);
    if (!schema || seen.has(schema)) return;
    seen.add(schema);
    for (const key of ['allOf', 'anyOf', 'oneOf']) for (const part of (schema[key] as unknown[] | undefined) ?? []) visit(part, name);
    for (const [child, childSchema] of Object.entries((schema['properties'] as Schema | undefined) ?? {})) visit(childSchema, child);
    const items = resolve(schema['items']);
    if (items) {
      const itemName = (items['xml'] as { name?: string } | undefined)?.name;
      if ((schema['xml'] as { wrapped?: boolean } | undefined)?.wrapped && itemName) names.set(name, itemName);
      visit(items, itemName ?? name);
    }
  };
  visit(root, 'response');
  return names;
}

function answerSchema(document: Schema, op: OperationName): unknown {
  const answer = (operationObject(document, op)['responses'] as Schema)['200'] as Schema;
  return ((answer['content'] as Schema)['application/xml'] as Schema)['schema'];
}
