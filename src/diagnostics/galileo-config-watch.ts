/**
 * Watches Galileo's answers for the status codes that blame the gateway's own configuration
 * (galileo/config-refusals.ts): each counts in gateway_galileo_config_errors_total, and an error
 * line names the refusal when it starts and, at a bounded rate, while it lasts (per operation
 * and code: Galileo may enable operations one by one). A later ordinary answer for that
 * operation ends it with one info line.
 */
import type { Logger } from 'pino';
import { configRefusal } from '../galileo/config-refusals.js';
import type { GalileoStatusCode } from '../galileo/envelope.js';
import type { Metrics } from '../metrics.js';
import { LastingCondition } from './lasting-condition.js';

export interface GalileoConfigWatch {
  answered(operationId: string, statusCode: GalileoStatusCode): void;
}

export function watchGalileoConfig(options: { logger: Logger; metrics: Metrics; repeatLogIntervalMs: number }): GalileoConfigWatch {
  const { logger, metrics, repeatLogIntervalMs } = options;
  const lasting = new Map<string, { operationId: string; condition: LastingCondition }>();

  return {
    answered(operationId, statusCode) {
      const found = configRefusal(statusCode);
      if (found === undefined) {
        if (lasting.size > 0) for (const entry of lasting.values()) if (entry.operationId === operationId) entry.condition.resolved();
        return;
      }
      metrics.galileoConfigErrors.inc({ operation: operationId, status_code: String(statusCode) });
      const key = `${operationId}:${statusCode}`;
      let entry = lasting.get(key);
      if (entry === undefined) {
        const fields = { operation: operationId, statusCode, refusal: found.refusal };
        entry = {
          operationId,
          condition: new LastingCondition(repeatLogIntervalMs, {
            report: (counts) => logger.error({ ...fields, ...counts }, found.hint),
            recovered: (counts) => logger.info({ ...fields, ...counts }, `Galileo answers ${operationId} normally again`),
          }),
        };
        lasting.set(key, entry);
      }
      entry.condition.occurred();
    },
  };
}
