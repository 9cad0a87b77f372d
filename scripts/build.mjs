/**
 * `npm run build`: src/ and generated/ compiled to dist/ with the files the service reads at run
 * time beside them (the inbound spec, and the Galileo spec the simulator reads), so dist/ plus the
 * production dependencies is the whole service: `node dist/src/main.js`.
 *
 * `--if-stale` (npm start's prestart): builds only when dist/ is missing or older than a source,
 * so a fresh checkout and an edited one both start what is in src/, and a built tree whose
 * dev dependencies were pruned (`npm ci --omit=dev`) starts without TypeScript.
 *
 * Plain JavaScript on purpose: it must run where only Node is installed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.build-stamp');
/** What the build reads: newer than the stamp means dist/ is stale. */
const INPUTS = ['src', 'generated', 'openapi/galileo.yaml', 'tsconfig.json', 'tsconfig.build.json'];
/** Read at run time, next to the compiled code (src/spec.ts and src/simulator/spec.ts find them there). */
const ASSETS = ['generated/gateway.openapi.json', 'openapi/galileo.yaml'];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

function isStale() {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  return INPUTS.some((input) => newestMtime(join(ROOT, input)) > built);
}

function typescriptCompiler() {
  try {
    return createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

function fail(message) {
  process.stderr.write(`build: ${message}\n`);
  process.exit(1);
}

const ifStale = process.argv.includes('--if-stale');
if (ifStale && !isStale()) process.exit(0);

const tsc = typescriptCompiler();
if (tsc === undefined) {
  fail(
    ifStale
      ? 'dist/ is missing or older than src/, and TypeScript is not installed (production dependencies only?). ' +
          'Build with the dev dependencies first: npm ci && npm run build'
      : 'TypeScript is not installed: run npm ci (with the dev dependencies) first',
  );
}

const started = performance.now();
rmSync(DIST, { recursive: true, force: true });
const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
if (compiled.status !== 0) fail(`tsc failed (exit ${compiled.status ?? compiled.signal})`);
for (const asset of ASSETS) {
  mkdirSync(dirname(join(DIST, asset)), { recursive: true });
  copyFileSync(join(ROOT, asset), join(DIST, asset));
}
writeFileSync(STAMP, `${new Date().toISOString()}\n`);
// stderr: npm start's stdout is the gateway's log stream.
process.stderr.write(`build: dist/ built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
