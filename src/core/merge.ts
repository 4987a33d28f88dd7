/**
 * Collection across workers: the series of this worker and of every attached
 * remote copy, grouped by label set, so a scrape answered by any worker
 * reports the totals of all of them.
 *
 * @module
 */

import type { Exemplar, MetricFamily } from "../model/family.ts";
import { escapeLabelValue } from "../model/escape.ts";
import { OVERFLOW_VALUE } from "./series.ts";
import type { SlotStore } from "./store.ts";

/** The id this worker goes by in a cluster (`worker` label values, segment owners). */
let localWorker = "0";

/** Sets this worker's id (done once by the cluster module when it joins). */
export function setLocalWorker(id: string): void {
  localWorker = id;
}

/** This worker's id. */
export function getLocalWorker(): string {
  return localWorker;
}

/** One worker's series of one metric, as read at a scrape. */
export interface SeriesSource {
  /** The worker's id. */
  worker: string;
  /** One past the highest series id to look at. */
  end: number;
  /** Liveness per series id. */
  alive: Uint8Array;
  /** Escaped label values of a series, or `undefined` while not yet known. */
  labels(id: number): readonly string[] | undefined;
  /** The series' grouping key (its escaped values joined by newlines), or `undefined`. */
  key(id: number): string | undefined;
  /** The store's values (`stride` per series). */
  values: Float64Array;
  /** Creation times, when the metric keeps them. */
  created: Float64Array | undefined;
  /** Another array of the store, by name. */
  array(name: string): Float64Array | undefined;
  /** The exemplar of slot `id * perSeries + j`; absent while the worker has none. */
  exemplar?: (slot: number) => Exemplar | undefined;
}

/** This worker's series of `store`. */
function localSource(store: SlotStore): SeriesSource {
  const index = store.index;
  const n = index.names.length;
  const extra = store.localArrays();
  return {
    worker: localWorker,
    end: index.end,
    alive: index.alive,
    labels: (id) => index.escaped.slice(id * n, id * n + n) as string[],
    key: (id) => {
      if (n === 0) return "";
      let key = index.escaped[id * n]!;
      for (let i = 1; i < n; i++) key += "\n" + index.escaped[id * n + i];
      return key;
    },
    values: store.values,
    created: store.created,
    array: (name) => extra[name],
    exemplar: store.exemplars === undefined ? undefined : store.exemplars.get.bind(store.exemplars),
  };
}

/** This worker's and every remote worker's series of `store`. */
function sourcesOf(store: SlotStore): SeriesSource[] {
  const out: SeriesSource[] = [localSource(store)];
  for (const remote of store.remotes.values()) {
    const alive = remote.refresh();
    const values = remote.float64("values");
    const exemplars = remote.exemplars();
    out.push({
      worker: remote.worker,
      end: Math.min(alive.length, Math.floor(values.length / store.stride)),
      alive,
      labels: (id) => remote.escaped[id],
      key: (id) => remote.keys[id],
      values,
      created: store.created ? remote.float64("created") : undefined,
      array: (name) => remote.float64(name),
      exemplar: exemplars === undefined ? undefined : exemplars.get.bind(exemplars),
    });
  }
  // One order whichever worker scrapes: float sums (a histogram's `_sum`)
  // depend on the order of their terms, and two workers adding the same
  // values in different orders could report a counter a few ulps lower than
  // the previous scrape, which Prometheus reads as a reset.
  return out.sort((a, b) => a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0);
}

/**
 * Assigns each distinct label set (plus, for per-worker series, the worker)
 * a group number, in first-seen order, and keeps the flat escaped label
 * values of the groups. With a `cap`, label sets past the first `cap`
 * distinct ones fold into the overflow group (every label value
 * `"__overflow__"`), as each worker's series index folds its own: a merged
 * scrape then carries at most `maxSeries` series a metric plus the overflow
 * one, however many workers each filled their own cap.
 */
export class SeriesGroups {
  /** Escaped label values, one set per group. */
  readonly labelValues: string[] = [];
  /** Number of groups. */
  size = 0;
  readonly #byKey = new Map<string, number>();
  readonly #perWorker: boolean;
  readonly #cap: number;
  /** The overflow group's key, and its number once it exists (-1 before). */
  readonly #overflowKey: string;
  #overflow = -1;
  readonly #labelCount: number;

