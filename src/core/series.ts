/**
 * The series index shared by every metric type: it maps a label set to a
 * small integer series id, which the metric uses as an offset into its typed
 * arrays.
 *
 * Lookups walk a trie keyed by the label values, one level per label name, so
 * a one-off `inc({ model, endpoint })` builds no string key and two different
 * label sets can never collide (unlike a joined key such as `"a|" + ""`
 * versus `"a" + "|"`).
 *
 * Memory per series is kept small on purpose, whatever the label order: one
 * slot per label in a flat array of escaped label values (the caller's own
 * string when nothing needs escaping), the metric's typed-array slots, and the
 * trie's share. The label text of a series is escaped once, when the series
 * is created; a scrape only concatenates.
 *
 * The trie's nodes come in two sizes. A `Map` costs about 184 bytes even with
 * one entry, so a trie of `Map`s only was cheap when the first label had few
 * values (100 `model` × 1,000 `endpoint`: 67 bytes per series, 0.41 of
 * prom-client 15.1.3's 166) and costly when it had many (100,000 `user_id` ×
 * 2 `kind`: 100,000 two-entry `Map`s, 151 bytes per series, as much as
 * prom-client). So a node below the root holds up to `COMPACT_MAX` (8)
 * entries compactly and becomes a `Map` only past that:
 *
 * - an inner node (every label but the last) as a flat array
 *   `[value0, child0, value1, child1, ...]` of exactly its length (64 bytes
 *   for one entry), scanned linearly;
 * - a last-level node as a chain through the series themselves: the parent
 *   holds the first series id, `#next` (an `Int32Array`, 4 bytes per series)
 *   the next one, and each series' own last label value (its escaped value,
 *   or the raw one in `#rawLast` when escaping changed it) is what the scan
 *   compares. A node of two series costs 8 bytes instead of a `Map`.
 *
 * A `Map` that shrinks to `COMPACT_MAX / 2` entries is demoted again. The
 * root is always a `Map`: there is one per metric, so compacting it saves
 * nothing, and one-label metrics keep hashed lookups.
 *
 * Measured with `bench/memory.ts` (heap + external per series, label strings
 * held by the caller; Deno 2.9.6, 2026-12-02), before → after:
 *
 * - 100 `model` × 1,000 `endpoint`: 67 → 72 bytes (prom-client: 166; ratio
 *   0.41 → 0.43). The 4 bytes of `#next`, and nothing to compact.
 * - 100,000 `user_id` × 2 `kind`: 151 → 63 bytes (prom-client: 151; ratio
 *   1.00 → 0.42).
 * - Also measured once (a scratch script, not in the bench): 10,000 × 10 ×
 *   2, 173 → 85 bytes. A last level of 9 to 16 siblings under each parent
 *   is still one small `Map` each: 20,000 × 9, 98 → 102 bytes; 2,000 × 5 ×
 *   10, 107 → 108 bytes.
 *
 * The price is a linear scan where a node is small. Timed with `deno bench`
 * (p75) in separate processes, old and new alternating, 8 to 12 runs each,
 * on a shared 2-core machine (the ranges are over runs where neither side
 * was disturbed): a one-off `inc(labels)` through `Map`s (`core.bench.ts`,
 * 10 × 10) costs about 1 ns (3 to 5%) more; through 4-series chains at the
 * last level (5 × 4), 12 to 18% more; through full 8-series chains (3 × 8),
 * 30 to 46% (about 16 ns) more; through 2-series chains (500 × 2), the
 * same. The root's step then skipped the test of the node's kind (the root
 * is always a `Map`): in one process, the pre-compact index, the compact
 * one and this alternating in three orders (10 × 10 one-off `inc(labels)`,
 * 500 batches each, medians, load average 11), 51.8, 55.1 and 52.9 ns on
 * average: two thirds of the gap are back. Bound children do not look
 * anything up and cost what they did. Where one-off lookups through small nodes are hot,
 * hold the child from `labels()`.
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

/**
 * Entries a compact node (a flat array, or a leaf chain) holds before it is
 * promoted to a `Map`; a `Map` that shrinks to half this is demoted again.
 */
export const COMPACT_MAX = 8;

/**
 * A trie node. Inner levels (every label but the last): a flat array
 * `[value0, child0, value1, child1, ...]` of at most `COMPACT_MAX` entries,
 * or a `Map` from value to child. The last level: the head of a chain of
 * series ids (`-1` when empty; the ids link through `#next`, and each id's
 * value is its own label value), or a `Map` from value to series id.
 */
type Node = Map<string, Node> | (string | Node)[] | number;

