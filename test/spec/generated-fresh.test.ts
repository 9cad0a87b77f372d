/** generated/ must be exactly what `npm run generate` writes from openapi/galileo.yaml. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GENERATED_DIR, generate } from '../../scripts/generate.js';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

describe('generated/', () => {
  let fresh: string;
  before(async () => {
    fresh = await mkdtemp(join(tmpdir(), 'gateway-generate-'));
    await generate(fresh);
  });
  after(() => rm(fresh, { recursive: true, force: true }));

  it('holds exactly the files npm run generate writes, byte for byte (run npm run generate)', async () => {
    const expected = await listFiles(fresh);
    assert.deepEqual(await listFiles(GENERATED_DIR), expected);
    for (const file of expected) {
      const [want, have] = await Promise.all([readFile(join(fresh, file), 'utf8'), readFile(join(GENERATED_DIR, file), 'utf8')]);
      assert.equal(have, want, `generated/${file} is stale: run npm run generate`);
    }
  });
});
