/**
 * The client package as a calling service gets it: `npm pack` (which builds it) gives a tarball
 * that, installed into an empty project, is imported from plain Node and run against a real
 * gateway, and compiles from TypeScript. That compilation is the type test: the result union must
 * be narrowed before either kind is read, and createAccount's response_data is typed as the spec
 * says, the new-account array on success and empty ({} or null) on a business error. The README's
 * example of a calling service is compiled with it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { gatewaySuite } from '../helpers/harness.js';

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL('../../clients/typescript/', import.meta.url));
const TYPE_ROOTS = fileURLToPath(new URL('../../node_modules/@types/', import.meta.url));

/** The code block of the README's client section. */
function readmeExample(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## A typed client for calling services'));
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!example?.includes('createGatewayClient')) assert.fail('the README has no client example');
  return example;
}

/** A calling service's code, compiled against the installed package's declarations. */
const CALLER = `
import { createGatewayClient, GatewayCallError, type NewAccount, type ProblemCode } from '@galileo-gateway/client';

const client = createGatewayClient({ baseUrl: 'http://gateway.internal:8080', apiKey: 'key', timeoutMs: 5_000, retry: { attempts: 3 } });

/** The new account's PRN; undefined on a Galileo business error; the code of a gateway problem. */
export async function openAccount(): Promise<string | ProblemCode | undefined> {
  // Only prodId is required; the transactionId is generated.
  const result = await client.createAccount({ prodId: 501, firstName: 'Ada', lastName: 'Lovelace' });
  // @ts-expect-error a gateway problem has no data: the union must be narrowed first
  void result.data;
  // @ts-expect-error Galileo's answer has no problem code
  void result.code;
  switch (result.kind) {
    case 'problem':
      return result.code;
    case 'answer_lost':
      // Galileo's record of the call: its status code, no data (the answer itself was lost).
      // @ts-expect-error a lost answer carries no data
      void result.data;
      return result.ok ? result.rtoken : String(result.statusCode);
    case 'galileo': {
      const data = result.data.response_data;
      // @ts-expect-error not always an array: a business error carries {} or null
      data.map((account: NewAccount) => account.pmt_ref_no);
      if (Array.isArray(data)) {
        const account: NewAccount | undefined = data[0];
        return account?.pmt_ref_no;
      }
      const empty: Record<string, unknown> | null = data;
      // @ts-expect-error an empty response_data holds no account to read
      return empty?.pmt_ref_no;
    }
    default: {
      const unhandled: never = result;
      return unhandled;
    }
  }
}

/** Handling Galileo's answer alone does not compile: what is left is the gateway's problem. */
export async function enrolled(): Promise<boolean> {
  const result = await client.modifyOnDemandAlertStatus({ accountNo: '074100000001', prodId: 501, mobilePhone: '8015556060', mobileCarrierId: 8, actionType: 'E' });
  if (result.kind === 'galileo') return result.ok && !result.replayed;
  // @ts-expect-error a problem has no ok
  return result.ok;
}

export async function asXml(): Promise<string | undefined> {
  const result = await client.createAccount({ prodId: 501 }, { responseContentType: 'xml' });
  return result.kind === 'galileo' ? result.data : undefined;
}

export function transactionIdToStore(error: unknown): string | undefined {
  return error instanceof GatewayCallError ? error.transactionId : undefined;
}

// @ts-expect-error prodId is required by the spec
void client.createAccount({ firstName: 'Ada' });
// @ts-expect-error the Galileo credentials are the gateway's, not a field of the request
void client.createAccount({ prodId: 501, apiLogin: 'login' });
// @ts-expect-error callType is the spec's enum (CPIN)
void client.createIvrCall({ accountNo: '074100000001', callType: 'XPIN', callParams: '{}' });
`;

/** Plain Node, no TypeScript: one createAccount against the gateway given as argument. */
const PLAIN_NODE = `
import { createGatewayClient } from '@galileo-gateway/client';
const client = createGatewayClient({ baseUrl: process.argv[2] });
const result = await client.createAccount({ prodId: 501, firstName: 'Ada', lastName: 'Lovelace' });
console.log(JSON.stringify({ kind: result.kind, ok: result.ok, statusCode: result.statusCode, replayed: result.replayed, transactionId: result.transactionId }));
`;

describe('client: the npm package', function () {
  this.timeout(60_000);
  const suite = gatewaySuite();
  let dir: string;
  let files: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-client-pack-'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: PACKAGE_DIR });
    const [tarball] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = tarball!.files.map((f) => f.path);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'calling-service', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, tarball!.filename)], { cwd: dir });
    writeFileSync(join(dir, 'caller.ts'), CALLER);
    writeFileSync(join(dir, 'plain.mjs'), PLAIN_NODE);
    writeFileSync(join(dir, 'readme-example.ts'), readmeExample());
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds compiled JavaScript and type declarations, no TypeScript sources', () => {
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), files.join('\n'));
    assert.deepEqual(
      files.filter((f) => f !== 'package.json' && !/^dist\/.+(\.js|\.d\.ts)$/.test(f)),
      [],
    );
  });

  it('runs from plain Node against the gateway', async () => {
    const { stdout } = await run(process.execPath, ['plain.mjs', suite.gw.url], { cwd: dir });
    const answer = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(
      { ...answer, transactionId: typeof answer.transactionId },
      { kind: 'galileo', ok: true, statusCode: 0, replayed: false, transactionId: 'string' },
    );
  });

  it('compiles a calling service (and the README example) from TypeScript: the union and response_data typed as the spec says', () => {
    const program = ts.createProgram([join(dir, 'caller.ts'), join(dir, 'readme-example.ts')], {
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      typeRoots: [TYPE_ROOTS],
      types: ['node'],
      skipLibCheck: true,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) =>
          `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    assert.deepEqual(diagnostics, []);
  });
});
