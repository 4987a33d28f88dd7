/**
 * Feature tracking: how often each feature runs, how long it takes and how
 * it fails (`feature_usage_total`, `feature_duration_seconds`,
 * `feature_errors_total`), through `using`, a wrapper or a decorator.
 *
 * @module
 */

import type { TrackingMetrics } from "./catalogue.ts";
import { errorClassName, labelValue } from "./_validate.ts";

/**
 * Options for `FeatureMetrics` ({@linkcode FeatureMetricsBase}).
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createMetrics, FeatureMetrics } from "@securetrack/metrics/tracking";
 * const metrics = createMetrics(new Registry());
 * {
 *   using _feature = new FeatureMetrics("threat_analysis", { metrics });
 * }
 * ```
 */
export interface FeatureMetricsOptions {
  /**
   * The catalogue to record into. Absent: that of the class (`customRegistry`'s
   * for the `FeatureMetrics` of `@securetrack/metrics/tracking`).
   */
  metrics?: TrackingMetrics;
}

/**
 * The class behind `FeatureMetrics` (and `createTracking(...).FeatureMetrics`),
 * which bind it to their registry's catalogue: one run of a feature, for
 * `using`. Created when the feature starts; when disposed (or
 * {@linkcode FeatureMetricsBase.end}ed), it counts one use in
 * `feature_usage_total{feature_name}` and observes the elapsed time in
 * `feature_duration_seconds{feature_name}`, once.
 *
 * Dispose cannot see an exception leaving the block, so an error is
 * recorded with {@linkcode FeatureMetricsBase.fail} (or use `trackFeature`,
 * which does both). A failed run still counts as a use, so that
 * `feature_errors_total / feature_usage_total` is an error rate.
 *
 * The feature name is a label: keep it to a fixed set of names. Throws a
 * `TypeError` for an empty or non-string name; names longer than 128
 * characters are truncated. Constructed directly (it is exported as a type
 * only), it needs `options.metrics`.
 *
 * @example
 * ```ts
 * import { FeatureMetrics, type FeatureMetricsBase } from "@securetrack/metrics/tracking";
 *
 * function analyzeThreats(input: string): string[] {
 *   using feature: FeatureMetricsBase = new FeatureMetrics("threat_analysis");
 *   try {
 *     return input.split(",");
 *   } catch (error) {
 *     feature.fail(error);
 *     throw error;
 *   }
 * }
 * analyzeThreats("spoofing,tampering");
 * ```
 */
export class FeatureMetricsBase implements Disposable {
  /** The `feature_name` label (after truncation). */
  readonly featureName: string;
  readonly #m: TrackingMetrics;
  readonly #start: number;
  #seconds = -1;

  /**
   * Starts timing a run of `featureName`, recording into `options.metrics`
   * (through `FeatureMetrics`: by default, the catalogue it is bound to).
   */
  constructor(featureName: string, options: FeatureMetricsOptions = {}) {
    this.featureName = labelValue("FeatureMetrics", "featureName", featureName);
    const m = options?.metrics;
    if (m === undefined) {
      throw new TypeError(
        "FeatureMetrics: no catalogue: pass { metrics }, or use the FeatureMetrics of " +
          "@securetrack/metrics/tracking or of createTracking(registry)",
      );
    }
    this.#m = m;
    this.#start = performance.now();
  }

  /**
   * Counts `error` in `feature_errors_total{feature_name,error_type}`, where
   * `error_type` is the error's class name (`TypeError`, `ValidationError`);
   * each call counts one error.
   */
  fail(error: unknown): void {
    this.#m.featureErrorsTotal.inc({
      feature_name: this.featureName,
      error_type: errorClassName(error),
    });
  }

  /** Records the use and its duration (the first time only); returns the elapsed seconds. */
  end(): number {
    if (this.#seconds >= 0) return this.#seconds;
    this.#seconds = (performance.now() - this.#start) / 1000;
    const labels = { feature_name: this.featureName };
    this.#m.featureUsageTotal.inc(labels);
    this.#m.featureDurationSeconds.observe(labels, this.#seconds);
    return this.#seconds;
  }

  /** Same as {@linkcode FeatureMetricsBase.end}. */
  [Symbol.dispose](): void {
    this.end();
  }
}

