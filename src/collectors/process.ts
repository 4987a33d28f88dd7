/**
 * Process metrics with the names client_golang and client_python use
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`, …), so the
 * standard dashboards work.
 *
 * CPU time and resident memory come from the runtime (`node:process`, no
 * permission needed). Virtual memory, file descriptors and the exact start
 * time come from Linux `/proc/self`, which Deno 2.9 lets a program read only
 * with `--allow-all`: where `/proc` cannot be read (permission, another OS),
 * those metrics are left out and a one-time notice says so. The start time
 * then falls back to `performance.timeOrigin`.
 *
 * @module
 */

import process from "node:process";
import { readdirSync, readFileSync } from "node:fs";
import type { Registry } from "../core/registry.ts";
import { ScalarCollector } from "./_scalar.ts";

/** Linux reports times in /proc/self/stat in clock ticks of 1/100 s (USER_HZ). */
const USER_HZ = 100;

/** Reads a /proc file, or returns undefined without prompting for a permission. */
export function readProc(path: string): string | undefined {
  const deno = (globalThis as {
    Deno?: { permissions?: { querySync?(d: { name: "read"; path: string }): { state: string } } };
  }).Deno;
  try {
    // Ask first: an ungranted read would make Deno prompt on a terminal.
    const permissions = deno?.permissions;
    if (
      permissions?.querySync && permissions.querySync({ name: "read", path }).state !== "granted"
    ) {
      return undefined;
    }
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Fields of /proc/self/stat after the command name (which may contain spaces). */
function statFields(): string[] | undefined {
  const stat = readProc("/proc/self/stat");
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

export function startTimeFromProc(): number | undefined {
  const fields = statFields();
  const btime = readProc("/proc/stat")?.match(/^btime (\d+)$/m)?.[1];
  if (fields === undefined || btime === undefined) return undefined;
  // starttime is field 22 of the whole line, index 19 after the command name.
  return Number(btime) + Number(fields[19]) / USER_HZ;
}

export function openFds(): number | undefined {
  try {
    if (readProc("/proc/self/limits") === undefined) return undefined;
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

export function maxFds(): number | undefined {
  const line = readProc("/proc/self/limits")?.split("\n").find((l) =>
    l.startsWith("Max open files")
  );
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  return soft === "unlimited" ? Infinity : Number(soft);
}

export function virtualMemory(): number | undefined {
  const vsize = statFields()?.[20]; // field 23 of the line
  return vsize === undefined ? undefined : Number(vsize);
}

/**
 * Registers the process metrics that can be read here in `registry`; returns
 * the names left out (also reported once, with the reason, through the
 * registry's `log`).
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { registerProcessMetrics } from "@securetrack/metrics/collectors";
 * const registry = new Registry();
 * registerProcessMetrics(registry);
 * ```
 */
export function registerProcessMetrics(registry: Registry): string[] {
  registry.register(
    new ScalarCollector(
      "process_cpu_seconds_total",
      "Total user and system CPU time spent in seconds.",
      "counter",
      () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1e6;
      },
    ),
  );
  registry.register(
    new ScalarCollector(
      "process_resident_memory_bytes",
      "Resident memory size in bytes.",
      "gauge",
      () => process.memoryUsage().rss,
    ),
  );
  const start = startTimeFromProc() ?? performance.timeOrigin / 1000;
  registry.register(
    new ScalarCollector(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      "gauge",
      () => start,
    ),
  );
  const optional: [string, string, () => number | undefined][] = [
    ["process_virtual_memory_bytes", "Virtual memory size in bytes.", virtualMemory],
    ["process_open_fds", "Number of open file descriptors.", openFds],
    ["process_max_fds", "Maximum number of open file descriptors.", maxFds],
  ];
  const missing: string[] = [];
  for (const [name, help, read] of optional) {
    if (read() === undefined) {
      missing.push(name);
      continue;
    }
    registry.register(new ScalarCollector(name, help, "gauge", () => read() ?? NaN));
  }
  if (missing.length > 0) {
    registry.logOnce(
      "process\u0000proc",
      `${missing.join(", ")} left out: /proc/self cannot be read here ` +
        `(Deno needs --allow-all for /proc; other systems have no /proc)`,
    );
  }
  return missing;
}
