/**
 * What the drop-in's four metric types share: prom-client's options and
 * errors, positional and partial labels, registration in several
 * registries, timers, and `get()` in prom-client's JSON shape, all on one of
 * our core metrics.
 *
 * @module
 */

import type { MetricFamily, MetricType } from "../model/family.ts";
import { type Collector, internalsOf, setInternals } from "../core/collector.ts";
import { checkOptionKeys } from "../core/options.ts";
import { isOverflowChild, type MetricVec } from "../core/vec.ts";
import { validateLabel, validateLabelName, validateMetricName } from "./validation.ts";
import {
  type MetricObject,
  type MetricValue,
  type PromClientMetric,
  register,
  Registry,
  unescapeLabelValue,
} from "./registry.ts";

/** A label value, as prom-client takes it. */
export type LabelValue = string | number;

/** A label set: some or all of the declared label names, each mapped to its value. */
export type Labels<T extends string> = Partial<Record<T, LabelValue>>;

/**
 * What `inc` and `observe` take on a metric created with `enableExemplars`:
 * prom-client's `{ labels, value, exemplarLabels }`.
 */
export interface ExemplarCall<T extends string> {
  /** The series' labels (default: none). */
  labels?: Labels<T>;
  /** The increment (default 1) or the observation. */
  value?: number;
  /** The exemplar's labels, e.g. `{ trace_id }`; absent: no exemplar is recorded. */
  exemplarLabels?: Record<string, string>;
}

/** prom-client's `aggregator` option (accepted and reported by `get()`). */
export type Aggregator = "omit" | "sum" | "first" | "min" | "max" | "average";

/** Options every drop-in metric takes (prom-client's `MetricConfiguration`). */
export interface MetricConfiguration<T extends string> {
  /** Metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  /** HELP text. */
  help: string;
  /** Label names. Calls may give some of them; the others are exposed as `""`. */
  labelNames?: readonly T[];
  /** Registries to register with. Absent: the global `register`. `[]`: none. */
  registers?: Registry[];
  /** Reported by `get()`; prom-client's cluster module used it. */
  aggregator?: Aggregator;
  /** Called (with the metric as `this`) before each `get()` and scrape, to set values. */
  // deno-lint-ignore no-explicit-any
  collect?: (this: any) => void | Promise<void>;
  /**
   * Counters and histograms: `inc` and `observe` take prom-client's
   * `{ labels, value, exemplarLabels }` and record the exemplar (shown in
   * OpenMetrics). Only on OpenMetrics registries, as in prom-client.
   */
  enableExemplars?: boolean;
  /**
   * Most distinct label sets (default 10,000); past it new label sets fold
   * into one overflow series, counted in `metrics_series_overflow_total`.
   */
  maxSeries?: number;
}

/** The options keys every type takes. */
export const COMMON_KEYS: readonly string[] = [
  "name",
  "help",
  "labelNames",
  "registers",
  "aggregator",
  "collect",
  "enableExemplars",
  "maxSeries",
];

/** prom-client's `util.format` of a bad value in its error messages, near enough. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** prom-client's error for a value that is not a number. */
export function notANumber(value: unknown): TypeError {
  return new TypeError(`Value is not a valid number: ${formatValue(value)}`);
}

/** A core metric: what the drop-in builds on. */
export interface CoreMetric extends Collector {
  reset(): void;
  collect(): MetricFamily | Promise<MetricFamily>;
}

/** The parts of a timer prom-client's `startTimer` returns. */
export type EndTimer<T extends string> = (labels?: Labels<T>) => number;

/**
 * Base of the drop-in's `Counter`, `Gauge`, `Histogram` and `Summary`.
 * @ignore
 */
export abstract class Metric<T extends string = string> implements PromClientMetric {
  /** Metric name. */
  readonly name: string;
  /** HELP text. */
  readonly help: string;
  /** Label names, in order. */
  readonly labelNames: readonly T[];
  /** Metric type. */
  readonly type: MetricType;
  /** Reported by `get()`. */
  readonly aggregator: Aggregator;
  /** The registries this metric is registered with. */
  readonly registers: Registry[];
  /**
   * Whether the metric was created with `enableExemplars`: then a counter's
   * `inc` and a histogram's `observe` take prom-client's
   * `{ labels, value, exemplarLabels }`, and record the exemplar.
   */
  readonly enableExemplars: boolean;
  /** The core metric holding the series. @ignore */
  protected readonly core: CoreMetric;
  readonly #collect: ((this: unknown) => void | Promise<void>) | undefined;
  /**
   * The children `labels(...)` returned, by label value as given (positional
   * or from the label object, in label-name order): one `Map` level per
   * label. prom-client's idiom is `labels(...)` on every call; answering it
   * from here skips building a label object, a child and its closures, and
   * walking the core's index (the bench's `labels(a, b).inc()` and
   * `labels(a, b).set(v)` rows). Bounded: overflow children are not kept,
   * nor any child past `maxSeries` kept ones (values that name the same
   * series, as `1` and `"1"`, or strings differing only in lone surrogates,
   * are kept apart, so the count of series alone would not bound it); and
   * `remove` and `reset` empty it.
   */
  #children: Map<unknown, unknown> | undefined;
  /** The child of `labels()` on a metric without labels. */
  #only: unknown;
  /** Children kept in `#children`. */
  #kept = 0;
  /** Most children kept: the core's series cap. */
  readonly #maxKept: number;

