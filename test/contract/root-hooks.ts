/**
 * After the whole suite: every answer the in-process gateways sent (recorder.ts) must conform to
 * the served spec. One mismatch fails the run (as a failed "after all" hook), listing them.
 */
import { received } from './recorder.js';
import { checkResponse } from './served-spec.js';

export const mochaHooks = {
  afterAll(): void {
    const mismatches: string[] = [];
    for (const response of received) {
      for (const problem of checkResponse(response)) {
        mismatches.push(`${response.method} ${response.url.slice(0, 80)} -> ${response.status}: ${problem}\n    ${response.body.slice(0, 300)}`);
      }
    }
    if (mismatches.length > 0) {
      throw new Error(`${mismatches.length} of ${received.length} gateway answers do not conform to the served spec:\n${mismatches.slice(0, 20).join('\n')}`);
    }
  },
};
