/**
 * External judges (promtool, prometheus, Python's prometheus_client) and how
 * a missing one is handled: outside CI a test that needs it is skipped, with
 * the reason the probe found; under `CI=true` it is not skipped, so it runs
 * and fails, naming what is missing. A green CI run therefore means every
 * judge actually ran.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import process from "node:process";

/** Whether this run is CI's (`CI=true`, as `.ci/run` is started). */
export const IN_CI: boolean = process.env.CI === "true";

/**
 * Runs `command args` once and returns `""` when it exits 0, else why not:
 * the spawn error's code (`ENOENT`: not on PATH) or the exit status and the
 * last line it printed.
 */
export function probeTool(command: string, args: readonly string[]): string {
  try {
    const r = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
    if (r.error !== undefined) {
      const code = (r.error as Error & { code?: string }).code;
      return `${command}: ${code ?? r.error.message}${code === "ENOENT" ? " (not on PATH)" : ""}`;
    }
    if (r.status !== 0) {
      const last = `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n").pop() ?? "";
      return `${command} ${args.join(" ")}: exit ${r.status ?? r.signal}${last ? `: ${last}` : ""}`;
    }
    return "";
  } catch (error) {
    return `${command}: ${(error as Error).message}`;
  }
}

/**
 * The `skip` option for a test that needs a tool: `false` when the tool is
 * there, or under CI (the test then fails on the missing tool); otherwise the
 * probe's reason.
 */
export function skipWithout(missing: string): string | false {
  if (missing === "" || IN_CI) return false;
  return missing;
}
