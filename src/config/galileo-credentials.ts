/** GALILEO_API_LOGIN, GALILEO_API_TRANS_KEY and GALILEO_PROVIDER_ID: the three together or none (none: the simulator's). */
import type { GalileoCredentials } from '../config.js';
import { variable } from '../config-variables.js';
import { ConfigError } from './config-error.js';
import { integer, secret, type Env } from './readers.js';

export function galileoCredentials(env: Env, baseUrl: string | undefined): GalileoCredentials | undefined {
  const apiLogin = secret(env, 'GALILEO_API_LOGIN');
  const apiTransKey = secret(env, 'GALILEO_API_TRANS_KEY');
  const providerIdText = secret(env, 'GALILEO_PROVIDER_ID');
  const given = [apiLogin, apiTransKey, providerIdText].filter((v) => v !== undefined).length;
  if (given !== 0 && given !== 3) {
    const missing = [
      ['GALILEO_API_LOGIN', apiLogin],
      ['GALILEO_API_TRANS_KEY', apiTransKey],
      ['GALILEO_PROVIDER_ID', providerIdText],
    ].find(([, v]) => v === undefined)![0]!;
    throw new ConfigError(missing, 'the three Galileo credentials must be set together');
  }
  if (baseUrl !== undefined && given === 0) {
    throw new ConfigError('GALILEO_API_LOGIN', 'credentials are required when GALILEO_BASE_URL is set');
  }
  return given === 3
    ? {
        apiLogin: apiLogin!,
        apiTransKey: apiTransKey!,
        providerId: integer(
          'GALILEO_PROVIDER_ID',
          providerIdText!,
          variable('GALILEO_PROVIDER_ID').min!,
          variable('GALILEO_PROVIDER_ID').max!,
          'the provider id',
        ),
      }
    : undefined;
}
