/**
 * `npm run generate`: openapi/galileo.yaml -> generated/ (the outbound axios client and the
 * inbound spec), and the inbound spec -> the callers' fetch client in clients/typescript/src/generated/;
 * the declaration of the environment variables (src/config-variables.ts) -> the table of
 * docs/configuration.md.
 * Also used by the staleness test with other output directories.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, defaultPlugins } from '@hey-api/openapi-ts';
import { parse } from 'yaml';
import { variablesTable } from '../src/config-variables.js';
import { gatewaySpecFrom } from '../src/spec.js';
import { deriveGatewaySpec } from './gateway-spec.js';

const root = resolve(fileURLToPath(import.meta.url), '../..');
export const SPEC_PATH = join(root, 'openapi/galileo.yaml');
export const GENERATED_DIR = join(root, 'generated');
export const CLIENT_GENERATED_DIR = join(root, 'clients/typescript/src/generated');
export const CONFIGURATION_DOC = join(root, 'docs/configuration.md');
const TABLE_START = '<!-- variables: generated from src/config-variables.ts by npm run generate -->';
const TABLE_END = '<!-- end of variables -->';

/** docs/configuration.md with its table replaced by the declaration's. */
export function withVariablesTable(doc: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/configuration.md has no ${TABLE_START} … ${TABLE_END} section`);
  return `${doc.slice(0, start + TABLE_START.length)}\n${variablesTable()}\n${doc.slice(end)}`;
}

export async function generate(outDir = GENERATED_DIR, clientOutDir = CLIENT_GENERATED_DIR): Promise<void> {
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
  await generateCallerClient(join(outDir, 'gateway.openapi.json'), gateway, clientOutDir);
  if (outDir === GENERATED_DIR) await writeFile(CONFIGURATION_DOC, withVariablesTable(await readFile(CONFIGURATION_DOC, 'utf8')));
}

/** The callers' client, from the served spec: fetch-based (no axios for callers), plus the spec's facts it reads. */
async function generateCallerClient(specPath: string, gateway: Record<string, unknown>, clientOutDir: string): Promise<void> {
  await rm(clientOutDir, { recursive: true, force: true });
  await createClient({
    input: specPath,
    output: { path: clientOutDir, importFileExtension: '.js' },
    plugins: [...defaultPlugins, '@hey-api/client-fetch'],
    logs: { level: 'silent' },
  });
  const spec = gatewaySpecFrom(gateway);
  const stateChangingCodes = Object.fromEntries(spec.operations.map(({ operationId }) => [operationId, [...spec.stateChangingCodes(operationId)]]));
  await writeFile(
    join(clientOutDir, 'spec-facts.gen.ts'),
    `// Generated from the served spec by npm run generate: do not edit.

/** Per operation, the Galileo status codes after which the call changed state at Galileo (changesState). */
export const stateChangingCodes = ${JSON.stringify(stateChangingCodes, null, 2)} as const;
`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : undefined;
  await generate(outDir, outDir && join(outDir, 'client'));
  console.log(`generated ${process.argv[2] ?? 'generated/'} from openapi/galileo.yaml`);
}
