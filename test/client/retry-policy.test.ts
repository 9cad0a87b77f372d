/**
 * The client's retry policy read against the served spec: which problem codes each HTTP status
 * carries comes from generated/gateway.openapi.json, so the policy is checked status by status
 * without restating the spec's code lists.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_RETRY, RETRIED_PROBLEMS } from '../../clients/typescript/src/index.js';
import { envelopeStatusCode } from '../../clients/typescript/src/results.js';
import { backoffMs, retryAfterMs } from '../../clients/typescript/src/retry-policy.js';

const served = JSON.parse(readFileSync(new URL('../../generated/gateway.openapi.json', import.meta.url), 'utf8')) as {
  components: { responses: Record<string, any>; schemas: { ProblemCode: { enum: string[] } } };
};

/** The problem codes the served spec documents for an HTTP status. */
function codesAnsweredWith(status: number): string[] {
  const response = served.components.responses[`Problem${status}`];
  assert.ok(response, `the served spec has no Problem${status}`);
  return response.content['application/problem+json'].schema.allOf[1].properties.code.enum;
}

describe('client: retry policy', () => {
  it('places every problem code of the served spec, and only those', () => {
    assert.deepEqual(Object.keys(RETRIED_PROBLEMS).sort(), [...served.components.schemas.ProblemCode.enum].sort());
  });

  for (const status of [409, 502, 503, 504]) {
    it(`retries every problem answered with ${status}${status === 502 ? ' but upstream_answer_lost (Galileo ran the call: the outcome)' : ''}`, () => {
      for (const code of codesAnsweredWith(status)) {
        assert.equal(RETRIED_PROBLEMS[code as keyof typeof RETRIED_PROBLEMS], code !== 'upstream_answer_lost', code);
      }
    });
  }
  for (const status of [400, 401, 403, 404, 405, 413, 415, 422, 500]) {
    it(`never retries a problem answered with ${status}`, () => {
      for (const code of codesAnsweredWith(status)) assert.equal(RETRIED_PROBLEMS[code as keyof typeof RETRIED_PROBLEMS], false, code);
    });
  }

  it('backs off with full jitter: uniform below a cap that doubles per retry, up to maxDelayMs', () => {
    for (const [retry, cap] of [
      [1, 100],
      [2, 200],
      [3, 400],
      [10, 5_000],
    ] as const) {
      const delays = Array.from({ length: 200 }, () => backoffMs(retry, DEFAULT_RETRY));
      assert.ok(
        delays.every((d) => d >= 0 && d < cap),
        `retry ${retry}: ${Math.max(...delays)} >= ${cap}`,
      );
      assert.ok(Math.max(...delays) > cap / 2 && Math.min(...delays) < cap / 2, `retry ${retry}: not spread over [0, ${cap})`);
    }
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('1', now), 1_000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5_000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
    for (const absent of [null, '', 'soon', '-1']) assert.equal(retryAfterMs(absent, now), undefined, String(absent));
  });

  it("reads Galileo's status_code from JSON and from XML alike", () => {
    assert.equal(envelopeStatusCode({ status_code: 0 }), 0);
    assert.equal(envelopeStatusCode({ status_code: '407-02' }), '407-02');
    assert.equal(envelopeStatusCode('<?xml version="1.0"?>\n<response><status_code>0</status_code><status>Success</status></response>'), 0);
    assert.equal(envelopeStatusCode('<response><status_code>407-02</status_code></response>'), '407-02');
    for (const other of ['<html>Bad gateway</html>', { code: 'x' }, null, 42]) assert.equal(envelopeStatusCode(other), undefined, JSON.stringify(other));
  });
});
