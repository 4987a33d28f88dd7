/**
 * `ConfigError`, in a module of its own: the settings modules that
 * `config.ts` imports (`gateway/settings.ts`) throw it too, and importing
 * it from `config.ts` would make a cycle that fails when one of them is
 * loaded first (its doc tests, a thread).
 *
 * @module
 */

/** A configuration problem; its message is one line, fit to print before exiting with code 2. */
export class ConfigError extends Error {
  /** @param message what was wrong, naming the variable or flag */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
