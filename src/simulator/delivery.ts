/**
 * Writing responses, the normal way and the broken ways the fault rules ask for. Every writer
 * tolerates a client that already went away.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Resolves true after `ms`, false as soon as any signal aborts (close() must not wait on timers). */
export function sleep(ms: number, ...signals: AbortSignal[]): Promise<boolean> {
  return new Promise((resolve) => {
    if (signals.some((s) => s.aborted)) return resolve(false);
    const done = (result: boolean) => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  });
}

/** An RST rather than a FIN: what a crashed upstream or a middlebox reset looks like. */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function gone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded || res.socket?.destroyed === true;
}

export function sendBody(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  if (gone(res)) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), connection: 'keep-alive', ...headers });
  res.end(body);
}

/** Cloudflare's edge answering for Galileo: an HTML page, no envelope. */
export function sendEdgePage(res: ServerResponse, status: number): void {
  const reason = EDGE_REASONS[status] ?? 'Error';
  const ray =
    Math.floor(Math.random() * 2 ** 48)
      .toString(16)
      .padStart(12, '0') + '-DFW';
  const page =
    '<!DOCTYPE html>\n<html lang="en-US"><head><title>api-sandbox.cv.gpsrv.com | ' +
    `${status}: ${reason}</title></head><body><div id="cf-error-details"><h1>${reason}</h1>` +
    `<span>Error code ${status}</span><p>Cloudflare Ray ID: ${ray}</p></div></body></html>\n`;
  const extra: Record<string, string> = { server: 'cloudflare', 'cf-ray': ray };
  if (status === 429 || status === 503) extra['retry-after'] = '1';
  sendBody(res, status, 'text/html; charset=UTF-8', page, extra);
}

const EDGE_REASONS: Record<number, string> = {
  403: 'Forbidden',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway time-out',
};

/** 200 + application/json, but the body is not JSON (an envelope cut and garbled). */
export function sendMalformed(res: ServerResponse): void {
  sendBody(res, 200, 'application/json', '{"status_code":0,"status":"Success",,"response_data":<html>');
}

/** Announces the full length, sends half the body, then destroys the socket. */
export function sendPartial(res: ServerResponse, contentType: string, body: string): void {
  if (gone(res)) return;
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length, connection: 'keep-alive' });
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy());
}

/** Headers at once, then the body in up to 50 chunks spread evenly over `ms`. */
export async function sendTrickle(res: ServerResponse, contentType: string, body: string, ms: number, signal: AbortSignal): Promise<void> {
  if (gone(res)) return;
  const bytes = Buffer.from(body, 'utf8');
  const chunks = Math.max(1, Math.min(50, bytes.length));
  const size = Math.ceil(bytes.length / chunks);
  res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length, connection: 'keep-alive' });
  res.flushHeaders();
  const clientGone = new AbortController();
  res.once('close', () => clientGone.abort());
  for (let offset = 0; offset < bytes.length; offset += size) {
    if (!(await sleep(ms / chunks, signal, clientGone.signal))) {
      res.destroy();
      return;
    }
    res.write(bytes.subarray(offset, offset + size));
  }
  res.end();
}

export function sendPlain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  sendBody(res, status, 'text/plain; charset=utf-8', text + '\n', headers);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (status === 204) {
    if (!gone(res)) res.writeHead(204, { connection: 'keep-alive' }).end();
    return;
  }
  sendBody(res, status, 'application/json', JSON.stringify(value));
}
