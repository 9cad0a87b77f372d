/**
 * The node flags the gateway ships with, from package.json's `start` script
 * (`exec node FLAGS dist/src/main.js`): the Dockerfile's CMD must carry the same ones
 * (scripts/artifact-check.ts checks it), and the benchmarks start the gateway with them, so what
 * is measured is what ships (a heap cap changes RSS and GC work).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function shippedNodeArgs(root: string): string[] {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const match = /^exec node((?: --[a-z-]+=\S+)*) dist\/src\/main\.js$/.exec(start);
  if (!match) throw new Error(`package.json start is not "exec node [--flag=value ...] dist/src/main.js": ${start}`);
  return match[1]!.split(' ').filter(Boolean);
}
