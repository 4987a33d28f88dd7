/**
 * Gauge: a value that goes up and down.
 *
 * @module
 */

import { startTimer, type Timer } from "./clock.ts";
import type { MetricFamily } from "../model/family.ts";
import type { LabelValues } from "./labels.ts";
import { type Accumulator, gather, type SeriesSource } from "./merge.ts";
import { resize, toShared } from "./shared.ts";
import { SlotStore } from "./store.ts";
import { type MetricOptions, MetricVec } from "./vec.ts";

/**
 * How a gauge's series from several workers (under `deno serve --parallel`)
 * combine into the one value a scrape reports:
 * - `sum`: added up, for amounts spread over workers (in-flight requests,
 *   active sessions);
 * - `max` / `min`: the largest / smallest worker's value;
 * - `last`: the value written most recently by any worker (for settings and
 *   timestamps);
 * - `worker`: one series per worker, with a `worker` label (for per-isolate
 *   facts such as heap size).
 * In a single process every mode reports the gauge as it is.
 */
export type GaugeAggregation = "sum" | "max" | "min" | "last" | "worker";

const AGGREGATIONS: readonly GaugeAggregation[] = ["sum", "max", "min", "last", "worker"];

/** Options for a {@linkcode Gauge}. */
export interface GaugeOptions<L extends string = string> extends MetricOptions<L> {
  /**
   * Called at every scrape, before the gauge is read, to bring it up to date
   * (`gauge.set(queue.length)`). May be async. If it throws or rejects, the
   * gauge is left out of that scrape and counted in
   * `metrics_collect_errors_total`.
   */
  collect?: (gauge: Gauge<L>) => void | Promise<void>;
  /** How workers' values combine (default `sum`); see {@linkcode GaugeAggregation}. */
  aggregate?: GaugeAggregation;
}

function notNumber(metric: string, value: unknown): TypeError {
  return new TypeError(`Gauge "${metric}": value must be a number, got ${typeof value}`);
}

/**
 * A gauge's storage: one slot per series; in `last` mode also the time of the
 * latest write per series, so workers' values can be ordered.
 */
class GaugeStore extends SlotStore<GaugeChild> {
  stamps: Float64Array | undefined;

  constructor(name: string, labelNames: readonly string[], maxSeries: number, last: boolean) {
    super(name, labelNames, maxSeries, 1, false);
    if (last) this.stamps = new Float64Array(this.values.length);
  }

  override grow(capacity: number): void {
    super.grow(capacity);
    if (this.stamps) this.stamps = resize(this.stamps, capacity);
  }

  protected override shareExtras(): Record<string, Float64Array> {
    if (this.stamps === undefined) return {};
    this.stamps = toShared(this.stamps, this.index.maxCapacity);
    return { stamps: this.stamps };
  }

  override localArrays(): Record<string, Float64Array> {
    return this.stamps ? { stamps: this.stamps } : {};
  }

  /**
   * Records that series `id` was written now (in `last` mode only). The
   * stamp is wall-clock milliseconds with sub-millisecond precision
   * (`timeOrigin + now()`), so writes from different workers in the same
   * millisecond still order correctly; a coarse clock got them wrong.
   */
  stamp(id: number): void {
    if (this.stamps) this.stamps[id] = performance.timeOrigin + performance.now();
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
    const i = this.i >= 0 ? this.i : this.#store.revive(this, this.#labels);
    this.#store.values[i] = value;
    this.#store.stamp(i);
  }

