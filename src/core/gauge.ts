/**
 * Gauge: a value that goes up and down.
 *
 * @module
 */

import { startTimer, type Timer } from "./clock.ts";
import type { MetricFamily } from "./family.ts";
import type { LabelValues } from "./labels.ts";
import { Metric, type MetricOptions } from "./metric.ts";
import { defaultRegistry } from "./registry.ts";
import { SeriesIndex, type SeriesStorage } from "./series.ts";

/** Options for a {@linkcode Gauge}. */
export interface GaugeOptions<L extends string = string> extends MetricOptions<L> {
  /**
   * Called at every scrape, before the gauge is read, to bring it up to date
   * (`gauge.set(queue.length)`). May be async. If it throws or rejects, the
   * gauge is left out of that scrape and counted in
   * `metrics_collect_errors_total`.
   */
  collect?: (gauge: Gauge<L>) => void | Promise<void>;
}

function notNumber(metric: string, value: unknown): TypeError {
  return new TypeError(`Gauge "${metric}": value must be a number, got ${typeof value}`);
}

class GaugeStore implements SeriesStorage {
  values: Float64Array = new Float64Array(0);
  readonly children: (GaugeChild | undefined)[] = [];
  readonly index: SeriesIndex;

  constructor(name: string, labelNames: readonly string[], maxSeries: number) {
    this.index = new SeriesIndex(name, labelNames, maxSeries, this);
  }

  grow(capacity: number): void {
    const values = new Float64Array(capacity);
    values.set(this.values);
    this.values = values;
    for (const child of this.children) if (child !== undefined) child.v = values;
  }

  init(id: number): void {
    this.values[id] = 0;
  }

  release(id: number): void {
    this.values[id] = 0;
    const child = this.children[id];
    if (child !== undefined) {
      child.i = -1;
      this.children[id] = undefined;
    }
  }

  /** The series id a child writes to, re-creating its series if it was removed. */
  slot(child: GaugeChild, labels: Readonly<Record<string, string | number>>): number {
    if (child.i >= 0) return child.i;
    const id = this.index.lookup(labels);
    if (this.children[id] === undefined) {
      this.children[id] = child;
      child.i = id;
      // The store may have grown while the child was detached.
      child.v = this.values;
    }
    return id;
  }
}

/**
 * A gauge bound to one label set, returned (and cached) by
 * {@linkcode Gauge.labels}.
 *
 * @example
 * ```ts
 * import { Gauge, Registry } from "@securetrack/metrics";
 * const g = new Gauge({ name: "pool_in_use", help: "Connections in use", labelNames: ["pool"], registry: new Registry() });
 * const db = g.labels({ pool: "db" });
 * db.inc();
 * db.dec();
 * ```
 */
export class GaugeChild {
  /** @internal Storage array (replaced when the store grows). */
  v: Float64Array;
  /** @internal Series id, or -1 once the series was removed. */
  i: number;
  readonly #store: GaugeStore;
  readonly #labels: Readonly<Record<string, string | number>>;
  readonly #name: string;

  /** @internal Use {@linkcode Gauge.labels}. */
  constructor(
    name: string,
    store: GaugeStore,
    id: number,
    labels: Readonly<Record<string, string | number>>,
  ) {
    this.#name = name;
    this.#store = store;
    this.v = store.values;
    this.i = id;
    this.#labels = labels;
  }

