/**
 * Summary: quantiles over a sliding time window, from a relative-error sketch,
 * plus a cumulative sum and count.
 *
 * @module
 */

import { coarseNow, startTimer, type Timer } from "./clock.ts";
import type { MetricFamily } from "../model/family.ts";
import type { LabelValues } from "./labels.ts";
import { type Accumulator, gather, type SeriesSource } from "./merge.ts";
import { resize, toShared } from "./shared.ts";
import { Sketch } from "./sketch.ts";
import { SketchWindows } from "./sketch_window.ts";
import { SlotStore } from "./store.ts";
import { invalidObservation, type MetricOptions, MetricVec } from "./vec.ts";

/** Options for a {@linkcode Summary}. */
export interface SummaryOptions<L extends string = string> extends MetricOptions<L> {
  /**
   * Quantile ranks to expose, each in [0, 1], strictly increasing. Absent:
   * `[0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999]`. `[]`: no quantiles, only
   * `_sum` and `_count` (and no sketch is kept).
   */
  percentiles?: readonly number[];
  /** Length of the sliding window quantiles are computed over, in seconds (default 600). */
  maxAgeSeconds?: number;
  /**
   * Number of buckets the window is split into (default 5). Each observation
   * goes into the current bucket only; a scrape merges the buckets still in
   * the window. The window therefore slides in steps of
   * `maxAgeSeconds / ageBuckets`.
   */
  ageBuckets?: number;
  /** Relative accuracy of quantile estimates (default 0.01, i.e. 1%). */
  relativeAccuracy?: number;
  /** Most bins per sketch store (default 2048); see the sketch's collapse rule. */
  maxBins?: number;
  /**
   * Clock in milliseconds since the epoch, for tests. Absent: a coarse clock
   * (at most 100 ms stale) on the observe path, `Date.now()` at scrape.
   */
  now?: () => number;
}

/** Default quantile ranks, as prom-client's. */
export const DEFAULT_PERCENTILES: readonly number[] = Object.freeze([
  0.01,
  0.05,
  0.5,
  0.9,
  0.95,
  0.99,
  0.999,
]);

const badObservation = (metric: string, value: unknown) =>
  invalidObservation("Summary", metric, value);

/** The sliding window of one series: one sketch per age bucket, each stamped with its epoch. */
class AgeWindow {
  readonly sketches: Sketch[] = [];
  readonly epochs: Float64Array;

  constructor(ageBuckets: number) {
    this.epochs = new Float64Array(ageBuckets).fill(-Infinity);
  }
}

/**
 * A summary's storage: sum and count per series (two slots), creation times,
 * and the window sketches: growable {@linkcode Sketch}es per series while the
 * summary is local, fixed-layout ones in a shared array once it is shared
 * (see {@linkcode SketchWindows}).
 */
class SummaryStore extends SlotStore<SummaryChild> {
  readonly windows: (AgeWindow | undefined)[] = [];
  /** Shared mode: every series' window sketches, `layout.seriesSize` slots each. */
  sketches: Float64Array | undefined;
  readonly layout: SketchWindows;
  readonly quantiles: readonly number[];
  readonly ageBuckets: number;
  readonly periodMs: number;
  readonly alpha: number;
  readonly maxBins: number;
  readonly now: () => number;
  readonly scrapeNow: () => number;

  constructor(
    name: string,
    labelNames: readonly string[],
    maxSeries: number,
    o: {
      quantiles: readonly number[];
      ageBuckets: number;
      maxAgeSeconds: number;
      alpha: number;
      maxBins: number;
      now?: () => number;
    },
  ) {
    super(name, labelNames, maxSeries, 2, true);
    this.quantiles = o.quantiles;
    this.ageBuckets = o.ageBuckets;
    this.periodMs = (o.maxAgeSeconds * 1000) / o.ageBuckets;
    this.alpha = o.alpha;
    this.maxBins = o.maxBins;
    this.now = o.now ?? coarseNow;
    this.scrapeNow = o.now ?? Date.now;
    this.layout = new SketchWindows(o.ageBuckets, o.alpha);
  }

  override grow(capacity: number): void {
    super.grow(capacity);
    if (this.sketches) this.sketches = resize(this.sketches, capacity * this.layout.seriesSize);
  }

