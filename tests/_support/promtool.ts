/**
 * Runs the real `promtool check metrics` (Prometheus' own parser and linter)
 * on an exposition, for tests. `node:child_process` works under Deno and Bun.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { probeTool, skipWithout } from "./tools.ts";

/** What `promtool` printed and how it exited. */
export interface PromtoolResult {
  /** Exit status (`null` if it was killed by a signal or could not start). */
  status: number | null;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Why `promtool` cannot run here, or `""` when it can. */
export const promtoolMissing: string = probeTool("promtool", ["--version"]);

/** Whether a `promtool` binary is on PATH and runs. */
export const hasPromtool: boolean = promtoolMissing === "";

/** The `skip` option of a test that needs promtool (never skipped under CI; see tools.ts). */
export const promtoolSkip: string | false = skipWithout(promtoolMissing);

/** Pipes `exposition` into `promtool check metrics` and returns what it said. */
export function checkMetrics(exposition: string): PromtoolResult {
  const r = spawnSync("promtool", ["check", "metrics"], {
    input: exposition,
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}
