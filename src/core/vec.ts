/**
 * The vector base every metric type is built on, like client_golang's
 * `MetricVec`: options and name validation, register-or-reuse, the series
 * index behind `labels`, `remove`, `reset` and `get`, and the choice between
 * collecting this worker's series and merging every worker's. Each metric
 * type adds only its hot path (`inc`, `observe`) and its output layout (an
 * `Accumulator`).
 *
 * @module
 */

import type { MetricFamily, MetricType } from "../model/family.ts";
import { type Collector, internalsOf, setInternals, signatureOf } from "./collector.ts";
import { type LabelValues, validateLabelNames, validateMetricName } from "./labels.ts";
import { type Accumulator, collectSeries, seriesOf } from "./merge.ts";
import { defaultRegistry, type Registry } from "./registry.ts";
import { checkOptionKeys } from "./options.ts";
import { DEFAULT_MAX_SERIES, OVERFLOW_VALUE } from "./series.ts";
import type { SlotStore } from "./store.ts";

/**
 * The error for an observation that is not a number (`TypeError`) or is
 * `NaN` (`RangeError`), naming the metric.
 */
export function invalidObservation(
  kind: "Histogram" | "Summary",
  metric: string,
  value: unknown,
): RangeError | TypeError {
  return typeof value === "number"
    ? new RangeError(`${kind} "${metric}": cannot observe NaN`)
    : new TypeError(`${kind} "${metric}": value must be a number, got ${typeof value}`);
}

/** The keys of {@linkcode MetricOptions}. */
const COMMON_OPTIONS: readonly string[] = [
  "name",
  "help",
  "labelNames",
  "registry",
  "unit",
  "maxSeries",
];

/** Options every metric type accepts. */
export interface MetricOptions<L extends string = string> {
  /** Metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters conventionally end in `_total`. */
  name: string;
  /** HELP text: what the metric measures. Required, non-empty. */
  help: string;
  /** Label names, in the order they are exposed. Empty or absent: one unlabelled series. */
  labelNames?: readonly L[];
  /**
   * Registry to register with. Absent: {@linkcode defaultRegistry}. `null`:
   * none (register it yourself with `registry.register(metric)`).
   */
  registry?: Registry | null;
  /**
   * Unit, exposed as OpenMetrics `# UNIT`. Must be a suffix of the name (for a
   * counter, of the name without `_total`). Absent: no unit line.
   */
  unit?: string;
  /**
   * Most distinct label sets this metric holds (default 10,000). Past it, new
   * label sets fold into one overflow series whose label values are all
   * `"__overflow__"`, and the registry's `metrics_series_overflow_total`
   * counts the folded calls. Nothing throws, and memory stays bounded. A
   * held child whose series was removed, written while the metric is at its
   * cap, is folded and counted on each such write, and re-creates its own
   * series on the first write after a removal makes room. In a
   * cluster each worker holds at most this many, and a merged scrape shows at
   * most this many too: label sets past the first `maxSeries` (workers in id
   * order, each one's series in creation order) fold into the overflow
   * series (per-worker gauges excepted: each worker's are its own).
   */
  maxSeries?: number;
}

/**
 * Base class of {@linkcode Counter}, {@linkcode Gauge}, {@linkcode Histogram}
 * and {@linkcode Summary}: everything they share about series. Not meant to be
 * extended outside this library.
 *
 * A metric with labels is a vector of series, one per label set; `labels()`
 * returns the cached child of one series (hold it on hot paths), `remove()`
 * and `reset()` drop series. Creating a metric whose name is taken in its
 * registry returns an object sharing the registered one's series when type,
 * help, unit, labels and layout match, and throws a `TypeError` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Counter, MetricVec, Registry } from "@securetrack/metrics";
 * const registry = new Registry();
 * const jobs = new Counter({ name: "jobs_total", help: "Jobs", labelNames: ["queue"], registry });
 * jobs.inc({ queue: "mail" });
 * const metric: MetricVec<"queue", unknown> = jobs;
 * metric.remove({ queue: "mail" });
 * assert.equal(metric.name, "jobs_total");
 * assert.equal((await registry.collect())[0].size, 0);
 * ```
 */
export abstract class MetricVec<L extends string, C> implements Collector {
  /** Metric name. */
  readonly name: string;
  /** HELP text. */
  readonly help: string;
  /** Unit, or `""`. */
  readonly unit: string;
  /** Label names, in order. */
  readonly labelNames: readonly L[];
  /** Metric type. */
  readonly type: MetricType;
  /** Series cap (see {@linkcode MetricOptions.maxSeries}). */
  readonly maxSeries: number;
  /** The registry this metric was registered with at construction, or `null`. */
  readonly registry: Registry | null;
  #store!: SlotStore;