  override init(id: number): void {
    super.init(id);
    // Called from the base constructor for an unlabelled summary, before this
    // class's fields exist.
    if (this.windows) this.windows[id] = undefined;
    if (this.sketches) this.layout.clear(this.sketches, id);
  }

  override release(id: number): void {
    super.release(id);
    if (this.windows) this.windows[id] = undefined;
    if (this.sketches) this.layout.clear(this.sketches, id);
  }

  record(id: number, v: number): void {
    const values = this.values;
    values[2 * id] += v;
    values[2 * id + 1] += 1;
    if (this.quantiles.length === 0) return;
    const epoch = Math.floor(this.now() / this.periodMs);
    if (this.sketches !== undefined) {
      this.layout.add(this.sketches, id, epoch, v);
      return;
    }
    const w = this.windows[id] ??= new AgeWindow(this.ageBuckets);
    const b = epoch % this.ageBuckets;
    let sketch = w.sketches[b];
    if (w.epochs[b] !== epoch) {
      if (sketch === undefined) sketch = w.sketches[b] = new Sketch(this.alpha, this.maxBins);
      else sketch.clear();
      w.epochs[b] = epoch;
    }
    sketch.add(v);
  }

  /** The oldest epoch still in the window. */
  oldestEpoch(): number {
    return Math.floor(this.scrapeNow() / this.periodMs) - this.ageBuckets + 1;
  }

  /** Writes series `id`'s quantiles over the current window into `out[at..]`. */
  windowQuantiles(id: number, merged: Sketch, out: number[], at: number): void {
    merged.clear();
    const oldest = this.oldestEpoch();
    if (this.sketches !== undefined) {
      this.layout.mergeInto(this.sketches, id, oldest, merged);
    } else {
      const w = this.windows[id];
      if (w !== undefined) {
        for (let b = 0; b < this.ageBuckets; b++) {
          if (w.epochs[b] >= oldest) merged.merge(w.sketches[b]);
        }
      }
    }
    merged.quantiles(this.quantiles, out, at);
  }

  /** Moves the sketches into the fixed shared layout, keeping what the windows hold. */
  protected override shareExtras(): Record<string, Float64Array> {
    if (this.quantiles.length === 0) return {};
    if (this.sketches !== undefined) return { sketches: this.sketches };
    const size = this.layout.seriesSize;
    const sketches = toShared(
      new Float64Array(this.index.capacity * size),
      this.index.maxCapacity * size,
    );
    for (let id = 0; id < this.index.capacity; id++) {
      this.layout.clear(sketches, id);
      const w = this.windows[id];
      if (w === undefined) continue;
      for (let b = 0; b < this.ageBuckets; b++) {
        if (w.sketches[b] !== undefined) this.layout.load(sketches, id, w.epochs[b], w.sketches[b]);
      }
      this.windows[id] = undefined;
    }
    this.sketches = sketches;
    return { sketches };
  }

  override localArrays(): Record<string, Float64Array> {
    return this.sketches ? { sketches: this.sketches } : {};
  }
}

/**
 * A summary bound to one label set, returned (and cached) by
 * {@linkcode Summary.labels}.
 *
 * @example
 * ```ts
 * import { Registry, Summary } from "@securetrack/metrics";
 * const s = new Summary({ name: "payload_bytes", help: "Payload size", labelNames: ["kind"], registry: new Registry() });
 * s.labels({ kind: "json" }).observe(1234);
 * ```
 */
export class SummaryChild {
  /** @internal The store's sum/count array (replaced when the store grows). */
  v: Float64Array;
  /** @internal Series id, or -1 once the series was removed. */
  i: number;
  readonly #store: SummaryStore;
  readonly #labels: Readonly<Record<string, string | number>>;
  readonly #name: string;

