/**
 * The registry's own counters (`metrics_series_overflow_total`,
 * `metrics_collect_errors_total`): one `metric` label, built on the same
 * storage as every metric so that workers share and merge them like any
 * counter, but without the metric classes, which depend on the registry.
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { type Collector, setInternals, signatureOf } from "./collector.ts";
import { collectSeries, CounterSeries } from "./merge.ts";
import { DEFAULT_MAX_SERIES } from "./series.ts";
import { SlotStore } from "./store.ts";

const LABELS: readonly string[] = Object.freeze(["metric"]);

/** A counter labelled by metric name, private to one registry. */
export class SelfCounter implements Collector {
  readonly name: string;
  readonly type = "counter" as const;
  readonly help: string;
  readonly #store: SlotStore;

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
    this.#store = new SlotStore(name, LABELS, DEFAULT_MAX_SERIES, 1, true);
    setInternals(this, {
      store: this.#store,
      signature: signatureOf("counter", help, "", LABELS),
    });
  }

  /** Counts one event of `metric`. */
  inc(metric: string): void {
    // Looked up first: creating the series may grow (replace) the values array.
    const id = this.#store.index.lookup({ metric });
    this.#store.values[id] += 1;
  }

  collect(): MetricFamily {
    const acc = new CounterSeries();
    const { labelValues, size } = collectSeries(this.#store, acc);
    return {
      name: this.name,
      help: this.help,
      type: "counter",
      unit: "",
      labelNames: LABELS,
      labelValues,
      size,
      ...acc.finish(),
    };
  }
}
