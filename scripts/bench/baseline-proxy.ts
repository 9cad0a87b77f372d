/**
 * The benchmark's baseline: the least a proxy in front of Galileo must do. A bare node `http`
 * server that reads the JSON body, adds the three credentials, re-encodes it as a form, forwards
 * it over one keep-alive agent with `response-content-type`, and pipes the answer back. No
 * validation, no idempotency, no logging, no metrics.
 *
 * BASELINE_PORT, BASELINE_UPSTREAM (e.g. http://127.0.0.1:8090/intserv/4.0), BASELINE_API_LOGIN,
 * BASELINE_API_TRANS_KEY, BASELINE_PROVIDER_ID. Prints `listening <port>` once ready.
 */
import http from 'node:http';

const env = process.env;
const upstream = new URL(env.BASELINE_UPSTREAM ?? 'http://127.0.0.1:8090/intserv/4.0');
const credentials = {
  apiLogin: env.BASELINE_API_LOGIN ?? 'sim-login',
  apiTransKey: env.BASELINE_API_TRANS_KEY ?? 'simTransKey0001',
  providerId: env.BASELINE_PROVIDER_ID ?? '9999',
};
const basePath = upstream.pathname.replace(/\/$/, '');
const prefix = '/intserv/4.0';
// The idle timeout as the gateway's agent has it (src/galileo/client.ts): without it a pooled
// socket the server closes just as it is reused fails the call, on one side of a ratio only.
const agent = new http.Agent({ keepAlive: true, timeout: 30_000 });

function fail(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(message);
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return fail(res, 400, 'body must be JSON');
    }
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(fields)) {
      if (value !== null && value !== undefined) form.append(key, String(value));
    }
    form.set('apiLogin', credentials.apiLogin);
    form.set('apiTransKey', credentials.apiTransKey);
    form.set('providerId', credentials.providerId);
    const body = Buffer.from(form.toString());
    const path = req.url?.startsWith(prefix) ? basePath + req.url.slice(prefix.length) : (req.url ?? '/');
    const format = req.headers['response-content-type'] === 'xml' ? 'xml' : 'json';
    const out = http.request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, 'response-content-type': format },
      },
      (answer) => {
        const headers: http.OutgoingHttpHeaders = { 'content-type': answer.headers['content-type'] ?? 'application/octet-stream' };
        if (answer.headers['content-length'] !== undefined) headers['content-length'] = answer.headers['content-length'];
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => (res.headersSent ? res.destroy() : fail(res, 502, 'upstream failed')));
    out.end(body);
  });
});

server.keepAliveTimeout = 65_000;
server.listen(Number(env.BASELINE_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : ''}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    agent.destroy();
  });
}
