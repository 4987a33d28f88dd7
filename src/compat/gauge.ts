/**
 * prom-client's `Gauge`, on our core gauge.
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { Gauge as CoreGauge, type GaugeChild } from "../core/gauge.ts";
import { isOverflowChild, type MetricVec } from "../core/vec.ts";
import {
  type EndTimer,
  type Labels,
  type LabelValue,
  Metric,
  type MetricConfiguration,
  notANumber,
  seriesLabels,
} from "./metric.ts";
import type { MetricValue } from "./registry.ts";

/** Options of a {@linkcode Gauge}: prom-client's. */
export type GaugeConfiguration<T extends string> = MetricConfiguration<T>;

/** The gauge of one label set, returned by {@linkcode Gauge.labels}. */
export interface GaugeInternal<T extends string> {
  /** Adds `value` (default 1). */
  inc(value?: number): void;
  /** Subtracts `value` (default 1). */
  dec(value?: number): void;
  /** Sets the value. */
  set(value: number): void;
  /** Sets the value to the current time in seconds since the epoch. */
  setToCurrentTime(): void;
  /** Starts a timer that sets the gauge to the elapsed seconds. */
  startTimer(): EndTimer<T>;
}

/** What `child()` is told of a child not yet bound to a series. */
const UNBOUND = { i: -1 };

function amount(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== "number") throw notANumber(value);
  return value;
}

/**
 * The gauge of one label set, kept by `labels(...)`. It binds to its core
 * child on its first write, not when made: as in prom-client, `labels(...)`
 * alone exposes no series. A child whose series was removed (`remove`,
 * `reset`) writes it again, as prom-client's does (the core child revives).
 * Past the series cap it does not bind (see `#child`).
 */
class Child<T extends string> implements GaugeInternal<T> {
  readonly #metric: Gauge<T>;
  readonly #core: CoreGauge<T>;
  readonly #labels: Record<T, LabelValue>;
  #c: GaugeChild | undefined;
  constructor(metric: Gauge<T>, core: CoreGauge<T>, labels: Record<T, LabelValue>) {
    this.#metric = metric;
    this.#core = core;
    this.#labels = labels;
  }
  #child(): GaugeChild {
    const bound = this.#c;
    if (bound !== undefined) return bound;
    const c = this.#core.labels(this.#labels);
    // An overflow child is not kept: each write looks its labels up again,
    // so it is counted as folded (as `set(labels, v)` is), and it gets its
    // own series once a removal makes room.
    if (!isOverflowChild(this.#core as unknown as MetricVec<string, unknown>, c)) this.#c = c;
    return c;
  }
  inc(value?: number): void {
    this.#child().inc(amount(value));
  }
  dec(value?: number): void {
    this.#child().inc(-amount(value));
  }
  set(value: number): void {
    if (typeof value !== "number") throw notANumber(value);
    this.#child().set(value);
  }
  setToCurrentTime(): void {
    this.#child().set(Date.now() / 1000);
  }
  startTimer(): EndTimer<T> {
    return this.#metric.startTimer(this.#labels);
  }
}

/**
 * prom-client's `Gauge`: `set`, `inc`, `dec`, `setToCurrentTime`,
 * `startTimer`, with or without labels, `labels(...)`, `remove`, `reset`,
 * `get`. A value that is not a number throws prom-client's `TypeError`.
 *
 * @example
 * ```ts
 * import { Gauge, register } from "@securetrack/metrics/prom-client";
 * const depth = new Gauge({ name: "queue_depth", help: "Jobs waiting", labelNames: ["queue"] });
 * depth.set({ queue: "mail" }, 3);
 * depth.labels("mail").dec();
 * console.log(await register.metrics());
 * ```
 */
export class Gauge<T extends string = string> extends Metric<T> {
  readonly #c: CoreGauge<T>;
  /** Creates the gauge and registers it in `registers` (default: the global `register`). */
  constructor(configuration: GaugeConfiguration<T>) {
    super(configuration, "gauge", [], "", (o) => new CoreGauge({ ...o, registry: null }));
    this.#c = this.core as CoreGauge<T>;
  }

  #write(labels: Labels<T> | undefined, op: "set" | "inc" | "dec", v: number): void {
    this.write(labels ?? {}, (l) => this.#c[op](l as Record<T, LabelValue>, v));
  }

  /** Sets the value: `set(5)` or `set(labels, 5)`. */
  set(labels: Labels<T> | number, value?: number): void {
    if (typeof labels === "object" && labels !== null) {
      if (typeof value !== "number") throw notANumber(value);
      this.#write(labels, "set", value);
    } else {
      if (typeof labels !== "number") throw notANumber(labels);
      this.#write(undefined, "set", labels);
    }
  }

  /** Adds `value` (default 1): `inc()`, `inc(2)`, `inc(labels)`, `inc(labels, 2)`. */
  inc(labels?: Labels<T> | number, value?: number): void {
    if (typeof labels === "object" && labels !== null) this.#write(labels, "inc", amount(value));
    else this.#write(undefined, "inc", amount(labels));
  }

  /** Subtracts `value` (default 1): `dec()`, `dec(2)`, `dec(labels)`, `dec(labels, 2)`. */
  dec(labels?: Labels<T> | number, value?: number): void {
    if (typeof labels === "object" && labels !== null) this.#write(labels, "dec", amount(value));
    else this.#write(undefined, "dec", amount(labels));
  }

  /** Sets the value to the current time in seconds since the epoch. */
  setToCurrentTime(labels?: Labels<T>): void {
    this.#write(labels, "set", Date.now() / 1000);
  }

  /** Starts a timer; calling what it returns sets the gauge to the elapsed seconds and returns them. */
  startTimer(labels?: Labels<T>): EndTimer<T> {
    return this.timer(labels, (l, seconds) => this.#write(l, "set", seconds));
  }

  /**
   * The gauge of one label set: `labels("mail")` or `labels({ queue: "mail" })`.
   * The same label values give the same object (kept up to `maxSeries` of
   * them), so calling `labels(...)` on every write costs no allocation.
   */
  labels(...values: LabelValue[] | [Labels<T>]): GaugeInternal<T> {
    return this.child(values, (l) => [new Child(this, this.#c, l), UNBOUND]);
  }

  /** @ignore */
  protected samples(family: MetricFamily): MetricValue[] {
    const labels = seriesLabels(family);
    return labels.map((l, s) => ({ value: family.values[s], labels: l }));
  }
}
