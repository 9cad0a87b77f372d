/**
 * Applies the production rules declared in config-variables.ts (docs/configuration.md, the
 * production column), one check per kind, each refusal naming the variable and never its value.
 * Two passes, so that the first refusal is the one that matters: what must be there (required, and
 * the private-file rule of every NAME_FILE) before the values are parsed, then what the parsed
 * values must be.
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { FILE_NAMES, VARIABLES, type ProductionRule, type Variable } from '../config-variables.js';
import type { Config } from '../config.js';
import { ConfigError } from './config-error.js';
import type { Env } from './readers.js';

/** Before parsing: every required variable is given, and no secret's file can be replaced by another user. */
export function checkPresenceInProduction(env: Env): void {
  for (const v of VARIABLES as readonly Variable[]) {
    for (const rule of v.production ?? []) {
      if (rule.kind !== 'required') continue;
      const applies = rule.when === undefined || valueOf(env, rule.when.variable) === rule.when.is;
      if (applies && !given(env, v)) {
        throw new ConfigError(v.name, `is required when NODE_ENV=production${rule.when ? ` and ${rule.when.variable}=${rule.when.is}` : ''}`);
      }
    }
  }
  checkSecretFiles(env);
}

/** After parsing: what each value must be. */
export function checkValuesInProduction(config: Config, env: Env): void {
  for (const v of VARIABLES as readonly Variable[]) {
    for (const rule of v.production ?? []) checkValue(v, rule, config, env);
  }
}

function checkValue(v: Variable, rule: ProductionRule, config: Config, env: Env): void {
  switch (rule.kind) {
    case 'switch':
    case 'required':
      return;
    case 'https-unless-loopback': {
      const text = env[v.name]?.trim();
      if (text === undefined || text === '') return;
      const url = new URL(text);
      if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
        throw new ConfigError(v.name, 'must use https:// when NODE_ENV=production (plain http only to a loopback address)');
      }
      return;
    }
    case 'redis-tls-and-password-unless-loopback': {
      const { store, redis } = config.idempotency;
      const { topology } = redis;
      if (store !== 'redis' || topology.kind !== rule.topology) return;
      const hosts =
        topology.kind === 'single' ? [topology.host] : topology.kind === 'sentinel' ? topology.sentinels.map((s) => s.host) : topology.nodes.map((n) => n.host);
      if (hosts.every(isLoopback)) return;
      if (!redis.tls) throw new ConfigError(v.name, 'a Redis outside loopback needs TLS when NODE_ENV=production (rediss:// or REDIS_TLS=true)');
      if (redis.password === undefined)
        throw new ConfigError(
          v.name,
          'a Redis outside loopback needs a password (REDIS_PASSWORD, with REDIS_USERNAME for an ACL user) when NODE_ENV=production',
        );
      return;
    }
    case 'at-least': {
      const value = Number(valueOf(env, v.name));
      if (value < rule.min) throw new ConfigError(v.name, `must be at least ${rule.min} when NODE_ENV=production (${rule.why})`);
      return;
    }
    case 'random-keys': {
      const weak = keysOf(v.name, config).find(({ key }) => notRandom(key));
      if (weak) throw new ConfigError(v.name, weak.id === undefined ? NOT_RANDOM : `key "${weak.id}" ${NOT_RANDOM}`);
      return;
    }
    case 'distinct-keys': {
      const others = keysOf(rule.from, config);
      if (keysOf(v.name, config).some(({ key }) => others.some((other) => other.key.equals(key)))) {
        throw new ConfigError(v.name, `must not be one of the ${KEY_NAMES[rule.from]} when NODE_ENV=production (one key per purpose)`);
      }
      return;
    }
  }
}

/** What the readers in config.ts take as set: a NAME_FILE, or a value that is not blank (a blank secret is refused there as empty). */
function given(env: Env, v: Variable): boolean {
  if (v.file && (env[v.name] !== undefined || env[`${v.name}_FILE`] !== undefined)) return true;
  return (env[v.name] ?? '').trim() !== '';
}

/** The text of a variable that has been validated (or not yet: then only compared), its default when unset. */
function valueOf(env: Env, name: string): string | undefined {
  const text = env[name];
  if (text !== undefined && text.trim() !== '') return text.trim();
  const declared = (VARIABLES as readonly Variable[]).find((v) => v.name === name)?.default;
  return declared === undefined ? undefined : String(declared);
}

/** How a refusal names the keys of a key variable. */
const KEY_NAMES: Record<string, string> = { IDEMPOTENCY_ENCRYPTION_KEY: 'encryption keys', IDEMPOTENCY_FINGERPRINT_KEY: 'fingerprint keys' };

/** The keys a key variable holds, as config.ts parsed them (once). */
function keysOf(name: string, config: Config): Array<{ id?: string; key: Buffer }> {
  const { keyRing, fingerprintKey } = config.idempotency;
  if (name === 'IDEMPOTENCY_ENCRYPTION_KEY') return [...(keyRing ?? [])];
  if (name === 'IDEMPOTENCY_FINGERPRINT_KEY') return fingerprintKey === undefined ? [] : [{ key: fingerprintKey }];
  throw new Error(`${name} is not a key variable`);
}

const NOT_RANDOM = 'is not random (all zero, a few repeated bytes, or text such as a passphrase): generate one with openssl rand -base64 32';

/**
 * A key typed by hand rather than generated: all zero, a few bytes repeated (32 random bytes hold
 * about 30 distinct values; fewer than 16 does not happen by chance), or printable text (a
 * passphrase base64-encoded: 32 random bytes are all printable ASCII about once in 10^14).
 */
function notRandom(key: Buffer): boolean {
  return new Set(key).size < 16 || key.every((byte) => byte >= 0x20 && byte <= 0x7e);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * The private-file rule of every variable with `file`: neither NAME_FILE nor a directory on its way
 * may be replaceable by any user, or anyone on the host could name a client or a key. The file is
 * checked where it really is (through any symlink, as Kubernetes mounts secrets), its directory
 * both there and where the path names it. A file that cannot be read is left to config.ts, which
 * says so.
 */
function checkSecretFiles(env: Env): void {
  for (const name of FILE_NAMES.map((n) => `${n}_FILE`)) {
    const path = env[name];
    if (path === undefined) continue;
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      continue;
    }
    if ((statSync(real).mode & 0o002) !== 0) throw new ConfigError(name, 'names a file any user may write (chmod o-w it) when NODE_ENV=production');
    for (const dir of new Set([dirname(real), dirname(path)])) {
      const mode = statSync(dir).mode;
      if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) throw new ConfigError(name, 'is in a directory any user may write to when NODE_ENV=production');
    }
  }
}
