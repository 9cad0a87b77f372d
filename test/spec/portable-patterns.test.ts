/**
 * The served spec's patterns must mean the same to the tools callers use in other languages:
 * each compiles in Python's `re` (which refuses `\p{L}`), and in JavaScript with and without the
 * `u` flag, and no pattern uses `\d` (a Unicode digit in Python, ASCII in JavaScript).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const spec = JSON.parse(readFileSync(new URL('../../generated/gateway.openapi.json', import.meta.url), 'utf8')) as unknown;

function patterns(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((item) => patterns(item, found));
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'pattern' && typeof value === 'string') found.add(value);
      else patterns(value, found);
    }
  }
  return found;
}

describe('patterns other languages can compile', () => {
  const all = [...patterns(spec)];

  it('there are patterns to check', () => {
    assert.ok(all.length >= 20, `only ${all.length} patterns`);
  });

  it("every pattern compiles in Python's re", () => {
    const script =
      'import json, re, sys\nbad = []\nfor p in json.load(sys.stdin):\n  try: re.compile(p)\n  except re.error as e: bad.append(f"{p}: {e}")\nprint(json.dumps(bad))';
    const output = execFileSync('python3', ['-c', script], { input: JSON.stringify(all), encoding: 'utf8' });
    assert.deepEqual(JSON.parse(output), []);
  });

  it('every pattern compiles in JavaScript with and without the u flag, and none uses \\d or \\p', () => {
    for (const pattern of all) {
      assert.doesNotThrow(() => new RegExp(pattern, 'u'), pattern);
      assert.doesNotThrow(() => new RegExp(pattern), pattern);
      assert.doesNotMatch(pattern, /\\[dDpP]/, pattern);
    }
  });
});
