/**
 * What every metric type shares: options, name and label validation, the
 * registry it belongs to, and the series index.
 *
 * @module
 */

import type { MetricFamily, MetricType } from "./family.ts";
import type { SharedSegment } from "./shared.ts";
import type { SlotStore } from "./store.ts";
import { validateLabelNames, validateMetricName } from "./labels.ts";
// Type-only: a runtime import would close the cycle metric → registry →
// counter → metric, and `class Counter extends Metric` would then run before
// `Metric` exists whenever this module (or gauge.ts, ...) is imported first.
// Each subclass hands in `defaultRegistry` instead.
import type { Registry } from "./registry.ts";
import { DEFAULT_MAX_SERIES } from "./series.ts";

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
   * counts the folded calls. Nothing throws, and memory stays bounded.
   */
  maxSeries?: number;
}

/** Anything a registry can collect at scrape time. */
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

/**
 * Base class of {@linkcode Counter}, {@linkcode Gauge}, {@linkcode Histogram}
 * and {@linkcode Summary}. Not meant to be extended outside this library.
 */
export abstract class Metric<L extends string = string> implements Collector {
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

  /**
   * Validates the common options. `reserved` lists label names the type keeps
   * for itself (`le`, `quantile`); `defaultRegistry` is the registry used when
   * `options.registry` is absent.
   */
  protected constructor(
    options: MetricOptions<L>,
    type: MetricType,
    reserved: readonly string[],
    defaultRegistry: Registry,
  ) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`A ${type} needs an options object with at least name and help`);
    }
    const name = validateMetricName(options.name);
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
    this.registry = options.registry === undefined ? defaultRegistry : options.registry;
  }

  /**
   * A string that is equal for two metrics exactly when one can stand for the
   * other (same type, help, labels and type-specific layout). Registering a
   * second metric with a taken name is allowed only when these match.
   */
  get signature(): string {
    return `${this.type}\u0000${this.help}\u0000${this.unit}\u0000${this.labelNames.join(",")}`;
  }

  /** Collects the current state for exposition. */
  abstract collect(): MetricFamily | Promise<MetricFamily>;

  /**
   * The storage behind this metric (internal).
   * @ignore
   */
  protected abstract slotStore(): SlotStore;

  /**
   * @internal Moves this metric's storage into shared memory (once) and
   * describes it for other workers (see the cluster module).
   */
  share(worker: string): SharedSegment {
    return this.slotStore().share(worker, this.name, this.signature);
  }

  /** @internal Adds another worker's copy of this metric to what `collect` reports. */
  attach(segment: SharedSegment): void {
    this.slotStore().attach(segment);
  }

  /**
   * Returns the compatible metric already registered under this name, if any;
   * throws a `TypeError` if the name is taken by an incompatible one.
   */
  protected existing(): this | undefined {
    const found = this.registry?.get(this.name);
    if (found === undefined) return undefined;
    if (!(found instanceof Metric) || found.constructor !== this.constructor) {
      throw new TypeError(
        `Metric "${this.name}" is already registered as a different kind of metric`,
      );
    }
    if (found.signature !== this.signature) {
      throw new TypeError(
        `Metric "${this.name}" is already registered with different help, labels or layout`,
      );
    }
    return found as this;
  }

  /** Counts a call folded into the overflow series in the registry's overflow counter. */
  protected countOverflow(): void {
    this.registry?.countOverflow(this.name);
  }
}
