/**
 * The series index shared by every metric type: it maps a label set to a
 * small integer series id, which the metric uses as an offset into its typed
 * arrays.
 *
 * Lookups walk a trie of `Map`s keyed by the label values, one level per label
 * name, so a one-off `inc({ model, endpoint })` builds no string key and two
 * different label sets can never collide (unlike a joined key such as
 * `"a|" + ""` versus `"a" + "|"`).
 *
 * Memory per series is kept small on purpose: the trie leaf entry, one slot
 * per label in a flat array of escaped label values (the caller's own string
 * when nothing needs escaping), and the metric's typed-array slots. The label
 * text of a series is escaped once, when the series is created; a scrape only
 * concatenates.
 *
 * @module
 */

import { escapeLabelValue } from "../model/escape.ts";
import { resize, type SeriesLog, toShared } from "./shared.ts";

/** The typed-array storage a metric keeps per series; the index calls it as series come and go. */
export interface SeriesStorage {
  /** Makes room for series ids below `capacity`, keeping existing values. */
  grow(capacity: number): void;
  /** A new series took `id`: zero its slots and stamp its creation time. */
  init(id: number): void;
  /** Series `id` was removed: zero its slots and unbind any child that pointed at it. */
  release(id: number): void;
}

/** The label value every label of the overflow series takes. */
export const OVERFLOW_VALUE = "__overflow__";

/** Default per-metric series cap. */
export const DEFAULT_MAX_SERIES = 10_000;

// deno-lint-ignore no-explicit-any
type Node = Map<string, any>;

/**
 * Label set → series id, with a per-metric cardinality cap. Internal: metric
 * classes own one each.
 */
export class SeriesIndex {
  /** Metric name, for error messages. */
  readonly metric: string;
  /** Declared label names, in order. */
  readonly names: readonly string[];
  /** Most distinct label sets held before new ones fold into the overflow series. */
  readonly maxSeries: number;
  /** Escaped label values, `names.length` per series id. */
  readonly escaped: (string | undefined)[] = [];
  /** 1 where a series id is in use. */
  alive: Uint8Array;
  /** Number of live series. */
  size = 0;
  /** One past the highest series id ever handed out; iteration bound. */
  end = 0;
  /** Called once per call that was folded into the overflow series. */
  onOverflow: (() => void) | undefined;

  #root: Node = new Map();
  #log: SeriesLog | undefined;
  #free: number[] = [];
  #capacity: number;
  #overflowId = -1;
  readonly #storage: SeriesStorage;

