/**
 * `npm run generate`: openapi/galileo.yaml -> generated/ (the outbound axios client and the
 * inbound spec). Also used by the staleness test with another output directory.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, defaultPlugins } from '@hey-api/openapi-ts';
import { parse } from 'yaml';
import { deriveGatewaySpec } from './gateway-spec.js';

const root = resolve(fileURLToPath(import.meta.url), '../..');
export const SPEC_PATH = join(root, 'openapi/galileo.yaml');
export const GENERATED_DIR = join(root, 'generated');

export async function generate(outDir = GENERATED_DIR): Promise<void> {
  await rm(join(outDir, 'galileo-client'), { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await createClient({
    input: SPEC_PATH,
    output: { path: join(outDir, 'galileo-client') },
    plugins: [...defaultPlugins, '@hey-api/client-axios'],
    logs: { level: 'silent' },
  });
  const galileo = parse(await readFile(SPEC_PATH, 'utf8'));
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const gateway = deriveGatewaySpec(galileo, version);
  await writeFile(join(outDir, 'gateway.openapi.json'), `${JSON.stringify(gateway, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await generate(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`generated ${process.argv[2] ?? 'generated/'} from openapi/galileo.yaml`);
}
