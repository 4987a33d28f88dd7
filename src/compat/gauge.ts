/**
 * prom-client's `Gauge`, on our core gauge.
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { Gauge as CoreGauge } from "../core/gauge.ts";
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

function amount(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== "number") throw notANumber(value);
  return value;
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

  /** The gauge of one label set: `labels("mail")` or `labels({ queue: "mail" })`. */
  labels(...values: LabelValue[] | [Labels<T>]): GaugeInternal<T> {
    const l = this.labelArgs(values);
    this.complete(l);
    return {
      inc: (v) => this.inc(l, v),
      dec: (v) => this.dec(l, v),
      set: (v) => this.set(l, v),
      setToCurrentTime: () => this.setToCurrentTime(l),
      startTimer: () => this.startTimer(l),
    };
  }

  /** @ignore */
  protected samples(family: MetricFamily): MetricValue[] {
    const labels = seriesLabels(family);
    return labels.map((l, s) => ({ value: family.values[s], labels: l }));
  }
}
