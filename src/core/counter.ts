/**
 * Counter: a value that only goes up (and resets to zero when the process
 * restarts).
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { type ExemplarLabels, validateExemplarLabels } from "./exemplar.ts";
import type { LabelValues } from "./labels.ts";
import { type Accumulator, CounterSeries } from "./merge.ts";
import { SlotStore } from "./store.ts";
import { type MetricOptions, MetricVec } from "./vec.ts";

/**
 * What {@linkcode Counter.incWithExemplar} takes: prom-client's
 * `inc({ labels, value, exemplarLabels })` shape.
 *
 * @example
 * ```ts
 * import type { CounterExemplarIncrement } from "@securetrack/metrics";
 * const one: CounterExemplarIncrement<"route"> = {
 *   labels: { route: "/users/:id" },
 *   exemplarLabels: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" },
 * };
 * ```
 */
export interface CounterExemplarIncrement<L extends string = string> {
  /** The series' labels; absent for an unlabelled counter. */
  labels?: LabelValues<L>;
  /** The increment (default 1), also the exemplar's value. */
  value?: number;
  /**
   * The exemplar's labels, e.g. `{ trace_id }`: names and values together at
   * most 128 code points (a `RangeError` past that). `{}` is an exemplar
   * without labels.
   */
  exemplarLabels: ExemplarLabels;
}

/** Options for a {@linkcode Counter}. */
export type CounterOptions<L extends string = string> = MetricOptions<L>;

function badIncrement(metric: string, value: unknown): RangeError | TypeError {
  return typeof value === "number"
    ? new RangeError(
      `Counter "${metric}": increment must be a finite number >= 0, got ${String(value)}`,
    )
    : new TypeError(`Counter "${metric}": increment must be a number, got ${typeof value}`);
}

/** True for a finite number >= 0. The `typeof` test keeps `"1"` from concatenating. */
function validIncrement(value: unknown): value is number {
  return typeof value === "number" && value >= 0 && value !== Infinity;
}

/** A counter's storage: one slot per series, plus creation times. */
type CounterStore = SlotStore<CounterChild>;

/**
 * A counter bound to one label set, returned (and cached) by
 * {@linkcode Counter.labels}. Its `inc` is a typed-array add.
 *
 * If its series is removed (`remove`, `reset`), the next `inc` re-creates it.
 *
 * @example
 * ```ts
 * import { Counter, Registry } from "@securetrack/metrics";
 * const c = new Counter({ name: "jobs_total", help: "Jobs run", labelNames: ["queue"], registry: new Registry() });
 * const mail = c.labels({ queue: "mail" });
 * mail.inc();
 * ```
 */
export class CounterChild {
  /** @internal Storage array (replaced when the store grows). */
  v: Float64Array;
  /** @internal Series id, or -1 once the series was removed. */
  i: number;
  readonly #store: CounterStore;
  readonly #labels: Readonly<Record<string, string | number>>;
  readonly #name: string;

  /** @internal Use {@linkcode Counter.labels}. */
  constructor(
    name: string,
    store: CounterStore,
    id: number,
    labels: Readonly<Record<string, string | number>>,
  ) {
    this.#name = name;
    this.#store = store;
    this.v = store.values;
    this.i = id;
    this.#labels = labels;
  }