  /**
   * With `perWorker`, the same labels from two workers are two groups, with
   * a `worker` label. `cap`: most groups other than the overflow one (for
   * `labelCount` labels); past it, new label sets join the overflow group.
   */
  constructor(perWorker = false, cap = Infinity, labelCount = 0) {
    this.#perWorker = perWorker;
    this.#cap = cap;
    this.#labelCount = labelCount;
    this.#overflowKey = new Array(labelCount).fill(OVERFLOW_VALUE).join("\n");
  }

  /**
   * The group of series `id` of `source`, whose grouping key is `key`; a new
   * one gets the next number. Escaped values hold no raw newline, so keys
   * joined with one are unambiguous.
   */
  group(source: SeriesSource, id: number, key: string): number {
    const k = this.#perWorker ? key + "\n" + source.worker : key;
    let g = this.#byKey.get(k);
    if (g === undefined) {
      const real = this.#overflow >= 0 ? this.size - 1 : this.size;
      if (k === this.#overflowKey || real >= this.#cap) return this.#overflowGroup();
      g = this.size++;
      this.#byKey.set(k, g);
      for (const v of source.labels(id)!) this.labelValues.push(v);
      if (this.#perWorker) this.labelValues.push(source.worker);
    }
    return g;
  }

  /** The overflow group, made the next group the first time. */
  #overflowGroup(): number {
    if (this.#overflow < 0) {
      this.#overflow = this.size++;
      this.#byKey.set(this.#overflowKey, this.#overflow);
      for (let i = 0; i < this.#labelCount; i++) this.labelValues.push(OVERFLOW_VALUE);
    }
    return this.#overflow;
  }
}

/**
 * What a metric type makes of its series at a scrape: it is handed every
 * series, each with the group (output series) it belongs to, and returns the
 * type-specific fields of the family.
 */
export interface Accumulator {
  /**
   * Adds series `id` of `source` to output series `group`; `first` when this
   * is the group's first series (groups are numbered 0, 1, 2, ... in the
   * order they first appear).
   */
  add(group: number, source: SeriesSource, id: number, first: boolean): void;
  /**
   * Adds every live series of `source` (a single process: each its own
   * group, in id order). The same as calling `add` for each, in a loop of
   * the type's own: a call per series made a 10,000-series collect 1.5x as
   * slow (bench/core.bench.ts, registry.metrics() row).
   */
  addLive(source: SeriesSource, count: number): void;
  /** The family's type-specific fields, once every series was added. */
  finish(): Pick<
    MetricFamily,
    "values" | "sums" | "counts" | "created" | "bounds" | "quantiles" | "exemplars"
  >;
}

/** The output series of a collection: their escaped label values and number. */
export interface CollectedSeries {
  /** Escaped label values, one set per output series (plus the worker, when per worker). */
  labelValues: string[];
  /** Number of output series. */
  size: number;
  /** Whether other workers' series were merged in. */
  merged: boolean;
}

/**
 * Hands every series of `store` to `acc`: in a single process each live
 * series is one output series, in its id order; with other workers'
 * copies attached, series are grouped by label set (or by label set and
 * worker, with `perWorker`) across every worker, in one order whichever
 * worker collects.
 */
export function collectSeries(
  store: SlotStore,
  acc: Accumulator,
  perWorker = false,
): CollectedSeries {
  if (store.remotes.size === 0) {
    const source = localSource(store);
    const index = store.index;
    const n = index.names.length;
    const size = index.size;
    acc.addLive(source, size);
    const labelValues = new Array<string>(size * n);
    let at = 0;
    for (let id = 0; id < index.end; id++) {
      if (!index.alive[id]) continue;
      for (let i = 0; i < n; i++) labelValues[at++] = index.escaped[id * n + i]!;
    }
    return { labelValues, size, merged: false };
  }
  // Capped as one worker's index is (per-worker series excepted: their
  // `worker` label makes each worker's its own, by design). Which label sets
  // keep a series of their own is stable from scrape to scrape (workers in
  // one order, each one's series in creation order) while series are only
  // added; removing series, or a label set folded on one worker showing up
  // unfolded on an earlier one, can move values out of the overflow series.
  const n = store.index.names.length;
  const cap = perWorker || n === 0 ? Infinity : store.index.maxSeries;
  const groups = new SeriesGroups(perWorker, cap, n);
  for (const source of sourcesOf(store)) {
    for (let id = 0; id < source.end; id++) {
      if (!source.alive[id]) continue;
      const key = source.key(id);
      if (key === undefined) continue; // created a moment ago; next scrape
      const before = groups.size;
      const g = groups.group(source, id, key);
      acc.add(g, source, id, g === before);
    }
  }
  return { labelValues: groups.labelValues, size: groups.size, merged: true };
}

/**
 * Slot `offset` of every live series of `source` in `array` (`stride` slots
 * per series), in id order, into a new array of `count` (the number of live
 * series). A typed array filled by index: growing plain arrays by `push`
 * made a 10,000-series collect twice as slow (bench/core.bench.ts,
 * registry.metrics() row).
 */
export function gather(
  source: SeriesSource,
  array: Float64Array,
  count: number,
  stride = 1,
  offset = 0,
): Float64Array {
  const out = new Float64Array(count);
  const alive = source.alive;
  let g = 0;
  for (let id = 0; id < source.end && g < count; id++) {
    if (alive[id] !== 0) out[g++] = array[id * stride + offset];
  }
  return out;
}

/**
 * The exemplars of a collection: per output slot (`perSeries` per output
 * series), the newest of the exemplars its series have in any worker.
 */
export class ExemplarPicker {
  readonly #perSeries: number;
  #out: (Exemplar | undefined)[] | undefined;

  constructor(perSeries: number) {
    this.#perSeries = perSeries;
  }

  /** Adds the exemplars of series `id` of `source` to output series `group`. */
  add(group: number, source: SeriesSource, id: number): void {
    const get = source.exemplar;
    if (get === undefined) return;
    const per = this.#perSeries;
    for (let j = 0; j < per; j++) {
      const e = get(id * per + j);
      if (e === undefined) continue;
      const out = this.#out ??= [];
      const cur = out[group * per + j];
      if (cur === undefined || e.timestamp > cur.timestamp) out[group * per + j] = e;
    }
  }

  /** Adds every live series of `source`, each its own group, in id order. */
  addLive(source: SeriesSource, count: number): void {
    if (source.exemplar === undefined) return;
    const alive = source.alive;
    for (let id = 0, g = 0; id < source.end && g < count; id++) {
      if (alive[id] !== 0) this.add(g++, source, id);
    }
  }

  /** `{ exemplars }` over `size` output series, or `{}` when there are none. */
  finish(size: number): Pick<MetricFamily, "exemplars"> {
    const out = this.#out;
    if (out === undefined) return {};
    out.length = size * this.#perSeries;
    return { exemplars: out };
  }
}

/**
 * Counter series: values added up across workers, `_created` the earliest.
 * Used by counters and by the registry's own counters.
 */
export class CounterSeries implements Accumulator {
  values: number[] | Float64Array;
  created: number[] | Float64Array;
  readonly #exemplars = new ExemplarPicker(1);

  constructor() {
    this.values = [];
    this.created = [];
  }

  add(g: number, source: SeriesSource, id: number, first: boolean): void {
    this.#exemplars.add(g, source, id);
    const values = this.values as number[];
    const created = this.created as number[];
    const v = source.values[id];
    const t = source.created![id];
    if (first) {
      values.push(v);
      created.push(t);
      return;
    }
    values[g] += v;
    if (t < created[g]) created[g] = t;
  }

  addLive(source: SeriesSource, count: number): void {
    this.values = gather(source, source.values, count);
    this.created = gather(source, source.created!, count);
    this.#exemplars.addLive(source, count);
  }

  finish(): Pick<MetricFamily, "values" | "created" | "exemplars"> {
    return {
      values: this.values,
      created: this.created,
      ...this.#exemplars.finish(this.values.length),
    };
  }
}

/**
 * The series of `family` (a merged collection) whose labels are `labels`,
 * or -1. For `get()` in cluster mode, which reports what a scrape would.
 */
export function seriesOf(
  family: MetricFamily,
  names: readonly string[],
  labels: Readonly<Record<string, unknown>>,
): number {
  const n = names.length;
  const wanted = names.map((name) => escapeLabelValue(String(labels[name])));
  for (let g = 0; g < family.size; g++) {
    let match = true;
    for (let i = 0; i < n && match; i++) match = family.labelValues[g * n + i] === wanted[i];
    if (match) return g;
  }
  return -1;
}
