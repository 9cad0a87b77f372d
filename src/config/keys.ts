/** The idempotency store's keys, parsed once: the encryption key ring and the fingerprint key. */
import { parseKeyRing, strictBase64, type RingKey } from '../idempotency/codec.js';
import { ConfigError } from './config-error.js';

/** IDEMPOTENCY_ENCRYPTION_KEY: a key or a key ring (production's rules: config-variables.ts). */
export function encryptionKeyRing(text: string | undefined): RingKey[] | undefined {
  if (text === undefined) return undefined;
  let ring: RingKey[];
  try {
    ring = parseKeyRing(text);
  } catch (err) {
    throw new ConfigError('IDEMPOTENCY_ENCRYPTION_KEY', (err as Error).message);
  }
  return ring;
}

/** IDEMPOTENCY_FINGERPRINT_KEY: base64 of at least 32 bytes (production's rules: config-variables.ts). */
export function fingerprintSecret(base64: string | undefined): Buffer | undefined {
  if (base64 === undefined) return undefined;
  const text = base64.trim();
  const key = text === '' ? undefined : strictBase64(text);
  if (key === undefined) throw new ConfigError('IDEMPOTENCY_FINGERPRINT_KEY', 'is not valid base64');
  if (key.length < 32) throw new ConfigError('IDEMPOTENCY_FINGERPRINT_KEY', `must be base64 of at least 32 bytes, got ${key.length}`);
  return key;
}
