/**
 * The SecureTrack metric catalogue: the 20 metrics of the user's document
 * (`metrics-system.md`), with exactly its names, types, label names (in the
 * document's order) and descriptions as HELP text, plus the bucket layouts
 * chosen for what each histogram measures.
 *
 * @module
 */

import { Counter } from "../core/counter.ts";
import { Gauge } from "../core/gauge.ts";
import { Histogram } from "../core/histogram.ts";
import type { NativeHistogramOptions } from "../core/native.ts";
import { MetricVec } from "../core/vec.ts";
import type { Registry } from "../core/registry.ts";
import { Summary } from "../core/summary.ts";
import { DEFAULT_BUCKETS } from "../core/buckets.ts";
import { DEFAULT_MAX_SERIES } from "../core/series.ts";

/**
 * Longest label value the tracking helpers keep, in UTF-16 code units. Longer
 * values are cut to this length (never inside a surrogate pair), so a stray
 * paragraph of text cannot bloat every scrape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_LABEL_VALUE_LENGTH, trackUserAction } from "@securetrack/metrics/tracking";
 * trackUserAction("x".repeat(500)); // counted as action_type "xxx…" of 128 characters
 * assert.deepEqual(MAX_LABEL_VALUE_LENGTH, 128);
 * ```
 */
export const MAX_LABEL_VALUE_LENGTH = 128;

/**
 * Buckets of `llm_request_duration_seconds`: the OpenTelemetry GenAI
 * semantic conventions' advisory buckets for `gen_ai.client.operation.duration`
 * (0.01 s doubling to 81.92 s), extended by two more doublings to 327.68 s.
 * LLM calls range from a 100 ms cached reply to several minutes of
 * generation, so the buckets grow geometrically: every bucket has the same
 * relative width (a factor of 2), and a slow call is still placed to within a
 * factor of two instead of falling into `+Inf` past 10 s, as it would with the
 * Prometheus defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LLM_DURATION_BUCKETS } from "@securetrack/metrics/tracking";
 * assert.deepEqual(LLM_DURATION_BUCKETS.at(-1), 327.68);
 * ```
 */
export const LLM_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.01,
  0.02,
  0.04,
  0.08,
  0.16,
  0.32,
  0.64,
  1.28,
  2.56,
  5.12,
  10.24,
  20.48,
  40.96,
  81.92,
  163.84,
  327.68,
]);

/**
 * Buckets of `app_request_duration_seconds`: the Prometheus defaults (5 ms to
 * 10 s), so that dashboards and alerts written for other Prometheus clients'
 * HTTP histograms work unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { APP_DURATION_BUCKETS } from "@securetrack/metrics/tracking";
 * assert.deepEqual(APP_DURATION_BUCKETS.length, 11);
 * ```
 */
export const APP_DURATION_BUCKETS: readonly number[] = DEFAULT_BUCKETS;

/**
 * Buckets of `feature_duration_seconds` and `user_action_duration_seconds`:
 * the Prometheus defaults up to 10 s, then 30 s, 1, 2, 5 and 10 minutes.
 * A feature such as a threat analysis, or a user action such as a document
 * upload, can take from milliseconds to several minutes (they often wait on
 * an LLM), and the defaults would put everything past 10 s into `+Inf`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FEATURE_DURATION_BUCKETS } from "@securetrack/metrics/tracking";
 * assert.deepEqual(FEATURE_DURATION_BUCKETS.at(-1), 600);
 * ```
 */
export const FEATURE_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
]);

/**
 * Buckets of `user_action_duration_seconds`: the same as
 * {@linkcode FEATURE_DURATION_BUCKETS}, for the same reason (user actions
 * range from a click to a multi-minute upload).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { USER_ACTION_DURATION_BUCKETS } from "@securetrack/metrics/tracking";
 * assert.deepEqual(USER_ACTION_DURATION_BUCKETS.includes(300), true);
 * ```
 */
export const USER_ACTION_DURATION_BUCKETS: readonly number[] = FEATURE_DURATION_BUCKETS;

