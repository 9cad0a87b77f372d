/**
 * Properties over what the third review used to walk around the defences (docs/hardening.md,
 * "Third review"): card numbers written in any script, with separator runs of any length and
 * digits glued on; odd Expect values; media types whose quoted parameters mimic a charset.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { storableBody } from '../../src/galileo/pci.js';
import { loggableId, loggablePath } from '../../src/logger.js';
import { holdsLongNumber } from '../../src/sensitive-numbers.js';
import { loadGatewaySpec } from '../../src/spec.js';
import { sha256, uniqueSsn } from '../helpers/harness.js';
import { FUZZ_RUNS, Tripwire, assertProblem, closeClient, fuzzParams, post, propertyTimeout, startTarget, type Target } from './fuzz-harness.js';

/** Zero of each script's decimal digits: ASCII, full-width, Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai, mathematical bold. */
const ZEROS = [0x30, 0xff10, 0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0x1d7ce];

function luhnComplete(body: string): string {
  for (let check = 0; check <= 9; check++) {
    const digits = body + check;
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = digits.charCodeAt(digits.length - 1 - i) - 48;
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 === 0) return digits;
  }
  throw new Error('unreachable');
}

/** A PAN (13 to 19 digits, Luhn-valid) or an SSN, written the way an attacker would. */
const sensitiveNumber = fc
  .record({
    kind: fc.constantFrom('pan', 'ssn'),
    body: fc.stringMatching(/^[1-9][0-9]{17}$/),
    length: fc.integer({ min: 13, max: 19 }),
    zero: fc.constantFrom(...ZEROS),
    separator: fc.stringMatching(/^[-. _/:+,]{1,8}$/),
    groupSize: fc.integer({ min: 1, max: 5 }),
    glued: fc.stringMatching(/^[0-9]{0,3}$/),
    tail: fc.stringMatching(/^[0-9]{0,3}$/),
  })
  .map(({ kind, body, length, zero, separator, groupSize, glued, tail }) => {
    const digits = kind === 'pan' ? luhnComplete(body.slice(0, length - 1)) : body.slice(0, 9);
    const groups = digits.match(new RegExp(`.{1,${groupSize}}`, 'g'))!;
    const written = [...(glued + groups.join(separator) + (tail === '' ? '' : separator + tail))]
      .map((c) => (c >= '0' && c <= '9' ? String.fromCodePoint(zero + Number(c)) : c))
      .join('');
    return { digits, written };
  });

const storable = storableBody(loadGatewaySpec().pciFields);
const KEY = 'review-3-fuzz-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${KEY}` };

