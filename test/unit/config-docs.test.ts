/**
 * Configuration declared once (src/config-variables.ts): the table of docs/configuration.md is
 * the declaration's, every variable config.ts reads is declared, and the defaults the parser
 * applies are the declared ones.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { FILE_NAMES, SECRET_NAMES, VARIABLES, variable, type Variable } from '../../src/config-variables.js';
import { CONFIGURATION_DOC, withVariablesTable } from '../../scripts/generate.js';

describe('configuration declared once', () => {
  it('docs/configuration.md holds the table the declaration gives (npm run generate writes it)', () => {
    const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
    assert.equal(doc, withVariablesTable(doc), 'docs/configuration.md is stale: run npm run generate');
  });

  it('every variable config.ts (and src/config/) reads is declared, and every declared one is read', () => {
    const dir = new URL('../../src/config/', import.meta.url);
    const files = [new URL('../../src/config.ts', import.meta.url), ...readdirSync(dir).map((name) => new URL(name, dir))];
    const source = files.map((file) => readFileSync(file, 'utf8')).join('\n');
    const read = new Set([...source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)|'([A-Z][A-Z0-9_]{2,})'/g)].map((m) => (m[1] ?? m[2])!));
    const declared = new Set(VARIABLES.map((v) => v.name));
    for (const name of read) assert.ok(declared.has(name as never) || name.endsWith('_FILE'), `${name} is read but not declared`);
    const readOrLooked = new Set([...read, ...SECRET_NAMES, ...FILE_NAMES]);
    for (const name of declared) assert.ok(readOrLooked.has(name), `${name} is declared but config.ts never reads it`);
  });

  it('every variable a production rule names is declared', () => {
    const declared = new Set<string>(VARIABLES.map((v) => v.name));
    for (const v of VARIABLES as readonly Variable[]) {
      for (const rule of v.production ?? []) {
        const named = rule.kind === 'required' ? rule.when?.variable : rule.kind === 'distinct-keys' ? rule.from : undefined;
        if (named !== undefined) assert.ok(declared.has(named), `${v.name}: its production rule names ${named}, which is not declared`);
      }
    }
  });

  it('the parser applies the declared defaults', () => {
    const config = loadConfig({});
    const expected: Array<[string, unknown]> = [
      ['PORT', config.port],
      ['HOST', config.host],
      ['HTTP_REQUEST_TIMEOUT_MS', config.http.requestTimeoutMs],
      ['HTTP_HEADERS_TIMEOUT_MS', config.http.headersTimeoutMs],
      ['MAX_CONNECTIONS', config.http.maxConnections],
      ['MAX_CONNECTIONS_PER_PEER', config.http.maxConnectionsPerPeer],
      ['GALILEO_TIMEOUT_MS', config.galileo.timeoutMs],
      ['GALILEO_MAX_RETRIES', config.galileo.maxRetries],
      ['GALILEO_MAX_REQUESTS_PER_SECOND', config.galileo.maxRequestsPerSecond],
      ['GALILEO_CIRCUIT_FAILURES', config.galileo.circuitFailures],
      ['GALILEO_CIRCUIT_OPEN_MS', config.galileo.circuitOpenMs],
      ['GALILEO_MAX_IN_FLIGHT', config.galileo.maxInFlight],
      ['IDEMPOTENCY_STORE', config.idempotency.store],
      ['IDEMPOTENCY_KEY_PREFIX', config.idempotency.keyPrefix],
      ['IDEMPOTENCY_TTL_SECONDS', config.idempotency.ttlSeconds],
      ['IDEMPOTENCY_MAX_ENTRIES', config.idempotency.maxEntries],
      ['REDIS_MIN_REPLICAS_ACK', config.idempotency.minReplicasAck],
      ['LOG_LEVEL', config.logLevel],
      ['SHUTDOWN_DRAIN_MS', config.drainTimeoutMs],
      ['STORE_CHECK_INTERVAL_MS', config.diagnostics.storeCheckIntervalMs],
      ['PROBLEM_LOG_INTERVAL_MS', config.diagnostics.repeatLogIntervalMs],
    ];
    for (const [name, value] of expected) assert.equal(String(value), String(variable(name as never).default), name);
    assert.equal(config.bodyLimit, 64 * 1024, 'BODY_LIMIT 64kb');
    assert.equal(config.idempotency.maxBytes, 64 * 1024 * 1024, 'IDEMPOTENCY_MAX_BYTES 64mb');
  });
});
