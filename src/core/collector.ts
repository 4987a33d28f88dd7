/**
 * What a registry collects, and the internals of a metric that the registry
 * and the cluster module need but its public API does not show.
 *
 * @module
 */

import type { MetricFamily, MetricType } from "../model/family.ts";
import type { SharedSegment } from "./shared.ts";
import type { SlotStore } from "./store.ts";

/**
 * Anything a registry can collect at scrape time: the library's metrics, or
 * your own object that builds a {@linkcode MetricFamily} when asked.
 *
 * @example
 * ```ts
 * import { type Collector, Registry } from "@securetrack/metrics";
 *
 * const queue: string[] = ["a", "b"];
 * const depth: Collector = {
 *   name: "queue_depth",
 *   type: "gauge",
 *   collect: () => ({
 *     name: "queue_depth",
 *     help: "Jobs waiting",
 *     type: "gauge",
 *     unit: "",
 *     labelNames: [],
 *     labelValues: [],
 *     size: 1,
 *     values: [queue.length],
 *   }),
 * };
 * const registry = new Registry();
 * registry.register(depth);
 * console.log(await registry.metrics());
 * ```
 */
export interface Collector {
  /** Family name; unique within a registry. */
  readonly name: string;
  /**
   * Metric type, when known: lets the registry refuse a collector whose
   * sample names (`_total`, `_bucket`, `_sum`, …) would collide with another's.
   */
  readonly type?: MetricType;
  /** Returns the current state, or a promise of it (evaluated at each scrape). */
  collect(): MetricFamily | Promise<MetricFamily>;
}

/** A metric's storage and identity, for the registry and the cluster module. */
export interface MetricInternals {
  /** The storage every metric object registered under this name shares. */
  readonly store: SlotStore;
  /**
   * Equal for two metrics exactly when one can stand for the other (same
   * type, help, unit, labels and type-specific layout).
   */
  readonly signature: string;
}

const internals = new WeakMap<Collector, MetricInternals>();

/** Records `collector`'s internals (done once, by the metric itself). */
export function setInternals(collector: Collector, value: MetricInternals): void {
  internals.set(collector, value);
}

/** The internals of a metric of this library, or `undefined` for any other collector. */
export function internalsOf(collector: Collector): MetricInternals | undefined {
  return internals.get(collector);
}

/**
 * The signature of a metric (see {@linkcode MetricInternals.signature}):
 * `layout` is its type-specific part (buckets, quantiles, aggregation).
 */
export function signatureOf(
  type: MetricType,
  help: string,
  unit: string,
  labelNames: readonly string[],
  layout = "",
): string {
  return `${type}\u0000${help}\u0000${unit}\u0000${labelNames.join(",")}\u0000${layout}`;
}

/**
 * Moves `collector`'s storage into shared memory (once) and describes it for
 * other workers; `undefined` for a collector that is not a metric of this
 * library (its values cannot be shared).
 */
export function shareCollector(collector: Collector, worker: string): SharedSegment | undefined {
  const i = internals.get(collector);
  return i?.store.share(worker, collector.name, i.signature);
}

/**
 * Adds another worker's copy of a metric to what `collector` reports.
 * Returns false, attaching nothing, when `collector` is not a metric of this
 * library or the copy's metric is defined differently (another signature).
 */
export function attachSegment(collector: Collector, segment: SharedSegment): boolean {
  const i = internals.get(collector);
  if (i === undefined || i.signature !== segment.signature) return false;
  i.store.attach(segment);
  return true;
}
