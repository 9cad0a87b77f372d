/**
 * pino, JSON on stdout. Log lines are built from allow-listed fields only (bodies are never
 * logged); `redact` is the second line of defence for anything that could still carry a secret.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths censored wherever they appear (one or two levels deep, the shapes pino sees here). */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'apiTransKey',
  '*.apiTransKey',
  'apiLogin',
  '*.apiLogin',
  'body',
  '*.body',
  'params',
  '*.params',
  'config',
  '*.config',
];

export function createLogger(options: { level: string; pretty?: boolean; destination?: DestinationStream }): Logger {
  const base = {
    level: options.level,
    base: { service: 'galileo-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base);
}
