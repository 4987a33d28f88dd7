/**
 * Registry: the set of metrics one endpoint exposes, and the scrape-time
 * collection that isolates failing collectors.
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { toOpenMetrics } from "../exposition/openmetrics.ts";
import { toText } from "../exposition/text.ts";
import { type Collector, internalsOf } from "./collector.ts";
import { SelfCounter } from "./_self_counter.ts";
import { OVERFLOW_VALUE } from "./series.ts";

/**
 * Where the library reports what needs an operator's eye (a collector that
 * fails, a metric that cannot be created): one message, one line. Never
 * called once per request or per observation: each problem is reported once,
 * and counted in a metric from then on.
 */
export type Log = (message: string) => void;

/** Options for a {@linkcode Registry}. */
export interface RegistryOptions {
  /**
   * Where this registry, and everything working with it (`metricsHandler`,
   * `instrument`, the collectors, `joinCluster`), reports problems. Absent:
   * one line to stderr per problem, prefixed `[metrics]`.
   */
  log?: Log;
}

const stderrLog: Log = (message) => console.error(`[metrics] ${message}`);

/** The exposition formats a registry renders. */
export type ExpositionFormat = "text" | "openmetrics";

/** Options for {@linkcode Registry.collect} and {@linkcode Registry.metrics}. */
export interface CollectOptions {
  /**
   * Longest time to wait for asynchronous collectors, in milliseconds. A
   * collector still running then is left out of this scrape and counted as a
   * failure. Absent: wait for all of them.
   */
  timeoutMs?: number;
  /** OpenMetrics only: emit `_created` samples (default `true`). */
  created?: boolean;
}

/** Name of the counter that counts calls folded into overflow series. */
export const OVERFLOW_METRIC = "metrics_series_overflow_total";
/** Name of the counter that counts collectors that failed during a scrape. */
export const COLLECT_ERRORS_METRIC = "metrics_collect_errors_total";

/**
 * A set of uniquely named metrics (or other {@linkcode Collector}s), rendered
 * together on a scrape.
 *
 * @example
 * ```ts
 * import { Gauge, Registry } from "@securetrack/metrics";
 * const registry = new Registry();
 * new Gauge({ name: "queue_depth", help: "Jobs waiting", registry }).set(3);
 * const text = await registry.metrics();             // Prometheus text 0.0.4
 * const om = await registry.metrics("openmetrics");  // OpenMetrics 1.0.0
 * ```
 */
export class Registry {
  /**
   * Where this registry and what works with it report problems (see
   * {@linkcode RegistryOptions.log}); assign it to redirect or silence them.
   */
  log: Log;
  readonly #collectors = new Map<string, Collector>();
  /** Every name a collector's output uses (family and sample names), to its owner's name. */
  readonly #exposed = new Map<string, string>();
  #overflow: SelfCounter | undefined;
  #collectErrors: SelfCounter | undefined;
  readonly #warned = new Set<string>();
  readonly #listeners: ((collector: Collector) => void)[] = [];

  /** Creates an empty registry (see {@linkcode RegistryOptions}). */
  constructor(options: RegistryOptions = {}) {
    if (options.log !== undefined && typeof options.log !== "function") {
      throw new TypeError("Registry: log must be a function (message: string) => void");
    }
    this.log = options.log ?? stderrLog;
  }

