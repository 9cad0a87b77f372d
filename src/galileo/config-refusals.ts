/**
 * Galileo status codes that blame the gateway's own set-up, not the caller's request: every call
 * will get the same answer until an operator acts. Callers still get Galileo's answer unchanged
 * (HTTP 200 with the code); these texts tell the operator what to fix. Never the credential itself.
 */
import type { GalileoStatusCode } from './envelope.js';

export interface ConfigRefusal {
  /** Stable name for log queries (the `refusal` field of the line). */
  refusal: string;
  /** What to check, naming the configuration, never its value. */
  hint: string;
}

const REFUSALS: ReadonlyMap<string, ConfigRefusal> = new Map([
  ['4', { refusal: 'galileo_login_failed', hint: 'Galileo refused the API login: check GALILEO_API_LOGIN and GALILEO_API_TRANS_KEY' }],
  [
    '17',
    {
      refusal: 'galileo_api_usage_invalid',
      hint: 'Galileo reports invalid API usage for this provider: check GALILEO_PROVIDER_ID and which operations Galileo enabled for it',
    },
  ],
  [
    '18',
    {
      refusal: 'galileo_api_version_unauthorized',
      hint: 'Galileo refuses this API version for the provider: check the path of GALILEO_BASE_URL (/intserv/4.0)',
    },
  ],
  [
    '21',
    {
      refusal: 'galileo_ip_not_registered',
      hint: "Galileo does not know the gateway's outbound IP address: have it registered with Galileo for this provider",
    },
  ],
  ['29', { refusal: 'galileo_provider_id_incorrect', hint: 'Galileo does not know the provider id: check GALILEO_PROVIDER_ID' }],
]);

export function configRefusal(statusCode: GalileoStatusCode): ConfigRefusal | undefined {
  return REFUSALS.get(String(statusCode));
}

/** Galileo serves its Program API under /intserv/4.0; any other path answers 404s or -4 (unknown endpoint). */
const GALILEO_API_PATH = '/intserv/4.0';

/** A warning for a base URL whose path is not Galileo's, else undefined. */
export function baseUrlProblem(baseUrl: string): string | undefined {
  const path = new URL(baseUrl).pathname.replace(/\/+$/, '');
  return path === GALILEO_API_PATH
    ? undefined
    : `GALILEO_BASE_URL's path is "${path || '/'}", not Galileo's ${GALILEO_API_PATH}: calls will reach no Galileo operation`;
}
