/**
 * Histogram: observations counted in cumulative buckets, with their sum and
 * count.
 *
 * @module
 */

import { DEFAULT_BUCKETS, validateBuckets } from "./buckets.ts";
import { startTimer, type Timer } from "./clock.ts";
import type { MetricFamily, NativeBuckets } from "../model/family.ts";
import { type ExemplarLabels, validateExemplarLabels } from "./exemplar.ts";
import type { LabelValues } from "./labels.ts";
import { type Accumulator, ExemplarPicker, gather, type SeriesSource } from "./merge.ts";
import { NativeLayout, NativeSum } from "./_native.ts";
import { nativeConfig, type NativeHistogramOptions } from "./native.ts";
import { resize, toShared } from "./shared.ts";
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
  /**
   * Native (sparse, exponential) buckets as well: `true` for the defaults, or
   * their options (see {@linkcode NativeHistogramOptions}). Served in the
   * protobuf format only, next to the classic buckets, which text and
   * OpenMetrics scrapes keep getting. Absent or `false`: classic only.
   */
  native?: boolean | NativeHistogramOptions;
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
  /** Native buckets: their layout, and every series' (`nativeLayout.stride` slots each). */
  readonly nativeLayout: NativeLayout | undefined;
  native: Float64Array | undefined;

  constructor(
    name: string,
    labelNames: readonly string[],
    maxSeries: number,
    bounds: number[],
    native?: NativeLayout,
  ) {
    // Slots per series: buckets, `+Inf`, sum.
    super(name, labelNames, maxSeries, bounds.length + 2, true, bounds.length + 1);
    this.bounds = Float64Array.from(bounds);
    this.nativeLayout = native;
    if (native !== undefined) {
      // The base constructor created the unlabelled series before this field existed.
      this.native = new Float64Array(this.values.length / this.stride * native.stride);
      for (let id = 0; id < this.values.length / this.stride; id++) native.init(this.native, id);
    }
  }

  override grow(capacity: number): void {
    super.grow(capacity);
    if (this.native) this.native = resize(this.native, capacity * this.nativeLayout!.stride);
  }

  override init(id: number): void {
    super.init(id);
    if (this.native) this.nativeLayout!.init(this.native, id);
  }

  protected override shareExtras(): Record<string, Float64Array> {
    const extras = super.shareExtras();
    if (this.native === undefined) return extras;
    this.native = toShared(this.native, this.index.maxCapacity * this.nativeLayout!.stride);
    return { ...extras, native: this.native };
  }

  override localArrays(): Record<string, Float64Array> {
    const arrays = super.localArrays();
    return this.native ? { ...arrays, native: this.native } : arrays;
  }

  /**
   * client_golang's limit rules asked for a reset of series `id`: every part
   * of it (classic buckets, sum, native buckets, creation time) starts
   * again, with observation `v`.
   */
  #reset(values: Float64Array, id: number, v: number): number {
    values.fill(0, id * this.stride, (id + 1) * this.stride);
    if (this.created) this.created[id] = Date.now() / 1000;
    this.nativeLayout!.reset(this.native!, id);
    this.exemplars?.clear(id); // their buckets start again empty
    return this.record(values, id, v);
  }

  /** Records `v` into series `id`; returns its (classic) bucket. */
  record(values: Float64Array, id: number, v: number): number {
    const base = id * this.stride;
    const bounds = this.bounds;
    const n = bounds.length;
    let j = 0;
    if (n <= 24) {
      while (j < n && v > bounds[j]) j++;
    } else j = searchBucket(bounds, v);
    values[base + j] += 1;
    values[base + n + 1] += v;
    const native = this.native;
    if (native !== undefined && this.nativeLayout!.observe(native, id, v)) {
      return this.#reset(values, id, v);
    }
    return j;
  }
}

/**
 * The bucket of `v` among many `bounds`: a binary search. Out of `record`,
 * whose hot path stays small enough for V8 to inline it whole (with native
 * buckets as well).
 */
function searchBucket(bounds: Float64Array, v: number): number {
  let j = 0;
  let hi = bounds.length;
  while (j < hi) {
    const mid = (j + hi) >>> 1;
    if (v > bounds[mid]) j = mid + 1;
    else hi = mid;
  }
  return j;
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
    if (this.i >= 0) this.#store.record(this.v, this.i, value);
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
    const j = s.record(s.values, id, observation.value);
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
    s.record(s.values, id, value);
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
    super(options, "histogram", ["le"], ["buckets", "native"]);
    this.buckets = Object.freeze(validateBuckets(this.name, options.buckets ?? DEFAULT_BUCKETS));
    const native = nativeConfig(this.name, options.native);
    // Histograms with other buckets (or native options) cannot share a name.
    this.#s = this.bindStore(
      this.buckets.join(",") + (native === undefined ? "" : `\u0000native:${native.signature}`),
      () =>
        new HistogramStore(
          this.name,
          this.labelNames,
          this.maxSeries,
          [...this.buckets],
          native && new NativeLayout(native.config),
        ),
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
    s.record(s.values, id, v);
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
    const j = s.record(s.values, id, observation.value);
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
    return new HistogramSeries(this.#s.stride, this.buckets, this.#s.nativeLayout);
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
  readonly layout: NativeLayout | undefined;
  /** Native buckets: per series in a single process, per group summed across workers. */
  readonly native: NativeBuckets[] = [];
  readonly nativeSums: NativeSum[] = [];

  constructor(stride: number, bounds: readonly number[], layout?: NativeLayout) {
    this.stride = stride;
    this.bounds = bounds;
    this.layout = layout;
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
    const layout = this.layout;
    const native = source.array("native");
    if (layout === undefined || native === undefined) return;
    for (let id = 0; id < source.end && this.native.length < count; id++) {
      if (alive[id] !== 0) this.native.push(layout.read(native, id)!);
    }
  }

  add(g: number, source: SeriesSource, id: number, first: boolean): void {
    this.#exemplars.add(g, source, id);
    if (this.layout !== undefined) {
      if (first) this.nativeSums.push(new NativeSum());
      const native = source.array("native");
      const b = native === undefined ? undefined : this.layout.read(native, id);
      if (b !== undefined) this.nativeSums[g].add(b);
    }
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

  finish(): Pick<
    MetricFamily,
    "values" | "sums" | "counts" | "created" | "bounds" | "exemplars" | "native"
  > {
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
    const native = this.layout === undefined
      ? undefined
      : this.nativeSums.length > 0
      ? this.nativeSums.map((n) => n.finish())
      : this.native;
    return {
      values,
      sums,
      counts,
      created: this.created,
      bounds: this.bounds,
      ...this.#exemplars.finish(size),
      ...(native === undefined ? {} : { native }),
    };
  }
}
