/**
 * prom-client's `Counter`, on our core counter.
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { Counter as CoreCounter, type CounterChild } from "../core/counter.ts";
import {
  exemplarAt,
  type ExemplarCall,
  type Labels,
  type LabelValue,
  Metric,
  type MetricConfiguration,
  notANumber,
  seriesLabels,
} from "./metric.ts";
import type { MetricValue } from "./registry.ts";

/** Options of a {@linkcode Counter}: prom-client's. */
export type CounterConfiguration<T extends string> = MetricConfiguration<T>;

/** prom-client's checks of an increment; returns the value to add. */
function increment(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== "number" || !Number.isFinite(value)) throw notANumber(value);
  if (value < 0) throw new Error("It is not possible to decrease a counter");
  return value;
}

/** The counter of one label set, returned by {@linkcode Counter.labels}. */
export interface CounterInternal {
  /** Adds `value` (default 1). */
  inc(value?: number): void;
}

class Child implements CounterInternal {
  readonly #c: CounterChild;
  constructor(c: CounterChild) {
    this.#c = c;
  }
  inc(value?: number): void {
    this.#c.inc(increment(value));
  }
}

/**
 * prom-client's `Counter`: `inc()`, `inc(labels, v)`, `labels(...).inc()`,
 * `remove`, `reset`, `get`. Values that are not finite numbers throw
 * prom-client's `TypeError` (`NaN` included, which prom-client let through),
 * negative ones its `Error`.
 *
 * @example
 * ```ts
 * import { Counter, register } from "@securetrack/metrics/prom-client";
 * const requests = new Counter({ name: "requests_total", help: "Requests", labelNames: ["method", "code"] });
 * requests.inc({ method: "GET", code: 200 });
 * requests.labels("POST", "201").inc(2);
 * console.log(await register.metrics());
 * ```
 */
export class Counter<T extends string = string> extends Metric<T> {
  readonly #c: CoreCounter<T>;
  /** The unlabelled series' child: `inc()` goes straight to it. */
  readonly #one: CounterChild | undefined;
  /** Creates the counter and registers it in `registers` (default: the global `register`). */
  constructor(configuration: CounterConfiguration<T>) {
    super(configuration, "counter", [], "", (o) => new CoreCounter({ ...o, registry: null }));
    this.#c = this.core as CoreCounter<T>;
    this.#one = this.labelNames.length === 0
      ? this.#c.labels({} as Record<T, LabelValue>)
      : undefined;
    // prom-client swaps `inc` itself: plain counters keep the plain method.
    if (this.enableExemplars) this.inc = this.#incWithExemplar as Counter<T>["inc"];
  }

  /** `inc({ labels, value, exemplarLabels })`, for a counter with `enableExemplars`. */
  #incWithExemplar(call: ExemplarCall<T> = {}): void {
    const { labels = {}, exemplarLabels } = call ?? {};
    const v = increment(call?.value);
    if (exemplarLabels === undefined) this.#inc(labels, v);
    else {
      this.write(
        labels,
        (l) =>
          this.#c.incWithExemplar({ labels: l as Record<T, LabelValue>, value: v, exemplarLabels }),
      );
    }
  }

  /**
   * Adds `value` (default 1): `inc()`, `inc(2)`, `inc(labels)`, `inc(labels, 2)`.
   * With `enableExemplars`: `inc({ labels, value, exemplarLabels })`.
   */
  inc(labels?: Labels<T> | number | ExemplarCall<T>, value?: number): void {
    // Kept this small so it inlines: `inc()` of an unlabelled counter is the
    // core child's own `inc()` (bench/compat.bench.ts: 4.1 ns before, 3.2 ns after, a native child 2.0 ns).
    const one = this.#one;
    if (one !== undefined && labels === undefined) one.inc();
    else this.#inc(labels as Labels<T> | number | undefined, value);
  }

  #inc(labels: Labels<T> | number | undefined, value: number | undefined): void {
    if (typeof labels === "object" && labels !== null) {
      const v = increment(value);
      this.write(labels, (l) => this.#c.inc(l as Record<T, LabelValue>, v));
    } else {
      const v = increment(labels);
      this.write({}, (l) => this.#c.inc(l as Record<T, LabelValue>, v));
    }
  }

  /** The counter of one label set: `labels("GET", "200")` or `labels({ method: "GET" })`. */
  labels(...values: LabelValue[] | [Labels<T>]): CounterInternal {
    return this.child(values, (l) => {
      const c = this.#c.labels(l);
      return [new Child(c), c];
    });
  }

  /** @ignore */
  protected samples(family: MetricFamily): MetricValue[] {
    const labels = seriesLabels(family);
    return labels.map((l, s) => {
      const exemplar = exemplarAt(family, s);
      return exemplar === null
        ? { value: family.values[s], labels: l }
        : { value: family.values[s], labels: l, exemplar };
    });
  }
}