  /**
   * Reports `message` through {@linkcode Registry.log} the first time `key`
   * is reported, and never again for that key: for problems that repeat on
   * every request or scrape.
   */
  logOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.log(message);
  }

  /**
   * Adds a collector. If one with the same name is registered already, the
   * existing one is returned when it is compatible (same kind, help and
   * labels), so re-running module set-up is safe; otherwise a `TypeError`
   * is thrown.
   */
  register<C extends Collector>(collector: C): C {
    const existing = this.#collectors.get(collector.name);
    if (existing === undefined) {
      const names = exposedNames(collector);
      for (const name of names) {
        const owner = this.#exposed.get(name);
        if (owner !== undefined) {
          throw new TypeError(
            `Metric "${collector.name}" would expose "${name}", which metric "${owner}" ` +
              `already exposes: the two would collide in the scrape output`,
          );
        }
      }
      for (const name of names) this.#exposed.set(name, collector.name);
      this.#collectors.set(collector.name, collector);
      // The series index reports each call folded into an overflow series;
      // the registry counts it (not its own counters: they would recurse).
      const index = internalsOf(collector)?.store.index;
      if (index !== undefined && !(collector instanceof SelfCounter)) {
        const name = collector.name;
        index.onOverflow = () => this.#countOverflow(name, index.maxSeries);
      }
      for (const listener of this.#listeners) listener(collector);
      return collector;
    }
    if (existing === collector) return collector;
    const sig = (c: Collector) => internalsOf(c)?.signature;
    if (
      existing.constructor === collector.constructor && sig(existing) !== undefined &&
      sig(existing) === sig(collector)
    ) {
      return existing as C;
    }
    throw new TypeError(`A metric named "${collector.name}" is already registered`);
  }

  /**
   * Calls `listener` with every collector registered from now on (the
   * cluster module uses it to share metrics created after it joined).
   */
  onRegister(listener: (collector: Collector) => void): void {
    this.#listeners.push(listener);
  }

  /** Removes the collector named `name`; returns whether there was one. */
  unregister(name: string): boolean {
    if (name === OVERFLOW_METRIC) this.#overflow = undefined;
    if (name === COLLECT_ERRORS_METRIC) this.#collectErrors = undefined;
    for (const [exposed, owner] of this.#exposed) if (owner === name) this.#exposed.delete(exposed);
    const collector = this.#collectors.get(name);
    const index = collector && internalsOf(collector)?.store.index;
    if (index !== undefined) index.onOverflow = undefined;
    return this.#collectors.delete(name);
  }

  /** The collector registered as `name`, if any. */
  get(name: string): Collector | undefined {
    return this.#collectors.get(name);
  }

  /** Every registered collector, in registration order. */
  getAll(): Collector[] {
    return [...this.#collectors.values()];
  }

  /** Removes every collector. */
  clear(): void {
    this.#collectors.clear();
    this.#exposed.clear();
    this.#overflow = undefined;
    this.#collectErrors = undefined;
  }

  /** Resets every registered metric that supports it (`reset()`), keeping them registered. */
  resetMetrics(): void {
    for (const c of this.#collectors.values()) {
      (c as { reset?: () => void }).reset?.();
    }
  }

  /**
   * Counts one call folded into `metric`'s overflow series; the first one
   * is also said once in {@linkcode Registry.log}.
   */
  #countOverflow(metric: string, maxSeries: number): void {
    this.#overflow ??= this.#selfCounter(
      OVERFLOW_METRIC,
      "Calls folded into a metric's overflow series because it reached its series cap",
    );
    this.#overflow?.inc(metric);
    const key = `overflow\u0000${metric}`;
    if (this.#warned.has(key)) return; // the hot path of an overflowing metric: no message built
    this.logOnce(
      key,
      `metric "${metric}" reached its series cap (maxSeries ${maxSeries}): new label sets are ` +
        `folded into its "${OVERFLOW_VALUE}" series and counted in ${OVERFLOW_METRIC} ` +
        `(reported once)`,
    );
  }

  /**
   * Creates and registers one of the registry's own counters. Should another
   * collector already hold the name, the count is skipped (with one notice)
   * rather than failing the `inc` or scrape that triggered it.
   */
  #selfCounter(name: string, help: string): SelfCounter | undefined {
    try {
      return this.register(new SelfCounter(name, help));
    } catch (error) {
      this.logOnce(`create\u0000${name}`, `cannot create ${name}: ${(error as Error).message}`);
      return undefined;
    }
  }

  #collectFailed(name: string, error: unknown): void {
    this.#collectErrors ??= this.#selfCounter(
      COLLECT_ERRORS_METRIC,
      "Collectors that failed or timed out during a scrape, left out of that scrape",
    );
    this.#collectErrors?.inc(name);
    const kind = error instanceof Error ? error.name : typeof error;
    this.logOnce(
      `collect\u0000${name}`,
      `collecting "${name}" failed (${kind}); it is left out of scrapes while it fails, ` +
        `and counted in ${COLLECT_ERRORS_METRIC}`,
    );
  }

  /**
   * Collects every family. A collector that throws, rejects or times out is
   * left out and counted in `metrics_collect_errors_total{metric}`; the
   * others are returned as usual.
   */
  async collect(options: CollectOptions = {}): Promise<MetricFamily[]> {
    const collectors: Collector[] = [];
    for (const c of this.#collectors.values()) if (c !== this.#collectErrors) collectors.push(c);
    const results: (MetricFamily | undefined)[] = new Array(collectors.length);
    const pending: Promise<void>[] = [];
    const open = new Array<boolean>(collectors.length).fill(false);
    for (let i = 0; i < collectors.length; i++) {
      try {
        const r = collectors[i].collect();
        if (r instanceof Promise) {
          open[i] = true;
          pending.push(r.then(
            (family) => {
              if (!open[i]) return; // timed out already
              open[i] = false;
              results[i] = family;
            },
            (error) => {
              if (!open[i]) return;
              open[i] = false;
              this.#collectFailed(collectors[i].name, error);
            },
          ));
        } else {
          results[i] = r;
        }
      } catch (error) {
        this.#collectFailed(collectors[i].name, error);
      }
    }
    if (pending.length > 0) {
      const all = Promise.all(pending);
      if (options.timeoutMs === undefined || options.timeoutMs === Infinity) {
        await all;
      } else {
        // setTimeout turns a delay past 2^31 - 1 ms into 1 ms: clamp it, or a
        // huge scrape timeout would drop every asynchronous collector.
        const delay = Math.min(options.timeoutMs, 2 ** 31 - 1);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          all,
          new Promise<void>((resolve) => timer = setTimeout(resolve, delay)),
        ]);
        clearTimeout(timer);
        for (let i = 0; i < collectors.length; i++) {
          if (open[i]) {
            open[i] = false; // a late result is ignored
            this.#collectFailed(collectors[i].name, new Error("timed out"));
          }
        }
      }
    }
    const families: MetricFamily[] = [];
    for (const f of results) if (f !== undefined) families.push(f);
    // Collected last, so it includes the failures of this very scrape.
    if (this.#collectErrors !== undefined) families.push(this.#collectErrors.collect());
    return families;
  }

  /** Renders every metric as Prometheus text 0.0.4 (default) or OpenMetrics 1.0.0. */
  async metrics(format: ExpositionFormat = "text", options: CollectOptions = {}): Promise<string> {
    const families = await this.collect(options);
    return format === "openmetrics"
      ? toOpenMetrics(families, { created: options.created ?? true })
      : toText(families);
  }
}

/**
 * The names a collector's output uses in either format: a counter `x_total`
 * is family `x_total` in text and `x` in OpenMetrics, with samples `x_total`
 * and `x_created`; a histogram `h` has `h_bucket`, `h_sum`, `h_count`,
 * `h_created`; a summary the same but `_bucket`.
 */
function exposedNames(c: Collector): string[] {
  const n = c.name;
  switch (c.type) {
    case "counter": {
      const family = n.endsWith("_total") ? n.slice(0, -6) : n;
      return [...new Set([n, family, family + "_total", family + "_created"])];
    }
    case "histogram":
      return [n, n + "_bucket", n + "_sum", n + "_count", n + "_created"];
    case "summary":
      return [n, n + "_sum", n + "_count", n + "_created"];
    default:
      return [n];
  }
}

/** The registry metrics join when created without a `registry` option. */
export const defaultRegistry: Registry = new Registry();
