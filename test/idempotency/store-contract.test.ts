/** The store contract (store-contract.ts) on the memory store and on the shared Redis, with each codec. */
import { randomBytes } from 'node:crypto';
import { aesGcmCodec, plainCodec, type ResponseCodec } from '../../src/idempotency/codec.js';
import { MemoryStore } from '../../src/idempotency/memory-store.js';
import { RedisStore } from '../../src/idempotency/redis-store.js';
import { adminClient, deleteByPrefix, REDIS_URL, storeClient, uniquePrefix } from '../../scripts/lib/redis-keys.js';
import { describeStoreContract } from './store-contract.js';

const codecs: [string, () => ResponseCodec][] = [
  ['plainCodec', () => plainCodec],
  ['aesGcmCodec', () => aesGcmCodec([{ id: 'test', key: randomBytes(32) }])],
];

for (const [codecName, makeCodec] of codecs) {
  describeStoreContract(
    `MemoryStore + ${codecName}`,
    (timings) => new MemoryStore({ timings, maxEntries: 1000, maxBytes: 16 * 1024 * 1024, codec: makeCodec() }),
  );
}

describe('RedisStore contract runs', () => {
  const prefix = uniquePrefix('idem-contract');

  after(async () => {
    const admin = adminClient();
    try {
      await deleteByPrefix(admin, prefix);
    } finally {
      await admin.quit();
    }
  });

  for (const [codecName, makeCodec] of codecs) {
    describeStoreContract(
      `RedisStore + ${codecName}`,
      (timings) =>
        new RedisStore({
          redis: storeClient(REDIS_URL),
          keyPrefix: `${prefix}${codecName}:`,
          timings,
          codec: makeCodec(),
          commandTimeoutMs: 1000,
        }),
    );
  }
});
