/**
 * `npm run simulator`: the Galileo simulator on its own.
 * SIMULATOR_PORT (8090), SIMULATOR_HOST (127.0.0.1), SIMULATOR_FAULTS (JSON array of fault rules for
 * the whole run), SIMULATOR_PCI_ENABLED=1 (unmasked card data), SIMULATOR_API_LOGIN /
 * SIMULATOR_API_TRANS_KEY / SIMULATOR_PROVIDER_ID (other credentials than the defaults).
 */
import { FaultRuleError, SIMULATOR_CREDENTIALS, startSimulator, type FaultRuleInput } from './server.js';
import { parseFaultRule } from './faults.js';

function fail(message: string): never {
  console.error(`simulator: ${message}`);
  process.exit(1);
}

function faultsFromEnv(raw: string | undefined): FaultRuleInput[] {
  if (!raw?.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    fail('SIMULATOR_FAULTS is not valid JSON');
  }
  if (!Array.isArray(parsed)) fail('SIMULATOR_FAULTS must be a JSON array of fault rules');
  return parsed.map((rule, i) => {
    try {
      return parseFaultRule(rule);
    } catch (err) {
      fail(`SIMULATOR_FAULTS[${i}]: ${err instanceof FaultRuleError ? err.message : String(err)}`);
    }
  });
}

const env = process.env;
const port = Number(env['SIMULATOR_PORT'] ?? 8090);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('SIMULATOR_PORT must be a port number');
const providerId = Number(env['SIMULATOR_PROVIDER_ID'] ?? SIMULATOR_CREDENTIALS.providerId);
if (!Number.isInteger(providerId) || providerId < 1) fail('SIMULATOR_PROVIDER_ID must be a positive integer');
const credentials = {
  apiLogin: env['SIMULATOR_API_LOGIN'] ?? SIMULATOR_CREDENTIALS.apiLogin,
  apiTransKey: env['SIMULATOR_API_TRANS_KEY'] ?? SIMULATOR_CREDENTIALS.apiTransKey,
  providerId,
};
const faults = faultsFromEnv(env['SIMULATOR_FAULTS']);

const sim = await startSimulator({
  port,
  host: env['SIMULATOR_HOST'] ?? '127.0.0.1',
  credentials,
  faults,
  pciEnabled: env['SIMULATOR_PCI_ENABLED'] === '1' || env['SIMULATOR_PCI_ENABLED'] === 'true',
}).catch((err: unknown) => fail(`cannot listen: ${err instanceof Error ? err.message : String(err)}`));

console.log(`Galileo simulator listening: ${sim.url}`);
console.log(`  apiLogin=${credentials.apiLogin} apiTransKey=${credentials.apiTransKey} providerId=${credentials.providerId}`);
console.log(`  admin API: ${sim.origin}/__sim/ (requests, faults, state, reset, clock)`);
if (faults.length > 0) console.log(`  ${faults.length} fault rule(s) active for this run`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0));
  });
}
