/** Where a gateway on Redis keeps a record, for tests that look at (or tamper with) it. */
import { recordKeyer } from '../../src/idempotency/fingerprint.js';
import { recordKey } from '../../scripts/lib/redis-keys.js';
import { CREDENTIALS, TEST_FINGERPRINT_KEY } from './harness.js';

/**
 * Where a gateway keeps the record of one transactionId: the record's name is an HMAC of its
 * identity (src/http/idempotency.ts), keyed from the gateway's fingerprint key.
 */
export function gatewayRecordKey(prefix: string, operationId: string, transactionId: string, fingerprintKey = TEST_FINGERPRINT_KEY): string {
  const name = recordKeyer(Buffer.from(fingerprintKey, 'base64'))(`${CREDENTIALS.providerId}:${operationId}:${transactionId}`);
  return recordKey(prefix, name);
}
