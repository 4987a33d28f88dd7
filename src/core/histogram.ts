/**
 * Histogram: observations counted in cumulative buckets, with their sum and
 * count.
 *
 * @module
 */

import { DEFAULT_BUCKETS, validateBuckets } from "./buckets.ts";
import { startTimer, type Timer } from "./clock.ts";
import type { MetricFamily } from "./family.ts";
import type { LabelValues } from "./labels.ts";
import { Metric, type MetricOptions } from "./metric.ts";
import { defaultRegistry } from "./registry.ts";
import { forEachSeries, SeriesGroups, seriesOf, sourcesOf } from "./merge.ts";
import { SlotStore } from "./store.ts";

/** Options for a {@linkcode Histogram}. */
export interface HistogramOptions<L extends string = string> extends MetricOptions<L> {
  /**
   * Finite bucket upper bounds, strictly increasing; `+Inf` is implicit (a
   * trailing `Infinity` is accepted and dropped). Absent:
   * {@linkcode DEFAULT_BUCKETS} (0.005 s to 10 s). `[]`: only the `+Inf` bucket.
   */
  buckets?: readonly number[];
}

function badObservation(metric: string, value: unknown): RangeError | TypeError {
  return typeof value === "number"
    ? new RangeError(`Histogram "${metric}": cannot observe NaN`)
    : new TypeError(`Histogram "${metric}": value must be a number, got ${typeof value}`);
}

/**
 * Per series: one count per finite bucket, the `+Inf` bucket, then the sum.
 * Counts are per bucket (not cumulative), so an observation touches two slots;
 * the cumulative form is computed at scrape.
 */
class HistogramStore extends SlotStore<HistogramChild> {
  readonly bounds: Float64Array;

  constructor(name: string, labelNames: readonly string[], maxSeries: number, bounds: number[]) {
    // Slots per series: buckets, `+Inf`, sum.
    super(name, labelNames, maxSeries, bounds.length + 2, true);
    this.bounds = Float64Array.from(bounds);
  }

  /** Records `v` into the series whose slots start at `base`. */
  record(values: Float64Array, base: number, v: number): void {
    const bounds = this.bounds;
    const n = bounds.length;
    let j = 0;
    if (n <= 24) {
      while (j < n && v > bounds[j]) j++;
    } else {
      let hi = n;
      while (j < hi) {
        const mid = (j + hi) >>> 1;
        if (v > bounds[mid]) j = mid + 1;
        else hi = mid;
      }
    }
    values[base + j] += 1;
    values[base + n + 1] += v;
  }
}

/**
 * A histogram bound to one label set, returned (and cached) by
 * {@linkcode Histogram.labels}.
 *
 * @example
 * ```ts
 * import { Histogram, Registry } from "@securetrack/metrics";
 * const h = new Histogram({ name: "db_query_seconds", help: "Query time", labelNames: ["table"], registry: new Registry() });
 * const users = h.labels({ table: "users" });
 * users.observe(0.012);
 * ```
 */
export class HistogramChild {
  /** @internal Storage array (replaced when the store grows). */
  v: Float64Array;
  /** @internal Series id, or -1 once the series was removed. */
  i: number;
  readonly #store: HistogramStore;
  readonly #labels: Readonly<Record<string, string | number>>;
  readonly #name: string;

  /** @internal Use {@linkcode Histogram.labels}. */
  constructor(
    name: string,
    store: HistogramStore,
    id: number,
    labels: Readonly<Record<string, string | number>>,
  ) {
    this.#name = name;
    this.#store = store;
    this.v = store.values;
    this.i = id;
    this.#labels = labels;
  }

  /** Records one observation; throws a `RangeError` for `NaN`. */
  observe(value: number): void {
    if (!(value === value && typeof value === "number")) throw badObservation(this.#name, value);
    if (this.i >= 0) this.#store.record(this.v, this.i * this.#store.stride, value);
    else this.#revive(value);
  }

  /** Starts a timer that observes the elapsed seconds when stopped (or disposed). */
  startTimer(): Timer {
    return startTimer((seconds) => this.observe(seconds));
  }

  /** Records into the series again after it was removed (re-creating it). */
  #revive(value: number): void {
    const s = this.#store;
    const id = s.revive(this, this.#labels);
    s.record(s.values, id * s.stride, value);
  }
}

/**
 * A Prometheus histogram: counts observations in buckets of your choice and
 * keeps their sum and count. `NaN` is rejected with a `RangeError`.
 *
 * @example
 * ```ts
 * import { Histogram, Registry } from "@securetrack/metrics";
 * const registry = new Registry();
 * const latency = new Histogram({
 *   name: "llm_request_duration_seconds",
 *   help: "Duration of LLM API requests in seconds",
 *   labelNames: ["model"],
 *   buckets: [0.1, 1, 10],
 *   registry,
 * });
 * latency.observe({ model: "gpt-4o" }, 0.42);
 * const end = latency.startTimer({ model: "gpt-4o" });
 * end();
 * ```
 */
export class Histogram<L extends string = string> extends Metric<L> {
  /** Finite bucket upper bounds, increasing. */
  readonly buckets: readonly number[];
  readonly #s: HistogramStore;

  /** Creates the histogram and registers it (see {@linkcode HistogramOptions}). */
  constructor(options: HistogramOptions<L>) {
    super(options, "histogram", ["le"], defaultRegistry);
    this.buckets = Object.freeze(validateBuckets(this.name, options.buckets ?? DEFAULT_BUCKETS));
    const existing = this.existing();
    if (existing !== undefined) {
      this.#s = existing.#s;
    } else {
      this.#s = new HistogramStore(this.name, this.labelNames, this.maxSeries, [...this.buckets]);
      this.#s.index.onOverflow = () => this.countOverflow();
      this.registry?.register(this);
    }
  }

