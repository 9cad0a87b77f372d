/**
 * Derives the gateway's inbound spec (served at GET /openapi.json, the callers' contract) from
 * Galileo's (openapi/galileo.yaml): the same operations under the same paths, minus the
 * credentials (the gateway adds them), with JSON bodies as well as forms, unknown fields refused,
 * bearer security, the problem responses that can occur, the response headers, and the ops
 * endpoints. Facts the gateway's code reads (credential fields, PCI and sensitive fields, status
 * codes) are carried in `x-gateway` so that nothing in src/ restates them.
 */
import { PROBLEMS, type ProblemCode } from '../src/errors.js';

type Json = Record<string, any>;

const HEADER_COMPONENTS: Record<string, string> = {
  'www-authenticate': 'WWW-Authenticate',
  'retry-after': 'Retry-After',
  'ratelimit-policy': 'RateLimit-Policy',
  ratelimit: 'RateLimit',
  allow: 'Allow',
};

/**
 * HTTP status -> the problem codes answered with it (from src/errors.ts, the one list): those an
 * operation can answer, or the routing ones (unknown path, other method), never on an operation.
 */
function problemsByStatus(routing: boolean): Map<number, ProblemCode[]> {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const [code, info] of Object.entries(PROBLEMS) as Array<[ProblemCode, (typeof PROBLEMS)[ProblemCode]]>) {
    if ('routing' in info !== routing) continue;
    byStatus.set(info.status, [...(byStatus.get(info.status) ?? []), code]);
  }
  return byStatus;
}

const DESCRIPTION = `The gateway in front of four operations of Galileo's Program API (three that act, and getCallStatus,
a read). Internal services call it
instead of Galileo: same paths, same field names, same response envelope, but no Galileo
credentials (the gateway adds them; a body that carries \`apiLogin\`, \`apiTransKey\` or
\`providerId\` is refused with \`credentials_not_accepted\`).

**Authentication.** \`Authorization: Bearer <key>\`, checked before the body is read.

**Bodies.** \`application/json\` or \`application/x-www-form-urlencoded\`. JSON values must have the
types this document gives (\`"prodId": 501\`, not \`"501"\`). In a form every value is text and is
read as the field's type. An optional field sent as JSON \`null\`, or as an empty form value, is
the same as the field left out: it is not forwarded, and every rule (including the if/then rules)
treats it as absent. Unknown fields are refused.

**Idempotency.** \`transactionId\` is the idempotency key: the same request again is answered from
the first call's outcome (replayed with \`Idempotent-Replayed: true\`, or 409 while it is still in
progress); another request under a used \`transactionId\` is a 422.

**Answers.** Galileo's answers (its envelope, HTTP 200, for a success and for a business error
alike) are passed through unchanged. Everything the gateway answers itself is an RFC 9457
\`application/problem+json\` document with a stable \`code\`. Every response carries
\`x-request-id\`. A path that is not listed here answers 404 \`not_found\`; another method on a listed
path answers 405 \`method_not_allowed\` with \`Allow: POST\`; a request whose headers or body do not
arrive in time answers 408 \`request_timeout\`, and headers over the server's limit 431
\`headers_too_large\` (all four listed under \`x-gateway.routingResponses\`). An answer given before
the body was read closes the connection.`;

