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

import { register as globalRegister, Registry as PromRegistry } from "./registry.ts";
import { Metric as PromMetric } from "./metric.ts";
import { Observer as PromObserver } from "./observer.ts";
import { Counter as PromCounter } from "./counter.ts";
import { Gauge as PromGauge } from "./gauge.ts";
import { Histogram as PromHistogram } from "./histogram.ts";
import { Summary as PromSummary } from "./summary.ts";
import { exponentialBuckets as expBuckets, linearBuckets as linBuckets } from "./buckets.ts";
import {
  validateLabel as checkLabel,
  validateLabelName as checkLabelName,
  validateMetricName as checkMetricName,
} from "./validation.ts";
import { collectDefaultMetrics as collectDefaults } from "./default_metrics.ts";
import { Pushgateway as PromPushgateway } from "./pushgateway.ts";

/**
 * Every export above as one object, for programs written
 * `import client from "prom-client"` (prom-client is CommonJS, so Node
 * hands them its whole `module.exports` as the default).
 *
 * @example
 * ```ts
 * import client from "@securetrack/metrics/prom-client";
 * const requests = new client.Counter({ name: "requests_total", help: "Requests" });
 * requests.inc();
 * console.log(await client.register.metrics());
 * ```
 */
const client: {
  register: typeof globalRegister;
  Registry: typeof PromRegistry;
  contentType: string;
  prometheusContentType: string;
  openMetricsContentType: string;
  Metric: typeof PromMetric;
  Observer: typeof PromObserver;
  Counter: typeof PromCounter;
  Gauge: typeof PromGauge;
  Histogram: typeof PromHistogram;
  Summary: typeof PromSummary;
  linearBuckets: typeof linBuckets;
  exponentialBuckets: typeof expBuckets;
  validateMetricName: typeof checkMetricName;
  validateLabelName: typeof checkLabelName;
  validateLabel: typeof checkLabel;
  collectDefaultMetrics: typeof collectDefaults;
  Pushgateway: typeof PromPushgateway;
} = {
  register: globalRegister,
  Registry: PromRegistry,
  get contentType(): string {
    return globalRegister.contentType;
  },
  prometheusContentType: PromRegistry.PROMETHEUS_CONTENT_TYPE,
  openMetricsContentType: PromRegistry.OPENMETRICS_CONTENT_TYPE,
  Metric: PromMetric,
  Observer: PromObserver,
  Counter: PromCounter,
  Gauge: PromGauge,
  Histogram: PromHistogram,
  Summary: PromSummary,
  linearBuckets: linBuckets,
  exponentialBuckets: expBuckets,
  validateMetricName: checkMetricName,
  validateLabelName: checkLabelName,
  validateLabel: checkLabel,
  collectDefaultMetrics: collectDefaults,
  Pushgateway: PromPushgateway,
};
export default client;
