/**
 * A/B of gateway variants on a noisy machine: every variant runs at once against one simulator,
 * and short load windows alternate between them (order reversed every round), so a burst of
 * background load hits all of them alike. Reports the median and best gateway CPU per request
 * (from /proc, steadier than req/s) and req/s.
 *
 *   npx tsx scripts/bench/ab.ts [--rounds 10] [--seconds 3] [--connections 16] [--op createIvrCall]
 *                               [--store memory|redis] VARIANT...
 *
 * A VARIANT is a directory holding a copy of src/ and generated/ (`.` is the working tree),
 * optionally followed by @LEVEL for LOG_LEVEL (default info), e.g.
 *   mkdir -p /tmp/v && cp -r src generated /tmp/v/ && (edit /tmp/v/src/...) && npx tsx scripts/bench/ab.ts . /tmp/v
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { deleteByPrefix } from '../../test/idempotency/redis-helpers.js';
import { runLoad } from './load.js';
import { bodyFactory, exampleBody, nextTransactionId, OPERATIONS, type Operation } from './payloads.js';
import { cpuMs, freePort, postJson, startService, stopAllServices, waitForHttp, type Service } from './procs.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    op: { type: 'string', default: 'createIvrCall' },
    store: { type: 'string', default: 'memory' },
  },
});
const op = args.op as Operation;
if (!OPERATIONS.includes(op)) throw new Error(`unknown operation ${op}`);
if (positionals.length === 0) throw new Error('name at least one variant directory');
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const key = randomBytes(18).toString('base64url');
const prefix = `galileo-gw-ab:${process.pid}:`;

interface Variant {
  name: string;
  service: Service;
  origin: string;
  logFile: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const variants: Variant[] = [];
try {
  const simPort = await freePort();
  const sim = startService({ name: 'simulator', script: 'src/simulator/main.ts', env: { SIMULATOR_PORT: String(simPort) } });
  const simOrigin = `http://127.0.0.1:${simPort}`;
  await waitForHttp(sim, `${simOrigin}/__sim/state`);
  const account = await postJson(
    `${simOrigin}/intserv/4.0/createAccount`,
    new URLSearchParams({ apiLogin: 'sim-login', apiTransKey: 'simTransKey0001', providerId: '9999', transactionId: nextTransactionId(), prodId: '501', firstName: 'Ivr', lastName: 'Bench', mobilePhone: '8015556060', mobilePhoneCountryCode: '+1' }).toString(),
    { 'content-type': 'application/x-www-form-urlencoded', 'response-content-type': 'json' },
  );
  const fields = exampleBody(op);
  if (op === 'createIvrCall') fields.accountNo = /"pmt_ref_no":"(\d+)"/.exec(account.text)?.[1];

  for (const [i, spec] of positionals.entries()) {
    const [dir, level] = spec.split('@') as [string, string | undefined];
    const port = await freePort();
    const logFile = join(os.tmpdir(), `galileo-ab-${process.pid}-${i}.log`);
    const service = startService({
      name: spec,
      script: join(dir, 'src/main.ts'),
      stdoutFile: logFile,
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        GALILEO_BASE_URL: `${simOrigin}/intserv/4.0`,
        GALILEO_API_LOGIN: 'sim-login',
        GALILEO_API_TRANS_KEY: 'simTransKey0001',
        GALILEO_PROVIDER_ID: '9999',
        LOG_LEVEL: level ?? 'info',
        GATEWAY_CLIENTS: JSON.stringify([{ name: 'ab', keySha256: createHash('sha256').update(key).digest('hex'), operations: ['*'] }]),
        ...(args.store === 'redis' && { IDEMPOTENCY_STORE: 'redis', IDEMPOTENCY_KEY_PREFIX: `${prefix}${i}:` }),
      },
    });
    variants.push({ name: spec, service, origin: `http://127.0.0.1:${port}`, logFile });
  }
  await Promise.all(variants.map((v) => waitForHttp(v.service, `${v.origin}/healthz`)));

  const headers = { 'content-type': 'application/json', 'response-content-type': 'json', authorization: `Bearer ${key}` };
  const bodies = bodyFactory(fields, 'json');
  const load = (v: Variant, durationS: number) => runLoad({ url: v.origin, path: `/intserv/4.0/${op}`, connections, durationS, headers, body: bodies.next });
  for (const v of variants) await load(v, 2);
  const results = new Map<string, Array<{ rps: number; cpu: number; failures: number }>>();
  for (let round = 0; round < rounds; round++) {
    for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
      const before = cpuMs(v.service.pid);
      const r = await load(v, seconds);
      const cpu = (cpuMs(v.service.pid) - before) / Math.max(1, r.requests);
      results.set(v.name, [...(results.get(v.name) ?? []), { rps: r.rps, cpu, failures: r.errors + r.non2xx }]);
    }
  }
  process.stdout.write(`${op}, ${connections} connections, ${rounds} rounds of ${seconds} s, ${args.store} store; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  for (const [name, xs] of results) {
    const cpus = xs.map((x) => x.cpu);
    process.stdout.write(
      `${name.padEnd(24)} CPU ms/req median ${median(cpus).toFixed(3)} best ${Math.min(...cpus).toFixed(3)}   req/s median ${median(xs.map((x) => x.rps)).toFixed(0)}   failures ${xs.reduce((n, x) => n + x.failures, 0)}\n`,
    );
  }
} finally {
  await stopAllServices();
  for (const v of variants) rmSync(v.logFile, { force: true });
  if (args.store === 'redis') {
    const redis = new Redis({ lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  }
}
