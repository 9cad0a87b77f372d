/**
 * Property: every request the served spec accepts (generated from the spec's own constraints,
 * kept by the spec's own schema) is accepted by the gateway and forwarded to Galileo exactly once,
 * with every value intact as the string Galileo reads, whether it came as typed JSON, as JSON with
 * optional fields set to null (the spec's null = absent: never forwarded), or as a form (where an
 * empty optional value is the form's null); and Galileo's answer comes back unchanged.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CREDENTIAL_WIRE,
  FUZZ_RUNS,
  Tripwire,
  closeClient,
  fuzzParams,
  post,
  propertyTimeout,
  startTarget,
  uniqueTransactionId,
  wire,
  type Target,
} from './fuzz-harness.js';
import { operations, responseFormats, type Json, type OperationModel } from './spec-model.js';

type Representation = 'json' | 'json-nulls' | 'form';

/** The body as sent, and the fields Galileo must receive. */
function encode(
  op: OperationModel,
  body: Record<string, Json>,
  representation: Representation,
  nulls: string[],
): { bytes: string; contentType: string; forwarded: Record<string, Json> } {
  if (representation === 'form') {
    // An empty optional value is the form's null: absent, not forwarded.
    const forwarded = Object.fromEntries(Object.entries(body).filter(([k, v]) => v !== '' || op.field(k).required));
    return {
      bytes: new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString(),
      contentType: 'application/x-www-form-urlencoded',
      forwarded,
    };
  }
  if (representation === 'json') return { bytes: JSON.stringify(body), contentType: 'application/json', forwarded: body };
  // Optional fields the body left out, sent as null: the served spec allows them and calls them absent.
  const withNulls = { ...body, ...Object.fromEntries(nulls.filter((k) => !(k in body)).map((k) => [k, null])) };
  return { bytes: JSON.stringify(withNulls), contentType: 'application/json; charset=utf-8', forwarded: body };
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
    it(`${op.operationId}: ${FUZZ_RUNS} spec-generated bodies (JSON, JSON with nulls, form)`, async () => {
      const optional = op.fields.filter((f) => !f.required).map((f) => f.name);
      const cases = fc.record({
        body: op.validBody,
        representation: fc.constantFrom<Representation>('json', 'json-nulls', 'form'),
        nulls: fc.subarray(optional, { maxLength: Math.min(6, optional.length) }),
        format: fc.constantFrom(undefined, ...responseFormats),
      });
      await fc.assert(
        fc.asyncProperty(cases, async ({ body: generated, representation, nulls, format }) => {
          const body = { ...generated, transactionId: uniqueTransactionId(String(generated.transactionId)) };
          fc.pre(op.accepts(body) === true);
          const { bytes, contentType, forwarded: sent } = encode(op, body, representation, nulls);
          if (representation === 'json-nulls') assert.equal(op.accepts(JSON.parse(bytes)), true, 'the served spec accepts the nulls');
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
          const expected = { ...Object.fromEntries(Object.entries(sent).map(([k, v]) => [k, wire(v)])), ...CREDENTIAL_WIRE };
          assert.deepEqual(Object.fromEntries(new URLSearchParams(upstream.body)), expected, context);
          tripwire.check(context);
        }),
        fuzzParams(),
      );
    });
  }
});
