/**
 * The gateway, top to bottom. Each operation of the spec gets one route whose middleware chain is
 * the request's whole path through the gateway (docs/contract.md, Request flow): authenticate,
 * the traffic guards, read, validate, claim the transactionId, forward with credentials, record
 * the outcome, answer.
 */
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ClientConfig } from './config.js';
import type { GalileoConfigWatch } from './diagnostics/galileo-config-watch.js';
import type { GalileoCircuit } from './galileo/circuit-breaker.js';
import type { Forwarder } from './galileo/forward.js';
import type { LostAnswerResolver } from './galileo/lost-answers.js';
import { isConsumed } from './galileo/outcome.js';
import { storableBody } from './galileo/pci.js';
import { createAuthenticator } from './http/authenticate.js';
import { refuseWhileCircuitOpen } from './http/circuit-gate.js';
import { coerceToSpecTypes } from './http/coerce-types.js';
import { errorHandler, methodNotAllowed, notFound } from './http/error-handler.js';
import { inSequence } from './http/in-sequence.js';
import { resolveLostAnswers } from './http/lost-answers.js';
import { forwardToGalileo } from './http/forward-to-galileo.js';
import { claimTransaction, recordOutcome } from './http/idempotency.js';
import { opsRoutes, type Readiness } from './http/ops.js';
import { captureCallerFields } from './http/params.js';
import { parseBody } from './http/parse-body.js';
import { limitRate } from './http/rate-limit.js';
import { rejectCallerCredentials } from './http/reject-credentials.js';
import { requestContext } from './http/request-context.js';
import { checkRequestHead } from './http/request-head.js';
import { sendReply } from './http/send-reply.js';
import { holdUpstreamSlot } from './http/upstream-slots.js';
import { validateRequest, type RequestValidator } from './http/validate.js';
import type { IdempotencyStore } from './idempotency/store.js';
import type { TokenBuckets } from './limits/token-buckets.js';
import type { Metrics } from './metrics.js';
import type { GatewaySpec } from './spec.js';

export interface GatewayDeps {
  spec: GatewaySpec;
  store: IdempotencyStore;
  forwarder: Forwarder;
  /** Galileo provider id: part of every idempotency key, as at Galileo. */
  providerId: number;
  /** The HMAC key of request fingerprints, the same on every replica sharing a store. */
  fingerprintKey: Buffer;
  clients: ClientConfig[] | undefined;
  /** Inbound body limit in bytes. */
  bodyLimit: number;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  galileoConfigWatch: GalileoConfigWatch;
  /** Traffic protection (docs/contract.md, Traffic protection). */
  traffic: {
    /** Where the rate limits' token buckets live (with the idempotency records). */
    buckets: TokenBuckets;
    /** The Galileo-wide budget in calls per second; 0: none. */
    galileoPerSecond: number;
    /** The breaker on Galileo (also inside the forwarder), when there is one. */
    circuit: GalileoCircuit | undefined;
    /** Calls this replica may have in flight to Galileo; 0: no bound. */
    maxInFlight: number;
    repeatLogIntervalMs: number;
  };
  /** Looks up what became of a call whose answer was lost (getCallStatus); none: such a call is released as before. */
  lostAnswers: LostAnswerResolver | undefined;
  /**
   * The request validator (validateRequest), when it is shared: it compiles per route and content
   * type on first use, and the warm-up copy of the app compiles it for this one (warm-up.ts).
   */
  validator?: RequestValidator;
  /** Tracing's first step, when tracing is on: the request's SERVER span (src/tracing/server-span.ts). */
  traceRequests?: RequestHandler;
}

export function buildApp(deps: GatewayDeps): Express {
  const { spec, store, forwarder, logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  if (deps.traceRequests) app.use(deps.traceRequests); // first, so every step (and log line) runs inside the request's span
  app.use(requestContext(logger, metrics));
  app.use(checkRequestHead); // 417 for an expectation other than 100-continue, 400 for a missing Host or a doubled header

  const auth = createAuthenticator(
    deps.clients,
    spec.operations.map((op) => op.operationId),
  );
  const validator = deps.validator ?? validateRequest(spec.document);
  const idempotency = { store, providerId: deps.providerId, fingerprintKey: deps.fingerprintKey, metrics, logger };
  const storable = storableBody(spec.pciFields);
  const { traffic } = deps;
  const rateLimit = limitRate({ ...traffic, clients: deps.clients, metrics, logger });
  const circuitGate = refuseWhileCircuitOpen(traffic.circuit, metrics);
  const upstreamSlot = holdUpstreamSlot({ ...traffic, metrics, logger });

  for (const { operationId, path, read } of spec.operations) {
    // A read (x-read: getCallStatus) is forwarded every time: no claim, no replay, nothing to record.
    const resolver = read ? undefined : deps.lostAnswers;
    const lost =
      resolver &&
      resolveLostAnswers(
        { resolver, stateChangingCodes: spec.stateChangingCodes(operationId), duplicateCodes: spec.duplicateCodes, metrics, logger },
        operationId,
      );
    const record = recordOutcome(
      idempotency,
      (reply) => isConsumed(spec, operationId, reply),
      (reply) => storable(reply.contentType, reply.body), // never card data
    );
    // One route handler running the steps in order (in-sequence.ts: a dozen router layers cost more).
    app.post(
      path,
      inSequence([
        auth.forOperation(operationId), // 401 / 403, before the body is read
        circuitGate, // 503 upstream_circuit_open while Galileo keeps failing, before the body is read
        rateLimit, // 429 rate_limited: the client's own limit or the Galileo budget, before the body is read
        ...parseBody(deps.bodyLimit), // 413, 415, malformed JSON
        rejectCallerCredentials(spec.credentialFields), // 400 credentials_not_accepted
        captureCallerFields, // what the caller sent; JSON null is the same as absent
        coerceToSpecTypes(spec.fields(operationId)), // a form's "1" -> 1 where the spec says integer, before any rule runs
        validator.forPath(path), // 400 invalid_request naming every field (the coercion step's too)
        upstreamSlot, // 503 upstream_busy: this replica's bound on calls in flight to Galileo, before the claim
        ...(read ? [] : [claimTransaction(idempotency, operationId)]), // replay, 409, 422, 503 — or claim and go on
        ...(lost ? [lost.beforeForward] : []), // an earlier call's answer was lost and Galileo could not be asked: ask first
        forwardToGalileo(forwarder, metrics, deps.galileoConfigWatch, operationId), // inject credentials, call, retry where safe
        ...(lost ? [lost.afterForward] : []), // no answer after sending, or a 24: ask Galileo what became of the call
        ...(read ? [] : [record]), // consume, release, or leave unresolved
        sendReply, // Galileo's status, content type and body, or a problem
      ]),
    );
    app.all(path, methodNotAllowed('POST'));
  }

  // After the operations, so that their requests never walk the ops routes.
  app.use(opsRoutes({ store, metrics, readiness: deps.readiness, specDocument: spec.document }));
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