  /** Adds `value` (default 1). */
  inc(value = 1): void {
    if (typeof value !== "number") throw notNumber(this.#name, value);
    const i = this.i;
    if (i >= 0) {
      this.v[i] += value;
      this.#store.stamp(i);
    } else {
      const id = this.#store.revive(this, this.#labels); // may grow (replace) the values array
      this.#store.values[id] += value;
      this.#store.stamp(id);
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

  /** Current value of this series (in this worker). */
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
export class Gauge<L extends string = string> extends MetricVec<L, GaugeChild> {
  /** How workers' values combine. */
  readonly aggregate: GaugeAggregation;
  readonly #s: GaugeStore;
  readonly #collect: ((gauge: Gauge<L>) => void | Promise<void>) | undefined;

  /** Creates the gauge and registers it (see {@linkcode MetricOptions}). */
  constructor(options: GaugeOptions<L>) {
    super(options, "gauge", [], ["collect", "aggregate"]);
    if (options.collect !== undefined && typeof options.collect !== "function") {
      throw new TypeError(`Gauge "${this.name}": collect must be a function`);
    }
    this.#collect = options.collect;
    this.aggregate = options.aggregate ?? "sum";
    if (!AGGREGATIONS.includes(this.aggregate)) {
      throw new TypeError(
        `Gauge "${this.name}": aggregate must be one of ${AGGREGATIONS.join(", ")}, ` +
          `got ${JSON.stringify(options.aggregate)}`,
      );
    }
    if (this.aggregate === "worker" && this.labelNames.includes("worker" as L)) {
      throw new TypeError(`Gauge "${this.name}": aggregate "worker" adds a "worker" label itself`);
    }
    // Gauges combined differently across workers cannot share a name.
    this.#s = this.bindStore(
      this.aggregate,
      () => new GaugeStore(this.name, this.labelNames, this.maxSeries, this.aggregate === "last"),
    );
  }

  // Each writer below looks the series up before reading `this.#s.values`: a
  // lookup that creates a series may grow the store and replace that array,
  // and `values[this.seriesId(labels)] = v` would read the old array first and
  // write into it.

  /** Sets the value: `set(5)` or `set(labels, 5)`. */
  set(labels: LabelValues<L> | number, value?: number): void {
    const v = typeof labels === "number" ? labels : value;
    if (typeof v !== "number") throw notNumber(this.name, v);
    const id = this.seriesId(labels);
    this.#s.values[id] = v;
    this.#s.stamp(id);
  }

  /** Adds to the value: `inc()`, `inc(2)`, `inc(labels)`, `inc(labels, 2)`. */
  inc(labels?: LabelValues<L> | number, value?: number): void {
    const v = typeof labels === "object" && labels !== null ? value ?? 1 : labels ?? 1;
    if (typeof v !== "number") throw notNumber(this.name, v);
    const id = this.seriesId(labels);
    this.#s.values[id] += v;
    this.#s.stamp(id);
  }

  /** Subtracts from the value: `dec()`, `dec(2)`, `dec(labels)`, `dec(labels, 2)`. */
  dec(labels?: LabelValues<L> | number, value?: number): void {
    const v = typeof labels === "object" && labels !== null ? value ?? 1 : labels ?? 1;
    if (typeof v !== "number") throw notNumber(this.name, v);
    const id = this.seriesId(labels);
    this.#s.values[id] -= v;
    this.#s.stamp(id);
  }

  /** Sets the value to the current time in seconds since the epoch. */
  setToCurrentTime(labels?: LabelValues<L>): void {
    const id = this.seriesId(labels);
    this.#s.values[id] = Date.now() / 1000;
    this.#s.stamp(id);
  }

  /** Starts a timer that sets the gauge to the elapsed seconds when stopped. */
  startTimer(labels?: Partial<LabelValues<L>>): Timer {
    return startTimer((seconds, extra) => {
      const all = labels === undefined && extra === undefined
        ? undefined
        : { ...labels, ...extra } as LabelValues<L>;
      const id = this.seriesId(all);
      this.#s.values[id] = seconds;
      this.#s.stamp(id);
    });
  }

  /**
   * Current value for `labels` (or of the unlabelled series); 0 when the
   * series does not exist. Across workers, the value a scrape would report
   * (for `worker` mode, this worker's own).
   */
  get(labels?: LabelValues<L>): number {
    const { family, id } = this.findSeries(labels);
    if (id < 0) return 0;
    return family === undefined ? this.#s.values[id] : family.values[id];
  }

  /** Runs the `collect` callback, if any, then returns the current state. */
  override collect(): MetricFamily | Promise<MetricFamily> {
    if (this.#collect === undefined) return this.snapshot();
    const r = this.#collect(this);
    return r instanceof Promise ? r.then(() => this.snapshot()) : this.snapshot();
  }

  /** @ignore */
  protected override createChild(
    id: number,
    labels: Readonly<Record<string, string | number>>,
  ): GaugeChild {
    return new GaugeChild(this.name, this.#s, id, labels);
  }

  /** @ignore */
  protected override get perWorker(): boolean {
    return this.aggregate === "worker";
  }

  /** @ignore */
  protected override accumulator(): Accumulator {
    return new GaugeSeries(this.aggregate);
  }
}

/**
 * Gauge series: in a single process each series as it is; across workers,
 * combined as the aggregation says (`worker` mode keeps one group per worker,
 * so every group has one series).
 */
class GaugeSeries implements Accumulator {
  values: number[] | Float64Array;
  readonly stamps: number[];
  readonly mode: GaugeAggregation;

  constructor(mode: GaugeAggregation) {
    this.mode = mode;
    this.values = [];
    this.stamps = [];
  }

  addLive(source: SeriesSource, count: number): void {
    this.values = gather(source, source.values, count);
  }

  add(g: number, source: SeriesSource, id: number, first: boolean): void {
    const v = source.values[id];
    const values = this.values as number[];
    if (first) {
      values.push(v);
      if (this.mode === "last") this.stamps.push(source.array("stamps")?.[id] ?? 0);
      return;
    }
    switch (this.mode) {
      case "sum":
        values[g] += v;
        break;
      case "max":
        if (v > values[g] || values[g] !== values[g]) values[g] = v;
        break;
      case "min":
        if (v < values[g] || values[g] !== values[g]) values[g] = v;
        break;
      case "last": {
        const t = source.array("stamps")?.[id] ?? 0;
        if (t > this.stamps[g]) {
          this.stamps[g] = t;
          values[g] = v;
        }
        break;
      }
    }
  }

  finish(): Pick<MetricFamily, "values"> {
    return { values: this.values };
  }
}
