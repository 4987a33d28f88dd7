/**
 * How the exporter application reports: every message it prints goes
 * through one {@linkcode Log}, a function of one line of text. The default
 * writes the line to stderr; tests and embedders pass their own.
 *
 * @module
 */

import type { Log } from "../src/mod.ts";

/** Where the application's messages go, one line each: the library's own `Log` type. */
export type { Log };

/** The default {@linkcode Log}: one line to stderr. */
export const stderrLog: Log = (message) => console.error(message);

/** A {@linkcode Log} that drops everything (e.g. start-up notices of all threads but the first). */
export const silentLog: Log = () => {};

/** The class name of a thrown value (`TypeError`, `DemoFeatureError`), else its `typeof`. */
export function errorType(error: unknown): string {
  return error instanceof Error ? error.constructor.name || error.name : typeof error;
}

/**
 * A reporter that passes each key's message to `log` the first time only:
 * for failures that can repeat on every request, which must not flood the
 * log (they are counted in metrics anyway). Keys are bounded by the caller
 * (route templates, error class names).
 *
 * @example
 * ```ts
 * import { onceEach } from "./log.ts";
 * const lines: string[] = [];
 * const report = onceEach((m) => lines.push(m));
 * report("/a TypeError", "/a failed with TypeError");
 * report("/a TypeError", "/a failed with TypeError");
 * console.log(lines.length); // 1
 * ```
 */
export function onceEach(log: Log): (key: string, message: string) => void {
  const seen = new Set<string>();
  return (key, message) => {
    if (seen.has(key)) return;
    seen.add(key);
    log(message);
  };
}
