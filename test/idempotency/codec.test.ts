import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { aesGcmCodec, parseEncryptionKey, plainCodec } from '../../src/idempotency/codec.js';
import { StoreUnavailableError, type StoredResponse } from '../../src/idempotency/store.js';

const RESPONSE: StoredResponse = { status: 200, contentType: 'application/json', body: '{"card_number":"487093XXXXXX1264","n":"é😀"}' };

/** Flips one bit of the byte at `index` inside the base64 segment `segment` of a v1 record. */
function flip(encoded: string, segment: number, index = 0): string {
  const parts = encoded.split('.');
  const bytes = Buffer.from(parts[segment] ?? '', 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  parts[segment] = bytes.toString('base64');
  return parts.join('.');
}

describe('plainCodec', () => {
  it('round-trips a response', () => {
    assert.deepEqual(plainCodec.decode(plainCodec.encode(RESPONSE)), RESPONSE);
  });

  it('stores only the three StoredResponse fields', () => {
    const extra = { ...RESPONSE, secret: 'x' } as StoredResponse;
    assert.deepEqual(JSON.parse(plainCodec.encode(extra)), RESPONSE);
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
      assert.throws(() => plainCodec.decode(bad), StoreUnavailableError);
    });
  }
});

describe('aesGcmCodec', () => {
  const key = randomBytes(32);
  const codec = aesGcmCodec(key);

  it('round-trips a response', () => {
    assert.deepEqual(codec.decode(codec.encode(RESPONSE)), RESPONSE);
  });

  it('emits v1.<iv>.<tag>.<ciphertext> with a 12-byte IV and 16-byte tag, no plaintext', () => {
    const encoded = codec.encode(RESPONSE);
    assert.match(encoded, /^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    const [, iv, tag] = encoded.split('.');
    assert.equal(Buffer.from(iv ?? '', 'base64').length, 12);
    assert.equal(Buffer.from(tag ?? '', 'base64').length, 16);
    assert.equal(encoded.includes('487093'), false);
    assert.equal(encoded.includes('card_number'), false);
  });

  it('uses a fresh IV per record', () => {
    const a = codec.encode(RESPONSE);
    const b = codec.encode(RESPONSE);
    assert.notEqual(a.split('.')[1], b.split('.')[1]);
    assert.notEqual(a, b);
  });

  for (const [label, segment] of [['IV', 1], ['auth tag', 2], ['ciphertext', 3]] as const) {
    it(`detects a flipped bit in the ${label}`, () => {
      const tampered = flip(codec.encode(RESPONSE), segment, 3);
      assert.throws(() => codec.decode(tampered), StoreUnavailableError);
    });
  }

  it('rejects truncated records', () => {
    const encoded = codec.encode(RESPONSE);
    const [v, iv, tag, ct] = encoded.split('.') as [string, string, string, string];
    const shortCt = Buffer.from(ct, 'base64').subarray(0, 10).toString('base64');
    for (const bad of [encoded.slice(0, -4), `${v}.${iv}.${tag}.${shortCt}`, `${v}.${iv}.${tag}`, `${v}.${iv}`, '']) {
      assert.throws(() => codec.decode(bad), StoreUnavailableError, bad);
    }
  });

  it('rejects a record encrypted under another key', () => {
    const other = aesGcmCodec(randomBytes(32));
    assert.throws(() => codec.decode(other.encode(RESPONSE)), StoreUnavailableError);
  });

  it('rejects plain JSON, an unknown version and non-base64 segments', () => {
    const [, iv, tag, ct] = codec.encode(RESPONSE).split('.') as [string, string, string, string];
    for (const bad of [plainCodec.encode(RESPONSE), `v2.${iv}.${tag}.${ct}`, `v1.${iv}.${tag}.${ct}!`, `v1.${iv}.${tag}.${ct}.x`]) {
      assert.throws(() => codec.decode(bad), StoreUnavailableError, bad);
    }
  });

  it('rejects a correctly encrypted record whose JSON is not a StoredResponse', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([cipher.update('{"status":"200","contentType":"a","body":"b"}', 'utf8'), cipher.final()]);
    const record = ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join('.');
    assert.throws(() => codec.decode(record), StoreUnavailableError);
  });

  it('refuses a key that is not exactly 32 bytes', () => {
    for (const length of [0, 16, 31, 33]) {
      assert.throws(() => aesGcmCodec(randomBytes(length)), /32 bytes/);
    }
  });

  it('is not affected by later changes to the caller\'s key buffer', () => {
    const k = randomBytes(32);
    const c = aesGcmCodec(k);
    const encoded = c.encode(RESPONSE);
    k.fill(0);
    assert.deepEqual(c.decode(encoded), RESPONSE);
  });
});

describe('parseEncryptionKey', () => {
  it('parses base64 of 32 bytes (surrounding whitespace ignored)', () => {
    const raw = randomBytes(32);
    assert.deepEqual(parseEncryptionKey(raw.toString('base64')), raw);
    assert.deepEqual(parseEncryptionKey(`${raw.toString('base64')}\n`), raw);
  });

  it('rejects a short or long key, naming the size', () => {
    assert.throws(() => parseEncryptionKey(randomBytes(31).toString('base64')), /exactly 32 bytes, got 31/);
    assert.throws(() => parseEncryptionKey(randomBytes(33).toString('base64')), /exactly 32 bytes, got 33/);
    assert.throws(() => parseEncryptionKey(''), /exactly 32 bytes, got 0/);
  });

  it('rejects text that is not base64', () => {
    const valid = randomBytes(32).toString('base64');
    for (const bad of ['not base64 at all!', `${valid.slice(0, -2)}!=`, valid.slice(1), 'ab-_'.repeat(11), `${valid}==`]) {
      assert.throws(() => parseEncryptionKey(bad), /not valid base64/, bad);
    }
  });
});
