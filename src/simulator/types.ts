/** Shared vocabulary of the simulator: operations, status codes, what an operation decides. */

export const OPERATIONS = ['createAccount', 'createIvrCall', 'modifyOnDemandAlertStatus', 'getCallStatus'] as const;
export type OperationName = (typeof OPERATIONS)[number];

export function isOperationName(name: string): name is OperationName {
  return (OPERATIONS as readonly string[]).includes(name);
}

/** A number for global codes (0, 2, 24), a string for endpoint codes ("407-02"), as on Galileo's wire. */
export type StatusCode = number | string;

export interface SimulatorCredentials {
  apiLogin: string;
  apiTransKey: string;
  providerId: number;
}

/** The form body as received: every value a string (first value wins for a repeated name). */
export type FormParams = Record<string, string>;

/** Form values after Ajv coerced them to the spec's types. */
export type CoercedParams = Record<string, unknown>;

export type ResponseFormat = 'json' | 'xml';

/** What the Galileo pipeline decided for one request; the envelope is built from it. */
export interface Outcome {
  code: StatusCode;
  /** Defaults to `{}` (Galileo's response_data on errors and for operations that return nothing). */
  responseData?: unknown;
  /** Human strings for `errors`; defaults to the status text when the code is an error. */
  errors?: string[];
  /** False when nothing was committed (createAccount verifyOnly): the transactionId stays unused. */
  committed?: boolean;
}
