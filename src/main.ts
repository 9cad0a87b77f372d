/** `npm start`: configuration from the environment, the gateway, and signal handling. */
import { ConfigError, loadConfig } from './config.js';
import { createLogger, loggableError } from './logger.js';
import { startGateway } from './server.js';

/** One line on stderr naming the variable, exit 1: before the logger exists, and for operators. */
function refuseConfig(err: ConfigError): never {
  process.stderr.write(`galileo-gateway: invalid configuration: ${err.message}\n`);
  process.exit(1);
}

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  refuseConfig(err);
}

// Pretty only for a human at a terminal; piped (or in production) it stays one JSON object a line.
const logger = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY === true && !config.production });

for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (reason: unknown) => {
    logger.fatal({ err: loggableError(reason) }, `${event}: exiting`);
    process.exit(1);
  });
}

try {
  const gateway = await startGateway(config, logger);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // once: the same signal again during the drain gets Node's default, an immediate exit.
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      gateway.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err: loggableError(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
} catch (err) {
  if (err instanceof ConfigError) refuseConfig(err);
  logger.fatal({ err: loggableError(err) }, 'start-up failed');
  process.exit(1);
}
