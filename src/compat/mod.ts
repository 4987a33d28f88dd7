/**
 * A drop-in for prom-client 15 programs, built on this library's core:
 * change `from "prom-client"` to `from "@securetrack/metrics/prom-client"`
 * and the program runs on Deno and Bun, several times faster, with output
 * Prometheus and promtool accept. The README's migration table lists each
 * call, and the few places where we deliberately differ (`NaN`, canonical
 * OpenMetrics numbers, a series cap, refused name collisions).
 *
 * @example
 * ```ts
 * import { collectDefaultMetrics, Counter, Histogram, register } from "@securetrack/metrics/prom-client";
 *
 * collectDefaultMetrics();
 * const requests = new Counter({ name: "http_requests_total", help: "Requests", labelNames: ["method", "code"] });
 * requests.labels("GET", "200").inc();
 * const latency = new Histogram({ name: "http_request_seconds", help: "Latency", labelNames: ["method"] });
 * latency.observe({ method: "GET" }, 0.12);
 * console.log(register.contentType);
 * console.log(await register.metrics());
 * ```
 *
 * @module
 */

export {
  type MetricObject,
  type MetricValue,
  type PromClientMetric,
  register,
  Registry,
  type RegistryContentType,
} from "./registry.ts";
export {
  type Aggregator,
  type EndTimer,
  type ExemplarCall,
  type Labels,
  type LabelValue,
  Metric,
  type MetricConfiguration,
} from "./metric.ts";
export { Observer, type ObserverInternal } from "./observer.ts";
export { Counter, type CounterConfiguration, type CounterInternal } from "./counter.ts";
export { Gauge, type GaugeConfiguration, type GaugeInternal } from "./gauge.ts";
export { Histogram, type HistogramConfiguration, type HistogramInternal } from "./histogram.ts";
export { Summary, type SummaryConfiguration, type SummaryInternal } from "./summary.ts";
export { exponentialBuckets, linearBuckets } from "./buckets.ts";
export { validateLabel, validateLabelName, validateMetricName } from "./validation.ts";
export {
  collectDefaultMetrics,
  type DefaultMetricsCollectorConfiguration,
} from "./default_metrics.ts";
export {
  Pushgateway,
  type PushgatewayOptions,
  type PushParameters,
  type PushResult,
} from "./pushgateway.ts";
