/**
 * Collection across workers: the series of this worker and of every attached
 * remote copy, grouped by label set, so a scrape answered by any worker
 * reports the totals of all of them.
 *
 * @module
 */

import type { MetricFamily } from "./family.ts";
import { escapeLabelValue } from "./labels.ts";
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
}

/** This worker's and every remote worker's series of `store`. */
export function sourcesOf(
  store: SlotStore,
  extra: Record<string, Float64Array> = {},
): SeriesSource[] {
  const index = store.index;
  const n = index.names.length;
  const out: SeriesSource[] = [{
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
  }];
  for (const remote of store.remotes.values()) {
    const alive = remote.refresh();
    const values = remote.float64("values");
    out.push({
      worker: remote.worker,
      end: Math.min(alive.length, Math.floor(values.length / store.stride)),
      alive,
      labels: (id) => remote.escaped[id],
      key: (id) => remote.keys[id],
      values,
      created: store.created ? remote.float64("created") : undefined,
      array: (name) => remote.float64(name),
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
 * values of the groups.
 */
export class SeriesGroups {
  /** Escaped label values, one set per group. */
  readonly labelValues: string[] = [];
  /** Number of groups. */
  size = 0;
  readonly #byKey = new Map<string, number>();
  readonly #perWorker: boolean;

  /** With `perWorker`, the same labels from two workers are two groups, with a `worker` label. */
  constructor(perWorker = false) {
    this.#perWorker = perWorker;
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
      g = this.size++;
      this.#byKey.set(k, g);
      for (const v of source.labels(id)!) this.labelValues.push(v);
      if (this.#perWorker) this.labelValues.push(source.worker);
    }
    return g;
  }
}

/**
 * Visits every live series with known labels of every source, with its group.
 */
export function forEachSeries(
  sources: readonly SeriesSource[],
  groups: SeriesGroups,
  visit: (group: number, source: SeriesSource, id: number) => void,
): void {
  for (const source of sources) {
    for (let id = 0; id < source.end; id++) {
      if (!source.alive[id]) continue;
      const key = source.key(id);
      if (key === undefined) continue; // created a moment ago; next scrape
      visit(groups.group(source, id, key), source, id);
    }
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
