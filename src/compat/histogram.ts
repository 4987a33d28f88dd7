/**
 * prom-client's `Histogram`, on our core histogram.
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { DEFAULT_BUCKETS } from "../core/buckets.ts";
import { Histogram as CoreHistogram } from "../core/histogram.ts";
import {
  exemplarAt,
  type ExemplarCall,
  type Labels,
  type LabelValue,
  type MetricConfiguration,
  seriesLabels,
} from "./metric.ts";
import { observation, Observer, type ObserverInternal } from "./observer.ts";
import type { MetricValue } from "./registry.ts";

/** Options of a {@linkcode Histogram}: prom-client's. */
export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  /** Bucket upper bounds, increasing (default: prom-client's, 0.005 to 10). */
  buckets?: number[];
}

/** The histogram of one label set, returned by `labels(...)`. */
export type HistogramInternal<T extends string> = ObserverInternal<T>;

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
export class Histogram<T extends string = string> extends Observer<T> {
  readonly #c: CoreHistogram<T>;
  /** Bucket upper bounds. */
  readonly buckets: readonly number[];

  /** Creates the histogram and registers it in `registers` (default: the global `register`). */
  constructor(configuration: HistogramConfiguration<T>) {
    super(
      configuration,
      "histogram",
      ["buckets"],
      (o) =>
        new CoreHistogram({
          ...o,
          buckets: configuration.buckets ?? DEFAULT_BUCKETS,
          registry: null,
        }),
    );
    this.#c = this.core as CoreHistogram<T>;
    // prom-client swaps `observe` and `startTimer` itself: plain histograms keep the plain ones.
    if (this.enableExemplars) {
      const plain = this.observe.bind(this);
      this.observe = ((call: ExemplarCall<T> = {}) => {
        const { labels = {}, value, exemplarLabels } = call ?? {};
        if (exemplarLabels === undefined) return plain(labels, value);
        const v = observation(value);
        this.write(labels, (l) =>
          this.#c.observeWithExemplar({
            labels: l as Record<T, LabelValue>,
            value: v,
            exemplarLabels,
          }));
      }) as Histogram<T>["observe"];
    }
    this.buckets = this.#c.buckets;
  }

  /**
   * Starts a timer; calling what it returns observes the elapsed seconds and
   * returns them. With `enableExemplars`, `startTimer(labels, exemplarLabels)`
   * and `end(labels, exemplarLabels)` record an exemplar too.
   */
  override startTimer(
    labels?: Labels<T>,
    exemplarLabels?: Record<string, string>,
  ): (end?: Labels<T>, endExemplar?: Record<string, string>) => number {
    return this.enableExemplars
      ? this.#timerWithExemplar(labels, exemplarLabels)
      : super.startTimer(labels);
  }

  /** prom-client's timer with exemplar labels at start and end. */
  #timerWithExemplar(
    start: Labels<T> | undefined,
    startExemplar: Record<string, string> | undefined,
  ): (end?: Labels<T>, endExemplar?: Record<string, string>) => number {
    const t0 = performance.now();
    return (end, endExemplar) => {
      const value = (performance.now() - t0) / 1000;
      const exemplarLabels = startExemplar === undefined && endExemplar === undefined
        ? undefined
        : { ...startExemplar, ...endExemplar };
      (this.observe as unknown as (call: ExemplarCall<T>) => void)({
        labels: { ...start, ...end },
        value,
        exemplarLabels,
      });
      return value;
    };
  }

  /** Creates the series of `labels` at zero, so it is exposed before its first observation. */
  zero(labels: Labels<T>): void {
    this.#c.labels(this.complete(labels));
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
          exemplar: exemplarAt(family, s * stride + j),
        });
      }
      out.push({ labels, value: family.sums![s], metricName: `${this.name}_sum` });
      out.push({ labels, value: family.counts![s], metricName: `${this.name}_count` });
    });
    return out;
  }
}
