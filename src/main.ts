/**
 * The service's entry point (`node dist/src/main.js`, `npm start`, `npm run dev`): configuration
 * from the environment, the gateway, and signal handling.
 */
import os from 'node:os';
import { ConfigError, loadConfig } from './config.js';
import { nodeVersionProblem } from './diagnostics/node-version.js';
import { createLogger, loggableError } from './logger.js';
import { loadGatewaySpec } from './spec.js';
import { startGateway } from './server.js';
import { traceLogFields } from './tracing/log-fields.js';

/** A repeat of the stop signal within this window is the same signal delivered twice. */
const REPEAT_WINDOW_MS = 1000;

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
const logger = createLogger({
  level: config.logLevel,
  sensitiveKeys: loadGatewaySpec().sensitiveKeys,
  pretty: process.stdout.isTTY === true && !config.production,
  // While tracing is on, every line written inside a request names its trace and span (docs/tracing.md).
  ...(config.tracing.export && { mixin: traceLogFields }),
});

// A bare `node dist/src/main.js` runs the shell's Node, which may be older than the one required.
const runtimeProblem = nodeVersionProblem(process.versions.node);
if (runtimeProblem !== undefined) logger.warn({ node: process.version }, runtimeProblem);

/**
 * Exit once the log lines are written: pino writes asynchronously, and on exit it writes what is
 * buffered synchronously, ahead of a write still in flight (lines came out of order).
 */
function exit(code: number): void {
  logger.flush(() => process.exit(code));
  setTimeout(() => process.exit(code), 1000);
}

for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (reason: unknown) => {
    logger.fatal({ err: loggableError(reason) }, `${event}: exiting`);
    process.exit(1);
  });
}

// Signals are handled from the first moment: one that arrives during start-up stops the gateway
// as soon as it has started (before, a SIGTERM right after `gateway started` could kill it undrained).
const starting = startGateway(config, logger);
let stopRequestedAt: number | undefined;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopRequestedAt === undefined) {
      stopRequestedAt = Date.now();
      logger.info({ signal }, 'signal received');
      starting.then(
        (gateway) =>
          gateway.stop().then(
            () => exit(0),
            (err: unknown) => {
              logger.error({ err: loggableError(err) }, 'shutdown failed');
              exit(1);
            },
          ),
        () => {}, // start-up failed: reported below
      );
      return;
    }
    // The same signal twice at once is one signal delivered twice: a terminal's Ctrl-C reaches
    // the whole process group, and `npm start` relays it to us as well (systemd's SIGTERM to
    // the control group too). A later one is an operator who does not want to wait.
    if (Date.now() - stopRequestedAt < REPEAT_WINDOW_MS) return;
    logger.warn({ signal }, 'second signal during the drain: exiting now');
    // Explicit: as PID 1 in a container a signal's default action (terminate) does not apply.
    process.exit(128 + os.constants.signals[signal]);
  });
}

try {
  await starting;
} catch (err) {
  if (err instanceof ConfigError) refuseConfig(err);
  logger.fatal({ err: loggableError(err) }, 'start-up failed');
  process.exit(1);
}