export function deriveGatewaySpec(galileo: Json, version: string): Json {
  const schemas: Json = withoutDefaults(structuredClone(galileo.components.schemas));
  const credentialsSchema = schemas.Credentials;
  delete schemas.Credentials;
  const credentialFields = Object.keys(credentialsSchema.properties);
  const basePath = new URL(galileo.servers[0].url).pathname.replace(/\/$/, '');
  const problems = problemsByStatus(false);
  const routingProblems = problemsByStatus(true);

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
    const galileoAnswer = op.responses['200'];
    paths[`${basePath}${path}`] = {
      post: {
        operationId: op.operationId,
        summary: op.summary,
        description: `${op.description ?? ''}\n\nForwarded to Galileo with the gateway's credentials. ${
          op['x-read'] ? 'A read: forwarded every time, never claimed or replayed.' : 'Idempotent on transactionId.'
        }`.trim(),
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
            ...galileoAnswer,
            description: `${galileoAnswer.description.trim()} Galileo's status, content type and body are passed through; a replay carries Idempotent-Replayed: true.`,
            headers: {
              'x-request-id': { $ref: '#/components/headers/XRequestId' },
              'Idempotent-Replayed': { $ref: '#/components/headers/IdempotentReplayed' },
            },
          },
          ...Object.fromEntries([...problems.keys()].map((status) => [String(status), { $ref: `#/components/responses/Problem${status}` }])),
        },
        'x-galileo-status-codes': op['x-galileo-status-codes'],
        ...(op['x-read'] && { 'x-read': true }),
        ...(op['x-outcome-lookup'] && { 'x-outcome-lookup': op['x-outcome-lookup'] }),
      },
    };
  }

  const opsGet = (operationId: string, summary: string, answers: Record<string, [string, Json]>) => ({
    get: {
      operationId,
      summary,
      security: [],
      tags: ['ops'],
      responses: Object.fromEntries(
        Object.entries(answers).map(([status, [description, content]]) => [
          status,
          { description, headers: { 'x-request-id': { $ref: '#/components/headers/XRequestId' } }, content },
        ]),
      ),
    },
  });
  const json = (name: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } });
  paths['/healthz'] = opsGet('healthz', 'Liveness: the process is up', { '200': ['alive', json('Health')] });
  paths['/readyz'] = opsGet('readyz', 'Readiness: the idempotency store and configuration are usable', {
    '200': ['ready', json('Readiness')],
    '503': ['not ready (store unavailable, or shutting down)', json('Readiness')],
  });
  paths['/metrics'] = opsGet('metrics', 'Prometheus metrics', { '200': ['Prometheus text format', { 'text/plain': { schema: { type: 'string' } } }] });
  paths['/openapi.json'] = opsGet('openapi', 'This document', { '200': ['the inbound spec', { 'application/json': { schema: { type: 'object' } } }] });

  const responses = Object.fromEntries(
    [...problems.entries(), ...routingProblems.entries()].map(([status, codes]) => {
      const headers: Json = { 'x-request-id': { $ref: '#/components/headers/XRequestId' } };
      for (const code of codes) {
        for (const name of (PROBLEMS[code] as { headers?: readonly string[] }).headers ?? []) {
          headers[HEADER_COMPONENTS[name]!] = { $ref: `#/components/headers/${HEADER_COMPONENTS[name]!.replace(/-/g, '')}` };
        }
      }
      return [
        `Problem${status}`,
        {
          description: `Gateway problem: ${codes.join(' or ')}`,
          headers,
          content: { 'application/problem+json': { schema: problemSchema(codes) } },
        },
      ];
    }),
  );

  return {
    openapi: '3.1.0',
    info: {
      title: 'Galileo gateway',
      version,
      description: `Generated from openapi/galileo.yaml by npm run generate: do not edit.\n\n${DESCRIPTION}`,
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    tags: [...(galileo.tags ?? []), { name: 'ops', description: 'Health, readiness, metrics and this document (no authentication).' }],
    paths,
    components: {
      parameters: withoutDefaults(structuredClone(galileo.components.parameters)),
      schemas: { ...schemas, ...GATEWAY_SCHEMAS },
      responses,
      headers: HEADERS,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'A key issued to the calling service; the gateway stores only its SHA-256.' },
      },
    },
    'x-gateway': {
      credentialFields,
      pciFields: collectMarked(galileo, 'x-pci'),
      // Never logged: every field the spec marks, the credentials, and the keys inside callParams.
      sensitiveKeys: [
        ...new Set([
          ...credentialFields,
          ...collectMarked(galileo, 'x-sensitive'),
          ...collectMarked(galileo, 'x-account-number'),
          ...collectMarked(galileo, 'x-pci'),
          ...collectListed(galileo, 'x-sensitive-keys'),
        ]),
      ].sort(),
      globalStatusCodes: galileo['x-galileo-global-status-codes'],
      // Answered before any operation is matched, so to any request: an unknown path (404), another
      // method (405), a request too slow (408) or with headers too large (431) to be read.
      routingResponses: Object.fromEntries([...routingProblems.keys()].map((status) => [String(status), { $ref: `#/components/responses/Problem${status}` }])),
    },
  };
}