/** The child of compact inner node `node` under `value`, or `undefined`. */
function scanCompact(node: (string | Node)[], value: string): Node | undefined {
  for (let j = 0; j < node.length; j += 2) {
    if (node[j] === value) return node[j + 1] as Node;
  }
  return undefined;
}

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

  /**
   * Always a `Map`, never compacted: there is one per metric, so compacting
   * it would save nothing, and one-label metrics keep hashed lookups.
   */
  #root: Map<string, Node> = new Map();
  /** Leaf chains: the next series id under the same parent, or -1; one slot per id. */
  #next: Int32Array;
  /**
   * Raw (well-formed) last-label values of the series whose escaped value
   * differs from it, by id; `undefined` while there is none. A chain compares
   * a lookup's value with each series' last escaped value, which is the raw
   * value itself unless escaping changed it.
   */
  #rawLast: Map<number, string> | undefined;
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
    this.#next = new Int32Array(names.length === 0 ? 0 : this.#capacity);
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
    let node: Node = this.#root;
    if (last > 0) {
      // The root is always a Map: its step needs no test of the node's kind
      // (about 1 ns of a two-label one-off inc(labels); see the module note).
      let v = labels[names[0]];
      if (typeof v !== "string") v = this.#coerce(names[0], v, labels);
      const next = this.#root.get(v as string);
      if (next === undefined) return this.#create(labels);
      node = next;
    }
    for (let i = 1; i < last; i++) {
      let v = labels[names[i]];
      if (typeof v !== "string") v = this.#coerce(names[i], v, labels);
      const next: Node | undefined = node instanceof Map
        ? node.get(v as string)
        : scanCompact(node as (string | Node)[], v as string);
      if (next === undefined) return this.#create(labels);
      node = next;
    }
    let v = labels[names[last]];
    if (typeof v !== "string") v = this.#coerce(names[last], v, labels);
    // Out of line: of the shapes measured, this kept one-off lookups through
    // `Map`s closest to what they cost before chains existed.
    if (typeof node === "number") return this.#lookupChain(node, v as string, labels);
    const id = (node as Map<string, number>).get(v as string);
    return id === undefined ? this.#create(labels) : id;
  }

  /** `lookup`'s last step where the last level is a chain. */
  #lookupChain(head: number, value: string, labels: Readonly<Record<string, unknown>>): number {
    const id = this.#scanChain(head, value);
    return id < 0 ? this.#create(labels) : id;
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
    this.#drop(this.#root, values, 0, id);
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
    this.#rawLast = undefined;
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
    if (this.#rawLast?.delete(id) && this.#rawLast.size === 0) this.#rawLast = undefined;
    if (id === this.#overflowId) this.#overflowId = -1;
    this.#storage.release(id);
  }

  /** A node with no entries for trie level `depth` (> 0: the root is the one `Map`). */
  #emptyNode(depth: number): Node {
    return depth === this.names.length - 1 ? -1 : [];
  }

  /** The series in the chain starting at `head` whose last label value is `value`, or -1. */
  #scanChain(head: number, value: string): number {
    const escaped = this.escaped;
    const next = this.#next;
    const n = this.names.length;
    const raw = this.#rawLast;
    if (raw === undefined) {
      for (let id = head; id >= 0; id = next[id]) if (escaped[id * n + n - 1] === value) return id;
    } else {
      for (let id = head; id >= 0; id = next[id]) {
        if ((raw.get(id) ?? escaped[id * n + n - 1]) === value) return id;
      }
    }
    return -1;
  }

  /** The raw (well-formed) last label value of series `id`. */
  #lastValue(id: number): string {
    const n = this.names.length;
    return this.#rawLast?.get(id) ?? this.escaped[id * n + n - 1]!;
  }

  /**
   * Adds series `id` under `values` to `node` (trie level `depth`) and
   * returns the node that replaces it: the same one, a grown copy of a
   * compact array, a chain with a new head, or a `Map` it was promoted to.
   */
  #put(node: Node, values: readonly string[], depth: number, id: number): Node {
    const v = values[depth];
    if (depth === values.length - 1) {
      if (typeof node !== "number") return (node as Map<string, Node>).set(v, id);
      const next = this.#next;
      let length = 0;
      for (let x = node; x >= 0; x = next[x]) length++;
      if (length < COMPACT_MAX) {
        next[id] = node;
        return id;
      }
      const map = new Map<string, Node>();
      for (let x = node; x >= 0; x = next[x]) map.set(this.#lastValue(x), x);
      return map.set(v, id);
    }
    if (node instanceof Map) {
      const child = node.get(v);
      const updated = this.#put(child ?? this.#emptyNode(depth + 1), values, depth + 1, id);
      if (updated !== child) node.set(v, updated);
      return node;
    }
    const compact = node as (string | Node)[];
    for (let j = 0; j < compact.length; j += 2) {
      if (compact[j] === v) {
        const child = compact[j + 1] as Node;
        const updated = this.#put(child, values, depth + 1, id);
        if (updated !== child) compact[j + 1] = updated;
        return compact;
      }
    }
    const child = this.#put(this.#emptyNode(depth + 1), values, depth + 1, id);
    // `concat` allocates exactly the length it needs; `push` would leave
    // room for about 16 more elements in every small node.
    if (compact.length < 2 * COMPACT_MAX) return compact.concat([v, child]);
    const map = new Map<string, Node>();
    for (let j = 0; j < compact.length; j += 2) {
      map.set(compact[j] as string, compact[j + 1] as Node);
    }
    return map.set(v, child);
  }

  /**
   * Removes series `id`, indexed under `values`, from `node` (trie level
   * `depth`) and returns the node that replaces it, or `undefined` when it is
   * left empty. A `Map` left with `COMPACT_MAX / 2` entries or fewer is
   * demoted to a compact array or a chain.
   */
  #drop(node: Node, values: readonly string[], depth: number, id: number): Node | undefined {
    const v = values[depth];
    const next = this.#next;
    if (depth === values.length - 1) {
      if (typeof node === "number") {
        if (node === id) return next[id] < 0 ? undefined : next[id];
        let x = node;
        while (next[x] !== id) x = next[x];
        next[x] = next[id];
        return node;
      }
      const map = node as Map<string, number>;
      map.delete(v);
      if (map.size === 0) return undefined;
      if (map.size > COMPACT_MAX / 2 || depth === 0) return map;
      let head = -1;
      for (const x of map.values()) {
        next[x] = head;
        head = x;
      }
      return head;
    }
    if (node instanceof Map) {
      const child = node.get(v)!;
      const updated = this.#drop(child, values, depth + 1, id);
      if (updated === undefined) node.delete(v);
      else if (updated !== child) node.set(v, updated);
      if (node.size === 0) return undefined;
      if (node.size > COMPACT_MAX / 2 || depth === 0) return node;
      const compact = new Array<string | Node>(2 * node.size);
      let j = 0;
      for (const [value, child] of node) {
        compact[j++] = value;
        compact[j++] = child;
      }
      return compact;
    }
    const compact = node as (string | Node)[];
    let j = 0;
    while (compact[j] !== v) j += 2;
    const child = compact[j + 1] as Node;
    const updated = this.#drop(child, values, depth + 1, id);
    if (updated !== undefined) {
      if (updated !== child) compact[j + 1] = updated;
      return compact;
    }
    if (compact.length === 2) return undefined;
    const out = new Array<string | Node>(compact.length - 2);
    for (let k = 0, o = 0; k < compact.length; k += 2) {
      if (k === j) continue;
      out[o++] = compact[k];
      out[o++] = compact[k + 1];
    }
    return out;
  }

  #findValues(values: readonly string[]): number {
    let node: Node | undefined = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      node = node instanceof Map
        ? node.get(values[i])
        : scanCompact(node as (string | Node)[], values[i]);
      if (node === undefined) return -1;
    }
    return typeof node === "number"
      ? this.#scanChain(node, values[last])
      : (node as Map<string, number>).get(values[last]) ?? -1;
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
    // in `lookup` (raw values) misses: look again, where a value was not
    // well-formed. Otherwise `lookup` compared exactly these values (numbers
    // coerced the same way), and its miss stands.
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      const raw = labels[names[i]];
      if (typeof raw === "string" && raw !== values[i]) {
        const existing = this.#findValues(values);
        if (existing >= 0) return existing;
        break;
      }
    }
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
    const n = values.length;
    for (let i = 0; i < n; i++) this.escaped[id * n + i] = escapeLabelValue(values[i]);
    if (this.escaped[id * n + n - 1] !== values[n - 1]) {
      (this.#rawLast ??= new Map()).set(id, values[n - 1]);
    }
    this.#put(this.#root, values, 0, id); // the root is a Map: updated in place
    this.size++;
    this.#storage.init(id);
    // Shared: zeroed slots first, then the labels, then the live flag, so a
    // reader in another worker never pairs a series with stale values or labels.
    this.#log?.append(id, this.escaped.slice(id * n, id * n + n) as string[]);
    this.alive[id] = 1;
    return id;
  }

  /**
   * Internal, for tests: how the trie node reached through the (well-formed)
   * label values `prefix` is stored: `"array"` (compact inner node),
   * `"chain"` (compact last level), `"map"`, or `undefined` when no series
   * has that prefix.
   */
  nodeKind(prefix: readonly string[]): "array" | "chain" | "map" | undefined {
    if (prefix.length >= this.names.length) {
      throw new RangeError(`nodeKind: a prefix of at most ${this.names.length - 1} values`);
    }
    let node: Node | undefined = this.#root;
    for (const value of prefix) {
      node = node instanceof Map ? node.get(value) : scanCompact(node as (string | Node)[], value);
      if (node === undefined) return undefined;
    }
    if (node instanceof Map) return node.size === 0 ? undefined : "map";
    if (typeof node === "number") return node < 0 ? undefined : "chain";
    return (node as unknown[]).length === 0 ? undefined : "array";
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
    const next = new Int32Array(cap);
    next.set(this.#next);
    this.#next = next;
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
