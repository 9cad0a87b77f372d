/**
 * pino, JSON on stdout. Log lines are built from allow-listed fields only (bodies are never
 * logged); censoring sensitive keys is the second line of defence for anything that could still
 * carry a secret, and the mask helpers below clean the few caller-controlled texts a line does carry.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { maskNumbers } from './sensitive-numbers.js';

/**
 * Keys censored whatever the spec says: a caller's key and cookies, and whole bodies, parameter
 * sets and the objects an HTTP error drags along (an axios error's config holds the request
 * body). The fields themselves come from the spec's own markings (createLogger's sensitiveKeys:
 * every field marked x-sensitive, x-account-number or x-pci, the credentials, and the keys inside
 * callParams), so a field the spec marks is censored without a second list to keep in step.
 */
const STRUCTURAL_KEYS = ['authorization', 'cookie', 'body', 'params', 'data', 'config', 'request', 'response'];
const CENSOR = '[redacted]';

/**
 * A copy of a log object with every sensitive key censored, at any depth; untouched objects are
 * returned as they are. Instead of pino's `redact`: its wildcard paths (`*.*.*.key` for 21 keys)
 * cost ~13 % of the gateway's CPU under load (bench/hotspots.md), while these lines are a dozen
 * scalars. Errors are left to the `err` serializer, which keeps only type, message and stack.
 */
function censor(value: unknown, sensitive: ReadonlySet<string>, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || value instanceof Error || depth > 8) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = censor(item, sensitive, depth + 1);
      if (clean !== item) (copy ??= [...value])[i] = clean;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const item = record[key];
    const clean = sensitive.has(key) ? CENSOR : censor(item, sensitive, depth + 1);
    if (clean !== item) (copy ??= { ...record })[key] = clean;
  }
  return copy ?? value;
}

/**
 * The censor of log lines (sensitive keys at any depth), for the other outputs held to the same
 * rule: span attributes (src/tracing/attributes.ts).
 */
export function createCensor(sensitiveKeys: readonly string[]): <T extends object>(object: T) => T {
  const sensitive = new Set([...STRUCTURAL_KEYS, ...sensitiveKeys]);
  return (object) => censor(object, sensitive) as typeof object;
}

export function createLogger(options: {
  level: string;
  /** Field names the spec marks sensitive (GatewaySpec.sensitiveKeys). */
  sensitiveKeys: readonly string[];
  pretty?: boolean;
  destination?: DestinationStream;
  /** Fields added to every line (the trace ids while tracing is on: src/tracing/log-fields.ts). */
  mixin?: () => object;
}): Logger {
  const clean = createCensor(options.sensitiveKeys);
  const base = {
    level: options.level,
    base: { service: 'galileo-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(options.mixin && { mixin: options.mixin }),
    formatters: { log: (object: Record<string, unknown>) => clean(object) },
    // pino's own err serializer copies every enumerable property (an axios error's config and
    // response) and renames `type`: an Error is reduced to loggableError, anything else kept as is.
    serializers: { err: (value: unknown) => (value instanceof Error ? loggableError(value) : value) },
  };
  if (options.destination) return pino(base, options.destination);
  // pino-pretty is a development dependency: an image built without it logs JSON, even on a terminal.
  if (options.pretty && canResolve('pino-pretty')) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base);
}

/**
 * Six or more digits, in any script and whatever separates them (4111 1111 1111 1111,
 * 4111 -- 1111..., 4111/1111...): could be a PAN, PRN, SSN or date of birth. Six, not thirteen,
 * so a partial number is caught too. Each such group becomes `******` plus its last four digits.
 */
export function maskDigits(text: string): string {
  return maskNumbers(text, 6);
}

/**
 * A caller-chosen identifier (a transactionId) as it may be logged: itself, unless a group of nine
 * or more digits could hold an SSN or a card number (also inside a longer run, `4111...1111-01`),
 * which is masked to its last four; a UUID is kept. Ops still see every other id verbatim.
 */
export function loggableId(id: string): string {
  return maskNumbers(id, 9);
}

const MAX_PATH = 120;

/**
 * A request path as it may be logged or echoed. Percent-encoding is decoded first (%34%31, %2D,
 * %2F would otherwise slip past the mask), then digit groups are masked and the result truncated.
 */
export function loggablePath(path: string): string {
  const masked = maskDigits(percentDecoded(path));
  return masked.length > MAX_PATH ? `${masked.slice(0, MAX_PATH)}…` : masked;
}

/** Every valid %XX escape decoded (an invalid one stays as it is). */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) =>
      Number.parseInt(hex, 16) < 0x80 ? String.fromCharCode(Number.parseInt(hex, 16)) : escape,
    );
  }
}

/** An error as it may be logged: type, masked message and stack. Never the object itself. */
export function loggableError(err: unknown): { type: string; message: string; stack: string | undefined } {
  const error = err instanceof Error ? err : new Error(String(err));
  return { type: error.name, message: maskDigits(error.message), stack: error.stack === undefined ? undefined : maskDigits(error.stack) };
}

function canResolve(specifier: string): boolean {
  try {
    import.meta.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}
