/**
 * Prometheus metrics for Deno and Bun, with no dependencies: counters,
 * gauges, histograms and a quantile-sketch summary, exposed as Prometheus
 * text 0.0.4 or OpenMetrics 1.0.0 through a web-standard fetch handler.
 *
 * The other entry points: `./http` (request instrumentation), `./collectors`
 * (process and runtime metrics), `./cluster` (every worker's metrics in every
 * scrape), `./tracking` (the SecureTrack catalogue), `./llm` (an
 * OpenAI-compatible client).
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

export {
  Counter,
  CounterChild,
  type CounterExemplarIncrement,
  type CounterOptions,
} from "./core/counter.ts";
export { Gauge, type GaugeAggregation, GaugeChild, type GaugeOptions } from "./core/gauge.ts";
export {
  Histogram,
  HistogramChild,
  type HistogramExemplarObservation,
  type HistogramOptions,
} from "./core/histogram.ts";
export { EXEMPLAR_MAX_CODE_POINTS, type ExemplarLabels } from "./core/exemplar.ts";
export type { NativeHistogramOptions } from "./core/native.ts";
export { DEFAULT_PERCENTILES, Summary, SummaryChild, type SummaryOptions } from "./core/summary.ts";
export { type MetricOptions, MetricVec } from "./core/vec.ts";
export type { Collector } from "./core/collector.ts";
export {
  type CollectOptions,
  defaultRegistry,
  type ExpositionFormat,
  type Log,
  Registry,
  type RegistryOptions,
} from "./core/registry.ts";
export { DEFAULT_BUCKETS, exponentialBuckets, linearBuckets } from "./core/buckets.ts";
export { DEFAULT_MAX_SERIES } from "./core/series.ts";
export type { LabelValues } from "./core/labels.ts";
export type { Timer } from "./core/clock.ts";
export type { Exemplar, MetricFamily, MetricType, NativeBuckets } from "./model/family.ts";
export { TEXT_CONTENT_TYPE, toText } from "./exposition/text.ts";
export {
  OPENMETRICS_CONTENT_TYPE,
  type OpenMetricsOptions,
  toOpenMetrics,
} from "./exposition/openmetrics.ts";
export { PROTOBUF_CONTENT_TYPE, toProtobuf } from "./exposition/protobuf.ts";
export { type NegotiatedFormat, negotiateFormat } from "./exposition/negotiation.ts";
export { metricsHandler, type MetricsHandlerOptions } from "./http/metrics_handler.ts";