  /**
   * Validates the common options. `reserved` lists label names the type keeps
   * for itself (`le`, `quantile`), `typeOptions` the option keys it takes
   * beyond {@linkcode MetricOptions}'s. The subclass then calls `bindStore`.
   * @ignore
   */
  protected constructor(
    options: MetricOptions<L>,
    type: MetricType,
    reserved: readonly string[],
    typeOptions: readonly string[],
  ) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`A ${type} needs an options object with at least name and help`);
    }
    const name = validateMetricName(options.name);
    checkOptionKeys(
      `${type[0].toUpperCase()}${type.slice(1)} "${name}"`,
      options,
      [...COMMON_OPTIONS, ...typeOptions],
    );
    if (typeof options.help !== "string" || options.help === "") {
      throw new TypeError(`Metric "${name}": help must be a non-empty string`);
    }
    this.name = name;
    this.help = options.help;
    this.type = type;
    this.labelNames = validateLabelNames(name, options.labelNames, reserved) as readonly L[];
    const unit = options.unit ?? "";
    if (unit !== "") {
      const base = type === "counter" && name.endsWith("_total") ? name.slice(0, -6) : name;
      if (!/^[a-zA-Z0-9_:]+$/.test(unit) || !base.endsWith("_" + unit)) {
        throw new TypeError(
          `Metric "${name}": unit "${unit}" must be a suffix of the name (as "_${unit}")`,
        );
      }
    }
    this.unit = unit;
    const max = options.maxSeries ?? DEFAULT_MAX_SERIES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`Metric "${name}": maxSeries must be a positive integer, got ${max}`);
    }
    this.maxSeries = max;
    if (
      options.registry !== undefined && options.registry !== null &&
      typeof (options.registry as Partial<Registry>).register !== "function"
    ) {
      throw new TypeError(`Metric "${name}": registry must be a Registry or null`);
    }
    this.registry = options.registry === undefined ? defaultRegistry : options.registry;
  }

  /**
   * Binds this metric to its storage: that of the compatible metric already
   * registered under its name, or a new one from `create`, which is then
   * registered. `layout` is the type-specific part of the signature (buckets,
   * quantiles, aggregation). Throws a `TypeError` when the name is taken by
   * an incompatible metric.
   * @ignore
   */
  protected bindStore<S extends SlotStore>(layout: string, create: () => S): S {
    const signature = signatureOf(this.type, this.help, this.unit, this.labelNames, layout);
    const found = this.registry?.get(this.name);
    let store: SlotStore;
    if (found === undefined) {
      store = create();
    } else {
      const theirs = internalsOf(found);
      if (
        !(found instanceof MetricVec) || found.constructor !== this.constructor ||
        theirs === undefined
      ) {
        throw new TypeError(
          `Metric "${this.name}" is already registered as a different kind of metric`,
        );
      }
      if (theirs.signature !== signature) {
        throw new TypeError(
          `Metric "${this.name}" is already registered with different help, labels or layout`,
        );
      }
      store = theirs.store;
    }
    this.#store = store;
    setInternals(this, { store, signature });
    if (found === undefined) this.registry?.register(this);
    return store as S;
  }

  /**
   * Returns the cached child for `labels`, creating the series if needed.
   * At the series cap, every label set folded into the overflow series gets
   * that series' one child, which carries the overflow series' own labels
   * (`__overflow__`), not those of the first caller: were the series removed,
   * writes through it re-create `__overflow__`, never a caller's series.
   */
  labels(labels: LabelValues<L>): C {
    const s = this.#store;
    const id = s.index.lookup(labels);
    let child = s.children[id] as C | undefined;
    if (child === undefined) {
      const own = id === s.index.overflowId
        ? Object.fromEntries(this.labelNames.map((name) => [name, OVERFLOW_VALUE]))
        : { ...labels };
      child = this.createChild(id, own);
      s.children[id] = child as never;
    }
    return child;
  }

  /**
   * A new child bound to series `id`, whose labels are `labels`.
   * @ignore
   */
  protected abstract createChild(id: number, labels: Readonly<Record<string, string | number>>): C;

  /** Removes the series for `labels`; returns whether it existed. */
  remove(labels: LabelValues<L>): boolean {
    return this.#store.index.remove(labels);
  }

  /** Removes every labelled series (an unlabelled metric goes back to zero, or empty). */
  reset(): void {
    this.#store.index.clear();
  }

  /** Collects the current state for exposition. */
  collect(): MetricFamily | Promise<MetricFamily> {
    return this.snapshot();
  }

  /**
   * The series id for `labels` (or of the unlabelled series), creating the
   * series if needed: for the labelled forms of `inc`, `set`, `observe`.
   * @ignore
   */
  protected seriesId(labels: LabelValues<L> | number | undefined): number {
    if (typeof labels === "object" && labels !== null) return this.#store.index.lookup(labels);
    if (this.labelNames.length !== 0) this.#store.index.lookup({}); // throws: labels missing
    return 0;
  }

  /**
   * For `get()`: the series reported for `labels`. In a single process, `id`
   * is this worker's series id (-1 when absent); with other workers attached,
   * `family` is the merged family and `id` the series' position in it.
   * Validates the labels.
   * @ignore
   */
  protected findSeries(labels?: LabelValues<L>): { family?: MetricFamily; id: number } {
    const id = this.#store.index.find(labels ?? {});
    if (this.#store.remotes.size === 0 || this.perWorker) return { id };
    const family = this.snapshot();
    return { family, id: seriesOf(family, this.labelNames, labels ?? {}) };
  }

  /**
   * Whether other workers' series are reported one per worker (a `worker`
   * label) rather than merged by label set.
   * @ignore
   */
  protected get perWorker(): boolean {
    return false;
  }

  /**
   * The type-specific half of a collection, fresh for each one.
   * @ignore
   */
  protected abstract accumulator(): Accumulator;

  /**
   * The current state: this worker's series, or every worker's merged.
   * @ignore
   */
  protected snapshot(): MetricFamily {
    const store = this.#store;
    const acc = this.accumulator();
    const perWorker = this.perWorker;
    const { labelValues, size, merged } = collectSeries(store, acc, perWorker);
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      unit: this.unit,
      labelNames: merged && perWorker ? [...this.labelNames, "worker"] : this.labelNames,
      labelValues,
      size,
      ...acc.finish(),
    };
  }
}

/**
 * Whether `child`, returned by `metric.labels()`, writes to the metric's
 * overflow series (the metric had reached its series cap): each call through
 * such a child is not counted as folded, so a caller caching children should
 * not keep it.
 */
export function isOverflowChild(metric: MetricVec<string, unknown>, child: { i: number }): boolean {
  const index = internalsOf(metric)?.store.index;
  return index !== undefined && child.i >= 0 && child.i === index.overflowId;
}