describe("fuzz: the third review's patterns", function () {
  this.timeout(propertyTimeout(300));

  it(`${FUZZ_RUNS * 10} writings of a card number or SSN: masked in ids and paths, withheld from replay`, () => {
    fc.assert(
      fc.property(sensitiveNumber, fc.stringMatching(/^[a-z]{0,6}$/), ({ digits, written }, tag) => {
        const id = `${tag}${tag ? '-' : ''}${written}`;
        assert.ok(!holdsLongNumber(loggableId(id), 9), `${id} -> ${loggableId(id)}`);
        assert.ok(!holdsLongNumber(loggablePath(`/intserv/4.0/${written}`), 6), `${written} -> ${loggablePath(`/intserv/4.0/${written}`)}`);
        if (digits.length >= 13) {
          const answer = JSON.stringify({
            status_code: 0,
            status: 'Success',
            response_data: [{ emboss_line_2: id }],
            rtoken: '8cc16de0-5eda-4e2a-968e-3b08fce6f778',
          });
          assert.equal(storable('application/json', answer).kind, 'withheld', id);
          assert.equal(storable('application/xml', `<response><status_code>0</status_code><note>${id}</note></response>`).kind, 'withheld', id);
        }
      }),
      { ...fuzzParams(), numRuns: FUZZ_RUNS * 10 },
    );
  });

  describe('over the real gateway', () => {
    let target: Target;
    let tripwire: Tripwire;
    before(async () => {
      target = await startTarget({ GATEWAY_CLIENTS: JSON.stringify([{ name: 'fuzz', keySha256: sha256(KEY), operations: ['*'] }]) });
      tripwire = new Tripwire(() => target.gw);
    });
    after(async () => {
      tripwire.dispose();
      closeClient();
      await target.close();
    });

    it(`${FUZZ_RUNS} transactionIds holding a card number or SSN: never logged, never replayed`, async () => {
      await fc.assert(
        fc.asyncProperty(sensitiveNumber, fc.stringMatching(/^[a-z]{4}$/), async ({ written }, tag) => {
          const transactionId = `${tag}-${written}`.slice(0, 60);
          const body = JSON.stringify({ transactionId, prodId: 501, firstName: 'Ada', lastName: 'Lovelace', idType: 2, id: uniqueSsn() });
          const logsBefore = target.gw.rawLogs.length;
          const first = await post(target.gw.url, '/intserv/4.0/createAccount', body, { 'content-type': 'application/json', ...AUTH });
          assert.ok(first.status === 200 || first.status === 400, `${transactionId}: ${first.status} ${first.text.slice(0, 300)}`);
          if (first.status === 200) {
            const retry = await post(target.gw.url, '/intserv/4.0/createAccount', body, { 'content-type': 'application/json', ...AUTH });
            // Cut at 60 characters, an id may keep fewer than nine digits: then it is replayed like any other.
            assert.equal(retry.status, holdsLongNumber(transactionId, 9) ? 410 : 200, `${transactionId}: ${retry.text.slice(0, 300)}`);
          }
          const lines = target.gw.rawLogs.slice(logsBefore).map((l) => JSON.parse(l) as Record<string, unknown>);
          for (const line of lines)
            if (typeof line.transactionId === 'string') assert.ok(!holdsLongNumber(line.transactionId, 9), `${transactionId} logged as ${line.transactionId}`);
          tripwire.check(transactionId);
        }),
        { ...fuzzParams() },
      );
    });

    it(`${FUZZ_RUNS} odd Expect values: an early problem, the body never read, the connection closed`, async () => {
      const expect = fc.oneof(
        fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
        fc.constantFrom('100-continue, foo', '100-Continue ', 'continue', '100', '200-ok', '', ' '),
      );
      await fc.assert(
        fc.asyncProperty(expect, async (value) => {
          const { head, bytesWritten } = await rawHead(target.gw.url, value);
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
          // 100-continue (any case) from a caller without a key: 401 before the body; anything else: 417.
          const expected = value.trim().toLowerCase() === '100-continue' ? 401 : 417;
          assert.equal(status, expected, `Expect ${JSON.stringify(value)}: ${head.slice(0, 300)}`);
          assert.match(head, /\r\ncontent-type: application\/problem\+json/i, value);
          assert.match(head, /\r\nconnection: close/i, value);
          assert.ok(bytesWritten < 8 * 1024 * 1024, `Expect ${JSON.stringify(value)}: ${bytesWritten} bytes sent before the answer`);
          tripwire.check(value);
        }),
        { ...fuzzParams() },
      );
    });

    it(`${FUZZ_RUNS} media types whose quoted parameters mimic a charset: only the real charset counts`, async () => {
      const decoy = fc.constantFrom('"a;charset=utf-8"', '"charset=utf-8;"', '"; charset=utf-8"', '"\\";charset=utf-8"', 'utf-8');
      const cases = fc.record({
        type: fc.constantFrom('application/json', 'application/x-www-form-urlencoded'),
        decoys: fc.array(fc.tuple(fc.constantFrom('x', 'y', 'q', 'boundary'), decoy), { maxLength: 3 }),
        charset: fc.constantFrom('utf-8', 'UTF-8', '"utf-8"', 'iso-8859-1', 'latin1', 'utf-16', 'windows-1252'),
      });
      await fc.assert(
        fc.asyncProperty(cases, async ({ type, decoys, charset }) => {
          const contentType = [type, ...decoys.map(([name, value]) => `${name}=${value}`), `charset=${charset}`].join('; ');
          const transactionId = `mt-${Math.random().toString(36).slice(2)}`;
          const body =
            type === 'application/json'
              ? JSON.stringify({ transactionId, prodId: 501, firstName: 'José' })
              : `transactionId=${transactionId}&prodId=501&firstName=Jos%C3%A9`;
          const mark = target.mark();
          const reply = await post(target.gw.url, '/intserv/4.0/createAccount', body, { 'content-type': contentType, ...AUTH });
          const utf8 = /^"?utf-8"?$/i.test(charset);
          if (utf8) {
            assert.equal(reply.status, 200, `${contentType}: ${reply.text.slice(0, 300)}`);
            assert.equal(target.forwardedSince(mark)[0]?.params.firstName, 'José', contentType);
          } else {
            assertProblem(reply, [415], contentType);
            assert.equal(target.forwardedSince(mark).length, 0, `${contentType}: forwarded`);
          }
          tripwire.check(contentType);
        }),
        { ...fuzzParams() },
      );
    });
  });
});

/** Headers of a 64 MiB POST with this Expect and no key; the body is streamed until the answer comes. */
function rawHead(baseUrl: string, expect: string): Promise<{ head: string; bytesWritten: number }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let answer = '';
    let done = false;
    const chunk = Buffer.alloc(64 * 1024, 120);
    const finish = () => {
      if (done) return;
      done = true;
      const bytesWritten = socket.bytesWritten;
      socket.destroy();
      resolve({ head: answer.split('\r\n\r\n')[0] ?? '', bytesWritten });
    };
    socket.on('connect', () => {
      socket.write(
        `POST /intserv/4.0/createAccount HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\nExpect: ${expect}\r\n\r\n`,
      );
      const pump = () => {
        while (!done && socket.writable && socket.bytesWritten < 64 * 1024 * 1024 && socket.write(chunk));
      };
      socket.on('drain', pump);
      // An Expect the server honours waits for the interim answer: send the body only after a pause.
      setTimeout(pump, 20);
    });
    socket.on('data', (data: Buffer) => {
      answer += data.toString('latin1');
      if (answer.includes('\r\n\r\n') && !/^HTTP\/1\.1 100/.test(answer)) finish();
    });
    socket.on('error', () => (answer ? finish() : reject(new Error(`no answer for Expect ${JSON.stringify(expect)}`))));
    socket.on('close', () => (answer ? finish() : reject(new Error(`closed without an answer for Expect ${JSON.stringify(expect)}`))));
    setTimeout(() => (done ? undefined : answer ? finish() : reject(new Error(`no answer in 10 s for Expect ${JSON.stringify(expect)}`))), 10_000).unref();
  });
}