/** The problem document, its `code` narrowed to what this response can carry. */
function problemSchema(codes: ProblemCode[]): Json {
  return { allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { enum: codes } } }] };
}

const HEADERS: Json = {
  XRequestId: {
    description: "The request's id: the caller's x-request-id when it is a plain token, else a new UUID. Quote it when reporting a problem.",
    required: true,
    schema: { type: 'string' },
  },
  IdempotentReplayed: {
    description: 'true when the answer is a replay of the first call with this transactionId (Galileo was not called).',
    schema: { type: 'string', enum: ['true'] },
  },
  RetryAfter: { description: 'Seconds to wait before sending the same request again.', required: true, schema: { type: 'string' } },
  WWWAuthenticate: { description: 'The bearer challenge.', required: true, schema: { type: 'string' } },
  Allow: { description: 'The methods the path accepts (POST), on a 405.', required: true, schema: { type: 'string' } },
  RateLimitPolicy: {
    description:
      'The limit that refused the request (draft-ietf-httpapi-ratelimit-headers): `"client";q=<burst>;w=<seconds to refill it>` for the caller\'s own limit, `"galileo";q=…;w=…` for the budget all callers share.',
    required: true,
    schema: { type: 'string' },
  },
  RateLimit: {
    description: 'What is left of that limit: `"<policy>";r=<requests left>;t=<seconds until it is full again>`.',
    required: true,
    schema: { type: 'string' },
  },
};

const GATEWAY_SCHEMAS: Json = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details',
    required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
    properties: {
      type: { type: 'string', description: '/problems/<code>' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { $ref: '#/components/schemas/ProblemCode' },
      requestId: { type: 'string' },
      errors: { type: 'array', items: { $ref: '#/components/schemas/FieldError' } },
      galileo: { $ref: '#/components/schemas/GalileoOutcome' },
    },
  },
  GalileoOutcome: {
    description:
      "What Galileo did with a call whose answer was lost, as Galileo's own record says (getCallStatus): on upstream_answer_lost, and on a 502 or 504 after which the gateway asked.",
    oneOf: [
      {
        type: 'object',
        description: 'Galileo ran the call: its status code and rtoken. A retry with the same transactionId gets this same answer when the call changed state.',
        required: ['executed', 'statusCode'],
        properties: { executed: { const: true }, statusCode: { type: ['integer', 'string'] }, rtoken: { type: 'string' } },
      },
      {
        type: 'object',
        description: 'Galileo has no call under this transactionId: a retry with it is forwarded.',
        required: ['executed'],
        properties: { executed: { const: false } },
      },
      {
        type: 'object',
        description:
          'Galileo could not be asked, or (after a timeout) its record does not show the call yet: a retry with the same transactionId asks again before anything is forwarded.',
        required: ['executed'],
        properties: { executed: { const: 'unknown' } },
      },
    ],
  },
  ProblemCode: { type: 'string', enum: Object.keys(PROBLEMS), description: 'The stable code of a gateway problem.' },
  FieldError: {
    type: 'object',
    required: ['field', 'message'],
    properties: { field: { type: 'string', description: 'the field as the caller sent it' }, message: { type: 'string' } },
  },
  Health: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } },
  Readiness: {
    type: 'object',
    required: ['status', 'checks'],
    properties: { status: { type: 'string', enum: ['ready', 'not ready'] }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
  },
};

function withoutKeys(value: unknown, keys: string[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));
}

/** Request schemas carry no `default`: Galileo applies its own, and generated clients would demand the field. */
function withoutDefaults<T>(node: T): T {
  if (Array.isArray(node)) return node.map(withoutDefaults) as T;
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k]) => k !== 'default')
      .map(([k, v]) => [k, withoutDefaults(v)]),
  ) as T;
}

/** Every name listed under `key` (an array of names), anywhere in the document. */
function collectListed(doc: Json, key: string): string[] {
  const found = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    for (const name of ((node as Json)[key] as string[] | undefined) ?? []) found.add(name);
    Object.values(node).forEach(visit);
  };
  visit(doc);
  return [...found];
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
