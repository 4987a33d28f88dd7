/**
 * The exporter's fetch handler: `/metrics`, `/custom_metrics`, `/healthz`,
 * `/` and optional extra routes, instrumented, with bearer auth on the
 * metrics endpoints.
 *
 * @module
 */

import { metricsHandler, type Registry } from "../src/mod.ts";
import { instrument, type InstrumentOptions, RouteTable } from "../src/http/mod.ts";
import { bearerAuth } from "./auth.ts";

/** A route handler: a web-standard fetch handler. */
export type RouteHandler = (request: Request) => Response | Promise<Response>;

/** Options for {@linkcode createApp}. */
export interface AppOptions {
  /** Served at `/metrics` (HTTP, process and runtime metrics); the HTTP metrics are recorded here. */
  registry: Registry;
  /** Served at `/custom_metrics` (the application's catalogue). */
  customRegistry: Registry;
  /** When set, both metrics endpoints require `Authorization: Bearer <authToken>`. */
  authToken?: string;
  /** Extra routes, keyed by `URLPattern` pathname template (e.g. the demo application's). */
  routes?: Readonly<Record<string, RouteHandler>>;
  /** Fed once per request (e.g. `trackAppRequest`). */
  onRequest?: InstrumentOptions["onRequest"];
  /** Fed when a route throws (e.g. `trackAppError`). */
  onError?: InstrumentOptions["onError"];
}

const TEXT = { "Content-Type": "text/plain; charset=utf-8" };

/**
 * Builds the exporter's fetch handler.
 *
 * @example
 * ```ts
 * import { Registry } from "../src/mod.ts";
 * import { createApp } from "./app.ts";
 * const app = createApp({ registry: new Registry(), customRegistry: new Registry() });
 * const res = await app(new Request("http://localhost/healthz"));
 * ```
 */
export function createApp(
  options: AppOptions,
): (request: Request) => Response | Promise<Response> {
  const started = performance.now();
  const serveMetrics = metricsHandler(options.registry);
  const serveCustom = metricsHandler(options.customRegistry);
  const authorized = options.authToken ? bearerAuth(options.authToken) : undefined;
  const extra = options.routes ?? {};
  const builtin = ["/", "/metrics", "/custom_metrics", "/healthz"];
  // Exact templates win in a RouteTable, so an extra pattern never shadows a built-in path.
  const table = new RouteTable([...builtin, ...Object.keys(extra)]);
  const index = "SecureTrack metrics exporter\n\n" +
    "/metrics         HTTP, process and runtime metrics (Prometheus text or OpenMetrics)\n" +
    "/custom_metrics  SecureTrack application metrics\n" +
    "/healthz         liveness (JSON)\n" +
    (Object.keys(extra).length > 0 ? `\nAlso: ${Object.keys(extra).join(", ")}\n` : "");

  const guarded = (serve: RouteHandler): RouteHandler => {
    if (authorized === undefined) return serve;
    return async (request) => {
      if (await authorized(request.headers.get("authorization"))) return serve(request);
      return new Response("Unauthorized\n", {
        status: 401,
        headers: { ...TEXT, "WWW-Authenticate": 'Bearer realm="metrics"' },
      });
    };
  };
  const metrics = guarded(serveMetrics);
  const custom = guarded(serveCustom);

  const route = (request: Request): Response | Promise<Response> => {
    const template = table.matchUrl(request.url);
    switch (template) {
      case "/metrics":
        return metrics(request);
      case "/custom_metrics":
        return custom(request);
      case "/healthz":
        return Response.json({
          status: "ok",
          uptime_seconds: Math.round((performance.now() - started) / 10) / 100,
        });
      case "/":
        return new Response(index, { headers: TEXT });
    }
    const handler = Object.hasOwn(extra, template) ? extra[template] : undefined;
    if (handler !== undefined) return handler(request);
    return new Response("Not Found\n", { status: 404, headers: TEXT });
  };

  return instrument(route, {
    registry: options.registry,
    routes: [...builtin, ...Object.keys(extra)],
    // Trace ids of traced requests on the HTTP latency panels (Grafana).
    exemplars: true,
    onRequest: options.onRequest,
    onError: options.onError,
  });
}
