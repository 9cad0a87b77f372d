/**
 * Records every answer an in-process gateway sends (status, headers, body bytes), so the whole
 * suite's traffic can be judged against the served spec once it has run (root-hooks.ts).
 * Test-only: it wraps the response's write/end on the server the harness started.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ReceivedResponse } from './served-spec.js';

export const received: ReceivedResponse[] = [];

export function recordResponses(server: Server): void {
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const chunks: Buffer[] = [];
    const keep = (chunk: unknown) => {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk as string));
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk);
      return write(chunk, ...rest);
    }) as ServerResponse['write'];
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      keep(chunk);
      return end(chunk, ...rest);
    }) as ServerResponse['end'];
    res.once('finish', () => {
      received.push({
        method,
        url,
        status: res.statusCode,
        headers: res.getHeaders() as ReceivedResponse['headers'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
    });
  });
}
