/**
 * Callers never hold Galileo credentials. A body that carries one is refused before validation
 * (otherwise it would be reported as an ordinary unknown field). The value is never echoed.
 * The field names come from the spec's Credentials component.
 */
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';

export function rejectCallerCredentials(credentialFields: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    const body: unknown = req.body;
    if (typeof body === 'object' && body !== null) {
      const sent = credentialFields.filter((field) => Object.prototype.hasOwnProperty.call(body, field));
      if (sent.length > 0) {
        throw new GatewayError('credentials_not_accepted', 'Remove the Galileo credentials: the gateway adds them.', {
          errors: sent.map((field) => ({ field, message: 'must not be sent: the gateway adds Galileo credentials' })),
        });
      }
    }
    next();
  };
}
