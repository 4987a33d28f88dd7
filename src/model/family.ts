/**
 * The collected form of a metric: what a registry hands to the exposition
 * serializers at scrape time. Flat arrays rather than one object per sample,
 * so a scrape of 10,000 series allocates little.
 *
 * @module
 */

/**
 * An exemplar: a sample of one observation (or increment) with labels of its
 * own, typically the trace it happened in. Exposed in OpenMetrics and
 * protobuf, never in text 0.0.4.
 */
export interface Exemplar {
  /** Label names to values, unescaped; names plus values at most 128 code points. */
  readonly labels: Readonly<Record<string, string>>;
  /** The observed value (a counter's: the increment). */
  readonly value: number;
  /** When it was recorded, in seconds since the epoch. */
  readonly timestamp: number;
}

/** The metric types this library produces. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary";

/**
 * A snapshot of one metric family.
 *
 * Series `s` has the label values `labelValues[s * labelNames.length + i]`,
 * already escaped for exposition. Per type, `values` holds:
 * - counter and gauge: one value per series;
 * - histogram: `bounds.length + 1` cumulative bucket counts per series (the
 *   last one is the `+Inf` bucket, equal to the series' count);
 * - summary: `quantiles.length` quantile estimates per series (`NaN` when the
 *   window holds no observation).
 */
export interface MetricFamily {
  /** Metric name as registered (a counter's includes its `_total`). */
  readonly name: string;
  /** HELP text, unescaped. */
  readonly help: string;
  /** Metric type. */
  readonly type: MetricType;
  /** Unit (OpenMetrics `# UNIT`), or `""` for none. */
  readonly unit: string;
  /** Label names, in declaration order. */
  readonly labelNames: readonly string[];
  /** Escaped label values, `labelNames.length` per series. */
  readonly labelValues: ArrayLike<string>;
  /** Number of series. */
  readonly size: number;
  /** Sample values; layout depends on `type` (see above). */
  readonly values: ArrayLike<number>;
  /** Histogram and summary: `_sum` per series. */
  readonly sums?: ArrayLike<number>;
  /** Histogram and summary: `_count` per series. */
  readonly counts?: ArrayLike<number>;
  /** Creation time per series, in seconds since the epoch (OpenMetrics `_created`). */
  readonly created?: ArrayLike<number>;
  /** Histogram: finite bucket upper bounds, increasing (`+Inf` is implicit). */
  readonly bounds?: readonly number[];
  /**
   * Exemplars, when any series has one, laid out like `values`: a counter's
   * one per series, a histogram's one per bucket (`bounds.length + 1` per
   * series, the last on `+Inf`); `undefined` where a series or bucket has
   * none. Absent when no series has any.
   */
  readonly exemplars?: ArrayLike<Exemplar | undefined>;
  /** Summary: quantile ranks, increasing, each in [0, 1]. */
  readonly quantiles?: readonly number[];
  /**
   * Histogram with native buckets: one per series (served in protobuf only;
   * the text formats carry the classic buckets). Absent for classic-only
   * histograms.
   */
  readonly native?: readonly NativeBuckets[];
}

/**
 * The native (sparse, exponential) buckets of one histogram series, as
 * Prometheus defines them: at schema `n`, positive bucket `i` holds values
 * in (2^((i-1)/2^n), 2^(i/2^n)], negative bucket `i` the same magnitudes
 * below zero, and the zero bucket every `|v| <= zeroThreshold`. Counts are
 * per bucket (not cumulative); the series' count is the family's `counts`.
 */
export interface NativeBuckets {
  /** Resolution, in [-4, 8]: 2^schema buckets per power of two (for schema > 0). */
  readonly schema: number;
  /** Width of the zero bucket: it holds every `|v| <= zeroThreshold`. */
  readonly zeroThreshold: number;
  /** Observations in the zero bucket. */
  readonly zeroCount: number;
  /** Index of the bucket `positive[0]` counts. */
  readonly positiveOffset: number;
  /** Positive buckets `positiveOffset`, `positiveOffset + 1`, ...; zeros allowed anywhere. */
  readonly positive: ArrayLike<number>;
  /** Index of the bucket `negative[0]` counts. */
  readonly negativeOffset: number;
  /** Negative buckets `negativeOffset`, `negativeOffset + 1`, ... (by magnitude). */
  readonly negative: ArrayLike<number>;
}
