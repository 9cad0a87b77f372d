/**
 * Node flags against RSS, heap and CPU: gateway variants (extra node flags, store, environment),
 * all running at once against one simulator, loaded in interleaved windows (order reversed every
 * round). Reports each one's RSS after the whole run, heap used after its full collections
 * (--trace-gc) and CPU per request (median of the createIvrCall windows at 16 connections; every
 * window is printed). Every variant starts with package.json start's flags; later flags win.
 *
 *   VARIANTS='[{"name":"redis-default-young","store":"redis","args":["--max-semi-space-size=64"]},
 *              {"name":"redis-shipped","store":"redis","args":[]}]' \
 *   ROUNDS=8 SECONDS_=4 CONNS=16 npx tsx scripts/bench/heap-variants.ts
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { deleteByPrefix } from '../lib/redis-keys.js';
import { runLoad } from './load.js';
import { bodyFactory, exampleBody, type Operation } from './payloads.js';
import { cpuMs, rssMb, stopAllServices } from './procs.js';
import { CLIENT_KEY, REDIS_URL, buildGateway, createIvrAccount, removeLogFiles, startGateway, startSimulator, type Server } from './servers.js';

const ROUNDS = Number(process.env.ROUNDS ?? 6);
const SECONDS = Number(process.env.SECONDS_ ?? 3);
const CONNS = (process.env.CONNS ?? '16,64').split(',').map(Number);
const prefix = `galileo-gw-heap:${process.pid}:`;
const variants = JSON.parse(process.env.VARIANTS!) as Array<{ name: string; store: 'memory' | 'redis'; args: string[]; env?: Record<string, string> }>;
buildGateway();
const sim = await startSimulator();
const ivr = await createIvrAccount(sim.origin);
const servers: Array<{ v: (typeof variants)[number]; s: Server; cpu: number[]; rps: number[] }> = [];
for (const v of variants) {
  const s = await startGateway({ name: v.name, galileoUrl: `${sim.origin}/intserv/4.0`, store: v.store, redisKeyPrefix: prefix, nodeArgs: ['--trace-gc', ...v.args], env: v.env });
  servers.push({ v, s, cpu: [], rps: [] });
}
const headers = { 'content-type': 'application/json', 'response-content-type': 'json', authorization: `Bearer ${CLIENT_KEY}` };
const ops: Operation[] = ['createIvrCall', 'createAccount'];
const fields = (op: Operation) => ({ ...exampleBody(op), ...(op === 'createIvrCall' ? { accountNo: ivr } : {}) });
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? servers : [...servers].reverse();
  for (const op of ops)
    for (const c of CONNS)
      for (const x of order) {
        const base = { url: x.s.origin, path: `/intserv/4.0/${op}`, connections: c, headers, body: bodyFactory(fields(op), 'json').next };
        await runLoad({ ...base, durationS: 1 });
        const c0 = cpuMs(x.s.service.pid);
        const res = await runLoad({ ...base, durationS: SECONDS });
        const ms = (cpuMs(x.s.service.pid) - c0) / Math.max(1, res.requests);
        if (op === 'createIvrCall' && c === 16) { x.cpu.push(ms); x.rps.push(res.rps); }
        process.stdout.write(`r${r} ${x.v.name.padEnd(16)} ${op} c=${c} ${res.rps.toFixed(0)} req/s ${ms.toFixed(3)} ms/req err ${res.errors} non2xx ${res.non2xx}\n`);
      }
}
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
for (const x of servers) {
  const log = readFileSync(x.s.logFile!, 'utf8');
  const mc = [...log.matchAll(/Mark-Compact[^\n]*?([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/g)].map((m) => Number(m[3]));
  const sc = [...log.matchAll(/Scavenge/g)].length;
  console.log(JSON.stringify({ name: x.v.name, rssAfterMb: Math.round(rssMb(x.s.service.pid) * 10) / 10, cpuMsPerReqIvr16Median: Math.round(med(x.cpu) * 1000) / 1000, cpuRounds: x.cpu.map((n) => Math.round(n * 1000) / 1000), rpsMedian: Math.round(med(x.rps)), markCompacts: mc.length, liveAfterMcMaxMb: Math.max(0, ...mc), liveAfterMcLastMb: mc.at(-1), scavenges: sc }));
}
await stopAllServices();
removeLogFiles();
const redis = new Redis(REDIS_URL);
console.log('redis keys deleted', await deleteByPrefix(redis, prefix));
redis.disconnect();
