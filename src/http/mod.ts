/**
 * HTTP request instrumentation: `instrument()` wraps any web-standard fetch
 * handler (`Deno.serve`, `Bun.serve`, Hono's `app.fetch`, …) and records the
 * standard request metrics (`http_requests_total`, durations, sizes,
 * requests in progress) labelled by route template, never by raw path.
 * `honoMetrics`, `oakMetrics` and `elysiaMetrics` record the same metrics as
 * Hono and Oak middleware and as an Elysia plugin, labelled by the route the
 * framework matched. `RouteTable` is the compiled route matcher
 * `instrument({ routes })` labels with, for apps that dispatch on it too.
 * The `/metrics` handler itself, `metricsHandler`, comes from the root entry.
 *
 * @example
 * ```ts ignore
 * import { metricsHandler, Registry } from "@securetrack/metrics";
 * import { instrument } from "@securetrack/metrics/http";
 *
 * const registry = new Registry();
 * const metrics = metricsHandler(registry);
 * const app = (req: Request) =>
 *   new URL(req.url).pathname === "/metrics" ? metrics(req) : new Response("hello");
 * Deno.serve(instrument(app, { registry, routes: ["/", "/metrics", "/users/:id"] }));
 * ```
 *
 * @module
 */

export {
  type ErrorRecord,
  HIGHR_BUCKETS,
  type HttpMetrics,
  httpMetrics,
  instrument,
  type InstrumentOptions,
  LOWR_BUCKETS,
  type RecordingOptions,
  type RequestRecord,
} from "./instrument.ts";
export { RouteTable, UNMATCHED_HANDLER } from "./routes.ts";
export { type HonoContext, honoMetrics, type HonoMiddleware, type HonoRoute } from "./hono.ts";
export {
  type OakContext,
  type OakHeaders,
  oakMetrics,
  type OakMiddleware,
  type OakRoute,
} from "./oak.ts";
export {
  type ElysiaContext,
  type ElysiaErrorContext,
  type ElysiaHooks,
  elysiaMetrics,
} from "./elysia.ts";
