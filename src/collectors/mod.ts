/**
 * Default collectors: process and runtime metrics, read at scrape time.
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
export { ScalarCollector } from "./scalar.ts";
