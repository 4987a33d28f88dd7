/**
 * Counter: a value that only goes up (and resets to zero when the process
 * restarts).
 *
 * @module
 */

import type { MetricFamily } from "./family.ts";
import type { LabelValues } from "./labels.ts";
import { Metric, type MetricOptions } from "./metric.ts";
import { defaultRegistry } from "./registry.ts";
import { forEachSeries, SeriesGroups, seriesOf, sourcesOf } from "./merge.ts";
import { SlotStore } from "./store.ts";

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
export class Counter<L extends string = string> extends Metric<L> {
  readonly #s: CounterStore;

  /** Creates the counter and registers it (see {@linkcode MetricOptions}). */
  constructor(options: CounterOptions<L>) {
    super(options, "counter", [], defaultRegistry);
    const existing = this.existing();
    if (existing !== undefined) {
      this.#s = existing.#s;
    } else {
      this.#s = new SlotStore<CounterChild>(this.name, this.labelNames, this.maxSeries, 1, true);
      this.#s.index.onOverflow = () => this.countOverflow();
      this.registry?.register(this);
    }
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

  /** Returns the cached child for `labels`, creating the series if needed. */
  labels(labels: LabelValues<L>): CounterChild {
    const s = this.#s;
    const id = s.index.lookup(labels);
    let child = s.children[id];
    if (child === undefined) {
      child = new CounterChild(this.name, s, id, { ...labels });
      s.children[id] = child;
    }
    return child;
  }

  /** Current value for `labels` (or of the unlabelled series); 0 when the series does not exist. */
  get(labels?: LabelValues<L>): number {
    const id = this.#s.index.find(labels ?? {}); // validates the labels
    if (this.#s.remotes.size > 0) {
      const family = this.#collectAll();
      const g = seriesOf(family, this.labelNames, labels ?? {});
      return g < 0 ? 0 : family.values[g];
    }
    return id < 0 ? 0 : this.#s.values[id];
  }

  /** Removes the series for `labels`; returns whether it existed. */
  remove(labels: LabelValues<L>): boolean {
    return this.#s.index.remove(labels);
  }

  /** Removes every labelled series (an unlabelled counter goes back to 0). */
  reset(): void {
    this.#s.index.clear();
  }

  /** Collects the current state for exposition. */
  collect(): MetricFamily {
    const s = this.#s;
    if (s.remotes.size > 0) return this.#collectAll();
    const index = s.index;
    const values: number[] = [];
    const created: number[] = [];
    const labelValues: string[] = [];
    const n = this.labelNames.length;
    for (let id = 0; id < index.end; id++) {
      if (!index.alive[id]) continue;
      values.push(s.values[id]);
      created.push(s.created![id]);
      for (let i = 0; i < n; i++) labelValues.push(index.escaped[id * n + i]!);
    }
    return this.#family(labelValues, values, created);
  }

  /** Every worker's series, summed by label set; `_created` is the earliest. */
  #collectAll(): MetricFamily {
    const groups = new SeriesGroups();
    const values: number[] = [];
    const created: number[] = [];
    forEachSeries(sourcesOf(this.#s), groups, (g, source, id) => {
      const t = source.created![id];
      if (g === values.length) {
        values.push(0);
        created.push(t);
      } else if (t < created[g]) {
        created[g] = t;
      }
      values[g] += source.values[id];
    });
    return this.#family(groups.labelValues, values, created);
  }

  #family(labelValues: string[], values: number[], created: number[]): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: "counter",
      unit: this.unit,
      labelNames: this.labelNames,
      labelValues,
      size: values.length,
      values,
      created,
    };
  }

  /**
   * The storage behind this metric, for sharing between workers (internal).
   * @ignore
   */
  protected override slotStore(): SlotStore {
    return this.#s;
  }
}
