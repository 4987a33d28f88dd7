/**
 * prom-client's `Registry`, on our registry and serializers: the same
 * methods, content types and errors, with our output (exact numbers, escaped
 * labels, a valid OpenMetrics document).
 *
 * @module
 */

import type { MetricFamily, MetricType } from "../model/family.ts";
import { escapeLabelValue } from "../model/escape.ts";
import { toText } from "../exposition/text.ts";
import { toOpenMetrics } from "../exposition/openmetrics.ts";
import { type Collector, internalsOf } from "../core/collector.ts";
import { validateMetricName } from "../core/labels.ts";
import { Registry as CoreRegistry } from "../core/registry.ts";

/** The content types a registry renders, as prom-client names them. */
export type RegistryContentType =
  | "text/plain; version=0.0.4; charset=utf-8"
  | "application/openmetrics-text; version=1.0.0; charset=utf-8";

const PROMETHEUS: RegistryContentType = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: RegistryContentType =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** One sample of prom-client's JSON shape (`get()`, `getMetricsAsJSON()`). */
export interface MetricValue {
  /** The sample value. */
  value: number;
  /** The sample's labels (for a histogram bucket, `le`; for a summary quantile, `quantile`). */
  labels: Record<string, string | number>;
  /** The sample name when it is not the metric's (`_bucket`, `_sum`, `_count`). */
  metricName?: string;
  /** Histogram buckets: the bucket's exemplar, `null` without one. */
  exemplar?: unknown;
}

/** A metric in prom-client's JSON shape: what `get()` resolves to. */
export interface MetricObject {
  /** Metric name. */
  name: string;
  /** HELP text. */
  help: string;
  /** `counter`, `gauge`, `histogram` or `summary`. */
  type: string;
  /** The samples. */
  values: MetricValue[];
  /** How prom-client's cluster module would combine workers (kept for shape only). */
  aggregator?: string;
}

/**
 * Anything a prom-client registry accepts: the drop-in's metrics, or your
 * own object with a `name` and an async `get()` in prom-client's shape.
 */
export interface PromClientMetric {
  /** Metric name; unique within a registry. */
  readonly name: string;
  /** The metric's current state in prom-client's JSON shape. */
  get(): Promise<MetricObject> | MetricObject;
  /** Resets the metric (called by `resetMetrics()`). */
  reset?(): void;
  /** Metric type (prom-client's metrics carry it). */
  readonly type?: string;
}

const TYPES: readonly string[] = ["counter", "gauge", "histogram", "summary"];

/** Label values of the exposition back to what was recorded (`\\`, `\"`, `\n`). */
export function unescapeLabelValue(value: string): string {
  return value.includes("\\")
    ? value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))
    : value;
}

/** Our collected family of a prom-client-shaped object (your own `get()` metrics). */
function familyOf(metric: MetricObject): MetricFamily {
  const name = validateMetricName(metric.name);
  const type = (TYPES.includes(metric.type) ? metric.type : "gauge") as MetricType;
  const help = String(metric.help ?? "");
  const values = metric.values ?? [];
  const special = type === "histogram" ? "le" : type === "summary" ? "quantile" : "";
  const labelNames: string[] = [];
  for (const v of values) {
    for (const k of Object.keys(v.labels ?? {})) {
      if (k !== special && !labelNames.includes(k)) labelNames.push(k);
    }
  }
  const seriesIds = new Map<string, number>();
  const labelValues: string[] = [];
  const seriesOf = (labels: Record<string, unknown> | undefined): number => {
    const vals = labelNames.map((k) => String(labels?.[k] ?? ""));
    const key = JSON.stringify(vals);
    let id = seriesIds.get(key);
    if (id === undefined) {
      id = seriesIds.size;
      seriesIds.set(key, id);
      for (const v of vals) labelValues.push(escapeLabelValue(v));
    }
    return id;
  };
  const head = { name, help, type, unit: "", labelNames, labelValues };
  if (special === "") {
    const out: number[] = [];
    for (const v of values) out[seriesOf(v.labels)] = Number(v.value);
    return { ...head, size: seriesIds.size, values: out };
  }
  // Histogram and summary: one series per label set without `le`/`quantile`.
  const ranks = [
    ...new Set(
      values.filter((v) => v.labels?.[special] !== undefined && v.labels[special] !== "+Inf")
        .map((v) => Number(v.labels[special])),
    ),
  ].sort((a, b) => a - b);
  const points = new Map<number, Map<number, number>>();
  const sums: number[] = [];
  const counts: number[] = [];
  for (const v of values) {
    const id = seriesOf(v.labels);
    const sample = v.metricName ?? name;
    if (sample === `${name}_sum`) sums[id] = Number(v.value);
    else if (sample === `${name}_count`) counts[id] = Number(v.value);
    else if (v.labels?.[special] !== undefined && v.labels[special] !== "+Inf") {
      if (!points.has(id)) points.set(id, new Map());
      points.get(id)!.set(Number(v.labels[special]), Number(v.value));
    }
  }
  const size = seriesIds.size;
  const flat: number[] = [];
  for (let s = 0; s < size; s++) {
    const p = points.get(s);
    for (const r of ranks) flat.push(p?.get(r) ?? (type === "summary" ? NaN : 0));
    if (type === "histogram") flat.push(counts[s] ?? 0);
    sums[s] ??= 0;
    counts[s] ??= 0;
  }
  return {
    ...head,
    size,
    values: flat,
    sums,
    counts,
    ...(type === "histogram" ? { bounds: ranks } : { quantiles: ranks }),
  };
}

