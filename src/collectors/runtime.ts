/**
 * Runtime metrics, named for the runtime as prom-client names its own
 * `nodejs_*`: `deno_*` under Deno, `bun_*` under Bun, `nodejs_*` under Node.
 *
 * @module
 */

import process from "node:process";
import { unrefTimer } from "../core/clock.ts";
import type { Registry } from "../core/registry.ts";
import { Gauge } from "../core/gauge.ts";

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
 * import { Registry } from "@securetrack/metrics";
 * import { registerRuntimeMetrics } from "@securetrack/metrics/collectors";
 * const registry = new Registry();
 * const runtime = registerRuntimeMetrics(registry);
 * runtime.stop();
 * ```
 */
export function registerRuntimeMetrics(registry: Registry, intervalMs = 500): RuntimeMetrics {
  const rt = runtimeName();
  // Gauges in "worker" mode: under `deno serve --parallel` each worker (an
  // isolate with its own heap and event loop) is its own series, with a
  // `worker` label; in one process they are plain gauges. Every worker
  // refreshes its values on each sample, so the scraping worker reports
  // everyone's, at most one interval old (its own are read at the scrape).
  const gauge = (name: string, help: string, collect?: () => void) =>
    new Gauge({ name: `${rt}_${name}`, help, registry, aggregate: "worker", collect });
  // The first gauge collected refreshes all of them: the scraping worker's
  // own values are read at the scrape itself.
  const heapTotal = gauge(
    "heap_size_total_bytes",
    "Process heap size from the JavaScript engine in bytes.",
    () => sample(),
  );
  const heapUsed = gauge(
    "heap_size_used_bytes",
    "Process heap size used from the JavaScript engine in bytes.",
  );
  const external = gauge(
    "external_memory_bytes",
    "Memory held by the engine outside its heap (array buffers, native objects) in bytes.",
  );
  const lagGauge = gauge(
    "eventloop_lag_seconds",
    "Lag of the event loop in seconds: how late the latest sampling timer ran.",
  );
  const labels = versionLabels(rt);
  new Gauge({
    name: `${rt}_version_info`,
    help: `${rt === "nodejs" ? "Node.js" : rt === "deno" ? "Deno" : "Bun"} version info.`,
    labelNames: Object.keys(labels),
    registry,
    aggregate: "worker",
  }).set(labels, 1);

  let lag = 0;
  const sample = () => {
    const m = process.memoryUsage();
    heapTotal.set(m.heapTotal);
    heapUsed.set(m.heapUsed);
    external.set(m.external);
    lagGauge.set(lag);
  };
  sample();
  let due = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(0, now - due) / 1000;
    due = now + intervalMs;
    sample();
  }, intervalMs);
  unrefTimer(timer);
  return { stop: () => clearInterval(timer) };
}
