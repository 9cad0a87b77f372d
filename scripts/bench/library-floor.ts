/**
 * The benchmark's library floor: what the libraries the gateway must use cost by themselves, each
 * used once per request and as lightly as it allows. Express with one route per operation,
 * express-openapi-validator given that operation's path alone, the generated hey-api SDK over an
 * axios instance with a one-request transport, one pino line; a bearer check and a JSON parse.
 * Nothing else: no idempotency, no metrics, no body checks, no log censoring, no retries. Not a
 * server anyone should run: a measurement of the part of the gateway's cost that no change to
 * the gateway's own code can remove.
 *
 * With FLOOR_REPLAY=1 a transactionId seen before is answered from a Map instead of upstream:
 * the floor of a replay.
 *
 * FLOOR_PORT, FLOOR_UPSTREAM, FLOOR_API_LOGIN, FLOOR_API_TRANS_KEY, FLOOR_PROVIDER_ID,
 * FLOOR_KEY_SHA256, FLOOR_SPEC (the inbound spec). Logs go to stdout; `GET /healthz` answers once up.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import axios, { AxiosHeaders, type AxiosAdapter } from 'axios';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import pino from 'pino';
import secureJson from 'secure-json-parse';
import { createClient } from '../../generated/galileo-client/client/index.js';
import * as sdk from '../../generated/galileo-client/sdk.gen.js';

const env = process.env;
const spec = JSON.parse(readFileSync(env.FLOOR_SPEC ?? 'generated/gateway.openapi.json', 'utf8')) as OpenAPIV3.DocumentV3_1 & { paths: Record<string, { post?: { operationId?: string } }> };
const keyHash = Buffer.from(env.FLOOR_KEY_SHA256 ?? '', 'hex');
const credentials = { apiLogin: env.FLOOR_API_LOGIN ?? 'sim-login', apiTransKey: env.FLOOR_API_TRANS_KEY ?? 'simTransKey0001', providerId: Number(env.FLOOR_PROVIDER_ID ?? 9999) };
const replays = env.FLOOR_REPLAY === '1' ? new Map<string, { status: number; type: string; body: string }>() : undefined;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 30_000 });
/** One http.request per call, nothing else. */
const transport: AxiosAdapter = (config) =>
  new Promise((resolve, reject) => {
    const body = String(config.data ?? '');
    const headers = config.headers.toJSON(true) as Record<string, string>;
    headers['content-length'] = String(Buffer.byteLength(body));
    const req = http.request(config.url!, { method: 'POST', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ data: Buffer.concat(chunks).toString('utf8'), status: res.statusCode ?? 0, statusText: '', headers: new AxiosHeaders(res.headers as Record<string, string>), config, request: req }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
const instance = axios.create({ responseType: 'text', transformResponse: [(data: unknown) => data], transformRequest: [], validateStatus: () => true, adapter: transport });
class ByReference {}
const client = Object.assign(new ByReference(), createClient({ axios: instance, baseURL: env.FLOOR_UPSTREAM ?? 'http://127.0.0.1:8090/intserv/4.0' }));
const calls = sdk as unknown as Record<string, (options: object) => Promise<{ status: number; headers: Record<string, unknown>; data: unknown }>>;
const logger = pino();

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/healthz', (_req, res) => {
  res.end('ok');
});

for (const [path, item] of Object.entries(spec.paths)) {
  const operationId = item.post?.operationId;
  if (operationId === undefined || calls[operationId] === undefined) continue;
  const validator = OpenApiValidator.middleware({
    apiSpec: structuredClone({ ...spec, paths: { [path]: item } }),
    validateRequests: { allErrors: true, coerceTypes: false },
    validateResponses: false,
    validateSecurity: false,
    ignoreUndocumented: true,
    fileUploader: false,
  });
  const authenticateAndRead: RequestHandler = (req, res, next) => {
    const presented = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(createHash('sha256').update(presented).digest(), keyHash)) {
      res.status(401).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        req.body = secureJson.parse(Buffer.concat(chunks).toString('utf8'));
        next();
      } catch (err) {
        next(err);
      }
    });
  };
  const forward: RequestHandler = async (req, res) => {
    const body = req.body as Record<string, unknown>;
    let answer = replays?.get(String(body.transactionId));
    if (answer === undefined) {
      const r = await calls[operationId]!({ client, body: { ...body, ...credentials }, headers: { 'response-content-type': 'json' }, responseType: 'text', throwOnError: true });
      answer = { status: r.status, type: String(r.headers['content-type']), body: String(r.data) };
    }
    replays?.set(String(body.transactionId), answer);
    res.writeHead(answer.status, { 'content-type': answer.type, 'content-length': Buffer.byteLength(answer.body) }).end(answer.body);
    logger.info({ method: req.method, path, status: answer.status }, 'request completed');
  };
  app.post(path, authenticateAndRead, ...(validator as RequestHandler[]), forward);
}

const errors: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, _next) => {
  res.status(typeof err.status === 'number' ? err.status : 500).json({ error: err.message });
};
app.use(errors);

const server = app.listen(Number(env.FLOOR_PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 65_000;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