/** `family` with the registry's default labels added to every series (its own labels win). */
function withDefaults(family: MetricFamily, names: string[], escaped: string[]): MetricFamily {
  const add: number[] = [];
  for (let i = 0; i < names.length; i++) if (!family.labelNames.includes(names[i])) add.push(i);
  if (add.length === 0) return family;
  const n = family.labelNames.length;
  const labelValues: string[] = [];
  for (let s = 0; s < family.size; s++) {
    for (let i = 0; i < n; i++) labelValues.push(family.labelValues[s * n + i]);
    for (const i of add) labelValues.push(escaped[i]);
  }
  return {
    ...family,
    labelNames: [...family.labelNames, ...add.map((i) => names[i])],
    labelValues,
  };
}

/**
 * prom-client's `Registry`: the metrics one endpoint exposes, rendered in its
 * content type (Prometheus text 0.0.4 by default, or OpenMetrics 1.0.0).
 *
 * Registering a second metric under a taken name throws prom-client's
 * `Error`. A metric whose samples would collide with another's (a counter
 * `x` beside a gauge `x_total`) is refused with a `TypeError` too, where
 * prom-client would write both into one broken scrape.
 *
 * @example
 * ```ts
 * import { Counter, Registry } from "@securetrack/metrics/prom-client";
 * const registry = new Registry();
 * const c = new Counter({ name: "jobs_total", help: "Jobs", registers: [registry] });
 * c.inc();
 * console.log(registry.contentType, await registry.metrics());
 * ```
 */
export class Registry {
  /** The Prometheus text 0.0.4 content type. */
  static get PROMETHEUS_CONTENT_TYPE(): "text/plain; version=0.0.4; charset=utf-8" {
    return "text/plain; version=0.0.4; charset=utf-8";
  }

  /** The OpenMetrics 1.0.0 content type. */
  static get OPENMETRICS_CONTENT_TYPE(): "application/openmetrics-text; version=1.0.0; charset=utf-8" {
    return "application/openmetrics-text; version=1.0.0; charset=utf-8";
  }

  readonly #metrics = new Map<string, PromClientMetric>();
  readonly #core = new CoreRegistry();
  #defaultLabels: Record<string, string> = {};
  #defaultNames: string[] = [];
  #defaultEscaped: string[] = [];
  #contentType: RegistryContentType;

  /** Creates an empty registry rendering `contentType` (default: Prometheus text). */
  constructor(contentType: RegistryContentType = PROMETHEUS) {
    if (contentType !== PROMETHEUS && contentType !== OPENMETRICS) {
      throw new TypeError(`Content type ${contentType} is unsupported`);
    }
    this.#contentType = contentType;
  }

  /** The content type `metrics()` renders; send it as the response's `Content-Type`. */
  get contentType(): RegistryContentType {
    return this.#contentType;
  }

  /** Switches the rendered format; throws for any other content type than the two above. */
  setContentType(contentType: RegistryContentType): void {
    if (contentType !== PROMETHEUS && contentType !== OPENMETRICS) {
      throw new Error(`Content type ${contentType} is unsupported`);
    }
    this.#contentType = contentType;
  }