  /** @internal Use {@linkcode Summary.labels}. */
  constructor(
    name: string,
    store: SummaryStore,
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
    const s = this.#store;
    let i = this.i;
    if (i < 0) i = s.revive(this, this.#labels);
    s.record(i, value);
  }

  /** Starts a timer that observes the elapsed seconds when stopped (or disposed). */
  startTimer(): Timer {
    return startTimer((seconds) => this.observe(seconds));
  }
}

/**
 * A Prometheus summary: quantiles over a sliding window, plus a cumulative
 * `_sum` and `_count`.
 *
 * Quantiles come from a mergeable relative-error sketch (see `sketch.ts`):
 * every estimate is within `relativeAccuracy` (1% by default) of the true
 * value at that rank, memory per series is bounded, and observing costs a
 * logarithm and an array add. With no observation in the window, quantiles
 * are `NaN`. `NaN` observations are rejected with a `RangeError`.
 *
 * @example
 * ```ts
 * import { Registry, Summary } from "@securetrack/metrics";
 * const registry = new Registry();
 * const size = new Summary({
 *   name: "llm_completion_size_bytes",
 *   help: "Size of LLM completions in bytes",
 *   labelNames: ["model"],
 *   percentiles: [0.5, 0.9, 0.99],
 *   maxAgeSeconds: 600,
 *   ageBuckets: 5,
 *   registry,
 * });
 * size.observe({ model: "gpt-4o" }, 1234);
 * ```
 */
export class Summary<L extends string = string> extends MetricVec<L, SummaryChild> {
  /** Quantile ranks exposed. */
  readonly percentiles: readonly number[];
  /** Window length in seconds. */
  readonly maxAgeSeconds: number;
  /** Buckets per window. */
  readonly ageBuckets: number;
  /** Relative accuracy of the quantile estimates. */
  readonly relativeAccuracy: number;
  readonly #s: SummaryStore;

  /** Creates the summary and registers it (see {@linkcode SummaryOptions}). */
  constructor(options: SummaryOptions<L>) {
    super(options, "summary", ["quantile"], [
      "percentiles",
      "maxAgeSeconds",
      "ageBuckets",
      "relativeAccuracy",
      "maxBins",
      "now",
    ]);
    const name = this.name;
    const qs = options.percentiles ?? DEFAULT_PERCENTILES;
    if (!Array.isArray(qs)) throw new TypeError(`Summary "${name}": percentiles must be an array`);
    qs.forEach((q, i) => {
      if (typeof q !== "number" || !(q >= 0 && q <= 1)) {
        throw new RangeError(`Summary "${name}": percentile ${String(q)} is not in [0, 1]`);
      }
      if (i > 0 && q <= qs[i - 1]) {
        throw new RangeError(`Summary "${name}": percentiles must be strictly increasing`);
      }
    });
    this.percentiles = Object.freeze([...qs]);
    this.maxAgeSeconds = options.maxAgeSeconds ?? 600;
    if (!(this.maxAgeSeconds > 0 && this.maxAgeSeconds < Infinity)) {
      throw new RangeError(`Summary "${name}": maxAgeSeconds must be > 0`);
    }
    this.ageBuckets = options.ageBuckets ?? 5;
    if (!Number.isSafeInteger(this.ageBuckets) || this.ageBuckets < 1) {
      throw new RangeError(`Summary "${name}": ageBuckets must be a positive integer`);
    }
    this.relativeAccuracy = options.relativeAccuracy ?? 0.01;
    if (!(this.relativeAccuracy > 0 && this.relativeAccuracy < 1)) {
      throw new RangeError(`Summary "${name}": relativeAccuracy must be in (0, 1)`);
    }
    const maxBins = options.maxBins ?? 2048;
    if (!Number.isSafeInteger(maxBins) || maxBins < 16) {
      throw new RangeError(`Summary "${name}": maxBins must be an integer >= 16`);
    }
    // Summaries that differ in quantiles or window cannot share a name.
    const layout = `${this.percentiles.join(",")}\u0000` +
      `${this.maxAgeSeconds}/${this.ageBuckets}/${this.relativeAccuracy}`;
    this.#s = this.bindStore(layout, () =>
      new SummaryStore(name, this.labelNames, this.maxSeries, {
        quantiles: this.percentiles,
        ageBuckets: this.ageBuckets,
        maxAgeSeconds: this.maxAgeSeconds,
        alpha: this.relativeAccuracy,
        maxBins,
        now: options.now,
      }));
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
    s.record(id, v);
  }