  constructor(metric: string, names: readonly string[], maxSeries: number, storage: SeriesStorage) {
    this.metric = metric;
    this.names = names;
    this.maxSeries = maxSeries;
    this.#storage = storage;
    this.#capacity = names.length === 0 ? 1 : 8;
    this.alive = new Uint8Array(this.#capacity);
    storage.grow(this.#capacity);
    if (names.length === 0) {
      this.alive[0] = 1;
      this.size = 1;
      this.end = 1;
      storage.init(0);
    }
  }

  /** The overflow series' id, or -1 while the metric has not reached its cap. */
  get overflowId(): number {
    return this.#overflowId;
  }

  /** Current capacity of the storage arrays, in series. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Returns the series id for `labels`, creating the series if needed (or
   * folding it into the overflow series once the cap is reached). Throws a
   * `TypeError` naming the metric and the label for a missing, unknown or
   * ill-typed label.
   */
  lookup(labels: Readonly<Record<string, unknown>>): number {
    const names = this.names;
    const last = names.length - 1;
    let count = 0;
    for (const _key in labels) count++;
    if (count !== names.length) this.#mismatch(labels);
    if (last < 0) return 0;
    let node = this.#root;
    for (let i = 0; i < last; i++) {
      let v = labels[names[i]];
      if (typeof v !== "string") v = this.#coerce(names[i], v, labels);
      const next = node.get(v as string);
      if (next === undefined) return this.#create(labels);
      node = next;
    }
    let v = labels[names[last]];
    if (typeof v !== "string") v = this.#coerce(names[last], v, labels);
    const id = node.get(v as string);
    return id === undefined ? this.#create(labels) : id;
  }

  /** Returns the series id for `labels`, or -1 when no such series exists. */
  find(labels: Readonly<Record<string, unknown>>): number {
    let count = 0;
    for (const _key in labels) count++;
    if (count !== this.names.length) this.#mismatch(labels);
    if (this.names.length === 0) return 0;
    return this.#findValues(this.#values(labels));
  }

  /** Removes the series for `labels`; returns whether it existed. */
  remove(labels: Readonly<Record<string, unknown>>): boolean {
    if (this.names.length === 0) {
      throw new TypeError(`Metric "${this.metric}" has no labels: use reset() instead of remove()`);
    }
    let count = 0;
    for (const _key in labels) count++;
    if (count !== this.names.length) this.#mismatch(labels);
    const values = this.#values(labels);
    const id = this.#findValues(values);
    if (id < 0) return false;
    this.#unlink(this.#root, values, 0);
    this.#release(id);
    return true;
  }

  /** Removes every labelled series; an unlabelled metric keeps its one series, zeroed. */
  clear(): void {
    if (this.names.length === 0) {
      this.#storage.release(0);
      this.#storage.init(0);
      return;
    }
    for (let id = 0; id < this.end; id++) if (this.alive[id]) this.#release(id);
    this.#root = new Map();
    this.#free = [];
    this.end = 0;
    this.escaped.length = 0;
  }

  #release(id: number): void {
    const n = this.names.length;
    this.alive[id] = 0;
    for (let i = 0; i < n; i++) this.escaped[id * n + i] = undefined;
    this.size--;
    this.#free.push(id);
    if (id === this.#overflowId) this.#overflowId = -1;
    this.#storage.release(id);
  }

  #unlink(node: Node, values: readonly string[], depth: number): void {
    const v = values[depth];
    if (depth === values.length - 1) {
      node.delete(v);
      return;
    }
    const child = node.get(v) as Node;
    this.#unlink(child, values, depth + 1);
    if (child.size === 0) node.delete(v);
  }

  #findValues(values: readonly string[]): number {
    let node = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      node = node.get(values[i]);
      if (node === undefined) return -1;
    }
    const id = node.get(values[last]);
    return id === undefined ? -1 : id;
  }

  /**
   * The label values as the trie indexes them: coerced to strings, and, where
   * a value holds lone surrogates, in the well-formed form the series was
   * created under (see `#create`).
   */
  #values(labels: Readonly<Record<string, unknown>>): string[] {
    const names = this.names;
    const out = new Array<string>(names.length);
    for (let i = 0; i < names.length; i++) {
      let v = labels[names[i]];
      if (typeof v !== "string") v = this.#coerce(names[i], v, labels);
      out[i] = (v as string).isWellFormed() ? v as string : (v as string).toWellFormed();
    }
    return out;
  }

  #create(labels: Readonly<Record<string, unknown>>): number {
    const values = this.#values(labels);
    // Two values that differ only in lone surrogates render the same, so they
    // share one series, indexed by the well-formed form, which the fast path
    // in `lookup` (raw values) misses: look again.
    const existing = this.#findValues(values);
    if (existing >= 0) return existing;
    // The overflow series does not count against the cap, so removing one
    // real series always makes room for one new label set.
    const real = this.#overflowId >= 0 ? this.size - 1 : this.size;
    if (real >= this.maxSeries) {
      this.onOverflow?.();
      if (this.#overflowId < 0) {
        const overflow = this.names.map(() => OVERFLOW_VALUE);
        const existing = this.#findValues(overflow);
        this.#overflowId = existing >= 0 ? existing : this.#insert(overflow);
      }
      return this.#overflowId;
    }
    return this.#insert(values);
  }

  #insert(values: readonly string[]): number {
    const id = this.#free.length > 0 ? this.#free.pop()! : this.end++;
    if (id >= this.#capacity) this.#grow(id + 1);
    let node = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]);
      if (next === undefined) node.set(values[i], next = new Map());
      node = next;
    }
    node.set(values[last], id);
    const n = values.length;
    for (let i = 0; i < n; i++) this.escaped[id * n + i] = escapeLabelValue(values[i]);
    this.size++;
    this.#storage.init(id);
    // Shared: zeroed slots first, then the labels, then the live flag, so a
    // reader in another worker never pairs a series with stale values or labels.
    this.#log?.append(id, this.escaped.slice(id * n, id * n + n) as string[]);
    this.alive[id] = 1;
    return id;
  }

  /** Most series ids this index can ever hand out (its storage's final capacity). */
  get maxCapacity(): number {
    return this.names.length === 0 ? 1 : this.maxSeries + 1;
  }

  /**
   * Moves the liveness flags into shared memory and publishes every live
   * series, and each new one from now on, to `log`.
   */
  share(log: SeriesLog): void {
    this.alive = toShared(this.alive, this.maxCapacity);
    this.#log = log;
    const n = this.names.length;
    if (n === 0) return;
    for (let id = 0; id < this.end; id++) {
      if (this.alive[id]) log.append(id, this.escaped.slice(id * n, id * n + n) as string[]);
    }
  }

  #grow(needed: number): void {
    let cap = this.#capacity;
    while (cap < needed) cap *= 2;
    const limit = this.maxSeries + 1; // real series plus the overflow series
    if (cap > limit) cap = Math.max(limit, needed);
    this.alive = resize(this.alive, cap);
    this.#capacity = cap;
    this.#storage.grow(cap);
  }

  #coerce(name: string, v: unknown, labels: Readonly<Record<string, unknown>>): string {
    if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
    // Absent with the right number of keys: some other key is unknown (a
    // typo, most likely), which `#mismatch` names along with the declared ones.
    if (v === undefined && !(name in labels)) this.#mismatch(labels);
    throw new TypeError(
      `Metric "${this.metric}": label "${name}" must be a string or a number, got ${
        v === null ? "null" : typeof v
      }`,
    );
  }

  #mismatch(labels: Readonly<Record<string, unknown>>): never {
    if (labels === null || typeof labels !== "object") {
      throw new TypeError(`Metric "${this.metric}": labels must be an object`);
    }
    for (const key in labels) {
      if (!this.names.includes(key)) {
        throw new TypeError(
          this.names.length === 0
            ? `Metric "${this.metric}" has no labels, but label "${key}" was given`
            : `Metric "${this.metric}": unknown label "${key}" (declared: ${
              this.names.join(", ")
            })`,
        );
      }
    }
    for (const name of this.names) {
      if (!(name in labels)) {
        throw new TypeError(`Metric "${this.metric}": missing label "${name}"`);
      }
    }
    throw new TypeError(`Metric "${this.metric}": invalid labels`);
  }
}
