/**
 * What the drop-in's `Histogram` and `Summary` share: prom-client's
 * `observe`, `startTimer` and `labels(...)` on a core metric that observes.
 *
 * @module
 */

import {
  type CoreMetric,
  type EndTimer,
  type ExemplarCall,
  type Labels,
  type LabelValue,
  Metric,
  type MetricConfiguration,
  notANumber,
} from "./metric.ts";

/** The histogram or summary of one label set, returned by `labels(...)`. */
export interface ObserverInternal<T extends string> {
  /** Records one observation. */
  observe(value: number): void;
  /** Starts a timer that observes the elapsed seconds. */
  startTimer(): EndTimer<T>;
}

/** A core child that observes (a histogram's or a summary's). */
interface CoreChild {
  i: number;
  observe(value: number): void;
}

/** A core metric that observes: our `Histogram` or `Summary`. */
export interface CoreObserver extends CoreMetric {
  /** Records one observation. */
  observe(labels: Record<string, LabelValue> | number, value?: number): void;
  /** The child of one label set. */
  labels(labels: Record<string, LabelValue>): CoreChild;
}

/** prom-client's check of an observation: a finite number. */
export function observation(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw notANumber(value);
  return value;
}

class Child<T extends string> implements ObserverInternal<T> {
  readonly #c: CoreChild;
  readonly #timer: () => EndTimer<T>;
  constructor(c: CoreChild, timer: () => EndTimer<T>) {
    this.#c = c;
    this.#timer = timer;
  }
  observe(value: number): void {
    this.#c.observe(observation(value));
  }
  startTimer(): EndTimer<T> {
    return this.#timer();
  }
}

/**
 * Base of the drop-in's {@linkcode Histogram} and {@linkcode Summary}.
 * @ignore
 */
export abstract class Observer<T extends string = string> extends Metric<T> {
  readonly #c: CoreObserver;
  /** The unlabelled series' child: `observe(v)` goes straight to it. */
  readonly #one: CoreChild | undefined;

  /** @ignore */
  protected constructor(
    config: MetricConfiguration<T>,
    type: "histogram" | "summary",
    keys: readonly string[],
    create: (
      options: { name: string; help: string; labelNames: readonly T[]; maxSeries?: number },
    ) => CoreObserver,
  ) {
    super(config, type, keys, type === "histogram" ? "le" : "quantile", create);
    this.#c = this.core as CoreObserver;
    this.#one = this.labelNames.length === 0 ? this.#c.labels({}) : undefined;
  }

  /**
   * Records one observation: `observe(v)` or `observe(labels, v)`. A
   * histogram with `enableExemplars`: `observe({ labels, value, exemplarLabels })`.
   */
  observe(labels: Labels<T> | number | ExemplarCall<T>, value?: number): void {
    const one = this.#one;
    if (one !== undefined && typeof labels !== "object") one.observe(observation(labels));
    else if (typeof labels === "object" && labels !== null) {
      const v = observation(value);
      this.write(labels as Labels<T>, (l) => this.#c.observe(l, v));
    } else this.write({}, (l) => this.#c.observe(l, observation(labels)));
  }

  /** Starts a timer; calling what it returns observes the elapsed seconds and returns them. */
  startTimer(labels?: Labels<T>): EndTimer<T> {
    return this.timer(labels, (l, seconds) => {
      if (l === undefined) this.observe(seconds);
      else this.observe(l, seconds);
    });
  }

  /** The metric of one label set: `labels("GET")` or `labels({ method: "GET" })`. */
  labels(...values: LabelValue[] | [Labels<T>]): ObserverInternal<T> {
    return this.child(values, (l) => {
      const c = this.#c.labels(l);
      return [new Child(c, () => this.startTimer(l)), c];
    });
  }
}
