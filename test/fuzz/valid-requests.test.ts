/**
 * Property: every request the spec accepts (generated from the spec's own constraints, kept by
 * the spec's own schema) is forwarded to Galileo exactly once, with every value intact as the
 * string Galileo reads, whether it came as typed JSON, as JSON with numbers in strings (and
 * numeral strings as numbers), or as a form; and Galileo's answer comes back unchanged.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CREDENTIAL_WIRE, FUZZ_RUNS, Tripwire, closeClient, fuzzParams, post, propertyTimeout, startTarget, uniqueTransactionId, wire, type Target } from './fuzz-harness.js';
import { operations, responseFormats, type Json, type OperationModel } from './spec-model.js';

type Representation = 'json' | 'json-swapped' | 'form';

/** The body as sent, and what Galileo must receive for each field. */
function encode(op: OperationModel, body: Record<string, Json>, representation: Representation): { bytes: string; contentType: string } {
  if (representation === 'form') {
    return { bytes: new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString(), contentType: 'application/x-www-form-urlencoded' };
  }
  if (representation === 'json') return { bytes: JSON.stringify(body), contentType: 'application/json' };
  // Numbers as strings, and numeral strings as numbers: the gateway coerces JSON like a form (README).
  const swapped = Object.fromEntries(
    Object.entries(body).map(([k, v]) => {
      const numeric = op.field(k).types.some((t) => t === 'integer' || t === 'number');
      if (numeric && typeof v === 'number') return [k, String(v)];
      if (!numeric && typeof v === 'string' && Number.isSafeInteger(Number(v)) && String(Number(v)) === v) return [k, Number(v)];
      return [k, v];
    }),
  );
  return { bytes: JSON.stringify(swapped), contentType: 'application/json; charset=utf-8' };
}

describe('fuzz: valid requests are forwarded once, intact', function () {
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
    it(`${op.operationId}: ${FUZZ_RUNS} spec-generated bodies (JSON, swapped types, form)`, async () => {
      const cases = fc.record({
        body: op.validBody,
        representation: fc.constantFrom<Representation>('json', 'json-swapped', 'form'),
        format: fc.constantFrom(undefined, ...responseFormats),
      });
      await fc.assert(
        fc.asyncProperty(cases, async ({ body: generated, representation, format }) => {
          const body = { ...generated, transactionId: uniqueTransactionId(String(generated.transactionId)) };
          fc.pre(op.accepts(body) === true);
          const { bytes, contentType } = encode(op, body, representation);
          const mark = target.mark();
          const reply = await post(target.gw.url, op.path, bytes, { 'content-type': contentType, 'response-content-type': format });
          const context = `${op.operationId} ${representation} ${bytes.slice(0, 300)}`;

          assert.equal(reply.status, 200, `${context}: ${reply.status} ${reply.text.slice(0, 400)}`);
          assert.match(String(reply.headers['content-type']), format === 'xml' ? /xml/ : /^application\/json/, context);
          const forwarded = target.forwardedSince(mark);
          assert.equal(forwarded.length, 1, `${context}: Galileo received ${forwarded.length} requests`);
          const upstream = forwarded[0]!;
          assert.equal(upstream.path, op.path, context);
          assert.equal(upstream.headers['response-content-type'], format ?? 'json', context);
          const expected = { ...Object.fromEntries(Object.entries(body).map(([k, v]) => [k, wire(v)])), ...CREDENTIAL_WIRE };
          assert.deepEqual(Object.fromEntries(new URLSearchParams(upstream.body)), expected, context);
          tripwire.check(context);
        }),
        fuzzParams(),
      );
    });
  }
});