  /**
   * Adds a metric: the drop-in's own, or any object with a `name` and an
   * async `get()` in prom-client's shape. Throws if another metric holds the
   * name.
   */
  registerMetric(metric: PromClientMetric): void {
    const existing = this.#metrics.get(metric.name);
    if (existing === metric) return;
    if (existing !== undefined) {
      throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    }
    const collector: Collector = internalsOf(metric as unknown as Collector) !== undefined
      ? metric as unknown as Collector
      : {
        name: metric.name,
        type: TYPES.includes(metric.type ?? "") ? metric.type as MetricType : undefined,
        collect: async () => familyOf(await metric.get()),
      };
    this.#core.register(collector);
    this.#metrics.set(metric.name, metric);
  }

  /** Every registered metric, in registration order. */
  getMetricsAsArray(): PromClientMetric[] {
    return [...this.#metrics.values()];
  }

  /** The metric registered as `name`, if any. */
  getSingleMetric(name: string): PromClientMetric | undefined {
    return this.#metrics.get(name);
  }

  /** Unregisters the metric named `name`. */
  removeSingleMetric(name: string): void {
    if (this.#metrics.delete(name)) this.#core.unregister(name);
  }

  /** Unregisters every metric and forgets the default labels. */
  clear(): void {
    this.#metrics.clear();
    this.#core.clear();
    this.setDefaultLabels({});
  }

  /** Resets every registered metric, keeping them registered. */
  resetMetrics(): void {
    for (const m of this.#metrics.values()) m.reset?.();
  }

  /**
   * Labels added to every series of every metric at exposition (a series'
   * own label of the same name wins). Throws a `TypeError` for a label name
   * that is not valid.
   */
  setDefaultLabels(labels: Record<string, string | number>): void {
    const names = Object.keys(labels ?? {});
    for (const n of names) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n)) {
        throw new TypeError(`Invalid default label name ${JSON.stringify(n)}`);
      }
    }
    this.#defaultLabels = Object.fromEntries(names.map((n) => [n, String(labels[n])]));
    this.#defaultNames = names;
    this.#defaultEscaped = names.map((n) => escapeLabelValue(this.#defaultLabels[n]));
  }

  async #families(only?: string): Promise<MetricFamily[]> {
    let families = await this.#core.collect();
    if (only !== undefined) families = families.filter((f) => f.name === only);
    if (this.#defaultNames.length === 0) return families;
    return families.map((f) => withDefaults(f, this.#defaultNames, this.#defaultEscaped));
  }

  #render(families: MetricFamily[]): string {
    return this.#contentType === OPENMETRICS
      ? toOpenMetrics(families, { created: false })
      : toText(families);
  }

  /** Renders every metric in {@linkcode Registry.contentType}. */
  async metrics(): Promise<string> {
    return this.#render(await this.#families());
  }

  /** Renders the one metric named `name`, without the OpenMetrics `# EOF` line. */
  async getSingleMetricAsString(name: string): Promise<string> {
    const text = this.#render(await this.#families(name));
    return text.endsWith("# EOF\n") ? text.slice(0, -6) : text;
  }

  /** Every metric's `get()`, with the default labels added to each sample. */
  async getMetricsAsJSON(): Promise<MetricObject[]> {
    const all = await Promise.all([...this.#metrics.values()].map((m) => m.get()));
    const defaults = this.#defaultNames;
    if (defaults.length === 0) return all;
    for (const item of all) {
      for (const v of item.values ?? []) {
        v.labels = { ...v.labels };
        for (const n of defaults) v.labels[n] ??= this.#defaultLabels[n];
      }
    }
    return all;
  }

  /**
   * A registry holding every metric of `registries` (which must share one
   * content type); throws if two of them hold the same name.
   */
  static merge(registries: Registry[]): Registry {
    const type = registries[0].contentType;
    for (const r of registries) {
      if (r.contentType !== type) {
        throw new Error("Registers can only be merged if they have the same content type");
      }
    }
    const merged = new Registry(type);
    for (const r of registries) for (const m of r.getMetricsAsArray()) merged.registerMetric(m);
    return merged;
  }
}

/** The registry metrics join when created without `registers`. */
export const register: Registry = new Registry();
