/**
 * Gateway processes in mocha suites (the processes themselves: scripts/lib/gateway-process.ts,
 * shared with the soak): a simulator per suite, faults cleared after each test, everything
 * stopped after the suite.
 */
import http from 'node:http';
import { killAllGatewayProcesses } from '../../scripts/lib/gateway-process.js';
import { CREDENTIALS, startTestSimulator, type Simulator } from './harness.js';

export { killAllGatewayProcesses, spawnGateway, startGatewayProcess, type GatewayProcess } from '../../scripts/lib/gateway-process.js';

export interface GatewayProcessSuite {
  /** Set once the suite's `before` hook has run. */
  readonly sim: Simulator;
  /**
   * GALILEO_BASE_URL and the three credentials for the suite's simulator, then `overrides`;
   * caller auth explicitly off unless the overrides configure clients.
   */
  galileoEnv(overrides?: Record<string, string>): Record<string, string>;
  /** Waits (up to 2 s) until the simulator has received a request with this transactionId. */
  reachedGalileo(transactionId: string): Promise<void>;
}

/**
 * For a `describe` of gateway processes against one simulator: the simulator starts before the
 * suite, its faults are cleared after each test, and every gateway process and the simulator stop
 * after the suite, whatever happened.
 */
export function gatewayProcessSuite(): GatewayProcessSuite {
  let sim: Simulator | undefined;
  const started = () => {
    if (sim === undefined) throw new Error('gatewayProcessSuite: the simulator is not started yet (use it inside a test or hook)');
    return sim;
  };
  before(async () => {
    sim = await startTestSimulator();
  });
  afterEach(() => sim?.clearFaults());
  after(async () => {
    await killAllGatewayProcesses();
    await sim?.close();
  });
  return {
    get sim() {
      return started();
    },
    galileoEnv: (overrides = {}) => ({
      GALILEO_BASE_URL: started().url,
      GALILEO_API_LOGIN: CREDENTIALS.apiLogin,
      GALILEO_API_TRANS_KEY: CREDENTIALS.apiTransKey,
      GALILEO_PROVIDER_ID: String(CREDENTIALS.providerId),
      ...(overrides.GATEWAY_CLIENTS === undefined && { GATEWAY_AUTH: 'off' }),
      ...overrides,
    }),
    async reachedGalileo(transactionId) {
      const arrived = () =>
        started()
          .requests()
          .some((r) => r.params.transactionId === transactionId);
      for (let i = 0; i < 200 && !arrived(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      if (!arrived()) throw new Error(`${transactionId} never reached Galileo`);
    },
  };
}

/** The status of a GET on a new connection, or the connection error's code (ECONNREFUSED). */
export function probe(url: string): Promise<number | string | undefined> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
      .on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}
