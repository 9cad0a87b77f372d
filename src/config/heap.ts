/**
 * The memory store's byte bound against V8's heap limit (docs/operations.md, Memory): a bound the
 * heap cannot hold next to the rest of the gateway is refused at start-up, never found out as a crash.
 */
import { ConfigError } from './config-error.js';

const MIB = 1024 * 1024;

/**
 * The part of V8's heap limit the gateway needs besides the memory store's records: the young
 * generation (heap_size_limit counts 3 semi-spaces; Node 24 gives a 64-bit process 64 MiB ones
 * unless --max-semi-space-size says less, so 192 MiB at most: with a smaller semi-space this
 * reserves more than needed, never less) plus what the rest of the gateway keeps live under load
 * and the garbage between two full collections. Measured (docs/operations.md, Memory): heap used
 * after each full collection (--trace-gc) of the Redis gateway under load at 16 and 64
 * connections, both operations: at most 33.4 MiB. 96 MiB is nearly three times that.
 */
export const GATEWAY_HEAP_BYTES = (192 + 96) * 1024 * 1024;

/**
 * The memory store can grow to IDEMPOTENCY_MAX_BYTES of heap: with less than GATEWAY_HEAP_BYTES
 * of V8's heap limit left, the process would run out of heap under load (a crash, every claim in
 * flight lost). Refused at start-up instead, with the two ways out.
 */
export function heapRoom(maxBytes: number, heapLimitBytes: number): void {
  const short = maxBytes + GATEWAY_HEAP_BYTES - heapLimitBytes;
  if (short <= 0) return;
  const mib = (bytes: number) => Math.ceil(bytes / MIB);
  throw new ConfigError(
    'IDEMPOTENCY_MAX_BYTES',
    `the memory store's ${mib(maxBytes)} MiB and the ${mib(GATEWAY_HEAP_BYTES)} MiB the rest of the gateway needs exceed the V8 heap limit ` +
      `(${mib(heapLimitBytes)} MiB): raise node's --max-old-space-size by at least ${mib(short)} (MB), or lower IDEMPOTENCY_MAX_BYTES ` +
      `to at most ${Math.max(0, Math.floor((heapLimitBytes - GATEWAY_HEAP_BYTES) / MIB))}mb`,
  );
}
