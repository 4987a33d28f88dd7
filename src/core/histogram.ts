/**
 * Histogram: observations counted in cumulative buckets, with their sum and
 * count.
 *
 * @module
 */

import { DEFAULT_BUCKETS, validateBuckets } from "./buckets.ts";
import { startTimer, type Timer } from "./clock.ts";
import type { MetricFamily } from "../model/family.ts";
import { type ExemplarLabels, validateExemplarLabels } from "./exemplar.ts";
import type { LabelValues } from "./labels.ts";
import { type Accumulator, ExemplarPicker, gather, type SeriesSource } from "./merge.ts";
import { SlotStore } from "./store.ts";
import { invalidObservation, type MetricOptions, MetricVec } from "./vec.ts";

/** Options for a {@linkcode Histogram}. */
export interface HistogramOptions<L extends string = string> extends MetricOptions<L> {
  /**
   * Finite bucket upper bounds, strictly increasing; `+Inf` is implicit (a
   * trailing `Infinity` is accepted and dropped). Absent:
   * {@linkcode DEFAULT_BUCKETS} (0.005 s to 10 s). `[]`: only the `+Inf` bucket.
   */
  buckets?: readonly number[];
}

/**
 * What {@linkcode Histogram.observeWithExemplar} takes: prom-client's
 * `observe({ labels, value, exemplarLabels })` shape.
 *
 * @example
 * ```ts
 * import type { HistogramExemplarObservation } from "@securetrack/metrics";
 * const one: HistogramExemplarObservation<"route"> = {
 *   labels: { route: "/users/:id" },
 *   value: 0.042,
 *   exemplarLabels: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" },
 * };
 * ```
 */
export interface HistogramExemplarObservation<L extends string = string> {
  /** The series' labels; absent for an unlabelled histogram. */
  labels?: LabelValues<L>;
  /** The observation, also the exemplar's value. */
  value: number;
  /**
   * The exemplar's labels, e.g. `{ trace_id }`: names and values together at
   * most 128 code points (a `RangeError` past that). `{}` is an exemplar
   * without labels.
   */
  exemplarLabels: ExemplarLabels;
}

const badObservation = (metric: string, value: unknown) =>
  invalidObservation("Histogram", metric, value);

