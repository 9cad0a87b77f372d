/**
 * Derives the gateway's inbound spec from Galileo's (openapi/galileo.yaml): the same operations
 * under the same paths, minus the credentials (the gateway adds them), with JSON bodies as well
 * as forms, unknown fields refused, bearer security, problem responses and the ops endpoints.
 * Facts the gateway's code reads (credential fields, PCI fields, status codes) are carried in
 * `x-gateway` so that nothing in src/ restates them.
 */
import { PROBLEMS } from '../src/errors.js';

type Json = Record<string, any>;

/** HTTP status -> the gateway's problem codes answered with it (from src/errors.ts, the one list). */
const PROBLEM_RESPONSES: Record<string, string> = {};
for (const [code, { status }] of Object.entries(PROBLEMS)) {
  if (status === 404) continue; // not an operation's answer: no such operation
  const key = String(status);
  PROBLEM_RESPONSES[key] = PROBLEM_RESPONSES[key] ? `${PROBLEM_RESPONSES[key]} or ${code}` : code;
}

export function deriveGatewaySpec(galileo: Json, version: string): Json {
  const schemas: Json = structuredClone(galileo.components.schemas);
  const credentialsSchema = schemas.Credentials;
  delete schemas.Credentials;
  const credentialFields = Object.keys(credentialsSchema.properties);
  const basePath = new URL(galileo.servers[0].url).pathname.replace(/\/$/, '');

  const paths: Json = {};
  for (const [path, item] of Object.entries<Json>(galileo.paths)) {
    const op = item.post;
    const form = op.requestBody.content['application/x-www-form-urlencoded'];
    const requestRef: string = form.schema.allOf.map((s: Json) => s.$ref).find((ref: string) => ref !== '#/components/schemas/Credentials');
    const requestName = requestRef.split('/').pop()!;
    // Unknown fields are refused; safe here because the component lists every field itself.
    schemas[requestName] = { ...schemas[requestName], additionalProperties: false };
    const examples = Object.fromEntries(
      Object.entries<Json>(form.examples ?? {}).map(([name, ex]) => [name, { ...ex, value: withoutKeys(ex.value, credentialFields) }]),
    );
    paths[`${basePath}${path}`] = {
      post: {
        operationId: op.operationId,
        summary: op.summary,
        description: `${op.description ?? ''}\n\nForwarded to Galileo with the gateway's credentials. Idempotent on transactionId.`.trim(),
        tags: op.tags,
        security: [{ bearerAuth: [] }],
        parameters: op.parameters,
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: { $ref: requestRef }, examples },
            'application/x-www-form-urlencoded': { schema: { $ref: requestRef } },
          },
        },
        responses: {
          '200': {
            ...op.responses['200'],
            description: `${op.responses['200'].description} Galileo's status, content type and body are passed through; a replay carries Idempotent-Replayed: true.`,
          },
          ...Object.fromEntries(Object.keys(PROBLEM_RESPONSES).map((status) => [status, { $ref: `#/components/responses/Problem${status}` }])),
        },
        'x-galileo-status-codes': op['x-galileo-status-codes'],
      },
    };
  }

  const opsGet = (operationId: string, summary: string, content: Json) => ({ get: { operationId, summary, security: [], tags: ['ops'], responses: content } });
  paths['/healthz'] = opsGet('healthz', 'Liveness: the process is up', { '200': { description: 'alive', content: { 'application/json': { schema: { type: 'object' } } } } });
  paths['/readyz'] = opsGet('readyz', 'Readiness: the idempotency store and configuration are usable', {
    '200': { description: 'ready', content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } } },
    '503': { description: 'not ready', content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } } },
  });
  paths['/metrics'] = opsGet('metrics', 'Prometheus metrics', { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } });
  paths['/openapi.json'] = opsGet('openapi', 'This document', { '200': { description: 'the inbound spec', content: { 'application/json': { schema: { type: 'object' } } } } });

  const responses = Object.fromEntries(
    Object.entries(PROBLEM_RESPONSES).map(([status, codes]) => [
      `Problem${status}`,
      { description: `Gateway problem: ${codes}`, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    ]),
  );

  return {
    openapi: '3.1.0',
    info: {
      title: 'Galileo gateway',
      version,
      description: `Generated from openapi/galileo.yaml by npm run generate: do not edit.\n\n${galileo.info.description ?? ''}`.trim(),
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      parameters: galileo.components.parameters,
      schemas: { ...schemas, ...GATEWAY_SCHEMAS },
      responses,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A key issued to the calling service; the gateway stores only its SHA-256.' } },
    },
    'x-gateway': {
      credentialFields,
      pciFields: collectMarked(galileo, 'x-pci'),
      globalStatusCodes: galileo['x-galileo-global-status-codes'],
    },
  };
}

const GATEWAY_SCHEMAS: Json = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details',
    required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { type: 'string' },
      requestId: { type: 'string' },
      errors: { type: 'array', items: { $ref: '#/components/schemas/FieldError' } },
    },
  },
  FieldError: {
    type: 'object',
    required: ['field', 'message'],
    properties: { field: { type: 'string', description: 'the field as the caller sent it' }, message: { type: 'string' } },
  },
  Readiness: {
    type: 'object',
    required: ['status', 'checks'],
    properties: { status: { type: 'string' }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
  },
};

function withoutKeys(value: unknown, keys: string[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));
}

/** Property names whose schema carries `marker: true`, anywhere in the document. */
function collectMarked(doc: Json, marker: string): string[] {
  const found = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const props = (node as Json).properties;
    if (props && typeof props === 'object') {
      for (const [name, schema] of Object.entries<Json>(props)) if (schema?.[marker] === true) found.add(name);
    }
    Object.values(node).forEach(visit);
  };
  visit(doc);
  return [...found].sort();
}
