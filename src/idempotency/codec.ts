/**
 * Turns a StoredResponse into the string a store keeps, and back. The store never looks inside.
 * A record that cannot be read back (corrupt, truncated, tampered, moved, unknown key, wrong
 * shape) is a store failure (StoreUnavailableError, saying which), never something to replay.
 *
 * Encrypted records are bound to where they belong: the record's key and fingerprint are the
 * AES-GCM associated data, so a record copied onto another transactionId's key, or whose
 * fingerprint was altered, fails authentication. Keys rotate through a key ring: each record names
 * the id of the key that encrypted it; the first key encrypts, every key decrypts.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { StoreUnavailableError, type StoredResponse } from './store.js';

/** Where a record lives: what an encrypted record is bound to. */
interface RecordContext {
  key: string;
  fingerprint: string;
}

export interface ResponseCodec {
  encode(r: StoredResponse, where: RecordContext): string;
  decode(s: string, where: RecordContext): StoredResponse;
}

/** An encryption key and its id (written into each record it encrypts). */
export interface RingKey {
  id: string;
  key: Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12; // the GCM standard nonce size
const TAG_BYTES = 16;
const VERSION = 'v2';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** JSON, unencrypted (no binding: whoever can write the store can write anything). */
export const plainCodec: ResponseCodec = {
  encode: (r) => toJson(r),
  decode: (s) => fromJson(s),
};

/**
 * AES-256-GCM: `v2.<key id>.<iv>.<tag>.<ciphertext>` (standard base64), a fresh random IV per
 * record, the record's key and fingerprint as associated data. `ring[0]` encrypts.
 */
export function aesGcmCodec(ring: readonly RingKey[]): ResponseCodec {
  if (ring.length === 0) throw new Error('aesGcmCodec: the key ring is empty');
  const keys = new Map<string, Buffer>();
  for (const { id, key } of ring) {
    if (!KEY_ID.test(id)) throw new Error(`aesGcmCodec: key id "${id}" must be 1-32 letters, digits, "_" or "-"`);
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new Error(`aesGcmCodec: key ${id} must be exactly ${KEY_BYTES} bytes`);
    if (keys.has(id)) throw new Error(`aesGcmCodec: key id "${id}" appears twice`);
    keys.set(id, Buffer.from(key)); // own copy: the caller may reuse or zero its buffer
  }
  const current = ring[0]!.id;
  const associated = (where: RecordContext) => Buffer.from(`${where.key}\u0000${where.fingerprint}`, 'utf8');
  return {
    encode(r, where) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keys.get(current)!, iv);
      cipher.setAAD(associated(where));
      const ciphertext = Buffer.concat([cipher.update(toJson(r), 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, current, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join('.');
    },
    decode(s, where) {
      const parts = s.split('.');
      if (parts.length !== 5 || parts[0] !== VERSION) throw unreadable('unknown encrypted record format');
      const id = parts[1]!;
      const key = keys.get(id);
      if (key === undefined) throw unreadable(`encrypted with key id "${id}", which the key ring (IDEMPOTENCY_ENCRYPTION_KEY) does not hold`);
      const iv = strictBase64(parts[2] ?? '');
      const tag = strictBase64(parts[3] ?? '');
      const ciphertext = strictBase64(parts[4] ?? '');
      if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ciphertext === undefined) {
        throw unreadable('malformed encrypted record');
      }
      let plaintext: string;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(associated(where));
        decipher.setAuthTag(tag);
        plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch (cause) {
        // Tampered, truncated, moved from another key or fingerprint: GCM authentication fails.
        throw unreadable(`encrypted record failed authentication under key "${id}" (altered, or moved from another transactionId)`, cause);
      }
      return fromJson(plaintext);
    },
  };
}

/**
 * Parses IDEMPOTENCY_ENCRYPTION_KEY: one key, standard base64 of exactly 32 bytes (its id is
 * derived from it), or a key ring `id:base64,id:base64,...` whose first key encrypts.
 */
export function parseKeyRing(text: string): RingKey[] {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new Error('the key ring is empty');
  const single = entries.length === 1 && !entries[0]!.includes(':');
  const ring = entries.map((entry) => {
    const colon = entry.indexOf(':');
    const id = single ? undefined : entry.slice(0, colon);
    const key = keyBytes(single ? entry : entry.slice(colon + 1));
    if (!single && colon < 1) throw new Error('each key of a ring must be written id:base64');
    return { id: id ?? `k${createHash('sha256').update(key).digest('hex').slice(0, 8)}`, key };
  });
  const ids = new Set<string>();
  for (const [i, { id }] of ring.entries()) {
    // Never the text itself: `<key>:<key>` puts a key where the id belongs.
    if (!KEY_ID.test(id)) throw new Error(`the id of key ${i + 1} must be 1-32 letters, digits, "_" or "-"`);
    if (ids.has(id)) throw new Error(`key id "${id}" appears twice`);
    ids.add(id);
  }
  return ring;
}

/** Standard base64 of exactly 32 bytes (surrounding whitespace ignored). */
function keyBytes(base64: string): Buffer {
  const key = strictBase64(base64.trim());
  if (key === undefined) throw new Error('encryption key is not valid base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`encryption key must be base64 of exactly ${KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

/** Buffer.from(_, 'base64') silently skips junk; accept only canonical padded base64. */
export function strictBase64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const buf = Buffer.from(s, 'base64');
  return buf.toString('base64') === s ? buf : undefined;
}

/** Only the known fields are kept, so nothing extra the caller attached is stored. */
function toJson(r: StoredResponse): string {
  return JSON.stringify({ status: r.status, contentType: r.contentType, body: r.body, ...(r.withheld === undefined ? {} : { withheld: r.withheld }) });
}

function fromJson(s: string): StoredResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch (cause) {
    throw unreadable('stored response is not JSON', cause);
  }
  if (parsed === null || typeof parsed !== 'object') throw unreadable('stored response is not an object');
  const { status, contentType, body, withheld } = parsed as Record<string, unknown>;
  if (!Number.isInteger(status) || typeof contentType !== 'string' || typeof body !== 'string' || (withheld !== undefined && typeof withheld !== 'string')) {
    throw unreadable('stored response has the wrong shape');
  }
  return { status: status as number, contentType, body, ...(withheld === undefined ? {} : { withheld }) };
}

function unreadable(message: string, cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`idempotency record unreadable: ${message}`, cause === undefined ? undefined : { cause });
}
