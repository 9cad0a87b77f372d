/** The request examples of the inbound spec: valid by construction, reused as test bodies. */
import { loadGatewaySpec } from '../../src/spec.js';

const spec = loadGatewaySpec();

export const OPERATIONS = spec.operations;

export function exampleBody(operationId: string): Record<string, unknown> {
  const op = spec.operations.find((o) => o.operationId === operationId)!;
  const post = (spec.document.paths as any)[op.path].post;
  const examples = post.requestBody.content['application/json'].examples as Record<string, { value: Record<string, unknown> }>;
  return structuredClone(Object.values(examples)[0]!.value);
}

export function pathOf(operationId: string): string {
  return spec.operations.find((o) => o.operationId === operationId)!.path;
}

/** What Galileo receives for a parameter: every value a string. */
export function asWire(params: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
}

export function asForm(params: Record<string, unknown>): string {
  return new URLSearchParams(asWire(params)).toString();
}
