/**
 * prom-client's `Summary`, on our core summary (a relative-error sketch over
 * a sliding window, where prom-client keeps a t-digest).
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { Summary as CoreSummary, type SummaryChild } from "../core/summary.ts";
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

/** Options of a {@linkcode Summary}: prom-client's. */
export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T> {
  /** Quantile ranks (default `[0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999]`). */
  percentiles?: number[];
  /** Sliding window length in seconds (default 600, the window our core keeps). */
  maxAgeSeconds?: number;
  /** Buckets the window slides by (default 5). */
  ageBuckets?: number;
  /** Accepted for prom-client programs: a window with no observation reports `NaN` quantiles. */
  pruneAgedBuckets?: boolean;
  /** Accepted for prom-client programs (a t-digest setting; our sketch needs none). */
  compressCount?: number;
}

/** The summary of one label set, returned by {@linkcode Summary.labels}. */
export interface SummaryInternal<T extends string> {
  /** Records one observation. */
  observe(value: number): void;
  /** Starts a timer that observes the elapsed seconds. */
  startTimer(): EndTimer<T>;
}

function observation(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw notANumber(value);
  return value;
}

class Child<T extends string> implements SummaryInternal<T> {
  readonly #c: SummaryChild;
  readonly #timer: () => EndTimer<T>;
  constructor(c: SummaryChild, timer: () => EndTimer<T>) {
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
 * prom-client's `Summary`: `observe`, `startTimer`, `labels(...)`, `remove`,
 * `reset`, `get`, with `percentiles`, `maxAgeSeconds` and `ageBuckets`.
 * Quantiles come from a sketch with 1% relative error (prom-client:
 * t-digest), and are `NaN` while the window holds no observation.
 *
 * @example
 * ```ts
 * import { register, Summary } from "@securetrack/metrics/prom-client";
 * const size = new Summary({ name: "body_bytes", help: "Body size", percentiles: [0.5, 0.9] });
 * size.observe(1234);
 * console.log(await register.metrics());
 * ```
 */
export class Summary<T extends string = string> extends Metric<T> {
  readonly #c: CoreSummary<T>;
  /** The unlabelled series' child: `observe(v)` goes straight to it. */
  readonly #one: SummaryChild | undefined;
  /** Quantile ranks exposed. */
  readonly percentiles: readonly number[];

  /** Creates the summary and registers it in `registers` (default: the global `register`). */
  constructor(configuration: SummaryConfiguration<T>) {
    super(
      configuration,
      "summary",
      ["percentiles", "maxAgeSeconds", "ageBuckets", "pruneAgedBuckets", "compressCount"],
      "quantile",
      (o) =>
        new CoreSummary({
          ...o,
          registry: null,
          ...(configuration.percentiles && { percentiles: configuration.percentiles }),
          ...(configuration.maxAgeSeconds && { maxAgeSeconds: configuration.maxAgeSeconds }),
          ...(configuration.ageBuckets && { ageBuckets: configuration.ageBuckets }),
        }),
    );
    this.#c = this.core as CoreSummary<T>;
    this.#one = this.labelNames.length === 0
      ? this.#c.labels({} as Record<T, LabelValue>)
      : undefined;
    this.percentiles = this.#c.percentiles;
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

  /** The summary of one label set: `labels("GET")` or `labels({ method: "GET" })`. */
  labels(...values: LabelValue[] | [Labels<T>]): SummaryInternal<T> {
    return this.child(values, (l) => {
      const c = this.#c.labels(l);
      return [new Child(c, () => this.startTimer(l)), c];
    });
  }

  /** @ignore */
  protected samples(family: MetricFamily): MetricValue[] {
    const out: MetricValue[] = [];
    const qs = family.quantiles ?? [];
    seriesLabels(family).forEach((labels, s) => {
      for (let j = 0; j < qs.length; j++) {
        out.push({
          labels: { quantile: qs[j], ...labels },
          value: family.values[s * qs.length + j],
        });
      }
      out.push({ metricName: `${this.name}_sum`, labels, value: family.sums![s] });
      out.push({ metricName: `${this.name}_count`, labels, value: family.counts![s] });
    });
    return out;
  }
}
