/** A variable the gateway cannot start with: the message names it, never its value (config.ts scrubs secrets). */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly detail: string,
  ) {
    super(`${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}
