/**
 * Runs the real `promtool check metrics` (Prometheus' own parser and linter)
 * on an exposition, for tests. `node:child_process` works under Deno and Bun.
 *
 * @module
 */

import { spawnSync } from "node:child_process";

/** What `promtool` printed and how it exited. */
export interface PromtoolResult {
  /** Exit status (`null` if it was killed by a signal or could not start). */
  status: number | null;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

function probe(): boolean {
  try {
    const r = spawnSync("promtool", ["--version"], { encoding: "utf8", timeout: 30_000 });
    return r.error === undefined && r.status === 0;
  } catch {
    return false;
  }
}

/** Whether a `promtool` binary is on PATH and runs. */
export const hasPromtool: boolean = probe();

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
