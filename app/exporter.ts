/**
 * The exporter as one fetch handler: both registries with their default
 * collectors, the HTTP and application instrumentation, optional demo routes,
 * and (when several workers serve) the cluster that merges their metrics.
 * Used by every way the server runs: one process, worker threads, or
 * `deno serve --parallel`.
 *
 * @module
 */

import type { Registry } from "../src/mod.ts";
import { registerProcessMetrics, registerRuntimeMetrics } from "../src/collectors/mod.ts";
import { type Cluster, joinCluster } from "../src/cluster/mod.ts";
import { createTracking } from "../src/tracking/mod.ts";
import { createApp } from "./app.ts";
import { demoRoutes } from "./demo.ts";
import { gatewayRoutes } from "./gateway/gateway.ts";
import { INGEST_PATH, ingestHandler, type IngestOptions } from "./ingest.ts";
import type { GatewaySettings } from "./gateway/settings.ts";
import { errorType, type Log, onceEach, stderrLog } from "./log.ts";

/** The catalogue's histograms that `nativeHistograms` serves as native histograms too. */
const NATIVE_CATALOGUE_HISTOGRAMS = [
  "llm_request_duration_seconds",
  "app_request_duration_seconds",
];

/** Options for {@linkcode createExporter}. */
export interface ExporterOptions {
  /**
   * Served at `/metrics`: the HTTP metrics are recorded here, and the process
   * and runtime collectors registered here (once per registry).
   */
  registry: Registry;
  /**
   * Served at `/custom_metrics`: the SecureTrack catalogue, which the
   * application metrics (`app_requests_total`, `app_errors_total`) and the
   * demo routes record into.
   */
  customRegistry: Registry;
  /** Bearer token required on the metrics endpoints. */
  authToken?: string;
  /** Serve the demo application routes under `/api/`. */
  demo?: boolean;
  /**
   * Serve the LLM gateway under `/v1/` (its key files already read: see
   * `loadGatewayFiles`); its metrics go to `customRegistry`.
   */
  gateway?: GatewaySettings;
  /**
   * Serve the event ingestion API at `POST /api/v1/events` to these
   * clients, recording into `customRegistry`'s catalogue. Off when absent.
   */
  ingest?: IngestOptions;
  /** Join the cluster of workers in this process, so any worker reports everyone's totals. */
  cluster?: boolean;
  /**
   * Serve the catalogue's `llm_request_duration_seconds` and
   * `app_request_duration_seconds` as native histograms too (classic buckets
   * kept), for a Prometheus run with `--enable-feature=native-histograms`.
   * The two classic-only histograms the tracking module registered in
   * `customRegistry` at import are replaced (they must not have been used).
   */
  nativeHistograms?: boolean;
  /** Where every message goes, one line each (default: stderr). */
  log?: Log;
  /**
   * Where the library's reports go (process metrics left out, a failing
   * collector, the cluster's fallbacks), which every server thread would
   * print alike: threads after the first pass `silentLog`. Set as both
   * registries' `log`. Default: `log`.
   */
  notices?: Log;
}

/** A ready exporter: its fetch handler and, in a cluster, its membership. */
export interface Exporter {
  /** The fetch handler serving every endpoint. */
  fetch: (request: Request) => Response | Promise<Response>;
  /** Cluster membership, when `cluster` was asked for. */
  cluster: Cluster | undefined;
}

// The registries that have the process and runtime collectors already: a
// second exporter on the same registry must not register them again
// (registerProcessMetrics throws on a duplicate, and a second runtime sampler
// would be a wasted timer).
const withCollectors = new WeakSet<Registry>();

function registerCollectors(registry: Registry): void {
  if (withCollectors.has(registry)) return;
  withCollectors.add(registry);
  registerProcessMetrics(registry);
  registerRuntimeMetrics(registry);
}

/**
 * Builds the exporter on the given registries. Nothing is module-level but
 * the note of which registries have their collectors: several exporters can
 * run in one isolate, each on its own pair of registries.
 *
 * @example
 * ```ts ignore
 * import { defaultRegistry } from "../src/mod.ts";
 * import { customRegistry } from "../src/tracking/mod.ts";
 * import { createExporter } from "./exporter.ts";
 * const { fetch } = createExporter({ registry: defaultRegistry, customRegistry });
 * Deno.serve(fetch);
 * ```
 */
export function createExporter(options: ExporterOptions): Exporter {
  const { registry, customRegistry } = options;
  const log = options.log ?? stderrLog;
  // What the library reports (process metrics left out, a failing collector,
  // the cluster's fallback) is the same in every thread: it goes to `notices`.
  const notices = options.notices ?? log;
  registry.log = notices;
  customRegistry.log = notices;
  registerCollectors(registry);
  if (options.nativeHistograms) {
    // The module-level catalogue registered them classic-only at import; the
    // exporter records through `tracking` alone, so replacing them loses nothing.
    for (const name of NATIVE_CATALOGUE_HISTOGRAMS) customRegistry.unregister(name);
  }
  const tracking = createTracking(
    customRegistry,
    options.nativeHistograms ? { nativeHistograms: true } : {},
  );
  const cluster = options.cluster
    ? joinCluster({ registries: { default: registry, custom: customRegistry } })
    : undefined;
  const reportOnce = onceEach(log);
  const fetch = createApp({
    registry,
    customRegistry,
    authToken: options.authToken,
    routes: {
      ...(options.demo ? demoRoutes(tracking) : {}),
      ...(options.gateway === undefined ? {} : gatewayRoutes({
        ...options.gateway,
        metrics: tracking.metrics,
        registry: customRegistry,
        log,
      })),
      ...(options.ingest
        ? { [INGEST_PATH]: ingestHandler(tracking, { registry, ...options.ingest }) }
        : {}),
    },
    onRequest: ({ handler, method, status, seconds }) =>
      tracking.trackAppRequest({ endpoint: handler, method, statusCode: status, seconds }),
    onError: ({ handler, error }) => {
      const type = errorType(error);
      tracking.trackAppError({ endpoint: handler, errorType: type });
      // Every failure counts in app_errors_total; the log says each
      // (handler, error type) pair once, never once per request.
      reportOnce(
        `${handler} ${type}`,
        `[server] ${handler} failed with ${type} (reported once; app_errors_total counts each)`,
      );
    },
  });
  return { fetch, cluster };
}