  /** Sets the value (any number, `NaN` and infinities included). */
  set(value: number): void {
    if (typeof value !== "number") throw notNumber(this.#name, value);
    const i = this.i >= 0 ? this.i : this.#store.slot(this, this.#labels);
    this.#store.values[i] = value;
  }

  /** Adds `value` (default 1). */
  inc(value = 1): void {
    if (typeof value !== "number") throw notNumber(this.#name, value);
    const i = this.i;
    if (i >= 0) this.v[i] += value;
    else {
      const id = this.#store.slot(this, this.#labels); // may grow (replace) the values array
      this.#store.values[id] += value;
    }
  }

  /** Subtracts `value` (default 1). */
  dec(value = 1): void {
    this.inc(-value);
  }

  /** Sets the value to the current time, in seconds since the epoch. */
  setToCurrentTime(): void {
    this.set(Date.now() / 1000);
  }

  /** Starts a timer that sets the gauge to the elapsed seconds when stopped. */
  startTimer(): Timer {
    return startTimer((seconds) => this.set(seconds));
  }

  /** Current value of this series. */
  get(): number {
    return this.i >= 0 ? this.v[this.i] : 0;
  }
}

/**
 * A Prometheus gauge: a value that can go up and down, or be set. Accepts any
 * number, including `NaN` and infinities. With a `collect` callback, the
 * gauge is brought up to date at each scrape.
 *
 * @example
 * ```ts
 * import { Gauge, Registry } from "@securetrack/metrics";
 * const registry = new Registry();
 * const sessions = new Gauge({ name: "app_active_sessions", help: "Number of active user sessions", registry });
 * sessions.inc();
 * sessions.dec();
 * const heap = new Gauge({
 *   name: "heap_used_bytes",
 *   help: "Heap in use",
 *   registry,
 *   collect: (g) => g.set(42),
 * });
 * console.log(await registry.metrics());
 * ```
 */
export class Gauge<L extends string = string> extends Metric<L> {
  readonly #s: GaugeStore;
  readonly #collect: ((gauge: Gauge<L>) => void | Promise<void>) | undefined;

  /** Creates the gauge and registers it (see {@linkcode MetricOptions}). */
  constructor(options: GaugeOptions<L>) {
    super(options, "gauge", [], defaultRegistry);
    if (options.collect !== undefined && typeof options.collect !== "function") {
      throw new TypeError(`Gauge "${this.name}": collect must be a function`);
    }
    this.#collect = options.collect;
    const existing = this.existing();
    if (existing !== undefined) {
      this.#s = existing.#s;
    } else {
      this.#s = new GaugeStore(this.name, this.labelNames, this.maxSeries);
      this.#s.index.onOverflow = () => this.countOverflow();
      this.registry?.register(this);
    }
  }

  #id(labels: LabelValues<L> | number | undefined): number {
    if (typeof labels === "object" && labels !== null) return this.#s.index.lookup(labels);
    if (this.labelNames.length !== 0) this.#s.index.lookup({});
    return 0;
  }

  // Each writer below looks the series up before reading `this.#s.values`: a
  // lookup that creates a series may grow the store and replace that array,
  // and `values[this.#id(labels)] = v` would read the old array first and
  // write into it.

  /** Sets the value: `set(5)` or `set(labels, 5)`. */
  set(labels: LabelValues<L> | number, value?: number): void {
    const v = typeof labels === "number" ? labels : value;
    if (typeof v !== "number") throw notNumber(this.name, v);
    const id = this.#id(labels);
    this.#s.values[id] = v;
  }

  /** Adds to the value: `inc()`, `inc(2)`, `inc(labels)`, `inc(labels, 2)`. */
  inc(labels?: LabelValues<L> | number, value?: number): void {
    const v = typeof labels === "object" && labels !== null ? value ?? 1 : labels ?? 1;
    if (typeof v !== "number") throw notNumber(this.name, v);
    const id = this.#id(labels);
    this.#s.values[id] += v;
  }

  /** Subtracts from the value: `dec()`, `dec(2)`, `dec(labels)`, `dec(labels, 2)`. */
  dec(labels?: LabelValues<L> | number, value?: number): void {
    const v = typeof labels === "object" && labels !== null ? value ?? 1 : labels ?? 1;
    if (typeof v !== "number") throw notNumber(this.name, v);
    const id = this.#id(labels);
    this.#s.values[id] -= v;
  }

  /** Sets the value to the current time in seconds since the epoch. */
  setToCurrentTime(labels?: LabelValues<L>): void {
    const id = this.#id(labels);
    this.#s.values[id] = Date.now() / 1000;
  }

  /** Starts a timer that sets the gauge to the elapsed seconds when stopped. */
  startTimer(labels?: Partial<LabelValues<L>>): Timer {
    return startTimer((seconds, extra) => {
      const all = labels === undefined && extra === undefined
        ? undefined
        : { ...labels, ...extra } as LabelValues<L>;
      const id = this.#id(all);
      this.#s.values[id] = seconds;
    });
  }

  /** Returns the cached child for `labels`, creating the series if needed. */
  labels(labels: LabelValues<L>): GaugeChild {
    const s = this.#s;
    const id = s.index.lookup(labels);
    let child = s.children[id];
    if (child === undefined) {
      child = new GaugeChild(this.name, s, id, { ...labels });
      s.children[id] = child;
    }
    return child;
  }

  /** Current value for `labels` (or of the unlabelled series); 0 when the series does not exist. */
  get(labels?: LabelValues<L>): number {
    const id = this.#s.index.find(labels ?? {});
    return id < 0 ? 0 : this.#s.values[id];
  }

  /** Removes the series for `labels`; returns whether it existed. */
  remove(labels: LabelValues<L>): boolean {
    return this.#s.index.remove(labels);
  }

  /** Removes every labelled series (an unlabelled gauge goes back to 0). */
  reset(): void {
    this.#s.index.clear();
  }

  /** Runs the `collect` callback, if any, then returns the current state. */
  collect(): MetricFamily | Promise<MetricFamily> {
    if (this.#collect === undefined) return this.#snapshot();
    const r = this.#collect(this);
    return r instanceof Promise ? r.then(() => this.#snapshot()) : this.#snapshot();
  }

  #snapshot(): MetricFamily {
    const s = this.#s;
    const index = s.index;
    const values: number[] = [];
    const labelValues: string[] = [];
    const n = this.labelNames.length;
    for (let id = 0; id < index.end; id++) {
      if (!index.alive[id]) continue;
      values.push(s.values[id]);
      for (let i = 0; i < n; i++) labelValues.push(index.escaped[id * n + i]!);
    }
    return {
      name: this.name,
      help: this.help,
      type: "gauge",
      unit: this.unit,
      labelNames: this.labelNames,
      labelValues,
      size: values.length,
      values,
    };
  }
}