/**
 * Buckets of `analysis_complexity`. The document gives no scale for the
 * complexity score, so one is assumed: a score from 0 (trivial) to 100 (most
 * complex), observed once per analysis. The buckets are every 10 points,
 * 10 … 100, which is enough to see how the load is spread and to compute
 * quantiles to within 10 points; a score above 100 still counts, in `+Inf`
 * only. If your scores use another scale, build your own catalogue
 * histogram with other buckets rather than rescaling the score.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ANALYSIS_COMPLEXITY_BUCKETS } from "@securetrack/metrics/tracking";
 * assert.deepEqual(ANALYSIS_COMPLEXITY_BUCKETS.join(","), "10,20,30,40,50,60,70,80,90,100");
 * ```
 */
export const ANALYSIS_COMPLEXITY_BUCKETS: readonly number[] = Object.freeze([
  10,
  20,
  30,
  40,
  50,
  60,
  70,
  80,
  90,
  100,
]);

/**
 * Quantiles of the `llm_completion_size_bytes` summary: the median, p90 and
 * p99, over a 10-minute window sliding in 2-minute steps
 * ({@linkcode COMPLETION_SIZE_MAX_AGE_SECONDS}, five age buckets).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPLETION_SIZE_PERCENTILES } from "@securetrack/metrics/tracking";
 * assert.deepEqual(COMPLETION_SIZE_PERCENTILES, [0.5, 0.9, 0.99]);
 * ```
 */
export const COMPLETION_SIZE_PERCENTILES: readonly number[] = Object.freeze([0.5, 0.9, 0.99]);

/**
 * Window of the `llm_completion_size_bytes` quantiles, in seconds (10 minutes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPLETION_SIZE_MAX_AGE_SECONDS } from "@securetrack/metrics/tracking";
 * assert.deepEqual(COMPLETION_SIZE_MAX_AGE_SECONDS, 600);
 * ```
 */
export const COMPLETION_SIZE_MAX_AGE_SECONDS = 600;

/**
 * Options for {@linkcode createMetrics} and `createTracking`.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking, type TrackingOptions } from "@securetrack/metrics/tracking";
 * const options: TrackingOptions = { workspaceMaxUsers: 50_000, maxSeries: 1_000 };
 * createTracking(new Registry(), options);
 * ```
 */
export interface TrackingOptions {
  /**
   * Most users `workspace_size_bytes` holds a series for (default 10,000).
   * Past it, further users fold into the `user_id="__overflow__"` series and
   * `metrics_series_overflow_total{metric="workspace_size_bytes"}` counts the
   * folded calls. Free a user's series with `removeWorkspace(userId)`.
   */
  workspaceMaxUsers?: number;
  /**
   * Series cap of every other labelled metric of the catalogue (default
   * 10,000, the core's default). It bounds the free-text labels (`reason`,
   * `action_type`, `feature_name`, `endpoint`, `error_type`).
   */
  maxSeries?: number;
  /**
   * Also keep native (sparse, exponential) buckets in the two latency
   * histograms, `llm_request_duration_seconds` and
   * `app_request_duration_seconds`: `true` for the defaults (factor 1.1,
   * schema 3), or their options. The classic buckets stay, and text and
   * OpenMetrics scrapes get only them; Prometheus started with
   * `--enable-feature=native-histograms` asks for protobuf and stores the
   * native histograms instead (query them with `histogram_quantile(0.9,
   * sum(rate(llm_request_duration_seconds[5m])))`, `histogram_count`,
   * `histogram_sum`). Default: classic only.
   */
  nativeHistograms?: boolean | NativeHistogramOptions;
}

/**
 * The 20 metrics of the catalogue, registered in one registry. Property names
 * are the metric names in camel case (`llm_requests_total` →
 * `llmRequestsTotal`).
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking } from "@securetrack/metrics/tracking";
 * const { metrics } = createTracking(new Registry());
 * const chat = metrics.llmRequestsTotal.labels({ model: "gpt-4o", endpoint: "chat" });
 * chat.inc();
 * ```
 */
