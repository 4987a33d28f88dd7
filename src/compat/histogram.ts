/**
 * prom-client's `Histogram`, on our core histogram.
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { DEFAULT_BUCKETS } from "../core/buckets.ts";
import { Histogram as CoreHistogram, type HistogramChild } from "../core/histogram.ts";
import {
  type EndTimer,
  type Labels,
  type LabelValue,
  Metric,
  type MetricConfiguration,
  notANumber,
  seriesLabels,
} from "./metric.ts";
import type { MetricValue } from "./registry.ts";

/** Options of a {@linkcode Histogram}: prom-client's. */
export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  /** Bucket upper bounds, increasing (default: prom-client's, 0.005 to 10). */
  buckets?: number[];
}

/** The histogram of one label set, returned by {@linkcode Histogram.labels}. */
export interface HistogramInternal<T extends string> {
  /** Records one observation. */
  observe(value: number): void;
  /** Starts a timer that observes the elapsed seconds. */
  startTimer(): EndTimer<T>;
}

function observation(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw notANumber(value);
  return value;
}

class Child<T extends string> implements HistogramInternal<T> {
  readonly #c: HistogramChild;
  readonly #timer: () => EndTimer<T>;
  constructor(c: HistogramChild, timer: () => EndTimer<T>) {
    this.#c = c;
    this.#timer = timer;
  }
  observe(value: number): void {
    this.#c.observe(observation(value));
  }
  startTimer(): EndTimer<T> {
    return this.#timer();
  }
}

/**
 * prom-client's `Histogram`: `observe`, `startTimer`, `labels(...)`, `zero`,
 * `remove`, `reset`, `get`. An observation that is not a finite number
 * throws prom-client's `TypeError`.
 *
 * @example
 * ```ts
 * import { Histogram, register } from "@securetrack/metrics/prom-client";
 * const latency = new Histogram({ name: "work_seconds", help: "Work", labelNames: ["job"], buckets: [0.1, 1, 10] });
 * latency.observe({ job: "mail" }, 0.42);
 * const end = latency.startTimer({ job: "mail" });
 * end();
 * console.log(await register.metrics());
 * ```
 */
export class Histogram<T extends string = string> extends Metric<T> {
  readonly #c: CoreHistogram<T>;
  /** The unlabelled series' child: `observe(v)` goes straight to it. */
  readonly #one: HistogramChild | undefined;
  /** Bucket upper bounds. */
  readonly buckets: readonly number[];

  /** Creates the histogram and registers it in `registers` (default: the global `register`). */
  constructor(configuration: HistogramConfiguration<T>) {
    super(
      configuration,
      "histogram",
      ["buckets"],
      "le",
      (o) =>
        new CoreHistogram({
          ...o,
          buckets: configuration.buckets ?? DEFAULT_BUCKETS,
          registry: null,
        }),
    );
    this.#c = this.core as CoreHistogram<T>;
    this.#one = this.labelNames.length === 0
      ? this.#c.labels({} as Record<T, LabelValue>)
      : undefined;
    this.buckets = this.#c.buckets;
  }

  /** Records one observation: `observe(v)` or `observe(labels, v)`. */
  observe(labels: Labels<T> | number, value?: number): void {
    const one = this.#one;
    if (one !== undefined && typeof labels !== "object") {
      one.observe(observation(labels));
      return;
    }
    if (typeof labels === "object" && labels !== null) {
      const v = observation(value);
      try {
        this.#c.observe(labels as Record<T, LabelValue>, v);
      } catch {
        this.#c.observe(this.complete(labels), v);
      }
    } else {
      const v = observation(labels);
      if (this.labelNames.length === 0) this.#c.observe(v);
      else this.#c.observe(this.complete({}), v);
    }
  }

  /** Starts a timer; calling what it returns observes the elapsed seconds and returns them. */
  startTimer(labels?: Labels<T>): EndTimer<T> {
    return this.timer(labels, (l, seconds) => {
      if (l === undefined) this.observe(seconds);
      else this.observe(l, seconds);
    });
  }

  /** Creates the series of `labels` at zero, so it is exposed before its first observation. */
  zero(labels: Labels<T>): void {
    this.#c.labels(this.complete(labels));
  }

  /** The histogram of one label set: `labels("GET")` or `labels({ method: "GET" })`. */
  labels(...values: LabelValue[] | [Labels<T>]): HistogramInternal<T> {
    return this.child(values, (l) => {
      const c = this.#c.labels(l);
      return [new Child(c, () => this.startTimer(l)), c];
    });
  }

  /** @ignore */
  protected samples(family: MetricFamily): MetricValue[] {
    const out: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    const bounds = family.bounds ?? [];
    const stride = bounds.length + 1;
    seriesLabels(family).forEach((labels, s) => {
      for (let j = 0; j < stride; j++) {
        out.push({
          labels: { ...labels, le: j < bounds.length ? bounds[j] : "+Inf" },
          value: family.values[s * stride + j],
          metricName: bucket,
          exemplar: null,
        });
      }
      out.push({ labels, value: family.sums![s], metricName: `${this.name}_sum` });
      out.push({ labels, value: family.counts![s], metricName: `${this.name}_count` });
    });
    return out;
  }
}
