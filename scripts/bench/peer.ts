/**
 * The benchmark's peer: what a competent team would build from the same libraries in an afternoon,
 * without this project. Express 5 with its JSON and form parsers, express-openapi-validator on the
 * gateway's own inbound spec (generated/gateway.openapi.json), a bearer check against SHA-256 key
 * hashes, axios on a keep-alive agent with the three credentials injected, one pino line per
 * request. No idempotency, no log censoring, no metrics, no retries.
 *
 * PEER_PORT, PEER_UPSTREAM (e.g. http://127.0.0.1:8090/intserv/4.0), PEER_API_LOGIN,
 * PEER_API_TRANS_KEY, PEER_PROVIDER_ID, PEER_KEY_SHA256 (hex, one client), PEER_SPEC (the inbound
 * spec's path). Logs go to stdout. Prints nothing else; `GET /healthz` answers once it is up.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import axios from 'axios';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import pino from 'pino';

const env = process.env;
const upstream = (env.PEER_UPSTREAM ?? 'http://127.0.0.1:8090/intserv/4.0').replace(/\/$/, '');
const credentials = {
  apiLogin: env.PEER_API_LOGIN ?? 'sim-login',
  apiTransKey: env.PEER_API_TRANS_KEY ?? 'simTransKey0001',
  providerId: env.PEER_PROVIDER_ID ?? '9999',
};
const keyHash = Buffer.from(env.PEER_KEY_SHA256 ?? '', 'hex');
const spec = JSON.parse(readFileSync(env.PEER_SPEC ?? 'generated/gateway.openapi.json', 'utf8')) as OpenAPIV3.DocumentV3_1;

const logger = pino();
const galileo = axios.create({
  baseURL: upstream,
  httpAgent: new http.Agent({ keepAlive: true, timeout: 30_000 }),
  timeout: 15_000,
  responseType: 'text',
  transformResponse: (data: unknown) => data,
  validateStatus: () => true,
});

const app = express();
app.disable('x-powered-by');
app.set('etag', false);

const accessLog: RequestHandler = (req, res, next) => {
  const start = process.hrtime.bigint();
  const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : randomUUID();
  res.setHeader('x-request-id', requestId);
  res.on('finish', () => {
    logger.info({ requestId, method: req.method, url: req.originalUrl, status: res.statusCode, durationMs: Number(process.hrtime.bigint() - start) / 1e6 }, 'request completed');
  });
  next();
};

const bearer: RequestHandler = (req, res, next) => {
  const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
  const presented = match ? createHash('sha256').update(match[1]!).digest() : undefined;
  if (presented === undefined || presented.length !== keyHash.length || !presented.equals(keyHash)) {
    res.status(401).json({ error: 'unauthenticated' });
    return;
  }
  next();
};

app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});
app.use(accessLog, bearer);
app.use(express.json({ limit: '64kb' }), express.urlencoded({ extended: false, limit: '64kb' }));
app.use(
  OpenApiValidator.middleware({
    apiSpec: spec,
    validateRequests: { allErrors: true },
    validateResponses: false,
    validateSecurity: false,
  }),
);

app.post('/intserv/4.0/:operation', async (req, res, next) => {
  try {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) {
      if (value !== null && value !== undefined) form.append(key, String(value));
    }
    form.set('apiLogin', credentials.apiLogin);
    form.set('apiTransKey', credentials.apiTransKey);
    form.set('providerId', credentials.providerId);
    const format = req.headers['response-content-type'] === 'xml' ? 'xml' : 'json';
    const answer = await galileo.post<string>(`/${req.params.operation}`, form, { headers: { 'response-content-type': format } });
    res.status(answer.status).type(String(answer.headers['content-type'] ?? 'application/json')).send(answer.data);
  } catch (err) {
    next(err);
  }
});

const errors: ErrorRequestHandler = (err: { status?: number; message?: string; errors?: unknown }, _req, res, _next) => {
  const status = typeof err.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 502;
  res.status(status).json({ error: err.message, errors: err.errors });
};
app.use(errors);

const server = app.listen(Number(env.PEER_PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 65_000;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
