/**
 * generated/ and the callers' client in clients/typescript/src/generated/ must be exactly what
 * `npm run generate` writes from openapi/galileo.yaml.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CLIENT_GENERATED_DIR, GENERATED_DIR, generate } from '../../scripts/generate.js';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('generated/ and clients/typescript/src/generated/', () => {
  let fresh: string;
  before(async () => {
    fresh = await mkdtemp(join(tmpdir(), 'gateway-generate-'));
    await generate(join(fresh, 'generated'), join(fresh, 'client'));
  });
  after(() => rm(fresh, { recursive: true, force: true }));

  for (const [name, committed, written] of [
    ['generated/', GENERATED_DIR, 'generated'],
    ['clients/typescript/src/generated/', CLIENT_GENERATED_DIR, 'client'],
  ] as const) {
    it(`${name} holds exactly the files npm run generate writes, byte for byte (run npm run generate)`, async () => {
      const expected = await listFiles(join(fresh, written));
      assert.deepEqual(await listFiles(committed), expected);
      for (const file of expected) {
        const [want, have] = await Promise.all([readFile(join(fresh, written, file), 'utf8'), readFile(join(committed, file), 'utf8')]);
        assert.equal(have, want, `${name}${file} is stale: run npm run generate`);
      }
    });
  }
});
