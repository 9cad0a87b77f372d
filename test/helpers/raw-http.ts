/**
 * One kept-alive HTTP/1.1 connection driven by hand. Shutdown tests need it: once the listener is
 * closed, a request can only reach the gateway on a connection that was already open.
 */
import net from 'node:net';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawConnection {
  send(method: string, path: string, options?: { body?: string; headers?: Record<string, string> }): void;
  /** Resolves once `count` complete responses have arrived (rejects if the connection ends first). */
  responses(count: number, timeoutMs?: number): Promise<RawResponse[]>;
  closed: Promise<void>;
  destroy(): void;
}

export async function rawConnection(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = Buffer.alloc(0);
  const parsed: RawResponse[] = [];
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (let next = parseOne(buffer); next; next = parseOne(buffer)) {
      parsed.push(next.response);
      buffer = buffer.subarray(next.length);
    }
    wake();
  });
  socket.on('error', () => undefined); // a reset shows as `closed`
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      wake();
      resolve();
    }),
  );

  return {
    send(method, path, { body, headers = {} } = {}) {
      const lines = [`${method} ${path} HTTP/1.1`, `host: ${hostname}:${port}`];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
    },
    responses(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${parsed.length} of ${count} responses within ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (parsed.length >= count) done();
          else if (ended) done(new Error(`connection closed after ${parsed.length} of ${count} responses`));
        };
        const done = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(parsed.slice(0, count));
        };
        waiters.add(check);
        check();
      });
    },
    closed,
    destroy: () => socket.destroy(),
  };
}

function parseOne(buffer: Buffer): { response: RawResponse; length: number } | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...headerLines] = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buffer.length < headEnd + 4 + length) return undefined;
  return {
    response: { status: Number(statusLine!.split(' ')[1]), headers, body: buffer.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8') },
    length: headEnd + 4 + length,
  };
}
