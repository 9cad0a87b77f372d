/**
 * Property: header-injection attempts in `x-request-id` and `response-content-type` (CR, LF, NUL,
 * folding, non-ASCII bytes, a whole second request) sent as raw bytes over a socket, since Node's
 * client refuses to send them, never make the gateway answer 5xx, echo a header it did not set,
 * or pass a caller header other than response-content-type (json|xml) on to Galileo.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import fc from 'fast-check';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { FUZZ_RUNS, Tripwire, fuzzParams, propertyTimeout, startTarget, uniqueTransactionId, type Target } from './fuzz-harness.js';

interface RawReply {
  status: number;
  headers: Array<[string, string]>;
  body: string;
  /** How many HTTP responses came back on the connection. */
  responses: number;
}

function rawExchange(port: number, request: Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no complete answer within 5 s'));
    }, 5000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset after the answer is fine; the answer is checked
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = lines.map((l) => {
        const at = l.indexOf(':');
        return [l.slice(0, at).toLowerCase(), l.slice(at + 1).trim()] as [string, string];
      });
      resolve({ status, headers, body: rest.join('\r\n\r\n'), responses: (text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length });
    });
    socket.write(request);
  });
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const injections = fc.oneof(
  fc.constantFrom(
    'abc\r\nx-injected: 1',
    'abc\nx-injected: 1',
    'abc\rx-injected: 1',
    'json\r\nx-injected: 1',
    'xml\r\n\r\nGET /healthz HTTP/1.1\r\nhost: x\r\n',
    'json\r\n x-folded: 1',
    'json\u0000',
    '\u0000',
    'json ',
    ' xml',
    'json, xml',
    'JSON',
    'caller-id.1',
    'x'.repeat(129),
    '123456789012',
    'ok\u00e9',
    'set-cookie: a=b',
  ),
  fc.string({
    unit: fc.constantFrom('\r', '\n', '\u0000', ' ', '\t', ':', 'j', 's', 'o', 'n', 'x', 'm', 'l', '\u00e9', '\u2028', 'x-injected: 1'),
    maxLength: 12,
  }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

describe('fuzz: header injection over raw sockets', function () {
  this.timeout(propertyTimeout());
  let target: Target;
  let tripwire: Tripwire;
  let port: number;
  before(async () => {
    target = await startTarget();
    tripwire = new Tripwire(() => target.gw);
    port = Number(new URL(target.gw.url).port);
  });
  after(async () => {
    tripwire.dispose();
    await target.close();
  });

  it(`${FUZZ_RUNS * 2} raw requests with hostile x-request-id and response-content-type`, async () => {
    const cases = fc.record({ requestId: fc.option(injections), format: fc.option(injections) });
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(cases, async ({ requestId, format }) => {
        const transactionId = uniqueTransactionId('raw');
        const body = Buffer.from(JSON.stringify({ ...exampleBody('createIvrCall'), transactionId }));
        const head =
          `POST ${pathOf('createIvrCall')} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
          `content-length: ${body.length}\r\nconnection: close\r\n` +
          (requestId === null ? '' : `x-request-id: ${requestId}\r\n`) +
          (format === null ? '' : `response-content-type: ${format}\r\n`) +
          '\r\n';
        const context = `x-request-id ${JSON.stringify(requestId)}, response-content-type ${JSON.stringify(format)}`;
        const mark = target.mark();
        const reply = await rawExchange(port, Buffer.concat([Buffer.from(head, 'utf8'), body]));

        assert.ok(reply.status >= 200 && reply.status < 500, `${context}: ${reply.status} ${reply.body.slice(0, 300)}`);
        const names = reply.headers.map(([n]) => n);
        for (const forbidden of ['x-injected', 'x-folded', 'set-cookie']) assert.ok(!names.includes(forbidden), `${context}: answered with ${forbidden}`);
        const echoed = reply.headers.filter(([n]) => n === 'x-request-id').map(([, v]) => v);
        assert.ok(echoed.length === 1 && SANE_REQUEST_ID.test(echoed[0]!), `${context}: x-request-id ${JSON.stringify(echoed)}`);

        const forwarded = target.forwardedSince(mark);
        const problem = reply.status === 400 ? (JSON.parse(reply.body) as { errors?: Array<{ field: string }> }) : undefined;
        // Node's HTTP parser refused the request before any middleware (src/http/client-error.ts).
        const parserRefused = problem?.errors?.some((e) => e.field === 'headers') === true;
        const outcome = parserRefused ? `${reply.status} from Node's parser` : `${reply.status} from the gateway`;
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        if (parserRefused) {
          assert.match(reply.headers.find(([n]) => n === 'content-type')?.[1] ?? '', /^application\/problem\+json/, context);
          assert.equal(forwarded.length, 0, context);
        } else if (reply.status === 200) {
          assert.equal(forwarded.length, 1, `${context}: Galileo received ${forwarded.length}`);
          const upstream = forwarded[0]!;
          assert.ok(['json', 'xml'].includes(String(upstream.headers['response-content-type'])), context);
          for (const name of Object.keys(upstream.headers)) {
            assert.ok(
              ['host', 'content-type', 'content-length', 'response-content-type', 'accept', 'accept-encoding', 'user-agent', 'connection'].includes(name),
              `${context}: ${name} reached Galileo`,
            );
          }
        } else {
          assert.equal(reply.status, 400, `${context}: ${reply.status} ${reply.body}`);
          assert.match(reply.headers.find(([n]) => n === 'content-type')?.[1] ?? '', /^application\/problem\+json/, context);
          const problem = JSON.parse(reply.body) as { errors?: Array<{ field: string }> };
          assert.ok(
            problem.errors?.some((e) => e.field === 'response-content-type'),
            `${context}: ${reply.body}`,
          );
          assert.equal(forwarded.length, 0, context);
        }
        tripwire.check(context);
      }),
      { ...fuzzParams(), numRuns: FUZZ_RUNS * 2 },
    );
    console.log(
      `      answers: ${[...seen]
        .sort()
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ')}`,
    );
  });
});
