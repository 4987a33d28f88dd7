/**
 * `ConfigError` and `readSettingsFile`, in a module of their own: the
 * settings modules that `config.ts` imports (`gateway/settings.ts`) use them
 * too, and importing them from `config.ts` would make a cycle that fails when
 * one of them is loaded first (its doc tests, a thread).
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

/**
 * The commands that run the exporter, as a "not permitted" message names
 * them: this module cannot tell which one is running, and both grant
 * `--allow-read=/run/secrets` only (an added `--allow-read=PATH` flag
 * extends either; Deno adds repeated flags up).
 */
const LAUNCHERS = "deno task start and deno serve app/worker.ts";

/**
 * Reads a settings file (a token or key file) with `read`, turning a failure
 * into a one-line `ConfigError` that names `what` and the path, never the
 * contents; a missing permission names the `--allow-read` to add.
 *
 * @example
 * ```ts
 * import { readSettingsFile } from "./config_error.ts";
 * const text = readSettingsFile("/run/secrets/token", "the metrics token file", () => "s3cret\n");
 * console.log(text.trim() === "s3cret"); // true
 * ```
 */
export function readSettingsFile(
  path: string,
  what: string,
  read: (path: string) => string,
): string {
  try {
    return read(path);
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "NotCapable" || name === "PermissionDenied") {
      throw new ConfigError(
        `cannot read ${what} ${path}: not permitted; ${LAUNCHERS} read only under ` +
          `/run/secrets, else run with --allow-read=${path}`,
      );
    }
    // Deno names the failure (NotFound), Node and Bun give a code (ENOENT).
    const code = (error as { code?: unknown })?.code;
    throw new ConfigError(
      `cannot read ${what} ${path}: ${name === "Error" && typeof code === "string" ? code : name}`,
    );
  }
}
