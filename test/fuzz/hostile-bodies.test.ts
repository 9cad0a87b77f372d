/**
 * Property: whatever bytes arrive (any JSON value, any text, random bytes, form soup, empty,
 * oversized, deeply nested, huge arrays, a thousand duplicate keys) under whatever content type
 * (missing, wrong, other charsets, compressed), the answer is a 400/413/415 problem+json naming a
 * field, never a 5xx, and nothing reaches Galileo.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BODY_LIMIT_BYTES,
  FUZZ_RUNS,
  Tripwire,
  assertProblem,
  closeClient,
  fuzzParams,
  post,
  propertyTimeout,
  startTarget,
  type Target,
} from './fuzz-harness.js';
import { operations } from './spec-model.js';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(JSON_TYPE, FORM_TYPE, 'application/json; charset=utf-8', 'application/x-www-form-urlencoded; charset=UTF-8') },
  fc.constantFrom(
    undefined,
    'application/json; charset=utf-16le',
    'application/json; charset=latin1',
    'application/x-www-form-urlencoded; charset=iso-8859-1',
    'APPLICATION/JSON',
    'application/json;;;',
    'text/plain',
    'text/json',
    'application/xml',
    'application/merge-patch+json',
    'multipart/form-data; boundary=x',
    '*/*',
    '',
  ),
  // Printable ASCII only: anything else cannot go in a header (Node's client refuses it).
  fc.string({ maxLength: 40 }).filter((s) => /^[ -~]*$/.test(s)),
);

/** A JSON object body of exactly `size` bytes: one unknown field padded to fit. */
const paddedJson = (size: number) => {
  const head = '{"transactionId":"pad","prodId":501,"pad":"';
  return `${head}${'a'.repeat(size - head.length - 2)}"}`;
};

interface Body {
  label: string;
  bytes: Buffer;
}

/** Printed by fast-check in a counterexample: the label and the first bytes, not a megabyte. */
const bodyOf = (label: string, bytes: Buffer): Body =>
  Object.assign(
    { label, bytes },
    { [fc.toStringMethod]: () => `${label}: ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))} (${bytes.length} bytes)` },
  );

const bodies: fc.Arbitrary<Body> = fc.oneof(
  fc.json({ maxDepth: 4 }).map((t) => bodyOf('json text', Buffer.from(t))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => bodyOf('json value', Buffer.from(JSON.stringify(v) ?? ''))),
  fc.string({ unit: 'binary', maxLength: 300 }).map((t) => bodyOf('text', Buffer.from(t))),
  fc.uint8Array({ maxLength: 300 }).map((b) => bodyOf('bytes', Buffer.from(b))),
  fc
    .array(fc.tuple(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 })), { maxLength: 12 })
    .map((pairs) => bodyOf('form soup', Buffer.from(pairs.map(([k, v]) => `${k}=${v}`).join('&')))),
  fc.constantFrom(
    bodyOf('empty', Buffer.alloc(0)),
    bodyOf('whitespace', Buffer.from(' \r\n\t ')),
    bodyOf('BOM only', Buffer.from('\ufeff')),
    bodyOf('null', Buffer.from('null')),
    bodyOf('at the body limit', Buffer.from(paddedJson(BODY_LIMIT_BYTES))),
    bodyOf('one byte over the body limit', Buffer.from(paddedJson(BODY_LIMIT_BYTES + 1))),
    bodyOf('a megabyte', Buffer.alloc(1024 * 1024, 'a')),
    bodyOf('deep arrays', Buffer.from(`${'['.repeat(30_000)}${']'.repeat(30_000)}`)),
    bodyOf('deep objects', Buffer.from(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`)),
    bodyOf('deep __proto__', Buffer.from(`${'{"__proto__":'.repeat(3_000)}1${'}'.repeat(3_000)}`)),
    bodyOf('huge array', Buffer.from(JSON.stringify({ transactionId: 'h', prodId: 501, x: Array.from({ length: 15_000 }, () => 0) }))),
    bodyOf('a thousand duplicate keys', Buffer.from(`{${Array.from({ length: 1000 }, (_, i) => `"transactionId":"${i}"`).join(',')}}`)),
    bodyOf('1001 form fields', Buffer.from(Array.from({ length: 1001 }, (_, i) => `f${i}=1`).join('&'))),
    bodyOf('form with repeated keys', Buffer.from('transactionId=a&transactionId=b&prodId=1&prodId=2')),
    bodyOf('invalid UTF-8 in JSON', Buffer.from([0x7b, 0x22, 0x74, 0x72, 0x61, 0x6e, 0x73, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
    bodyOf('invalid UTF-8 escapes in a form', Buffer.from('transactionId=%FF%FE&prodId=501')),
    bodyOf('JSON number overflow', Buffer.from('{"transactionId":"o","prodId":1e400}')),
  ),
);

describe('fuzz: hostile bodies and content types', function () {
  this.timeout(propertyTimeout(400));
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

  it(`${FUZZ_RUNS * 3} arbitrary bodies under arbitrary content types: 400/413/415, never forwarded`, async () => {
    const cases = fc.record({
      operationId: fc.constantFrom(...operations.map((o) => o.operationId)),
      body: bodies,
      contentType: contentTypes,
      encoding: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, fc.constantFrom('gzip', 'identity', 'br, gzip')),
    });
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(cases, async ({ operationId, body, contentType, encoding }) => {
        const op = operations.find((o) => o.operationId === operationId)!;
        const context = `${op.operationId} ${body.label} as ${JSON.stringify(contentType)} (encoding ${encoding}): ${body.bytes.subarray(0, 120).toString('latin1')}`;
        const mark = target.mark();
        const reply = await post(target.gw.url, op.path, body.bytes, { 'content-type': contentType, 'content-encoding': encoding });
        const code = reply.status === 200 ? '200' : `${reply.status} ${String((JSON.parse(reply.text) as { code?: string }).code)}`;
        seen.set(code, (seen.get(code) ?? 0) + 1);
        assert.ok(reply.status < 500, `${context}: ${reply.status} ${reply.text.slice(0, 300)}`);
        if (reply.status === 200) {
          // Garbage that happens to be a valid request is forwarded once, like any valid request.
          assert.equal(target.forwardedSince(mark).length, 1, context);
        } else {
          const problem = assertProblem(reply, [400, 413, 415], context);
          if (
            body.label === 'one byte over the body limit' &&
            /^application\/(json|x-www-form-urlencoded)\b/i.test(contentType ?? '') &&
            !/charset=(?!utf-8)/i.test(contentType ?? '') &&
            encoding === undefined
          )
            assert.equal(problem.code, 'payload_too_large', context);
          if (body.label === 'at the body limit') assert.notEqual(problem.code, 'payload_too_large', context);
          assert.equal(target.forwardedSince(mark).length, 0, `${context}: reached Galileo`);
        }
        tripwire.check(context);
      }),
      { ...fuzzParams(), numRuns: FUZZ_RUNS * 3 },
    );
    console.log(
      `      answers: ${[...seen]
        .sort()
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ')}`,
    );
  });
});
