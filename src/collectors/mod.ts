/**
 * Default collectors: process metrics (`process_*`, the names every
 * Prometheus client uses) and runtime metrics (heap, event loop lag, runtime
 * version), read at scrape time.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { registerProcessMetrics, registerRuntimeMetrics } from "@securetrack/metrics/collectors";
 *
 * const registry = new Registry();
 * registerProcessMetrics(registry);
 * registerRuntimeMetrics(registry);
 * console.log(await registry.metrics());
 * ```
 *
 * @module
 */

export { registerProcessMetrics } from "./process.ts";
export {
  registerRuntimeMetrics,
  type RuntimeMetrics,
  type RuntimeName,
  runtimeName,
} from "./runtime.ts";
