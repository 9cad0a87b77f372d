/**
 * Public entry of the Galileo simulator: createSimulator (in-process) and startSimulator (listening
 * on a port, for tests, `npm run simulator` and the gateway's embedded mode).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimulator, type Simulator, type SimulatorOptions } from './simulator.js';

export { SIMULATOR_CREDENTIALS } from './simulator.js';
export { FaultRuleError, type FaultRuleInput } from './faults.js';
export type { RecordedRequest } from './request-log.js';
export type { StateSnapshot } from './snapshot.js';

export interface StartSimulatorOptions extends SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningSimulator extends Simulator {
  /** Base URL Galileo clients use, e.g. http://127.0.0.1:8090/intserv/4.0 */
  url: string;
  /** e.g. http://127.0.0.1:8090 (the admin API is under origin + /__sim/). */
  origin: string;
  port: number;
  /** Stops listening and destroys every socket, kept-alive and hung (no_answer) ones included. */
  close(): Promise<void>;
}

export function startSimulator(options: StartSimulatorOptions = {}): Promise<RunningSimulator> {
  const simulator = createSimulator(options);
  const server = createServer(simulator.handler);
  // A garbled request line or headers: answer 400 if possible, never crash.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      let closing: Promise<void> | undefined;
      resolve(
        Object.assign(simulator, {
          url: `${origin}/intserv/4.0`,
          origin,
          port,
          close(): Promise<void> {
            closing ??= new Promise<void>((done) => {
              simulator.dispose();
              server.close(() => done());
              server.closeAllConnections();
            });
            return closing;
          },
        }),
      );
    });
  });
}
