/**
 * The generated client (the only code that talks to Galileo), configured once: base URL,
 * per-attempt timeout, keep-alive agents. Without keep-alive every call pays a TCP+TLS handshake.
 */
import http from 'node:http';
import https from 'node:https';
import { createClient, type Client } from '../../generated/galileo-client/client/index.js';

export interface GalileoClient {
  client: Client;
  /** GALILEO_TIMEOUT_MS: the whole attempt, body included (see forward.ts). */
  timeoutMs: number;
  close(): void;
}

export function createGalileoClient(options: { baseUrl: string; timeoutMs: number }): GalileoClient {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });
  const client = createClient({
    baseURL: options.baseUrl,
    timeout: options.timeoutMs,
    httpAgent,
    httpsAgent,
    // Galileo's answer is passed through byte for byte: never parse, never throw on a status.
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxRedirects: 0,
    // A Galileo body is small; a huge one is not Galileo.
    maxContentLength: 10 * 1024 * 1024,
  });
  return {
    client,
    timeoutMs: options.timeoutMs,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
