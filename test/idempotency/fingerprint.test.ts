import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { fingerprint as keyed } from '../../src/idempotency/fingerprint.js';

const KEY = randomBytes(32);
const fingerprint = (value: unknown) => keyed(value, KEY);
const sha256 = (s: string): string => createHmac('sha256', KEY).update(s, 'utf8').digest('hex');

describe('fingerprint', () => {
  it('is the HMAC-SHA-256 hex (keyed) of canonical JSON with sorted keys', () => {
    assert.equal(fingerprint({ b: 1, a: [1, 'x', { d: true, c: null }] }), sha256('{"a":[1,"x",{"c":null,"d":true}],"b":1}'));
    assert.match(fingerprint({}), /^[0-9a-f]{64}$/);
  });

  it('cannot be recomputed without the key: a store reader cannot guess a 4-digit PIN from it', () => {
    const print = fingerprint({ params: { verificationPin: '1234' } });
    const bare = (pin: string) => createHash('sha256').update(`{"params":{"verificationPin":"${pin}"}}`).digest('hex');
    const otherKey = (pin: string) => keyed({ params: { verificationPin: pin } }, randomBytes(32));
    for (let n = 0; n < 10_000; n++) {
      const pin = String(n).padStart(4, '0');
      assert.notEqual(bare(pin), print);
      if (n % 1000 === 0) assert.notEqual(otherKey(pin), print);
    }
  });

  it('ignores key order at every depth', () => {
    const a = { providerId: '1', params: { amount: 10, accountNo: '74' }, format: 'json' };
    const b = { format: 'json', params: { accountNo: '74', amount: 10 }, providerId: '1' };
    assert.equal(fingerprint(a), fingerprint(b));
  });

  it('sorts integer-like keys as strings too, independent of insertion order', () => {
    assert.equal(fingerprint({ 10: 'a', 2: 'b' }), sha256('{"10":"a","2":"b"}'));
  });

  it('keeps array order significant', () => {
    assert.notEqual(fingerprint([1, 2]), fingerprint([2, 1]));
  });

  it('drops undefined properties, keeps null', () => {
    assert.equal(fingerprint({ a: 1, b: undefined }), fingerprint({ a: 1 }));
    assert.notEqual(fingerprint({ a: 1, b: null }), fingerprint({ a: 1 }));
    assert.equal(fingerprint([undefined]), sha256('[null]'));
  });

  it('distinguishes values and types', () => {
    assert.notEqual(fingerprint({ a: 1 }), fingerprint({ a: '1' }));
    assert.notEqual(fingerprint({ a: 1 }), fingerprint({ a: 2 }));
    assert.notEqual(fingerprint({ format: 'json' }), fingerprint({ format: 'xml' }));
  });

  it('follows JSON for Dates and rejects what JSON cannot represent', () => {
    const d = new Date('2024-01-02T03:04:05.000Z');
    assert.equal(fingerprint({ d }), sha256('{"d":"2024-01-02T03:04:05.000Z"}'));
    assert.throws(() => fingerprint({ n: 1n }), TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => fingerprint(cyclic), TypeError);
    assert.throws(() => fingerprint(undefined), TypeError);
  });

  it('accepts a repeated (non-cyclic) reference', () => {
    const shared = { x: 1 };
    assert.equal(fingerprint({ a: shared, b: shared }), sha256('{"a":{"x":1},"b":{"x":1}}'));
  });
});
