/**
 * Request fingerprint: HMAC-SHA-256 (hex) of canonical JSON, keyed with a secret, so a reader of
 * the store cannot recover a request from its fingerprint by guessing (a bare hash of the
 * parameters gave a 4-digit verificationPin away in 4,897 guesses). Two requests that differ only in key order
 * must fingerprint the same, so objects are serialised with their keys sorted (by UTF-16 code unit,
 * recursively); arrays keep their order. Otherwise the rules of JSON.stringify apply: `toJSON` is
 * honoured, `undefined`/functions/symbols are dropped from objects (null in arrays), non-finite
 * numbers become null. A BigInt or a cycle throws a TypeError rather than fingerprinting ambiguously.
 */
import { createHmac, hkdfSync } from 'node:crypto';

/**
 * The name a record is stored under: an HMAC of its identity, never the identity itself, so a
 * reader of the store learns no caller-chosen id (which may hold anything, a card number
 * included). Keyed with a subkey derived from the fingerprint key, one key per purpose.
 */
export function recordKeyer(fingerprintKey: Buffer): (identity: string) => string {
  const subkey = Buffer.from(hkdfSync('sha256', fingerprintKey, Buffer.alloc(0), 'galileo-gateway idempotency record name', 32));
  return (identity) => createHmac('sha256', subkey).update(identity, 'utf8').digest('base64url');
}

export function fingerprint(value: unknown, key: Buffer): string {
  const json = canonicalJson(value, new Set());
  if (json === undefined) throw new TypeError('fingerprint: value is not representable as JSON');
  return createHmac('sha256', key).update(json, 'utf8').digest('hex');
}

/** Returns undefined for values JSON omits (undefined, functions, symbols). */
function canonicalJson(input: unknown, ancestors: Set<object>): string | undefined {
  let value = input;
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new TypeError('fingerprint: BigInt is not representable as JSON');
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  }
  if (value === null) return 'null';
  const obj = value as object;
  if (ancestors.has(obj)) throw new TypeError('fingerprint: value contains a cycle');
  ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      return `[${obj.map((item) => canonicalJson(item, ancestors) ?? 'null').join(',')}]`;
    }
    // Boxed primitives (new String('x')) serialise as their primitive, as in JSON.stringify.
    if (obj instanceof String || obj instanceof Number || obj instanceof Boolean) {
      return canonicalJson(obj.valueOf(), ancestors);
    }
    const members: string[] = [];
    for (const key of Object.keys(obj).sort()) {
      const member = canonicalJson((obj as Record<string, unknown>)[key], ancestors);
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(obj);
  }
}
