/**
 * pino, JSON on stdout. Log lines are built from allow-listed fields only (bodies are never
 * logged); censoring sensitive keys is the second line of defence for anything that could still
 * carry a secret, and the mask helpers below clean the few caller-controlled texts a line does carry.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Keys that may hold a secret or card data (docs/contract.md, Logs and metrics): Galileo
 * credentials, caller keys, whole bodies and parameter sets, the sensitive request fields, card
 * data in responses, and the objects an HTTP error drags along (an axios error's config holds the
 * request body).
 */
const SENSITIVE_KEYS = [
  'authorization',
  'cookie',
  'apiTransKey',
  'apiLogin',
  'body',
  'params',
  'data',
  'config',
  'request',
  'response',
  'callParams',
  'verificationPin',
  'webPwd',
  'secretAnswer',
  'dateOfBirth',
  'id',
  'id2',
  'accountNo',
  'card_number',
  'expiry_date',
  'card_security_code',
];

const SENSITIVE = new Set(SENSITIVE_KEYS);
const CENSOR = '[redacted]';

/**
 * A copy of a log object with every sensitive key censored, at any depth; untouched objects are
 * returned as they are. Instead of pino's `redact`: its wildcard paths (`*.*.*.key` for 21 keys)
 * cost ~13 % of the gateway's CPU under load (bench/hotspots.md), while these lines are a dozen
 * scalars. Errors are left to the `err` serializer, which keeps only type, message and stack.
 */
export function censor(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || value instanceof Error || depth > 8) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = censor(item, depth + 1);
      if (clean !== item) (copy ??= [...value])[i] = clean;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const clean = SENSITIVE.has(key) ? CENSOR : censor(item, depth + 1);
    if (clean !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = clean;
  }
  return copy ?? value;
}

export function createLogger(options: { level: string; pretty?: boolean; destination?: DestinationStream }): Logger {
  const base = {
    level: options.level,
    base: { service: 'galileo-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { log: (object: Record<string, unknown>) => censor(object) as Record<string, unknown> },
    // pino's own err serializer copies every enumerable property (an axios error's config and
    // response) and renames `type`: an Error is reduced to loggableError, anything else kept as is.
    serializers: { err: (value: unknown) => (value instanceof Error ? loggableError(value) : value) },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base);
}

/**
 * Six or more digits, possibly grouped by single spaces, dashes or dots (4111 1111 1111 1111):
 * could be a PAN, PRN, SSN or date of birth. Six, not thirteen, so a partial number is caught too.
 */
const DIGIT_RUN = /\d(?:[ .-]?\d){5,}/g;

/** Every long digit run becomes `******` plus its last four digits, whatever its length. */
export function maskDigits(text: string): string {
  return text.replace(DIGIT_RUN, (run) => `******${run.replace(/\D/g, '').slice(-4)}`);
}

const MAX_PATH = 120;

/**
 * A request path as it may be logged. Percent-encoded digits are decoded first (%34%31... would
 * otherwise slip past the mask), then digit runs are masked and the result truncated.
 */
export function loggablePath(path: string): string {
  const decoded = path.replace(/%3([0-9])/gi, '$1').replace(/%(?:20|2d|2e)/gi, (m) => decodeURIComponent(m));
  const masked = maskDigits(decoded);
  return masked.length > MAX_PATH ? `${masked.slice(0, MAX_PATH)}…` : masked;
}

/** An error as it may be logged: type, masked message and stack. Never the object itself. */
export function loggableError(err: unknown): { type: string; message: string; stack: string | undefined } {
  const error = err instanceof Error ? err : new Error(String(err));
  return { type: error.name, message: maskDigits(error.message), stack: error.stack === undefined ? undefined : maskDigits(error.stack) };
}
