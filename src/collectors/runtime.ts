/**
 * Runtime metrics, named for the runtime as prom-client names its own
 * `nodejs_*`: `deno_*` under Deno, `bun_*` under Bun, `nodejs_*` under Node.
 *
 * @module
 */

import process from "node:process";
import { unrefTimer } from "../core/clock.ts";
import type { Registry } from "../core/registry.ts";
import { ScalarCollector } from "./scalar.ts";

/** The runtime this code runs on, as used in metric names. */
export type RuntimeName = "deno" | "bun" | "nodejs";

/** Detects the runtime: `deno`, `bun` or `nodejs`. */
export function runtimeName(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return "nodejs";
}

function versionLabels(runtime: RuntimeName): Record<string, string> {
  if (runtime === "deno") {
    const v = (globalThis as { Deno: { version: Record<string, string> } }).Deno.version;
    return { version: v.deno, v8: v.v8, typescript: v.typescript };
  }
  if (runtime === "bun") {
    return { version: (globalThis as unknown as { Bun: { version: string } }).Bun.version };
  }
  return { version: process.version };
}

/** A handle on the runtime metrics' background sampler. */
export interface RuntimeMetrics {
  /** Stops the event-loop lag sampler (it never keeps the process alive anyway). */
  stop(): void;
}

/**
 * Registers heap, external memory, event-loop lag and version metrics in
 * `registry`.
 *
 * Event-loop lag is sampled every 500 ms by an unref'd timer: the delay
 * between when the timer was due and when it ran. The metric reports the
 * latest sample.
 *
 * @example
 * ```ts
 * import { Registry, registerRuntimeMetrics } from "@securetrack/metrics";
 * const registry = new Registry();
 * const runtime = registerRuntimeMetrics(registry);
 * runtime.stop();
 * ```
 */
export function registerRuntimeMetrics(registry: Registry, intervalMs = 500): RuntimeMetrics {
  const rt = runtimeName();
  const memory = () => process.memoryUsage();
  registry.register(
    new ScalarCollector(
      `${rt}_heap_size_total_bytes`,
      "Process heap size from the JavaScript engine in bytes.",
      "gauge",
      () => memory().heapTotal,
    ),
  );
  registry.register(
    new ScalarCollector(
      `${rt}_heap_size_used_bytes`,
      "Process heap size used from the JavaScript engine in bytes.",
      "gauge",
      () => memory().heapUsed,
    ),
  );
  registry.register(
    new ScalarCollector(
      `${rt}_external_memory_bytes`,
      "Memory held by the engine outside its heap (array buffers, native objects) in bytes.",
      "gauge",
      () => memory().external,
    ),
  );
  let lag = 0;
  let due = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(0, now - due) / 1000;
    due = now + intervalMs;
  }, intervalMs);
  unrefTimer(timer);
  registry.register(
    new ScalarCollector(
      `${rt}_eventloop_lag_seconds`,
      "Lag of the event loop in seconds: how late the latest sampling timer ran.",
      "gauge",
      () => lag,
    ),
  );
  registry.register(
    new ScalarCollector(
      `${rt}_version_info`,
      `${rt === "nodejs" ? "Node.js" : rt === "deno" ? "Deno" : "Bun"} version info.`,
      "gauge",
      () => 1,
      versionLabels(rt),
    ),
  );
  return { stop: () => clearInterval(timer) };
}
