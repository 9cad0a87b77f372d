/** `npm start`: configuration from the environment, the gateway, and signal handling. */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startGateway } from './server.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`galileo-gateway: invalid configuration: ${err.message}\n`);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY === true && !config.production });

process.on('unhandledRejection', (reason) => {
  logger.fatal({ err: { message: (reason as Error)?.message, stack: (reason as Error)?.stack } }, 'unhandled rejection: exiting');
  process.exit(1);
});

try {
  const gateway = await startGateway(config, logger);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      gateway.stop().then(
        () => process.exit(0),
        (err: Error) => {
          logger.error({ err: { message: err.message } }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`galileo-gateway: invalid configuration: ${err.message}\n`);
  } else {
    logger.fatal({ err: { message: (err as Error).message } }, 'start-up failed');
  }
  process.exit(1);
}
