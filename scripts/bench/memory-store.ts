/**
 * The memory store's claim cost at a full store against an empty one (the security review found
 * 0.91 ms per claim at the default 100,000 entries, when each claim scanned the whole store).
 * Full: 100,000 consumed records, so every claim must make room. CPU time per claim, median of
 * interleaved rounds; the goal is full within 2x of empty.
 *
 * And the heap one record takes beyond its strings (measureRecordOverhead), which the store's byte
 * bound (IDEMPOTENCY_MAX_BYTES) counts as CLAIM_OVERHEAD_BYTES or RECORD_OVERHEAD_BYTES per record.
 */
import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { plainCodec } from '../../src/idempotency/codec.js';
import { CLAIM_OVERHEAD_BYTES, MemoryStore, RECORD_OVERHEAD_BYTES } from '../../src/idempotency/memory-store.js';

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
    const fresh = new MemoryStore({ timings, maxEntries: ENTRIES + CLAIMS * 2, maxBytes: 2 ** 40, codec: plainCodec });
    empty.push(await claimCost(fresh, `e${round}:`));
    const filled = new MemoryStore({ timings, maxEntries: ENTRIES, maxBytes: 2 ** 40, codec: plainCodec });
    await fill(filled, ENTRIES, `f${round}:`);
    full.push(await claimCost(filled, `n${round}:`));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const emptyUs = median(empty);
  const fullUs = median(full);
  return { entries: ENTRIES, emptyUsPerClaim: round2(emptyUs), fullUsPerClaim: round2(fullUs), ratio: round2(fullUs / emptyUs) };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export interface RecordOverheadResult {
  records: number;
  /** Heap per record beyond the characters the store counts, by how the record was left. */
  bytesPerRecord: { claimWithStaleEntries: number; consumed: number; unresolved: number };
  /** What the store counts per record: at least each of the above. */
  counted: { claim: number; record: number };
}

/**
 * Heap used after a full GC, before and after RECORDS records, minus the characters the store
 * counts for them, per record. Keys and fingerprints as the gateway makes them (a client name and a
 * transactionId; 64 hex characters), each unique. Claims are measured at their worst: three claims
 * released for every live one, whose queue entries stay until the queue is compacted.
 */
export async function measureRecordOverhead(records = 50_000): Promise<RecordOverheadResult> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const timings = { lockTtlMs: 3_600_000, consumedTtlMs: 86_400_000 };
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const response = { status: 200, contentType: 'application/json', body: '{"status_code":0,"processing_time":0.01,"response_data":{}}' };
  const key = (i: number) => `bench:${String(1e12 + i)}${randomBytes(4).toString('hex')}`;
  const print = () => randomBytes(32).toString('hex');
  const measure = async (overhead: number, fillWith: (store: MemoryStore, i: number) => Promise<void>): Promise<number> => {
    let store: MemoryStore | undefined = new MemoryStore({ timings, maxEntries: records * 4, maxBytes: 2 ** 40, codec: plainCodec });
    const before = heap();
    for (let i = 0; i < records; i++) await fillWith(store, i);
    const after = heap();
    const counted = store.bytes - store.size * overhead;
    const perRecord = (after - before - counted) / store.size;
    store = undefined;
    return Math.round(perRecord);
  };
  const claimed = async (store: MemoryStore, k: string) => {
    const result = await store.claim(k, print());
    if (result.state !== 'claimed') throw new Error(`not claimed: ${result.state}`);
    return result.token;
  };
  const claimWithStaleEntries = await measure(CLAIM_OVERHEAD_BYTES, async (store, i) => {
    for (const n of [1, 2, 3]) {
      const k = key(i * 4 + n);
      await store.release(k, await claimed(store, k));
    }
    await claimed(store, key(i * 4));
  });
  const consumed = await measure(RECORD_OVERHEAD_BYTES, async (store, i) => {
    const k = key(i);
    await store.complete(k, await claimed(store, k), response);
  });
  const unresolved = await measure(RECORD_OVERHEAD_BYTES, async (store, i) => {
    const k = key(i);
    await store.leaveUnresolved(k, await claimed(store, k));
  });
  return { records, bytesPerRecord: { claimWithStaleEntries, consumed, unresolved }, counted: { claim: CLAIM_OVERHEAD_BYTES, record: RECORD_OVERHEAD_BYTES } };
}

if (process.argv[1]?.endsWith('memory-store.ts')) {
  // --record-overhead N: only that measurement, as one JSON line (a test runs it in a process of its own).
  const at = process.argv.indexOf('--record-overhead');
  if (at !== -1) console.log(JSON.stringify(await measureRecordOverhead(Number(process.argv[at + 1]))));
  else {
    console.log(JSON.stringify(await measureMemoryStore()));
    console.log(JSON.stringify(await measureRecordOverhead()));
  }
}