export interface TrackingMetrics {
  /** `llm_requests_total`: Total number of LLM API requests. */
  readonly llmRequestsTotal: Counter<"model" | "endpoint">;
  /** `llm_tokens_total`: Total number of tokens processed by LLM (`type` = prompt/completion). */
  readonly llmTokensTotal: Counter<"model" | "type">;
  /** `llm_request_duration_seconds`: Duration of LLM API requests in seconds. */
  readonly llmRequestDurationSeconds: Histogram<"model" | "endpoint">;
  /** `llm_completion_size_bytes`: Size of LLM completions in bytes (UTF-8). */
  readonly llmCompletionSizeBytes: Summary<"model">;
  /** `llm_errors_total`: Total number of LLM API errors. */
  readonly llmErrorsTotal: Counter<"model" | "error_type">;
  /** `llm_rate_limits_total`: Total number of LLM API rate limit errors. */
  readonly llmRateLimitsTotal: Counter<"model">;
  /** `app_requests_total`: Total number of application requests. */
  readonly appRequestsTotal: Counter<"endpoint" | "method" | "status_code">;
  /** `app_request_duration_seconds`: Duration of application requests in seconds. */
  readonly appRequestDurationSeconds: Histogram<"endpoint" | "method">;
  /** `app_active_sessions`: Number of active user sessions. */
  readonly appActiveSessions: Gauge<never>;
  /** `app_errors_total`: Total number of application errors. */
  readonly appErrorsTotal: Counter<"endpoint" | "error_type">;
  /** `feature_usage_total`: Total number of times a feature is used. */
  readonly featureUsageTotal: Counter<"feature_name">;
  /** `feature_duration_seconds`: Duration of feature execution in seconds. */
  readonly featureDurationSeconds: Histogram<"feature_name">;
  /** `feature_errors_total`: Total number of feature-specific errors. */
  readonly featureErrorsTotal: Counter<"feature_name" | "error_type">;
  /** `user_registrations_total`: Total number of user registrations. */
  readonly userRegistrationsTotal: Counter<never>;
  /** `user_logins_total`: Total number of user logins. */
  readonly userLoginsTotal: Counter<never>;
  /** `user_auth_failures_total`: Total number of user authentication failures. */
  readonly userAuthFailuresTotal: Counter<"reason">;
  /** `user_action_total`: Total number of specific user actions. */
  readonly userActionTotal: Counter<"action_type">;
  /** `user_action_duration_seconds`: Duration of user actions in seconds. */
  readonly userActionDurationSeconds: Histogram<"action_type">;
  /** `workspace_size_bytes`: Size of user workspace in bytes. */
  readonly workspaceSizeBytes: Gauge<"user_id">;
  /** `analysis_complexity`: Complexity score of user analyses. */
  readonly analysisComplexity: Histogram<"analysis_type">;
}

