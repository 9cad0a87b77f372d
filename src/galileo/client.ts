/**
 * The generated client (the only code that talks to Galileo), configured once: base URL,
 * per-attempt timeout, keep-alive agents. Without keep-alive every call pays a TCP+TLS handshake.
 *
 * The SDK and axios stay the request path (body serialisation, headers, config, errors); only
 * axios' transport is replaced by `leanTransport`, one `http.request` on the keep-alive agents.
 * axios' own Node adapter does per call what a gateway needs once: it looks the proxy variables up
 * in the environment, builds redirect, decompression and progress machinery, and sets TCP
 * keep-alive again on a pooled socket. Measured on createIvrCall against the simulator, 16 calls
 * in flight: about 500 → 365 µs of CPU per forwarded call, 0.1 ms less per gateway request
 * (bench/hotspots.md). When a proxy variable is set, axios' adapter is kept: it implements
 * proxies (and NO_PROXY); that check is the one read of the environment outside config.ts.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import axios, { AxiosError, AxiosHeaders, type AxiosAdapter, type AxiosResponse } from 'axios';
import { createClient, type Client } from '../../generated/galileo-client/client/index.js';

export interface GalileoClient {
  client: Client;
  /** GALILEO_TIMEOUT_MS: the whole attempt, body included (see forward.ts). */
  timeoutMs: number;
  /**
   * The transport itself ends an attempt at timeoutMs, body included (leanTransport). Not so with
   * axios' own adapter (kept for a proxy), whose timeout stops at the response headers.
   */
  ownDeadline: boolean;
  close(): void;
}

