/**
 * What a span may carry, held to the rule of the log lines (src/logger.ts): attributes are built
 * field by field from allow-listed facts, never from a body; the log censor then runs over them
 * (a key the spec marks sensitive is censored), and every text is masked as free text is in the
 * logs (six digits or more: `******` and the last four), so no card number, SSN or PIN written in
 * any form reaches the collector.
 */
import type { Attributes } from '@opentelemetry/api';
import { createCensor, maskDigits } from '../logger.js';

type Value = string | number | boolean | undefined;

export type SafeAttributes = (fields: Record<string, Value>) => Attributes;

export function safeAttributes(sensitiveKeys: readonly string[]): SafeAttributes {
  const censor = createCensor(sensitiveKeys);
  return (fields) => {
    const clean = censor(fields);
    const attributes: Attributes = {};
    for (const key in clean) {
      const value = clean[key];
      if (value !== undefined) attributes[key] = typeof value === 'string' ? maskDigits(value) : value;
    }
    return attributes;
  };
}
