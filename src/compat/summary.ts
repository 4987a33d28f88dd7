/**
 * prom-client's `Summary`, on our core summary (a relative-error sketch over
 * a sliding window, where prom-client keeps a t-digest).
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { Summary as CoreSummary } from "../core/summary.ts";
import { type MetricConfiguration, seriesLabels } from "./metric.ts";
import { Observer, type ObserverInternal } from "./observer.ts";
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

/** The summary of one label set, returned by `labels(...)`. */
export type SummaryInternal<T extends string> = ObserverInternal<T>;

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
export class Summary<T extends string = string> extends Observer<T> {
  /** Quantile ranks exposed. */
  readonly percentiles: readonly number[];

  /** Creates the summary and registers it in `registers` (default: the global `register`). */
  constructor(configuration: SummaryConfiguration<T>) {
    super(
      configuration,
      "summary",
      ["percentiles", "maxAgeSeconds", "ageBuckets", "pruneAgedBuckets", "compressCount"],
      (o) =>
        new CoreSummary({
          ...o,
          registry: null,
          ...(configuration.percentiles && { percentiles: configuration.percentiles }),
          ...(configuration.maxAgeSeconds && { maxAgeSeconds: configuration.maxAgeSeconds }),
          ...(configuration.ageBuckets && { ageBuckets: configuration.ageBuckets }),
        }),
    );
    this.percentiles = (this.core as CoreSummary<T>).percentiles;
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