/**
 * A function wrapper that also works as a TC39 method decorator.
 *
 * @example
 * ```ts
 * import { type FeatureWrapper, trackFeatureAsync } from "@securetrack/metrics/tracking";
 * const asReport: FeatureWrapper = trackFeatureAsync("report_generation");
 * const render = asReport(async (title: string): Promise<string> => `# ${title}`);
 * await render("Threats");
 * ```
 */
export type FeatureWrapper = <This, Args extends unknown[], R>(
  fn: (this: This, ...args: Args) => R,
  context?: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
) => (this: This, ...args: Args) => R;

/**
 * The feature helpers, bound to a catalogue.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking, type FeatureTrackers } from "@securetrack/metrics/tracking";
 * const { trackFeature }: FeatureTrackers = createTracking(new Registry());
 * const n = trackFeature("threat_analysis", () => 3);
 * ```
 */
export interface FeatureTrackers {
  /** Runs `fn` (sync or async) as one run of feature `name`. */
  trackFeature<T>(name: string, fn: () => T): T;
  /** A wrapper / method decorator running each call as one run of feature `name`. */
  trackFeatureAsync(name: string): FeatureWrapper;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/** Runs `fn` as one run of the feature: usage, duration and any error. */
function run<T>(m: TrackingMetrics, name: string, fn: () => T): T {
  const feature = new FeatureMetricsBase(name, { metrics: m });
  let result: T;
  try {
    result = fn();
  } catch (error) {
    feature.fail(error);
    feature.end();
    throw error;
  }
  if (!isThenable(result)) {
    feature.end();
    return result;
  }
  return result.then(
    (value) => {
      feature.end();
      return value;
    },
    (error) => {
      feature.fail(error);
      feature.end();
      throw error;
    },
  ) as T;
}

/** Builds `trackFeature` and `trackFeatureAsync` for catalogue `m`. */
export function featureTrackers(m: TrackingMetrics): FeatureTrackers {
  return {
    trackFeature<T>(name: string, fn: () => T): T {
      const feature = labelValue("trackFeature", "name", name);
      if (typeof fn !== "function") {
        throw new TypeError(`trackFeature: fn must be a function, got ${typeof fn}`);
      }
      return run(m, feature, fn);
    },
    trackFeatureAsync(name: string): FeatureWrapper {
      const feature = labelValue("trackFeatureAsync", "name", name);
      return <This, Args extends unknown[], R>(
        fn: (this: This, ...args: Args) => R,
        context?: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
      ): (this: This, ...args: Args) => R => {
        if (typeof fn !== "function") {
          throw new TypeError(`trackFeatureAsync("${feature}"): wraps functions, got ${typeof fn}`);
        }
        if (context !== undefined && context?.kind !== "method") {
          throw new TypeError(
            `trackFeatureAsync("${feature}"): decorates methods only, not a ${
              String((context as { kind?: unknown })?.kind)
            }`,
          );
        }
        return function (this: This, ...args: Args): R {
          return run(m, feature, () => fn.apply(this, args));
        };
      };
    },
  };
}

/**
 * Builds the `FeatureMetrics` class bound to catalogue `m`: it records into
 * `m` unless given other `metrics`.
 */
export function boundFeatureMetrics(m: TrackingMetrics): typeof FeatureMetricsBase {
  return class FeatureMetrics extends FeatureMetricsBase {
    constructor(featureName: string, options: FeatureMetricsOptions = {}) {
      super(featureName, { ...options, metrics: options?.metrics ?? m });
    }
  };
}