  /** Adds `value` (default 1); throws a `RangeError` for a negative or non-finite value. */
  inc(value = 1): void {
    if (!validIncrement(value)) throw badIncrement(this.#name, value);
    const i = this.i;
    if (i >= 0) this.v[i] += value;
    else this.#revive(value);
  }

  /**
   * As `inc`, and makes `{ exemplarLabels, value }`, timestamped now, this
   * series' exemplar (replacing the one before). See
   * {@linkcode Counter.incWithExemplar}.
   */
  incWithExemplar(increment: Omit<CounterExemplarIncrement, "labels">): void {
    if (increment === null || typeof increment !== "object") {
      throw new TypeError(
        `Counter "${this.#name}": incWithExemplar takes { value, exemplarLabels }`,
      );
    }
    const value = increment.value ?? 1;
    if (!validIncrement(value)) throw badIncrement(this.#name, value);
    const ex = validateExemplarLabels(this.#name, increment.exemplarLabels);
    const s = this.#store;
    const id = this.i >= 0 ? this.i : s.revive(this, this.#labels);
    s.values[id] += value;
    s.exemplarSlots().set(id, 0, ex, value);
  }

  /** Current value of this series. */
  get(): number {
    return this.i >= 0 ? this.v[this.i] : 0;
  }

  #revive(value: number): void {
    const id = this.#store.revive(this, this.#labels);
    this.#store.values[id] += value;
  }
}

/**
 * A Prometheus counter: a cumulative value that only goes up.
 *
 * Increments with a negative, `NaN` or infinite value throw a `RangeError`.
 * Values live in a `Float64Array` indexed by series id; a child from
 * {@linkcode Counter.labels} increments its slot directly, so hold on to it
 * on hot paths.
 *
 * @example
 * ```ts
 * import { Counter, Registry } from "@securetrack/metrics";
 * const registry = new Registry();
 * const requests = new Counter({
 *   name: "llm_requests_total",
 *   help: "Total number of LLM API requests",
 *   labelNames: ["model", "endpoint"],
 *   registry,
 * });
 * requests.inc({ model: "gpt-4o", endpoint: "chat" });
 * requests.inc({ model: "gpt-4o", endpoint: "chat" }, 3);
 * const chat = requests.labels({ model: "gpt-4o", endpoint: "chat" });
 * chat.inc();
 * console.log(await registry.metrics());
 * ```
 */
export class Counter<L extends string = string> extends MetricVec<L, CounterChild> {
  readonly #s: CounterStore;

  /** Creates the counter and registers it (see {@linkcode MetricOptions}). */
  constructor(options: CounterOptions<L>) {
    super(options, "counter", [], []);
    this.#s = this.bindStore(
      "",
      () => new SlotStore<CounterChild>(this.name, this.labelNames, this.maxSeries, 1, true, 1),
    );
  }

  /**
   * Adds to the counter. Unlabelled: `inc()`, `inc(5)`. Labelled:
   * `inc(labels)`, `inc(labels, 5)`. Throws a `TypeError` for a missing or
   * unknown label and a `RangeError` for a negative or non-finite value.
   */
  inc(labels?: LabelValues<L> | number, value?: number): void {
    const labelled = typeof labels === "object" && labels !== null;
    const v = labelled ? value ?? 1 : labels ?? 1;
    // Validated before the lookup, so a rejected call creates no series.
    if (!validIncrement(v)) throw badIncrement(this.name, v);
    let id = 0;
    if (labelled) id = this.#s.index.lookup(labels);
    else if (this.labelNames.length !== 0) this.#s.index.lookup({});
    this.#s.values[id] += v;
  }

  /**
   * Adds to the counter and makes `{ exemplarLabels, value }`, timestamped
   * now, the series' exemplar, replacing the one before (one per series).
   * Exemplars are exposed in OpenMetrics (and protobuf), never in text
   * 0.0.4. Throws as `inc` does, a `TypeError` for exemplar labels that are
   * not an object of strings with valid names, and a `RangeError` when their
   * names and values have more than 128 code points together; nothing is
   * recorded then. Plain `inc` costs the same as before this method existed.
   *
   * @example
   * ```ts
   * import { Counter, Registry } from "@securetrack/metrics";
   * const registry = new Registry();
   * const requests = new Counter({ name: "requests_total", help: "Requests", labelNames: ["route"], registry });
   * requests.incWithExemplar({
   *   labels: { route: "/" },
   *   exemplarLabels: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" },
   * });
   * console.log(await registry.metrics("openmetrics"));
   * ```
   */
  incWithExemplar(increment: CounterExemplarIncrement<L>): void {
    if (increment === null || typeof increment !== "object") {
      throw new TypeError(
        `Counter "${this.name}": incWithExemplar takes { labels, value, exemplarLabels }`,
      );
    }
    const v = increment.value ?? 1;
    if (!validIncrement(v)) throw badIncrement(this.name, v);
    const ex = validateExemplarLabels(this.name, increment.exemplarLabels);
    const id = this.seriesId(increment.labels);
    this.#s.values[id] += v;
    this.#s.exemplarSlots().set(id, 0, ex, v);
  }

  /** Current value for `labels` (or of the unlabelled series); 0 when the series does not exist. */
  get(labels?: LabelValues<L>): number {
    const { family, id } = this.findSeries(labels);
    if (id < 0) return 0;
    return family === undefined ? this.#s.values[id] : family.values[id];
  }

  /** Collects the current state for exposition. */
  override collect(): MetricFamily {
    return this.snapshot();
  }

  /** @ignore */
  protected override createChild(
    id: number,
    labels: Readonly<Record<string, string | number>>,
  ): CounterChild {
    return new CounterChild(this.name, this.#s, id, labels);
  }

  /** @ignore */
  protected override accumulator(): Accumulator {
    return new CounterSeries();
  }
}