/**
 * A pooled socket idle this long is closed by the gateway, and sooner when the server announces
 * its own keep-alive timeout (`Keep-Alive: timeout=5` → 4 s; Node's agent only applies the
 * announcement when it has a timeout of its own). Otherwise a server closing an idle connection
 * just as the gateway reuses it turns a call into ECONNRESET, a 502 that may not be retried
 * (found by npm run bench; reproduced in isolation by a server closing at its announced time).
 * The timeout applies to idle pooled sockets only: a call in flight is bounded by timeoutMs.
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

export function createGalileoClient(options: {
  baseUrl: string;
  timeoutMs: number;
  /** An outbound proxy is set in the environment: keep axios' own adapter, which implements it. */
  proxied: boolean;
}): GalileoClient {
  const agentOptions = { keepAlive: true, maxSockets: 256, timeout: IDLE_SOCKET_TIMEOUT_MS };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  // The axios instance holds the whole transport configuration, once; the SDK client is given
  // only that instance and the base URL. Everything in the SDK's own config is spread into every
  // call and merged again by axios per request (measured: bench/hotspots.md).
  const instance = axios.create({
    timeout: options.timeoutMs,
    httpAgent,
    httpsAgent,
    // Galileo's answer is passed through byte for byte: never parse, never throw on a status.
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    // The SDK has already serialised the body (a form): nothing to transform on the way out.
    transformRequest: [],
    validateStatus: () => true,
    maxRedirects: 0,
    // A Galileo body is small; a huge one is not Galileo.
    maxContentLength: 10 * 1024 * 1024,
    ...(options.proxied ? {} : { adapter: leanTransport }),
  });
  return {
    client: Object.assign(new SdkClient(), createClient({ axios: instance, baseURL: options.baseUrl })),
    timeoutMs: options.timeoutMs,
    ownDeadline: !options.proxied,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * The generated client as a class instance rather than a plain object. The SDK passes the client
 * in each call's options, which reach axios, and axios deep-copies every plain object in a config
 * on every request: the client's dozen functions included. An instance is passed by reference.
 */
class SdkClient {}

const USER_AGENT = `axios/${axios.VERSION}`;

/**
 * axios' transport for what the gateway sends: a string body to an http(s) URL, a text answer.
 * Same results as axios' Node adapter for those: the response (status, headers, UTF-8 body,
 * BOM stripped) settled through validateStatus, and the same AxiosError codes (ECONNABORTED on
 * timeout, the socket's code, such as ECONNREFUSED or ECONNRESET, on a connection error,
 * ERR_BAD_RESPONSE for a body cut short or over maxContentLength, ERR_CANCELED on abort).
 * It does not ask for compression (a Galileo answer is a few hundred bytes); a compressed answer
 * is still decoded. Anything else goes to axios' own adapter.
 */
const leanTransport: AxiosAdapter = (config) => {
  const { data } = config;
  const url = new URL(config.url ?? '');
  const secure = url.protocol === 'https:';
  if (
    (!secure && url.protocol !== 'http:') ||
    (data !== undefined && data !== null && typeof data !== 'string' && !Buffer.isBuffer(data)) ||
    config.socketPath ||
    config.proxy
  ) {
    return axios.getAdapter('http')(config);
  }
  return new Promise<AxiosResponse>((resolve, reject) => {
    const body = data === undefined || data === null ? undefined : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const headers = config.headers.toJSON(true) as Record<string, string>;
    if (!config.headers.has('User-Agent')) headers['User-Agent'] = USER_AGENT;
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    const maxContentLength = config.maxContentLength ?? -1;
    const signal = config.signal as AbortSignal | undefined;

    let settled = false;
    const finish = (error: AxiosError | undefined, response?: AxiosResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        req.destroy();
        reject(error);
      } else {
        resolve(response!);
      }
    };
    const onAbort = () => finish(new AxiosError('canceled', AxiosError.ERR_CANCELED, config, req));

    const req = (secure ? https : http).request(
      {
        method: (config.method ?? 'get').toUpperCase(),
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        path: url.pathname + url.search,
        headers,
        agent: secure ? config.httpsAgent : config.httpAgent,
      },
      (res) => {
        // As axios does: an error once the answer has started carries its status and headers.
        const response: AxiosResponse = {
          data: undefined,
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: new AxiosHeaders(res.headers as Record<string, string>),
          config,
          request: req,
        };
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (maxContentLength > -1 && size > maxContentLength) {
            finish(new AxiosError(`maxContentLength size of ${maxContentLength} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, req));
          } else {
            chunks.push(chunk);
          }
        });
        res.on('aborted', () => finish(new AxiosError('stream has been aborted', AxiosError.ERR_BAD_RESPONSE, config, req, response)));
        res.on('error', (err) => finish(AxiosError.from(err, undefined, config, req, response)));
        res.on('end', () => {
          if (settled) return;
          let text: string;
          try {
            text = decode(Buffer.concat(chunks), res.headers['content-encoding'], maxContentLength);
          } catch (err) {
            return finish(AxiosError.from(err, AxiosError.ERR_BAD_RESPONSE, config, req, response));
          }
          response.data = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
          const { validateStatus } = config;
          if (!response.status || !validateStatus || validateStatus(response.status)) return finish(undefined, response);
          const code = response.status >= 400 && response.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
          finish(new AxiosError(`Request failed with status code ${response.status}`, code, config, req, response));
        });
      },
    );
    req.on('error', (err) => finish(AxiosError.from(err, undefined, config, req)));
    // The whole attempt, not socket inactivity: a slow trickle still ends at the timeout.
    const timer = setTimeout(
      () => finish(new AxiosError(`timeout of ${config.timeout}ms exceeded`, AxiosError.ECONNABORTED, config, req)),
      config.timeout || 2 ** 31 - 1,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
};

/**
 * The answer's text. The gateway asks for `identity`; a compressed answer anyway is decoded with
 * its output capped at maxContentLength, so a small bomb (408 KB expanding to 400 MB) stops at the
 * cap in milliseconds instead of blocking the event loop for seconds and the memory it would take.
 */
function decode(bytes: Buffer, encoding: string | undefined, maxContentLength: number): string {
  const limit = maxContentLength > 0 ? { maxOutputLength: maxContentLength } : {};
  switch ((encoding ?? '').toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(bytes, limit).toString('utf8');
    case 'deflate':
      // zlib-wrapped as the RFC says, raw as some servers send it.
      return (bytes[0] === 0x78 ? zlib.inflateSync(bytes, limit) : zlib.inflateRawSync(bytes, limit)).toString('utf8');
    case 'br':
      return zlib.brotliDecompressSync(bytes, limit).toString('utf8');
    default:
      return bytes.toString('utf8');
  }
}
