/** GATEWAY_CLIENTS: the calling services, their key hashes, operations and rate limits. */
import type { ClientConfig, RateLimit } from '../config.js';
import { ConfigError } from './config-error.js';

/** A client's `rateLimit`: requestsPerSecond above 0, burst a whole number (default: one second's worth). */
function clientRateLimit(given: unknown, entry: string, fail: (message: string) => never): RateLimit | undefined {
  if (given === undefined) return undefined;
  const limit = given as { requestsPerSecond?: unknown; burst?: unknown } | null;
  if (typeof limit !== 'object' || limit === null || Array.isArray(limit))
    return fail(`${entry}: rateLimit must be an object { "requestsPerSecond": N, "burst": M }`);
  const unknown = Object.keys(limit).find((k) => k !== 'requestsPerSecond' && k !== 'burst');
  if (unknown !== undefined) return fail(`${entry}: rateLimit has an unknown member "${unknown}"`);
  const rate = limit.requestsPerSecond;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 1_000_000)
    return fail(`${entry}: rateLimit.requestsPerSecond must be a number above 0 and at most 1000000`);
  const burst = limit.burst ?? Math.max(1, Math.ceil(rate));
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1 || burst > 1_000_000)
    return fail(`${entry}: rateLimit.burst must be a whole number from 1 to 1000000`);
  return { requestsPerSecond: rate, burst };
}

/** SHA-256 of the empty string: a client configured with no key at all. */
const EMPTY_KEY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function parseClients(text: string): ClientConfig[] {
  const fail = (message: string): never => {
    throw new ConfigError('GATEWAY_CLIENTS', message);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('is not valid JSON');
  }
  if (!Array.isArray(raw) || raw.length === 0) return fail('must be a non-empty JSON array');
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  return raw.map((entry: unknown, i) => {
    const c = entry as { name?: unknown; keySha256?: unknown; operations?: unknown; rateLimit?: unknown } | null;
    if (typeof c !== 'object' || c === null) return fail(`entry ${i} is not an object`);
    if (typeof c.name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(c.name)) {
      return fail(`entry ${i}: name must be 1-64 characters of letters, digits, ".", "_" or "-"`);
    }
    if (names.has(c.name)) return fail(`entry ${i}: duplicate name "${c.name}"`);
    names.add(c.name);
    const given: unknown = c.keySha256;
    const list = typeof given === 'string' ? [given] : given;
    if (!Array.isArray(list) || list.length === 0 || !list.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/i.test(h))) {
      return fail(
        `entry ${i} (${c.name}): keySha256 must be 64 hex characters, or an array of them while a key is rotated (the SHA-256 of the key, never the key)`,
      );
    }
    const own = new Set<string>();
    for (const hash of (list as string[]).map((h) => h.toLowerCase())) {
      if (hashes.has(hash)) return fail(`entry ${i} (${c.name}): the same key as client "${hashes.get(hash)}" (each client needs its own key)`);
      if (own.has(hash)) return fail(`entry ${i} (${c.name}): keySha256 lists the same hash twice`);
      if (hash === EMPTY_KEY_SHA256) return fail(`entry ${i} (${c.name}): keySha256 is the hash of an empty key`);
      own.add(hash);
    }
    for (const hash of own) hashes.set(hash, c.name);
    if (!Array.isArray(c.operations) || c.operations.length === 0 || !c.operations.every((o) => typeof o === 'string' && o !== '')) {
      return fail(`entry ${i} (${c.name}): operations must be a non-empty array of operation names or "*"`);
    }
    return { name: c.name, keySha256: [...own], operations: c.operations, rateLimit: clientRateLimit(c.rateLimit, `entry ${i} (${c.name})`, fail) };
  });
}
