/** createSimulator: the in-process simulator (state, request log, faults, handler), no socket. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultBook, type FaultRule, type FaultRuleInput } from './faults.js';
import { createHandler } from './handler.js';
import { RequestLog, type RecordedRequest } from './request-log.js';
import { snapshot, type StateSnapshot } from './snapshot.js';
import { loadSpec } from './galileo-spec.js';
import { SimulatorState } from './state.js';
import { validatorsFor } from './validation.js';
import type { SimulatorCredentials } from './types.js';

/** The credentials the simulator accepts unless told otherwise (apiTransKey ≤ 15 chars, like Galileo's). */
export const SIMULATOR_CREDENTIALS: Readonly<SimulatorCredentials> = Object.freeze({
  apiLogin: 'sim-login',
  apiTransKey: 'simTransKey0001',
  providerId: 9999,
});

export interface SimulatorOptions {
  credentials?: SimulatorCredentials;
  /** Answer createAccount with the full PAN, expiry_date and card_security_code (default false: masked). */
  pciEnabled?: boolean;
  /** The clock (ms since epoch); advanceClock() shifts it further. Default Date.now. */
  now?: () => number;
  /** Fault rules for the whole run; reset() restores exactly these. */
  faults?: FaultRuleInput[];
  /** Path of galileo.yaml (default: openapi/galileo.yaml above this module). */
  specPath?: string;
  /** Most recent requests kept in the log (default 1000). */
  requestLogLimit?: number;
}

export interface Simulator {
  /** Node request listener; mount it on any http server (before any body parser). */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The live state (accounts with full PANs, applications, IVR calls, the clock). */
  state: SimulatorState;
  credentials: SimulatorCredentials;
  /** Forget state, request log and clock offset; faults go back to options.faults. */
  reset(): void;
  requests(): RecordedRequest[];
  clearRequests(): void;
  /** Adds a rule (throws FaultRuleError when invalid) and returns it with its id. */
  addFault(rule: FaultRuleInput): FaultRule;
  faults(): FaultRule[];
  clearFaults(): void;
  snapshot(): StateSnapshot;
  /** The last on-demand-alert PIN "texted" to this account (PRN or PAN), or null. */
  lastPin(accountNo: string): string | null;
  advanceClock(ms: number): void;
  /** Stops pending latency/trickle timers (startSimulator's close() calls it). */
  dispose(): void;
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const credentials = { ...(options.credentials ?? SIMULATOR_CREDENTIALS) };
  const state = new SimulatorState(options.now);
  const log = new RequestLog(options.requestLogLimit);
  const faultBook = new FaultBook();
  const initialFaults = options.faults ?? [];
  const restoreFaults = () => {
    faultBook.clear();
    for (const rule of initialFaults) faultBook.add(rule);
  };
  restoreFaults();
  const lifetime = new AbortController();
  const spec = loadSpec(options.specPath);
  validatorsFor(spec); // compile now: a bad spec fails at start, not on the first request
  const core = { spec, state, credentials, pciEnabled: options.pciEnabled === true };

  const simulator: Simulator = {
    handler: createHandler({ core, log, faults: faultBook, lifetime: lifetime.signal, simulator: () => simulator }),
    state,
    credentials,
    reset() {
      state.reset();
      log.clear();
      restoreFaults();
    },
    requests: () => log.list(),
    clearRequests: () => log.clear(),
    addFault: (rule) => faultBook.add(rule),
    faults: () => faultBook.list(),
    clearFaults: () => faultBook.clear(),
    snapshot: () => snapshot(state),
    lastPin: (accountNo) => state.findAccount(accountNo)?.alerts.lastPin ?? null,
    advanceClock: (ms) => state.advanceClock(ms),
    dispose: () => lifetime.abort(),
  };
  return simulator;
}
