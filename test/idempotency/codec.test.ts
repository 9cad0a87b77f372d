import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { aesGcmCodec, parseKeyRing, plainCodec, type RingKey } from '../../src/idempotency/codec.js';
import { StoreUnavailableError, type StoredResponse } from '../../src/idempotency/store.js';

const RESPONSE: StoredResponse = { status: 200, contentType: 'application/json', body: '{"card_number":"487093XXXXXX1264","n":"é😀"}' };
const WHERE = { key: '9999:createAccount:tx-1', fingerprint: 'f'.repeat(64) };
const ring = (...ids: string[]): RingKey[] => ids.map((id) => ({ id, key: randomBytes(32) }));

/** Flips one bit of the byte at `index` inside the base64 segment `segment` of a record. */
function flip(encoded: string, segment: number, index = 0): string {
  const parts = encoded.split('.');
  const bytes = Buffer.from(parts[segment] ?? '', 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  parts[segment] = bytes.toString('base64');
  return parts.join('.');
}

describe('plainCodec', () => {
  it('round-trips a response, and a withheld one', () => {
    assert.deepEqual(plainCodec.decode(plainCodec.encode(RESPONSE, WHERE), WHERE), RESPONSE);
    const withheld = { status: 200, contentType: 'application/json', body: '', withheld: 'a card number' };
    assert.deepEqual(plainCodec.decode(plainCodec.encode(withheld, WHERE), WHERE), withheld);
  });

  it('stores only the StoredResponse fields', () => {
    const extra = { ...RESPONSE, secret: 'x' } as StoredResponse;
    assert.deepEqual(JSON.parse(plainCodec.encode(extra, WHERE)), RESPONSE);
  });

  for (const [label, bad] of [
    ['not JSON', '{"status":'],
    ['JSON null', 'null'],
    ['an array', '[200,"a","b"]'],
    ['a string status', '{"status":"200","contentType":"a","body":"b"}'],
    ['a fractional status', '{"status":200.5,"contentType":"a","body":"b"}'],
    ['a missing body', '{"status":200,"contentType":"a"}'],
    ['a numeric contentType', '{"status":200,"contentType":1,"body":"b"}'],
  ] as const) {
    it(`decode rejects ${label} with StoreUnavailableError`, () => {
      assert.throws(() => plainCodec.decode(bad, WHERE), StoreUnavailableError);
    });
  }
});

describe('aesGcmCodec', () => {
  const keys = ring('k2026');
  const codec = aesGcmCodec(keys);

  it('round-trips a response', () => {
    assert.deepEqual(codec.decode(codec.encode(RESPONSE, WHERE), WHERE), RESPONSE);
  });

  it('emits v2.<key id>.<iv>.<tag>.<ciphertext> with a 12-byte IV and 16-byte tag, no plaintext', () => {
    const encoded = codec.encode(RESPONSE, WHERE);
    assert.match(encoded, /^v2\.k2026\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    const [, , iv, tag] = encoded.split('.');
    assert.equal(Buffer.from(iv ?? '', 'base64').length, 12);
    assert.equal(Buffer.from(tag ?? '', 'base64').length, 16);
    assert.equal(encoded.includes('487093'), false);
    assert.equal(encoded.includes('card_number'), false);
  });

  it('uses a fresh IV per record', () => {
    const a = codec.encode(RESPONSE, WHERE);
    const b = codec.encode(RESPONSE, WHERE);
    assert.notEqual(a.split('.')[2], b.split('.')[2]);
    assert.notEqual(a, b);
  });

  it('binds a record to its key and fingerprint: moved to another key, or under an altered fingerprint, it is refused', () => {
    const encoded = codec.encode(RESPONSE, WHERE);
    assert.throws(() => codec.decode(encoded, { ...WHERE, key: '9999:createAccount:tx-2' }), /moved from another transactionId/);
    assert.throws(() => codec.decode(encoded, { ...WHERE, fingerprint: 'e'.repeat(64) }), StoreUnavailableError);
  });

  for (const [label, segment] of [
    ['IV', 2],
    ['auth tag', 3],
    ['ciphertext', 4],
  ] as const) {
    it(`detects a flipped bit in the ${label}`, () => {
      const tampered = flip(codec.encode(RESPONSE, WHERE), segment, 3);
      assert.throws(() => codec.decode(tampered, WHERE), StoreUnavailableError);
    });
  }

  it('rejects truncated records', () => {
    const encoded = codec.encode(RESPONSE, WHERE);
    const [v, id, iv, tag, ct] = encoded.split('.') as [string, string, string, string, string];
    const shortCt = Buffer.from(ct, 'base64').subarray(0, 10).toString('base64');
    for (const bad of [encoded.slice(0, -4), `${v}.${id}.${iv}.${tag}.${shortCt}`, `${v}.${id}.${iv}.${tag}`, `${v}.${id}`, '']) {
      assert.throws(() => codec.decode(bad, WHERE), StoreUnavailableError, bad);
    }
  });

  it('a key ring: the first key encrypts, every key decrypts, an unknown key id is named', () => {
    const [old, current] = [ring('old')[0]!, ring('new')[0]!];
    const before = aesGcmCodec([old]);
    const during = aesGcmCodec([current, old]);
    const after = aesGcmCodec([current]);
    const oldRecord = before.encode(RESPONSE, WHERE);
    const newRecord = during.encode(RESPONSE, WHERE);
    assert.match(newRecord, /^v2\.new\./);
    assert.deepEqual(during.decode(oldRecord, WHERE), RESPONSE);
    assert.deepEqual(aesGcmCodec([old, current]).decode(newRecord, WHERE), RESPONSE, 'a replica still encrypting with the old key reads the new records');
    assert.throws(() => after.decode(oldRecord, WHERE), /key id "old", which the key ring \(IDEMPOTENCY_ENCRYPTION_KEY\) does not hold/);
  });

  it('rejects a record encrypted under another key with the same id', () => {
    const other = aesGcmCodec([{ id: 'k2026', key: randomBytes(32) }]);
    assert.throws(() => codec.decode(other.encode(RESPONSE, WHERE), WHERE), /failed authentication/);
  });

  it('rejects plain JSON, an unknown version and non-base64 segments', () => {
    const [, id, iv, tag, ct] = codec.encode(RESPONSE, WHERE).split('.') as [string, string, string, string, string];
    for (const bad of [
      plainCodec.encode(RESPONSE, WHERE),
      `v1.${iv}.${tag}.${ct}`,
      `v3.${id}.${iv}.${tag}.${ct}`,
      `v2.${id}.${iv}.${tag}.${ct}!`,
      `v2.${id}.${iv}.${tag}.${ct}.x`,
    ]) {
      assert.throws(() => codec.decode(bad, WHERE), StoreUnavailableError, bad);
    }
  });

  it('rejects a correctly encrypted record whose JSON is not a StoredResponse', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keys[0]!.key, iv);
    cipher.setAAD(Buffer.from(`${WHERE.key}\u0000${WHERE.fingerprint}`));
    const ct = Buffer.concat([cipher.update('{"status":"200","contentType":"a","body":"b"}', 'utf8'), cipher.final()]);
    const record = ['v2', 'k2026', iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join('.');
    assert.throws(() => codec.decode(record, WHERE), /wrong shape/);
  });

  it('refuses a key that is not exactly 32 bytes, a bad key id, a repeated id, an empty ring', () => {
    for (const length of [0, 16, 31, 33]) assert.throws(() => aesGcmCodec([{ id: 'k', key: randomBytes(length) }]), /32 bytes/);
    assert.throws(() => aesGcmCodec([{ id: 'a.b', key: randomBytes(32) }]), /key id/);
    assert.throws(() => aesGcmCodec([...ring('a'), ...ring('a')]), /twice/);
    assert.throws(() => aesGcmCodec([]), /empty/);
  });

  it("is not affected by later changes to the caller's key buffer", () => {
    const k = randomBytes(32);
    const c = aesGcmCodec([{ id: 'k', key: k }]);
    const encoded = c.encode(RESPONSE, WHERE);
    k.fill(0);
    assert.deepEqual(c.decode(encoded, WHERE), RESPONSE);
  });
});

describe('parseKeyRing (IDEMPOTENCY_ENCRYPTION_KEY)', () => {
  it('one key: base64 of 32 bytes (surrounding whitespace ignored), its id derived from it', () => {
    const raw = randomBytes(32);
    const [key] = parseKeyRing(raw.toString('base64'));
    assert.deepEqual(key!.key, raw);
    assert.match(key!.id, /^k[0-9a-f]{8}$/);
    assert.deepEqual(parseKeyRing(`${raw.toString('base64')}\n`), [key]);
  });

  it('a ring: id:base64 entries, in order', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    assert.deepEqual(parseKeyRing(`2026-12:${a.toString('base64')}, 2026-06:${b.toString('base64')}`), [
      { id: '2026-12', key: a },
      { id: '2026-06', key: b },
    ]);
  });

  it('rejects a short or long key, naming the size; repeated ids; entries without an id in a ring', () => {
    assert.throws(() => parseKeyRing(randomBytes(31).toString('base64')), /exactly 32 bytes, got 31/);
    assert.throws(() => parseKeyRing(randomBytes(33).toString('base64')), /exactly 32 bytes, got 33/);
    assert.throws(() => parseKeyRing(''), /empty/);
    const k = randomBytes(32).toString('base64');
    assert.throws(() => parseKeyRing(`a:${k},a:${k}`), /twice/);
    assert.throws(() => parseKeyRing(`a:${k},${k}`), /id:base64/);
  });

  it('rejects text that is not base64', () => {
    const valid = randomBytes(32).toString('base64');
    for (const bad of ['not base64 at all!', `${valid.slice(0, -2)}!=`, valid.slice(1), 'ab-_'.repeat(11), `${valid}==`]) {
      assert.throws(() => parseKeyRing(bad), /not valid base64/, bad);
    }
  });
});
