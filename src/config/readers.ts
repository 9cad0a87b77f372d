/**
 * How config.ts reads one variable: given directly or as NAME_FILE, as a URL, an integer or a
 * choice, with the default and bounds its declaration gives (config-variables.ts). Each refusal
 * names the variable; a value is echoed only where it cannot be a secret.
 */
import { readFileSync } from 'node:fs';
import { variable, type VariableName } from '../config-variables.js';
import { ConfigError } from './config-error.js';

export type Env = Record<string, string | undefined>;

/** A value given directly or as NAME_FILE (a path to a file holding it, as Docker/K8s secrets are mounted). */
export function secret(env: Env, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(name, `set either ${name} or ${name}_FILE, not both`);
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${name}_FILE`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new ConfigError(`${name}_FILE`, `${file} is empty`);
    return value;
  }
  if (direct === '') throw new ConfigError(name, 'is set but empty');
  return direct;
}

export function optionalUrl(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, 'must use http: or https:');
  return value.replace(/\/+$/, '');
}

export function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** An integer variable, with the default and bounds its declaration gives (config-variables.ts). */
export function integerVar(env: Env, name: VariableName): number {
  const { default: fallback, min, max } = variable(name);
  const value = env[name];
  if (value === undefined || value === '') return Number(fallback);
  return integer(name, value, min ?? 0, max ?? Number.MAX_SAFE_INTEGER);
}

/** The declared default of a text variable. */
export function fallback(name: VariableName): string {
  return String(variable(name).default);
}

/** The declared values of a choice variable. */
export function choices(name: VariableName): readonly string[] {
  return variable(name).choices ?? [];
}

export function mustBeOneOf(name: VariableName): string {
  return `must be one of ${choices(name)
    .map((c) => `"${c}"`)
    .join(', ')}`;
}

/** A choice variable: one of its declared values, or its declared default when unset. */
export function choiceVar(env: Env, name: VariableName): string {
  const value = env[name] ?? fallback(name);
  if (!choices(name).includes(value)) throw new ConfigError(name, `${mustBeOneOf(name)}, got "${value}"`);
  return value;
}

/** `what` names the part of a value checked, for values whose whole text must not be echoed (a URL with a password). */
export function integer(name: string, value: string, min: number, max: number, what?: string): number {
  const subject = what === undefined ? 'must be' : `${what} must be`;
  if (!/^\d+$/.test(value.trim())) throw new ConfigError(name, what === undefined ? `must be an integer, got "${value}"` : `${subject} an integer`);
  const n = Number(value.trim());
  if (n < min || n > max) throw new ConfigError(name, `${subject} between ${min} and ${max}${what === undefined ? `, got ${n}` : ''}`);
  return n;
}
