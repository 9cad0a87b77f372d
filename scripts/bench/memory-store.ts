/**
 * The memory store's claim cost at a full store against an empty one (the security review found
 * 0.91 ms per claim at the default 100,000 entries, when each claim scanned the whole store).
 * Full: 100,000 consumed records, so every claim must make room. CPU time per claim, median of
 * interleaved rounds; the goal is full within 2x of empty.
 */
import { plainCodec } from '../../src/idempotency/codec.js';
import { MemoryStore } from '../../src/idempotency/memory-store.js';

const ENTRIES = 100_000;
const CLAIMS = 20_000;
const ROUNDS = 5;
const RESPONSE = { status: 200, contentType: 'application/json', body: '{"status_code":0}' };

export interface MemoryStoreResult {
  entries: number;
  emptyUsPerClaim: number;
  fullUsPerClaim: number;
  ratio: number;
}

async function fill(store: MemoryStore, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const claimed = await store.claim(`${prefix}${i}`, 'fp');
    if (claimed.state === 'claimed') await store.complete(`${prefix}${i}`, claimed.token, RESPONSE);
  }
}

/** CPU microseconds per claim over CLAIMS fresh keys. */
async function claimCost(store: MemoryStore, prefix: string): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < CLAIMS; i++) await store.claim(`${prefix}${i}`, 'fp');
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CLAIMS;
}

export async function measureMemoryStore(): Promise<MemoryStoreResult> {
  const timings = { lockTtlMs: 60_000, consumedTtlMs: 86_400_000 };
  const empty: number[] = [];
  const full: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const fresh = new MemoryStore({ timings, maxEntries: ENTRIES + CLAIMS * 2, codec: plainCodec });
    empty.push(await claimCost(fresh, `e${round}:`));
    const filled = new MemoryStore({ timings, maxEntries: ENTRIES, codec: plainCodec });
    await fill(filled, ENTRIES, `f${round}:`);
    full.push(await claimCost(filled, `n${round}:`));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const emptyUs = median(empty);
  const fullUs = median(full);
  return { entries: ENTRIES, emptyUsPerClaim: round2(emptyUs), fullUsPerClaim: round2(fullUs), ratio: round2(fullUs / emptyUs) };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

if (process.argv[1]?.endsWith('memory-store.ts')) {
  console.log(JSON.stringify(await measureMemoryStore()));
}
