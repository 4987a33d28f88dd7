/**
 * Prometheus metrics for Deno and Bun, with no dependencies: counters,
 * gauges, histograms and a quantile-sketch summary, exposed as Prometheus
 * text 0.0.4 or OpenMetrics 1.0.0 through a web-standard fetch handler.
 *
 * @example
 * ```ts
 * import { Counter, Histogram, Registry } from "@securetrack/metrics";
 *
 * const registry = new Registry();
 * const requests = new Counter({
 *   name: "llm_requests_total",
 *   help: "Total number of LLM API requests",
 *   labelNames: ["model", "endpoint"],
 *   registry,
 * });
 * requests.inc({ model: "gpt-4o", endpoint: "chat" });
 *
 * const latency = new Histogram({ name: "x_seconds", help: "Work time", buckets: [0.1, 1, 10], registry });
 * latency.observe(0.42);
 *
 * console.log(await registry.metrics());
 * ```
 *
 * @module
 */

export { Counter, CounterChild, type CounterOptions } from "./core/counter.ts";
export { Gauge, GaugeChild, type GaugeOptions } from "./core/gauge.ts";
export { Histogram, HistogramChild, type HistogramOptions } from "./core/histogram.ts";
export { DEFAULT_PERCENTILES, Summary, SummaryChild, type SummaryOptions } from "./core/summary.ts";
export { type Collector, Metric, type MetricOptions } from "./core/metric.ts";
export {
  COLLECT_ERRORS_METRIC,
  type CollectOptions,
  defaultRegistry,
  type ExpositionFormat,
  OVERFLOW_METRIC,
  Registry,
} from "./core/registry.ts";
export { DEFAULT_BUCKETS, exponentialBuckets, linearBuckets } from "./core/buckets.ts";
export type { MetricFamily, MetricType } from "./core/family.ts";
export type { LabelValues } from "./core/labels.ts";
export type { Timer } from "./core/clock.ts";
export { DEFAULT_MAX_SERIES, OVERFLOW_VALUE } from "./core/series.ts";
export { TEXT_CONTENT_TYPE, toText } from "./exposition/text.ts";
export {
  OPENMETRICS_CONTENT_TYPE,
  type OpenMetricsOptions,
  toOpenMetrics,
} from "./exposition/openmetrics.ts";
export { acceptsGzip, type NegotiatedFormat, negotiateFormat } from "./exposition/negotiation.ts";
export { metricsHandler, type MetricsHandlerOptions } from "./http/metrics_handler.ts";
export {
  type ErrorRecord,
  HIGHR_BUCKETS,
  type HttpMetrics,
  httpMetrics,
  instrument,
  type InstrumentOptions,
  LOWR_BUCKETS,
  type RequestRecord,
} from "./http/instrument.ts";
export { pathnameOf, RouteTable, UNMATCHED_HANDLER } from "./http/routes.ts";
export {
  registerProcessMetrics,
  registerRuntimeMetrics,
  type RuntimeMetrics,
  type RuntimeName,
  runtimeName,
  ScalarCollector,
} from "./collectors/mod.ts";
export { type Cluster, type ClusterOptions, joinCluster } from "./cluster/mod.ts";
export { type GaugeAggregation } from "./core/gauge.ts";
export { methodLabel } from "./http/methods.ts";