  /** @ignore */
  protected constructor(
    config: MetricConfiguration<T>,
    type: MetricType,
    keys: readonly string[],
    reserved: string,
    create: (
      options: { name: string; help: string; labelNames: readonly T[]; maxSeries?: number },
    ) => CoreMetric,
  ) {
    if (config === null || typeof config !== "object") {
      throw new TypeError("constructor expected a config object");
    }
    if (!config.help) throw new Error("Missing mandatory help parameter");
    if (!config.name) throw new Error("Missing mandatory name parameter");
    if (typeof config.name !== "string" || !validateMetricName(config.name)) {
      throw new Error(`Invalid metric name: ${config.name}`);
    }
    const labelNames = config.labelNames ?? [];
    const invalid = validateLabelName(labelNames);
    if (invalid.length > 0) {
      throw new Error(`At least one label name is invalid: ${invalid.join(",")}`);
    }
    if (reserved !== "" && labelNames.includes(reserved as T)) {
      throw new Error(`${reserved} is a reserved label keyword`);
    }
    if (config.collect !== undefined && typeof config.collect !== "function") {
      throw new Error('Optional "collect" parameter must be a function');
    }
    checkOptionKeys(`${type[0].toUpperCase()}${type.slice(1)} "${config.name}"`, config, [
      ...COMMON_KEYS,
      ...keys,
    ]);
    this.name = config.name;
    this.help = String(config.help);
    this.labelNames = Object.freeze([...labelNames]);
    this.type = type;
    this.aggregator = config.aggregator ?? "sum";
    this.enableExemplars = config.enableExemplars === true;
    this.#collect = config.collect;
    this.registers = config.registers ?? [register];
    this.core = create({
      name: this.name,
      help: this.help,
      labelNames: this.labelNames,
      ...(config.maxSeries !== undefined && { maxSeries: config.maxSeries }),
    });
    this.#maxKept = (this.core as unknown as MetricVec<string, unknown>).maxSeries;
    setInternals(this as unknown as Collector, internalsOf(this.core)!);
    for (const r of this.registers) {
      if (this.enableExemplars && r.contentType === Registry.PROMETHEUS_CONTENT_TYPE) {
        throw new TypeError("Exemplars are supported only on OpenMetrics registries");
      }
      r.registerMetric(this);
    }
  }

  /**
   * `labels` with prom-client's checks: an undeclared label throws its
   * `Error`; declared labels left out are filled with `""` (the same series
   * as leaving them out, in Prometheus' data model).
   * @ignore
   */
  protected complete(labels: Labels<T>): Record<T, LabelValue> {
    const names = this.labelNames;
    validateLabel(names, labels);
    let given = 0;
    for (const key in labels) if (labels[key as T] !== undefined) given++;
    if (given === names.length) return labels as Record<T, LabelValue>;
    const out = {} as Record<T, LabelValue>;
    for (const n of names) out[n] = labels[n] ?? "";
    return out;
  }

  /**
   * Calls `record` with `labels` as given (the fast path: the core takes
   * complete label sets), or, when the core refuses them, with prom-client's
   * checks and the missing labels filled in (see `complete`).
   * @ignore
   */
  protected write(labels: Labels<T>, record: (labels: Record<string, LabelValue>) => void): void {
    try {
      record(labels as Record<string, LabelValue>);
    } catch {
      record(this.complete(labels));
    }
  }

  /**
   * The label set of `labels(...)` and `remove(...)`: an object as given, or
   * one value per declared label name, in order.
   * @ignore
   */
  protected labelArgs(args: readonly unknown[]): Labels<T> {
    const first = args[0];
    if (typeof first === "object") return (first ?? {}) as Labels<T>;
    const names = this.labelNames;
    if (names.length !== args.length) {
      throw new Error(
        `Invalid number of arguments (${args.length}): "${
          args.join(", ")
        }" for label names (${names.length}): "${names.join(", ")}".`,
      );
    }
    const out: Record<string, LabelValue> = {};
    for (let i = 0; i < names.length; i++) out[names[i]] = args[i] as LabelValue;
    return out as Labels<T>;
  }

  /**
   * A timer that hands the elapsed seconds and the start and end labels to
   * `record`.
   * @ignore
   */
  protected timer(
    start: Labels<T> | undefined,
    record: (labels: Labels<T> | undefined, seconds: number) => void,
  ): EndTimer<T> {
    const t0 = performance.now();
    return (end?: Labels<T>) => {
      const seconds = (performance.now() - t0) / 1000;
      record(start === undefined && end === undefined ? undefined : { ...start, ...end }, seconds);
      return seconds;
    };
  }