  /** Includes the bucket layout: histograms with other buckets cannot share a name. */
  override get signature(): string {
    return super.signature + "\u0000" + this.buckets.join(",");
  }

  /** Records one observation: `observe(v)` or `observe(labels, v)`. */
  observe(labels: LabelValues<L> | number, value?: number): void {
    const s = this.#s;
    const labelled = typeof labels === "object" && labels !== null;
    const v = labelled ? value : labels;
    // Validated before the lookup, so a rejected call creates no series.
    if (!(v === v && typeof v === "number")) throw badObservation(this.name, v);
    let id = 0;
    if (labelled) id = s.index.lookup(labels);
    else if (this.labelNames.length !== 0) s.index.lookup({});
    s.record(s.values, id * s.stride, v);
  }

  /** Starts a timer that observes the elapsed seconds when stopped (or disposed). */
  startTimer(labels?: Partial<LabelValues<L>>): Timer {
    return startTimer((seconds, extra) => {
      if (labels === undefined && extra === undefined) this.observe(seconds);
      else this.observe({ ...labels, ...extra } as LabelValues<L>, seconds);
    });
  }

  /** Returns the cached child for `labels`, creating the series if needed. */
  labels(labels: LabelValues<L>): HistogramChild {
    const s = this.#s;
    const id = s.index.lookup(labels);
    let child = s.children[id];
    if (child === undefined) {
      child = new HistogramChild(this.name, s, id, { ...labels });
      s.children[id] = child;
    }
    return child;
  }

  /**
   * Current state for `labels` (or of the unlabelled series): cumulative
   * bucket counts (the last one is `+Inf`), sum and count. `undefined` when
   * the series does not exist.
   */
  get(labels?: LabelValues<L>): { buckets: number[]; sum: number; count: number } | undefined {
    const s = this.#s;
    const id = s.index.find(labels ?? {}); // validates the labels
    if (s.remotes.size > 0) {
      const family = this.#collectAll();
      const g = seriesOf(family, this.labelNames, labels ?? {});
      if (g < 0) return undefined;
      const nb = s.bounds.length + 1;
      return {
        buckets: Array.from(family.values).slice(g * nb, g * nb + nb),
        sum: family.sums![g],
        count: family.counts![g],
      };
    }
    if (id < 0) return undefined;
    const base = id * s.stride;
    const buckets: number[] = [];
    let cum = 0;
    for (let j = 0; j <= s.bounds.length; j++) buckets.push(cum += s.values[base + j]);
    return { buckets, sum: s.values[base + s.stride - 1], count: cum };
  }

  /** Removes the series for `labels`; returns whether it existed. */
  remove(labels: LabelValues<L>): boolean {
    return this.#s.index.remove(labels);
  }

  /** Removes every labelled series (an unlabelled histogram goes back to empty). */
  reset(): void {
    this.#s.index.clear();
  }

  /** Collects the current state for exposition. */
  collect(): MetricFamily {
    const s = this.#s;
    if (s.remotes.size > 0) return this.#collectAll();
    const index = s.index;
    const nb = s.bounds.length + 1;
    const n = this.labelNames.length;
    const values: number[] = [];
    const sums: number[] = [];
    const counts: number[] = [];
    const created: number[] = [];
    const labelValues: string[] = [];
    for (let id = 0; id < index.end; id++) {
      if (!index.alive[id]) continue;
      const base = id * s.stride;
      let cum = 0;
      for (let j = 0; j < nb; j++) values.push(cum += s.values[base + j]);
      counts.push(cum);
      sums.push(s.values[base + nb]);
      created.push(s.created![id]);
      for (let i = 0; i < n; i++) labelValues.push(index.escaped[id * n + i]!);
    }
    return this.#family(labelValues, values, sums, counts, created);
  }

  /** Every worker's series, bucket counts and sums added by label set. */
  #collectAll(): MetricFamily {
    const s = this.#s;
    const nb = s.bounds.length + 1;
    const groups = new SeriesGroups();
    const raw: number[] = []; // per group: nb bucket counts, then the sum
    const created: number[] = [];
    forEachSeries(sourcesOf(s), groups, (g, source, id) => {
      const base = id * s.stride;
      const t = source.created![id];
      if (g === created.length) {
        created.push(t);
        for (let j = 0; j <= nb; j++) raw.push(0);
      } else if (t < created[g]) {
        created[g] = t;
      }
      for (let j = 0; j <= nb; j++) raw[g * (nb + 1) + j] += source.values[base + j];
    });
    const values: number[] = [];
    const sums: number[] = [];
    const counts: number[] = [];
    for (let g = 0; g < groups.size; g++) {
      let cum = 0;
      for (let j = 0; j < nb; j++) values.push(cum += raw[g * (nb + 1) + j]);
      counts.push(cum);
      sums.push(raw[g * (nb + 1) + nb]);
    }
    return this.#family(groups.labelValues, values, sums, counts, created);
  }

  #family(
    labelValues: string[],
    values: number[],
    sums: number[],
    counts: number[],
    created: number[],
  ): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: "histogram",
      unit: this.unit,
      labelNames: this.labelNames,
      labelValues,
      size: counts.length,
      values,
      sums,
      counts,
      created,
      bounds: this.buckets,
    };
  }

  /**
   * The storage behind this metric, for sharing between workers (internal).
   * @ignore
   */
  protected override slotStore(): SlotStore {
    return this.#s;
  }
}