function positiveInteger(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`createTracking: ${option} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Creates the 20 catalogue metrics in `registry` (or, for those already
 * registered there with the same definition, binds to the existing ones) and
 * returns them.
 *
 * Throws a `TypeError` if a name is taken by a different metric, or if the
 * catalogue is already registered there with other caps (`workspaceMaxUsers`
 * or `maxSeries`: the first caps would silently win otherwise); a
 * `RangeError` for a cap that is not a positive integer.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createMetrics } from "@securetrack/metrics/tracking";
 * const registry = new Registry();
 * const m = createMetrics(registry, { workspaceMaxUsers: 500 });
 * m.llmRequestsTotal.inc({ model: "gpt-4o", endpoint: "chat" });
 * console.log(await registry.metrics());
 * ```
 */
export function createMetrics(registry: Registry, options: TrackingOptions = {}): TrackingMetrics {
  const maxSeries = positiveInteger("maxSeries", options.maxSeries, DEFAULT_MAX_SERIES);
  const workspaceMaxUsers = positiveInteger(
    "workspaceMaxUsers",
    options.workspaceMaxUsers,
    DEFAULT_MAX_SERIES,
  );
  // A metric registered again shares the first one's storage, and with it the
  // first cap; a different cap asked for now would be silently ignored.
  for (
    const [name, option, cap] of [
      ["workspace_size_bytes", "workspaceMaxUsers", workspaceMaxUsers],
      ["llm_requests_total", "maxSeries", maxSeries],
    ] as const
  ) {
    const previous = registry.get(name);
    if (previous instanceof MetricVec && previous.maxSeries !== cap) {
      throw new TypeError(
        `createTracking: ${name} is already registered in this registry with ` +
          `${option} ${previous.maxSeries}, not ${cap}`,
      );
    }
  }
  const common = { registry, maxSeries };
  // `undefined` rather than `false`: the option object of a classic histogram stays as before.
  const native = options.nativeHistograms || undefined;
  return {
    llmRequestsTotal: new Counter({
      name: "llm_requests_total",
      help: "Total number of LLM API requests",
      labelNames: ["model", "endpoint"],
      ...common,
    }),
    llmTokensTotal: new Counter({
      name: "llm_tokens_total",
      help: "Total number of tokens processed by LLM",
      labelNames: ["model", "type"],
      ...common,
    }),
    llmRequestDurationSeconds: new Histogram({
      name: "llm_request_duration_seconds",
      help: "Duration of LLM API requests in seconds",
      labelNames: ["model", "endpoint"],
      buckets: LLM_DURATION_BUCKETS,
      native,
      ...common,
    }),
    llmCompletionSizeBytes: new Summary({
      name: "llm_completion_size_bytes",
      help: "Size of LLM completions in bytes",
      labelNames: ["model"],
      percentiles: COMPLETION_SIZE_PERCENTILES,
      maxAgeSeconds: COMPLETION_SIZE_MAX_AGE_SECONDS,
      ageBuckets: 5,
      ...common,
    }),
    llmErrorsTotal: new Counter({
      name: "llm_errors_total",
      help: "Total number of LLM API errors",
      labelNames: ["model", "error_type"],
      ...common,
    }),
    llmRateLimitsTotal: new Counter({
      name: "llm_rate_limits_total",
      help: "Total number of LLM API rate limit errors",
      labelNames: ["model"],
      ...common,
    }),
    appRequestsTotal: new Counter({
      name: "app_requests_total",
      help: "Total number of application requests",
      labelNames: ["endpoint", "method", "status_code"],
      ...common,
    }),
    appRequestDurationSeconds: new Histogram({
      name: "app_request_duration_seconds",
      help: "Duration of application requests in seconds",
      labelNames: ["endpoint", "method"],
      buckets: APP_DURATION_BUCKETS,
      native,
      ...common,
    }),
    appActiveSessions: new Gauge<never>({
      name: "app_active_sessions",
      help: "Number of active user sessions",
      registry,
    }),
    appErrorsTotal: new Counter({
      name: "app_errors_total",
      help: "Total number of application errors",
      labelNames: ["endpoint", "error_type"],
      ...common,
    }),
    featureUsageTotal: new Counter({
      name: "feature_usage_total",
      help: "Total number of times a feature is used",
      labelNames: ["feature_name"],
      ...common,
    }),
    featureDurationSeconds: new Histogram({
      name: "feature_duration_seconds",
      help: "Duration of feature execution in seconds",
      labelNames: ["feature_name"],
      buckets: FEATURE_DURATION_BUCKETS,
      ...common,
    }),
    featureErrorsTotal: new Counter({
      name: "feature_errors_total",
      help: "Total number of feature-specific errors",
      labelNames: ["feature_name", "error_type"],
      ...common,
    }),
    userRegistrationsTotal: new Counter<never>({
      name: "user_registrations_total",
      help: "Total number of user registrations",
      registry,
    }),
    userLoginsTotal: new Counter<never>({
      name: "user_logins_total",
      help: "Total number of user logins",
      registry,
    }),
    userAuthFailuresTotal: new Counter({
      name: "user_auth_failures_total",
      help: "Total number of user authentication failures",
      labelNames: ["reason"],
      ...common,
    }),
    userActionTotal: new Counter({
      name: "user_action_total",
      help: "Total number of specific user actions",
      labelNames: ["action_type"],
      ...common,
    }),
    userActionDurationSeconds: new Histogram({
      name: "user_action_duration_seconds",
      help: "Duration of user actions in seconds",
      labelNames: ["action_type"],
      buckets: USER_ACTION_DURATION_BUCKETS,
      ...common,
    }),
    workspaceSizeBytes: new Gauge({
      name: "workspace_size_bytes",
      help: "Size of user workspace in bytes",
      labelNames: ["user_id"],
      registry,
      // One user's workspace size is written by whichever worker handled the
      // upload: across workers the latest write is the truth.
      aggregate: "last",
      maxSeries: workspaceMaxUsers,
    }),
    analysisComplexity: new Histogram({
      name: "analysis_complexity",
      help: "Complexity score of user analyses",
      labelNames: ["analysis_type"],
      buckets: ANALYSIS_COMPLEXITY_BUCKETS,
      ...common,
    }),
  };
}
