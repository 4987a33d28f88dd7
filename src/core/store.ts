/**
 * Per-series slot storage shared by Counter, Gauge and Histogram: a
 * `Float64Array` of `stride` slots per series id, optional creation times,
 * the children bound to series, and (once shared) the other workers' copies.
 *
 * @module
 */

import { ExemplarSlots } from "./exemplar.ts";
import { SeriesIndex, type SeriesStorage } from "./series.ts";
import { RemoteSeries, resize, SeriesLog, type SharedSegment, toShared } from "./shared.ts";

/** A child bound to one series: writes go to `v[i * stride ...]`; `i` is -1 once removed. */
export interface SlotChild {
  /** The store's values array (replaced when the store grows or is shared). */
  v: Float64Array;
  /** Series id, or -1 once the series was removed. */
  i: number;
}

/** Slot storage for one metric; every metric object registered under one name shares it. */
export class SlotStore<C extends SlotChild = SlotChild> implements SeriesStorage {
  /** `stride` values per series. */
  values: Float64Array = new Float64Array(0);
  /** Creation time per series (seconds since the epoch), when kept. */
  created: Float64Array | undefined;
  /** Children by series id. */
  readonly children: (C | undefined)[] = [];
  /** Slots per series. */
  readonly stride: number;
  /** Label sets to series ids. */
  readonly index: SeriesIndex;
  /** Other workers' copies of this metric, by worker id (empty unless shared). */
  readonly remotes: Map<string, RemoteSeries> = new Map();
  /** Exemplar slots per series (0: this type has no exemplars). */
  readonly exemplarsPerSeries: number;
  /** The exemplars, made with the first one (or when shared). */
  exemplars: ExemplarSlots | undefined;
  #segment: SharedSegment | undefined;

  constructor(
    name: string,
    labelNames: readonly string[],
    maxSeries: number,
    stride: number,
    keepCreated: boolean,
    exemplarsPerSeries = 0,
  ) {
    this.stride = stride;
    this.exemplarsPerSeries = exemplarsPerSeries;
    if (keepCreated) this.created = new Float64Array(0);
    this.index = new SeriesIndex(name, labelNames, maxSeries, this);
  }

  grow(capacity: number): void {
    this.values = resize(this.values, capacity * this.stride);
    if (this.created) this.created = resize(this.created, capacity);
    this.#rebind();
  }

  init(id: number): void {
    this.values.fill(0, id * this.stride, (id + 1) * this.stride);
    if (this.created) this.created[id] = Date.now() / 1000;
  }

  /** The exemplar slots, made on first use. */
  exemplarSlots(): ExemplarSlots {
    return this.exemplars ??= new ExemplarSlots(this.exemplarsPerSeries);
  }

  release(id: number): void {
    this.values.fill(0, id * this.stride, (id + 1) * this.stride);
    this.exemplars?.clear(id);
    const child = this.children[id];
    if (child !== undefined) {
      child.i = -1;
      this.children[id] = undefined;
    }
  }

  /**
   * The series id `child` writes to: its own, or, if its series was removed,
   * the series for `labels` again (re-created if needed), to which it is
   * bound again. At the series cap that is the overflow series: its id is
   * returned for this one write but not bound, so the child stays detached
   * (`i` -1) and each later write comes back here, is counted as folded (as
   * a labelled call is), and re-creates the child's own series once a
   * removal makes room. Only this rare path pays for the check; a bound
   * child's writes do not.
   */
  revive(child: C, labels: Readonly<Record<string, string | number>>): number {
    if (child.i >= 0) return child.i;
    const id = this.index.lookup(labels);
    if (this.children[id] === undefined && id !== this.index.overflowId) {
      this.children[id] = child;
      child.i = id;
    }
    // The store may have grown while the child was detached.
    child.v = this.values;
    return id;
  }

  /**
   * Arrays beyond `values` and `created` that other workers need, moved into
   * shared memory (for a subclass to override).
   */
  protected shareExtras(): Record<string, Float64Array> {
    return {};
  }

  /**
   * This worker's arrays beyond `values` and `created`, by the names other
   * workers read them under (for a subclass to override).
   */
  localArrays(): Record<string, Float64Array> {
    return {};
  }

  /** Moves this store into shared memory (once) and describes it for other workers. */
  share(worker: string, metric: string, signature: string): SharedSegment {
    if (this.#segment !== undefined) return this.#segment;
    const extra = this.shareExtras();
    const max = this.index.maxCapacity;
    this.values = toShared(this.values, max * this.stride);
    if (this.created) this.created = toShared(this.created, max);
    this.#rebind();
    const log = new SeriesLog();
    this.index.share(log);
    const arrays: Record<string, SharedArrayBuffer> = {
      values: this.values.buffer as SharedArrayBuffer,
    };
    if (this.created) arrays.created = this.created.buffer as SharedArrayBuffer;
    for (const [name, a] of Object.entries(extra)) arrays[name] = a.buffer as SharedArrayBuffer;
    if (this.exemplarsPerSeries > 0) Object.assign(arrays, this.exemplarSlots().share(max));
    return this.#segment = {
      id: crypto.randomUUID(),
      worker,
      metric,
      signature,
      alive: this.index.alive.buffer as SharedArrayBuffer,
      log: log.buffer,
      arrays,
    };
  }

  /** Adds (or replaces) another worker's copy of this metric. */
  attach(segment: SharedSegment): void {
    if (this.remotes.get(segment.worker)?.reads(segment)) return;
    this.remotes.set(segment.worker, new RemoteSeries(segment, this.index.names.length));
  }

  #rebind(): void {
    for (const child of this.children) if (child !== undefined) child.v = this.values;
  }
}