  /** Starts a timer that observes the elapsed seconds when stopped (or disposed). */
  startTimer(labels?: Partial<LabelValues<L>>): Timer {
    return startTimer((seconds, extra) => {
      if (labels === undefined && extra === undefined) this.observe(seconds);
      else this.observe({ ...labels, ...extra } as LabelValues<L>, seconds);
    });
  }

  /**
   * Current state for `labels` (or of the unlabelled series): quantile
   * estimates over the window (in the order of `percentiles`), sum and count.
   * `undefined` when the series does not exist.
   */
  get(labels?: LabelValues<L>): { quantiles: number[]; sum: number; count: number } | undefined {
    const s = this.#s;
    const { family, id } = this.findSeries(labels);
    if (id < 0) return undefined;
    if (family !== undefined) {
      const q = s.quantiles.length;
      return {
        quantiles: Array.from(family.values).slice(id * q, id * q + q),
        sum: family.sums![id],
        count: family.counts![id],
      };
    }
    const quantiles: number[] = [];
    s.windowQuantiles(id, new Sketch(s.alpha, s.maxBins), quantiles, 0);
    return { quantiles, sum: s.values[2 * id], count: s.values[2 * id + 1] };
  }

  /** Collects the current state for exposition. */
  override collect(): MetricFamily {
    return this.snapshot();
  }

  /** @ignore */
  protected override createChild(
    id: number,
    labels: Readonly<Record<string, string | number>>,
  ): SummaryChild {
    return new SummaryChild(this.name, this.#s, id, labels);
  }

  /** @ignore */
  protected override accumulator(): Accumulator {
    return new SummarySeries(this.#s);
  }
}

/**
 * Summary series: sums and counts added up across workers, `_created` the
 * earliest, and quantiles from the merged bins of every worker's window
 * sketches (never from averaged quantiles). In a single process, each
 * series' quantiles come from its own window, through one scratch sketch.
 */
class SummarySeries implements Accumulator {
  readonly values: number[];
  sums: number[] | Float64Array;
  counts: number[] | Float64Array;
  created: number[] | Float64Array;
  /** Merging: one sketch per group. */
  readonly sketches: Sketch[];
  readonly store: SummaryStore;

  constructor(store: SummaryStore) {
    this.store = store;
    this.values = [];
    this.sums = [];
    this.counts = [];
    this.created = [];
    this.sketches = [];
  }

  addLive(source: SeriesSource, count: number): void {
    const s = this.store;
    this.sums = gather(source, source.values, count, 2, 0);
    this.counts = gather(source, source.values, count, 2, 1);
    this.created = gather(source, source.created!, count);
    if (s.quantiles.length === 0) return;
    const scratch = new Sketch(s.alpha, s.maxBins);
    for (let id = 0; id < source.end; id++) {
      if (source.alive[id] !== 0) s.windowQuantiles(id, scratch, this.values, this.values.length);
    }
  }

  add(g: number, source: SeriesSource, id: number, first: boolean): void {
    const s = this.store;
    const t = source.created![id];
    const sums = this.sums as number[];
    const counts = this.counts as number[];
    const created = this.created as number[];
    if (first) {
      sums.push(source.values[2 * id]);
      counts.push(source.values[2 * id + 1]);
      created.push(t);
    } else {
      sums[g] += source.values[2 * id];
      counts[g] += source.values[2 * id + 1];
      if (t < created[g]) created[g] = t;
    }
    if (s.quantiles.length === 0) return;
    if (first) this.sketches.push(new Sketch(s.alpha, s.maxBins));
    const shared = source.array("sketches");
    if (shared !== undefined && shared.length >= (id + 1) * s.layout.seriesSize) {
      s.layout.mergeInto(shared, id, s.oldestEpoch(), this.sketches[g]);
    }
  }

  finish(): Pick<MetricFamily, "values" | "sums" | "counts" | "created" | "quantiles"> {
    const values = this.values;
    for (const sketch of this.sketches) {
      sketch.quantiles(this.store.quantiles, values, values.length);
    }
    return {
      values,
      sums: this.sums,
      counts: this.counts,
      created: this.created,
      quantiles: this.store.quantiles,
    };
  }
}
