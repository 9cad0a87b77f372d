/** Every request received under /intserv, in arrival order, for tests (GET /__sim/requests). */
import type { IncomingHttpHeaders } from 'node:http';
import type { FaultType } from './faults.js';
import type { FormParams, StatusCode } from './types.js';

export interface RecordedRequest {
  /** The last path segment: createAccount, createIvrCall, modifyOnDemandAlertStatus or whatever was asked. */
  operation: string;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body as received ("" when a fault reset the connection before it was read). */
  body: string;
  params: FormParams;
  receivedAt: string;
  /** The fault applied to this request, if any. */
  fault?: FaultType;
  /** The envelope's status_code, once one was built. */
  statusCode?: StatusCode;
}

export class RequestLog {
  private entries: RecordedRequest[] = [];

  /** Bounded so an embedded simulator in a long-running gateway does not grow without limit. */
  constructor(private readonly limit = 1000) {}

  /** Records on arrival (before any fault) and returns the live entry to complete later. */
  record(entry: RecordedRequest): RecordedRequest {
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    return entry;
  }

  list(): RecordedRequest[] {
    return structuredClone(this.entries);
  }

  clear(): void {
    this.entries = [];
  }
}
