/**
 * The exporter as one fetch handler: both registries with their default
 * collectors, the HTTP and application instrumentation, optional demo routes,
 * and (when several workers serve) the cluster that merges their metrics.
 * Used by every way the server runs: one process, worker threads, or
 * `deno serve --parallel`.
 *
 * @module
 */

import { defaultRegistry } from "../core/registry.ts";
import { registerProcessMetrics } from "../collectors/process.ts";
import { registerRuntimeMetrics } from "../collectors/runtime.ts";
import { type Cluster, joinCluster } from "../cluster/mod.ts";
import { customRegistry, trackAppError, trackAppRequest } from "../tracking/mod.ts";
import { createApp } from "./app.ts";
import { demoRoutes } from "./demo.ts";

/** Options for {@linkcode createExporter}. */
export interface ExporterOptions {
  /** Bearer token required on the metrics endpoints. */
  authToken?: string;
  /** Serve the demo application routes under `/api/`. */
  demo?: boolean;
  /** Join the cluster of workers in this process, so any worker reports everyone's totals. */
  cluster?: boolean;
  /** Skip start-up notices (every server thread but the first). */
  quiet?: boolean;
}

/** A ready exporter: its fetch handler and, in a cluster, its membership. */
export interface Exporter {
  /** The fetch handler serving every endpoint. */
  fetch: (request: Request) => Response | Promise<Response>;
  /** Cluster membership, when `cluster` was asked for. */
  cluster: Cluster | undefined;
}

let collectorsRegistered = false;

/**
 * Builds the exporter (once per isolate: the registries are module-level).
 *
 * @example
 * ```ts ignore
 * import { createExporter } from "./exporter.ts";
 * const { fetch } = createExporter({ demo: false });
 * Deno.serve(fetch);
 * ```
 */
export function createExporter(options: ExporterOptions = {}): Exporter {
  if (!collectorsRegistered) {
    collectorsRegistered = true;
    if (options.quiet) defaultRegistry.log = () => {};
    registerProcessMetrics(defaultRegistry);
    registerRuntimeMetrics(defaultRegistry);
  }
  const cluster = options.cluster
    ? joinCluster({ registries: { default: defaultRegistry, custom: customRegistry } })
    : undefined;
  const fetch = createApp({
    registry: defaultRegistry,
    customRegistry,
    authToken: options.authToken,
    routes: options.demo ? demoRoutes() : undefined,
    onRequest: ({ handler, method, status, seconds }) =>
      trackAppRequest({ endpoint: handler, method, statusCode: status, seconds }),
    onError: ({ handler, error }) => {
      const errorType = error instanceof Error
        ? error.constructor.name || error.name
        : typeof error;
      trackAppError({ endpoint: handler, errorType });
      console.error(`[server] ${handler} failed with ${errorType}`);
    },
  });
  return { fetch, cluster };
}