/** The argument of `observeWithExemplar`, checked: its value and exemplar labels. */
function exemplarObservation(
  metric: string,
  observation: Omit<HistogramExemplarObservation, "labels">,
): ExemplarLabels {
  if (observation === null || typeof observation !== "object") {
    throw new TypeError(
      `Histogram "${metric}": observeWithExemplar takes { labels, value, exemplarLabels }`,
    );
  }
  const v = observation.value;
  if (!(v === v && typeof v === "number")) throw badObservation(metric, v);
  return validateExemplarLabels(metric, observation.exemplarLabels);
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
    super(name, labelNames, maxSeries, bounds.length + 2, true, bounds.length + 1);
    this.bounds = Float64Array.from(bounds);
  }

  /** Records `v` into the series whose slots start at `base`; returns its bucket. */
  record(values: Float64Array, base: number, v: number): number {
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
    return j;
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

  /**
   * As `observe`, and makes `{ exemplarLabels, value }`, timestamped now, the
   * exemplar of the bucket `value` falls in. See
   * {@linkcode Histogram.observeWithExemplar}.
   */
  observeWithExemplar(observation: Omit<HistogramExemplarObservation, "labels">): void {
    const ex = exemplarObservation(this.#name, observation);
    const s = this.#store;
    const id = this.i >= 0 ? this.i : s.revive(this, this.#labels);
    const j = s.record(s.values, id * s.stride, observation.value);
    s.exemplarSlots().set(id, j, ex, observation.value);
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
export class Histogram<L extends string = string> extends MetricVec<L, HistogramChild> {
  /** Finite bucket upper bounds, increasing. */
  readonly buckets: readonly number[];
  readonly #s: HistogramStore;

  /** Creates the histogram and registers it (see {@linkcode HistogramOptions}). */
  constructor(options: HistogramOptions<L>) {
    super(options, "histogram", ["le"], ["buckets"]);
    this.buckets = Object.freeze(validateBuckets(this.name, options.buckets ?? DEFAULT_BUCKETS));
    // Histograms with other buckets cannot share a name.
    this.#s = this.bindStore(
      this.buckets.join(","),
      () => new HistogramStore(this.name, this.labelNames, this.maxSeries, [...this.buckets]),
    );
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

  /**
   * Records one observation and makes `{ exemplarLabels, value }`,
   * timestamped now, the exemplar of the bucket it falls in, replacing the
   * one before (one per bucket, `+Inf` included). Exemplars are exposed in
   * OpenMetrics (and protobuf), never in text 0.0.4. Throws as `observe`
   * does, a `TypeError` for exemplar labels that are not an object of
   * strings with valid names, and a `RangeError` when their names and values
   * have more than 128 code points together; nothing is recorded then. Plain
   * `observe` costs the same as before this method existed.
   *
   * @example
   * ```ts
   * import { Histogram, Registry } from "@securetrack/metrics";
   * const registry = new Registry();
   * const latency = new Histogram({ name: "job_seconds", help: "Job time", buckets: [0.1, 1], registry });
   * latency.observeWithExemplar({
   *   value: 0.42,
   *   exemplarLabels: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" },
   * });
   * console.log(await registry.metrics("openmetrics"));
   * ```
   */
  observeWithExemplar(observation: HistogramExemplarObservation<L>): void {
    const ex = exemplarObservation(this.name, observation);
    const s = this.#s;
    const id = this.seriesId(observation.labels);
    const j = s.record(s.values, id * s.stride, observation.value);
    s.exemplarSlots().set(id, j, ex, observation.value);
  }

  /** Starts a timer that observes the elapsed seconds when stopped (or disposed). */
  startTimer(labels?: Partial<LabelValues<L>>): Timer {
    return startTimer((seconds, extra) => {
      if (labels === undefined && extra === undefined) this.observe(seconds);
      else this.observe({ ...labels, ...extra } as LabelValues<L>, seconds);
    });
  }

  /**
   * Current state for `labels` (or of the unlabelled series): cumulative
   * bucket counts (the last one is `+Inf`), sum and count. `undefined` when
   * the series does not exist.
   */
  get(labels?: LabelValues<L>): { buckets: number[]; sum: number; count: number } | undefined {
    const s = this.#s;
    const { family, id } = this.findSeries(labels);
    if (id < 0) return undefined;
    const nb = s.bounds.length + 1;
    if (family !== undefined) {
      return {
        buckets: Array.from(family.values).slice(id * nb, id * nb + nb),
        sum: family.sums![id],
        count: family.counts![id],
      };
    }
    const base = id * s.stride;
    const buckets: number[] = [];
    let cum = 0;
    for (let j = 0; j < nb; j++) buckets.push(cum += s.values[base + j]);
    return { buckets, sum: s.values[base + nb], count: cum };
  }

  /** Collects the current state for exposition. */
  override collect(): MetricFamily {
    return this.snapshot();
  }

  /** @ignore */
  protected override createChild(
    id: number,
    labels: Readonly<Record<string, string | number>>,
  ): HistogramChild {
    return new HistogramChild(this.name, this.#s, id, labels);
  }

  /** @ignore */
  protected override accumulator(): Accumulator {
    return new HistogramSeries(this.#s.stride, this.buckets);
  }
}

/**
 * Histogram series: per-bucket counts and sums added up across workers,
 * `_created` the earliest; made cumulative at the end.
 */
class HistogramSeries implements Accumulator {
  /** Per group: the bucket counts (`+Inf` last), then the sum. */
  raw: number[] | Float64Array;
  created: number[] | Float64Array;
  readonly stride: number;
  readonly bounds: readonly number[];
  readonly #exemplars: ExemplarPicker;

  constructor(stride: number, bounds: readonly number[]) {
    this.stride = stride;
    this.bounds = bounds;
    this.raw = [];
    this.created = [];
    this.#exemplars = new ExemplarPicker(bounds.length + 1);
  }

  addLive(source: SeriesSource, count: number): void {
    const stride = this.stride;
    const raw = this.raw = new Float64Array(count * stride);
    const { alive, values } = source;
    let at = 0;
    for (let id = 0; id < source.end && at < raw.length; id++) {
      if (alive[id] === 0) continue;
      for (let j = 0, base = id * stride; j < stride; j++) raw[at++] = values[base + j];
    }
    this.created = gather(source, source.created!, count);
    this.#exemplars.addLive(source, count);
  }

  add(g: number, source: SeriesSource, id: number, first: boolean): void {
    this.#exemplars.add(g, source, id);
    const stride = this.stride;
    const base = id * stride;
    const t = source.created![id];
    const raw = this.raw as number[];
    const created = this.created as number[];
    if (first) {
      created.push(t);
      for (let j = 0; j < stride; j++) raw.push(source.values[base + j]);
      return;
    }
    if (t < created[g]) created[g] = t;
    for (let j = 0; j < stride; j++) raw[g * stride + j] += source.values[base + j];
  }

  finish(): Pick<MetricFamily, "values" | "sums" | "counts" | "created" | "bounds" | "exemplars"> {
    const stride = this.stride;
    const nb = stride - 1;
    const raw = this.raw;
    const size = raw.length / stride;
    const values = new Float64Array(size * nb);
    const sums = new Float64Array(size);
    const counts = new Float64Array(size);
    for (let g = 0, at = 0; g < size; g++) {
      const base = g * stride;
      let cum = 0;
      for (let j = 0; j < nb; j++) values[at++] = cum += raw[base + j];
      counts[g] = cum;
      sums[g] = raw[base + nb];
    }
    return {
      values,
      sums,
      counts,
      created: this.created,
      bounds: this.bounds,
      ...this.#exemplars.finish(size),
    };
  }
}