  /**
   * The child for `args` (as `labels(...)` got them: positional values or a
   * label object), from the cache, else made by `make` from the completed
   * label object and kept. `make` returns the child and the core child it
   * writes to (`{ i: -1 }` for one bound on first write); a child writing to
   * the overflow series is not kept.
   * @ignore
   */
  protected child<X extends object>(
    args: readonly unknown[],
    make: (labels: Record<T, LabelValue>) => [X, { i: number }],
  ): X {
    const names = this.labelNames;
    const n = names.length;
    const first = args[0];
    // The label object, or undefined for positional values.
    let given: Record<string, unknown> | undefined;
    if (typeof first === "object") {
      given = (first ?? {}) as Record<string, unknown>;
      // prom-client's check, on every call: a cached label set must still
      // refuse a label name that was not declared.
      validateLabel(names, given);
    } else if (args.length !== n) return make(this.complete(this.labelArgs(args)))[0]; // throws
    if (n === 0) {
      if (this.#only !== undefined) return this.#only as X;
      return (this.#only = make({} as Record<T, LabelValue>)[0]);
    }
    // Walk without creating: a miss that is not kept (an overflow child, or
    // the cache full) must leave no empty levels behind, or a flood of new
    // values would grow the cache without bound.
    let node = this.#children;
    for (let i = 0; i < n - 1 && node !== undefined; i++) {
      node = node.get(given === undefined ? args[i] : given[names[i]]) as
        | Map<unknown, unknown>
        | undefined;
    }
    const found = node?.get(given === undefined ? args[n - 1] : given[names[n - 1]]) as
      | X
      | undefined;
    if (found !== undefined) return found;
    const labels = this.labelArgs(args);
    let full = this.complete(labels);
    // The child keeps its labels (for timers): never the caller's own object,
    // which the caller may change afterwards.
    if (full === labels && given !== undefined) full = { ...full };
    const [child, core] = make(full);
    if (
      this.#kept < this.#maxKept &&
      !isOverflowChild(this.core as unknown as MetricVec<string, unknown>, core)
    ) {
      let level = this.#children ??= new Map();
      for (let i = 0; i < n - 1; i++) {
        const v = given === undefined ? args[i] : given[names[i]];
        let next = level.get(v) as Map<unknown, unknown> | undefined;
        if (next === undefined) level.set(v, next = new Map());
        level = next;
      }
      level.set(given === undefined ? args[n - 1] : given[names[n - 1]], child);
      this.#kept++;
    }
    return child;
  }

  /** Empties the cache of `labels(...)` children. */
  #forget(): void {
    this.#children = undefined;
    this.#only = undefined;
    this.#kept = 0;
  }

  /** Removes the series of `labels` (an object, or one value per label name). */
  remove(...labels: LabelValue[] | [Labels<T>]): void {
    const l = this.labelArgs(labels);
    this.#forget();
    if (this.labelNames.length === 0) return;
    (this.core as unknown as { remove(l: object): boolean }).remove(this.complete(l));
  }

  /** Removes every labelled series; an unlabelled metric goes back to zero. */
  reset(): void {
    this.#forget();
    this.core.reset();
  }

  /**
   * Runs the `collect` callback, if any, then collects the series.
   * @ignore
   */
  collect(): MetricFamily | Promise<MetricFamily> {
    if (this.#collect === undefined) return this.core.collect();
    const r = this.#collect.call(this);
    return r instanceof Promise ? r.then(() => this.core.collect()) : this.core.collect();
  }

  /** The metric's current state in prom-client's JSON shape. */
  async get(): Promise<MetricObject> {
    const family = await this.collect();
    return {
      help: this.help,
      name: this.name,
      type: this.type,
      values: this.samples(family),
      aggregator: this.aggregator,
    };
  }

  /**
   * The samples of `family` in prom-client's JSON shape.
   * @ignore
   */
  protected abstract samples(family: MetricFamily): MetricValue[];
}

/** prom-client's form of an exemplar in `get()`: `{ labelSet, value, timestamp }`, or `null`. */
export function exemplarAt(
  family: MetricFamily,
  at: number,
): { labelSet: Record<string, string>; value: number; timestamp: number } | null {
  const e = family.exemplars?.[at];
  return e === undefined
    ? null
    : { labelSet: { ...e.labels }, value: e.value, timestamp: e.timestamp };
}

/** The raw label values of each series of `family`, as label objects. */
export function seriesLabels(family: MetricFamily): Record<string, string>[] {
  const names = family.labelNames;
  const n = names.length;
  const out: Record<string, string>[] = [];
  for (let s = 0; s < family.size; s++) {
    const labels: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      labels[names[i]] = unescapeLabelValue(family.labelValues[s * n + i]);
    }
    out.push(labels);
  }
  return out;
}
