/**
 * The inbound spec (generated/gateway.openapi.json, derived from openapi/galileo.yaml by
 * `npm run generate`) and the facts code reads from it, so no rule of the spec is restated in src/.
 */
import { readFileSync } from 'node:fs';

interface GatewayOperation {
  operationId: string;
  path: string;
  /** x-read: forwarded every time, never claimed or replayed. */
  read: boolean;
}

/** The operation that looks up an earlier call's outcome (x-outcome-lookup), and its fields naming that call. */
export interface OutcomeLookup {
  operationId: string;
  transactionIdField: string;
  methodNameField: string;
}

interface StatusCodeInfo {
  code: string | number;
  description: string;
  changesState: boolean;
  /** Galileo's answer to a transactionId that already succeeded (24). */
  duplicateTransaction?: boolean;
}

export interface GatewaySpec {
  document: Record<string, unknown>;
  operations: GatewayOperation[];
  /** Body fields callers must never send (the Credentials component). */
  credentialFields: string[];
  /** Response fields holding card data (x-pci), never stored for replay. */
  pciFields: string[];
  /** Keys never logged: what the spec marks x-sensitive, x-account-number or x-pci, credentials, x-sensitive-keys. */
  sensitiveKeys: string[];
  /** The lookup of an earlier call's outcome, when the spec has one: lost answers are resolved with it. */
  outcomeLookup: OutcomeLookup | undefined;
  /** Global status codes meaning "this transactionId already succeeded" (x-galileo-global-status-codes duplicateTransaction). */
  duplicateCodes: ReadonlySet<string>;
  /** Galileo status codes after which the call changed state at Galileo, per operation. */
  stateChangingCodes(operationId: string): ReadonlySet<string>;
  /** Each request field's JSON types and whether it is required, per operation (from its request schema). */
  fields(operationId: string): ReadonlyMap<string, FieldFacts>;
}

export interface FieldFacts {
  types: readonly string[];
  required: boolean;
}

interface GatewayExtensions {
  credentialFields: string[];
  pciFields: string[];
  sensitiveKeys: string[];
  globalStatusCodes: StatusCodeInfo[];
}

const SPEC_URL = new URL('../generated/gateway.openapi.json', import.meta.url);

export function loadGatewaySpec(): GatewaySpec {
  return gatewaySpecFrom(JSON.parse(readFileSync(SPEC_URL, 'utf8')) as Record<string, unknown>);
}

/** The facts of a gateway spec document (npm run generate reads them from the document it derives). */
export function gatewaySpecFrom(document: Record<string, unknown>): GatewaySpec {
  const ext = document['x-gateway'] as GatewayExtensions;
  const paths = document.paths as Record<string, Record<string, OperationObject>>;
  const schemas = (document.components as { schemas: Record<string, RequestSchema> }).schemas;

  const operations: GatewayOperation[] = [];
  let outcomeLookup: OutcomeLookup | undefined;
  const changing = new Map<string, Set<string>>();
  const fields = new Map<string, Map<string, FieldFacts>>();
  const globalChanging = ext.globalStatusCodes.filter((c) => c.changesState).map((c) => String(c.code));
  for (const [path, item] of Object.entries(paths)) {
    const post = item.post;
    if (!post?.operationId || !post['x-galileo-status-codes']) continue; // ops endpoints
    operations.push({ operationId: post.operationId, path, read: post['x-read'] === true });
    const lookup = post['x-outcome-lookup'];
    if (lookup) outcomeLookup = { operationId: post.operationId, ...lookup };
    const own = post['x-galileo-status-codes'].filter((c) => c.changesState).map((c) => String(c.code));
    changing.set(post.operationId, new Set([...globalChanging, ...own]));
    const ref = post.requestBody?.content['application/json']?.schema.$ref ?? '';
    const request = schemas[ref.split('/').pop() ?? ''];
    const required = new Set(request?.required ?? []);
    fields.set(
      post.operationId,
      new Map(Object.entries(request?.properties ?? {}).map(([field, schema]) => [field, { types: typesOf(schema, schemas), required: required.has(field) }])),
    );
  }

  return {
    document,
    operations,
    credentialFields: ext.credentialFields,
    pciFields: ext.pciFields,
    sensitiveKeys: ext.sensitiveKeys,
    outcomeLookup,
    duplicateCodes: new Set(ext.globalStatusCodes.filter((c) => c.duplicateTransaction).map((c) => String(c.code))),
    stateChangingCodes: (operationId) => changing.get(operationId) ?? new Set(globalChanging),
    fields: (operationId) => fields.get(operationId) ?? new Map(),
  };
}

interface PropertySchema {
  type?: string | string[];
  $ref?: string;
}

interface RequestSchema {
  properties?: Record<string, PropertySchema>;
  required?: string[];
  type?: string | string[];
}

interface OperationObject {
  operationId?: string;
  'x-galileo-status-codes'?: StatusCodeInfo[];
  'x-read'?: boolean;
  'x-outcome-lookup'?: { transactionIdField: string; methodNameField: string };
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
}

function typesOf(schema: PropertySchema, schemas: Record<string, RequestSchema>): string[] {
  const resolved = schema.$ref ? (schemas[schema.$ref.split('/').pop() ?? ''] ?? {}) : schema;
  const type = resolved.type;
  return type === undefined ? [] : Array.isArray(type) ? type : [type];
}
