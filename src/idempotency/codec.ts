/**
 * Turns a StoredResponse into the string a store keeps, and back. The store never looks inside.
 * A record that cannot be read back (corrupt, truncated, tampered, other key, wrong shape) is a
 * store failure (StoreUnavailableError), never something to replay.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StoreUnavailableError, type StoredResponse } from './store.js';

export interface ResponseCodec {
  encode(r: StoredResponse): string;
  decode(s: string): StoredResponse;
}

const KEY_BYTES = 32;
const IV_BYTES = 12; // the GCM standard nonce size
const TAG_BYTES = 16;
const VERSION = 'v1';

/** JSON, unencrypted. */
export const plainCodec: ResponseCodec = {
  encode: (r) => toJson(r),
  decode: (s) => fromJson(s),
};

/** AES-256-GCM: `v1.<iv>.<tag>.<ciphertext>` (standard base64). A fresh random IV per record. */
export function aesGcmCodec(key: Buffer): ResponseCodec {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new Error(`aesGcmCodec: key must be exactly ${KEY_BYTES} bytes`);
  }
  const k = Buffer.from(key); // own copy: the caller may reuse or zero its buffer
  return {
    encode(r) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', k, iv);
      const ciphertext = Buffer.concat([cipher.update(toJson(r), 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join('.');
    },
    decode(s) {
      const parts = s.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION) throw unreadable('unknown encrypted record format');
      const iv = strictBase64(parts[1] ?? '');
      const tag = strictBase64(parts[2] ?? '');
      const ciphertext = strictBase64(parts[3] ?? '');
      if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ciphertext === undefined) {
        throw unreadable('malformed encrypted record');
      }
      let plaintext: string;
      try {
        const decipher = createDecipheriv('aes-256-gcm', k, iv, { authTagLength: TAG_BYTES });
        decipher.setAuthTag(tag);
        plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch (cause) {
        // Tampered, truncated, or encrypted under another key: GCM authentication fails.
        throw unreadable('encrypted record failed authentication', cause);
      }
      return fromJson(plaintext);
    },
  };
}

/** Parses IDEMPOTENCY_ENCRYPTION_KEY: standard base64 of exactly 32 bytes (surrounding whitespace ignored). */
export function parseEncryptionKey(base64: string): Buffer {
  const key = strictBase64(base64.trim());
  if (key === undefined) throw new Error('encryption key is not valid base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`encryption key must be base64 of exactly ${KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

/** Buffer.from(_, 'base64') silently skips junk; accept only canonical padded base64. */
function strictBase64(s: string): Buffer | undefined {
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
