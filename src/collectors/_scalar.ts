/**
 * A collector for one unlabelled (or constantly labelled) value read at
 * scrape time, for process and runtime facts that are read, not recorded.
 *
 * @module
 */

import type { MetricFamily, MetricType } from "../model/family.ts";
import { escapeLabelValue } from "../model/escape.ts";
import type { Collector } from "../core/collector.ts";

/** A {@linkcode Collector} of a single value read by `read()` at each scrape. */
export class ScalarCollector implements Collector {
  /** Metric name. */
  readonly name: string;
  /** Metric type. */
  readonly type: MetricType;
  readonly #help: string;
  readonly #read: () => number;
  readonly #labelNames: readonly string[];
  readonly #labelValues: readonly string[];

  /** `labels` are constant labels (e.g. a version), fixed at construction. */
  constructor(
    name: string,
    help: string,
    type: "counter" | "gauge",
    read: () => number,
    labels: Readonly<Record<string, string>> = {},
  ) {
    this.name = name;
    this.#help = help;
    this.type = type;
    this.#read = read;
    this.#labelNames = Object.keys(labels);
    this.#labelValues = Object.values(labels).map(escapeLabelValue);
  }

  /** Reads the value now. */
  collect(): MetricFamily {
    return {
      name: this.name,
      help: this.#help,
      type: this.type,
      unit: "",
      labelNames: this.#labelNames,
      labelValues: this.#labelValues,
      size: 1,
      values: [this.#read()],
    };
  }
}
