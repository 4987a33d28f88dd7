/**
 * HTTP instrumentation for any web-standard fetch handler, recording the
 * metrics prometheus-fastapi-instrumentator exposes by default, with the same
 * names, labels, buckets and HELP texts, so dashboards built for it work.
 *
 * @module
 */

import { Counter, type CounterChild } from "../core/counter.ts";
import { Gauge } from "../core/gauge.ts";
import { Histogram, type HistogramChild } from "../core/histogram.ts";
import { defaultRegistry, type Registry } from "../core/registry.ts";
import { Summary, type SummaryChild } from "../core/summary.ts";
import { isOverflowChild, type MetricVec } from "../core/vec.ts";
import { methodLabel } from "./methods.ts";
import { pathnameOf, RouteTable } from "./routes.ts";

/** What {@linkcode InstrumentOptions.onRequest} receives once per instrumented request. */
export interface RequestRecord {
  /** Route template matched (`/users/:id`), or `"none"`. */
  handler: string;
  /** Request method, upper case; methods outside the nine standard ones are reported as `"OTHER"` (as `trackAppRequest` does). */
  method: string;
  /** Response status code (500 when the handler threw). */
  status: number;
  /** Seconds from the request's arrival to the handler's response. */
  seconds: number;
}

/** What {@linkcode InstrumentOptions.onError} receives when the handler throws. */
export interface ErrorRecord {
  /** Route template matched, or `"none"`. */
  handler: string;
  /** Request method, as in {@linkcode RequestRecord}. */
  method: string;
  /** What the handler threw (or rejected with). */
  error: unknown;
}

/** Options for {@linkcode instrument}. */
export interface InstrumentOptions {
  /** Registry for the HTTP metrics (default {@linkcode defaultRegistry}). */
  registry?: Registry;
  /**
   * Route templates as `URLPattern` pathnames (`/users/:id`); the `handler`
   * label is the template a request matches, `"none"` when it matches none,
   * so random paths cannot create series.
   */
  routes?: readonly string[];
  /** Templates (exact) or patterns whose requests are not instrumented at all. */
  excludedHandlers?: readonly (string | RegExp)[];
  /** Report status as `2xx` … `5xx` (default `true`); `false` keeps exact codes. */
  groupStatusCodes?: boolean;
  /** Keep the `http_requests_inprogress` gauge (default `true`). */
  inProgress?: boolean;
  /** Called after each instrumented request (e.g. to feed application metrics). */
  onRequest?: (record: RequestRecord) => void;
  /**
   * Called when the handler throws; the client gets a 500 either way. Absent:
   * the error is logged with `console.error`.
   */
  onError?: (record: ErrorRecord) => void;
}

/** prometheus-fastapi-instrumentator's `latency_highr_buckets`. */
export const HIGHR_BUCKETS: readonly number[] = Object.freeze([
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  1.5,
  2,
  2.5,
  3,
  3.5,
  4,
  4.5,
  5,
  7.5,
  10,
  30,
  60,
]);

/** prometheus-fastapi-instrumentator's `latency_lowr_buckets`. */
export const LOWR_BUCKETS: readonly number[] = Object.freeze([0.1, 0.5, 1]);

/** The HTTP metrics, as registered in one registry. */
export interface HttpMetrics {
  /** `http_requests_total{method,status,handler}` */
  requests: Counter<"method" | "status" | "handler">;
  /** `http_request_size_bytes{handler}` (no quantiles) */
  requestSize: Summary<"handler">;
  /** `http_response_size_bytes{handler}` (no quantiles) */
  responseSize: Summary<"handler">;
  /** `http_request_duration_highr_seconds` */
  durationHighr: Histogram;
  /** `http_request_duration_seconds{method,handler}` */
  duration: Histogram<"method" | "handler">;
  /** `http_requests_inprogress` */
  inProgress: Gauge;
}

/**
 * Registers (or finds, when already registered) the HTTP metrics in `registry`.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { httpMetrics } from "@securetrack/metrics/http";
 * const m = httpMetrics(new Registry());
 * m.requests.inc({ method: "GET", status: "2xx", handler: "/" });
 * ```
 */
export function httpMetrics(registry: Registry = defaultRegistry): HttpMetrics {
  return {
    requests: new Counter({
      name: "http_requests_total",
      help: "Total number of requests by method, status and handler.",
      labelNames: ["method", "status", "handler"],
      registry,
    }),
    requestSize: new Summary({
      name: "http_request_size_bytes",
      help: "Content length of incoming requests by handler. " +
        "Only value of header is respected. Otherwise ignored. No percentile calculated.",
      labelNames: ["handler"],
      percentiles: [],
      registry,
    }),
    responseSize: new Summary({
      name: "http_response_size_bytes",
      help: "Content length of outgoing responses by handler. " +
        "Only value of header is respected. Otherwise ignored. No percentile calculated.",
      labelNames: ["handler"],
      percentiles: [],
      registry,
    }),
    durationHighr: new Histogram({
      name: "http_request_duration_highr_seconds",
      help: "Latency with many buckets but no API specific labels. " +
        "Made for more accurate percentile calculations.",
      buckets: HIGHR_BUCKETS,
      registry,
    }),
    duration: new Histogram({
      name: "http_request_duration_seconds",
      help: "Latency with only few buckets by handler. " +
        "Made to be only used if aggregation by handler is important.",
      labelNames: ["method", "handler"],
      buckets: LOWR_BUCKETS,
      registry,
    }),
    inProgress: new Gauge({
      name: "http_requests_inprogress",
      help: "Number of HTTP requests in progress.",
      registry,
    }),
  };
}

/** One route's bound series (see `instrument`). */
interface RouteSeries {
  requestSize: SummaryChild;
  responseSize: SummaryChild;
  methods: Map<string, MethodSeries>;
}

/** One route and method's bound series, with `http_requests_total` by status code. */
interface MethodSeries {
  duration: HistogramChild;
  requests: Map<number, CounterChild>;
}

function contentLength(headers: Headers): number {
  const n = Number(headers.get("content-length") ?? 0);
  return n >= 0 && n < Infinity ? n : 0;
}

function statusLabel(status: number, group: boolean): string {
  if (!group) return String(status);
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : String(status);
}

/**
 * Wraps a fetch handler so every request it serves is measured. Works with
 * `Deno.serve`, `Bun.serve`, `export default { fetch }` and frameworks that
 * expose a fetch handler; extra arguments (Deno's `info`, Bun's `server`)
 * pass through.
 *
 * A handler that throws (or rejects) is answered with a 500, reported to
 * `onError`, counted as status 500, and never takes the server down.
 * Durations run until the handler returns its `Response`; the time spent
 * streaming the body afterwards is not included. Sizes come from
 * `Content-Length` headers, as the instrumentator's do (0 where there is
 * none; GET and HEAD requests count 0 without reading their headers). The
 * wrapper answers synchronously when the handler does.
 *
 * @example
 * ```ts ignore
 * import { metricsHandler, Registry } from "@securetrack/metrics";
 * import { instrument } from "@securetrack/metrics/http";
 * const registry = new Registry();
 * const metrics = metricsHandler(registry);
 * const app = (req: Request) =>
 *   new URL(req.url).pathname === "/metrics" ? metrics(req) : new Response("hello");
 * Deno.serve(instrument(app, { registry, routes: ["/", "/metrics"] }));
 * ```
 */
export function instrument<A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: InstrumentOptions = {},
): (request: Request, ...rest: A) => Response | Promise<Response> {
  if (typeof handler !== "function") {
    throw new TypeError("instrument: handler must be a function (request) => Response");
  }
  const registry = options.registry ?? defaultRegistry;
  const m = httpMetrics(registry);
  const routes = new RouteTable(options.routes);
  const group = options.groupStatusCodes ?? true;
  const trackInProgress = options.inProgress ?? true;
  const excludedExact = new Set<string>();
  const excludedPatterns: RegExp[] = [];
  for (const e of options.excludedHandlers ?? []) {
    if (typeof e === "string") excludedExact.add(e);
    else if (e instanceof RegExp) excludedPatterns.push(e);
    else throw new TypeError("instrument: excludedHandlers takes strings and RegExps");
  }
  const excluded = (h: string) => excludedExact.has(h) || excludedPatterns.some((p) => p.test(h));
  const { onRequest, onError } = options;

  // The series a request writes to, bound once per route, method and status
  // code: a request then costs three Map lookups instead of four labelled
  // lookups, each with a fresh label object (and status string); in a server
  // that is about 0.7 µs of the ~5 µs instrument() adds to a request (see
  // bench/http_overhead.ts --profile). Bounded: routes are the declared
  // templates plus "none", methods the nine standard ones plus "OTHER". A
  // child that landed in a metric's overflow series (the metric at its series
  // cap) is not kept, so every such request is counted in
  // metrics_series_overflow_total, as a labelled call would be.
  const fits = (metric: MetricVec<string, unknown>, child: { i: number }) =>
    !isOverflowChild(metric, child);
  const series = new Map<string, RouteSeries>();
  const routeSeries = (route: string): RouteSeries => {
    let r = series.get(route);
    if (r !== undefined) return r;
    r = {
      requestSize: m.requestSize.labels({ handler: route }),
      responseSize: m.responseSize.labels({ handler: route }),
      methods: new Map(),
    };
    if (fits(m.requestSize, r.requestSize) && fits(m.responseSize, r.responseSize)) {
      series.set(route, r);
    }
    return r;
  };
  const methodSeries = (r: RouteSeries, route: string, method: string): MethodSeries => {
    let s = r.methods.get(method);
    if (s !== undefined) return s;
    s = { duration: m.duration.labels({ method, handler: route }), requests: new Map() };
    if (fits(m.duration, s.duration)) r.methods.set(method, s);
    return s;
  };
  const requestsChild = (s: MethodSeries, route: string, method: string, status: number) => {
    let c = s.requests.get(status);
    if (c !== undefined) return c;
    c = m.requests.labels({ method, status: statusLabel(status, group), handler: route });
    if (fits(m.requests, c)) s.requests.set(status, c);
    return c;
  };

  // Once per route and error class, through the registry's log: a failing
  // handler may fail every request, and each one is counted anyway (status
  // 500 in http_requests_total). The message is left out, as it may carry
  // anything (a token in a URL); `onError` receives the error itself.
  const reportOnce = (what: string, route: string, error: unknown) => {
    const kind = error instanceof Error ? error.name : typeof error;
    registry.logOnce(
      `instrument\u0000${what}\u0000${route}\u0000${kind}`,
      `${what} for "${route}" threw ${kind} (reported once; pass onError to see each error)`,
    );
  };
  const fail = (route: string, method: string, error: unknown): Response => {
    try {
      if (onError) onError({ handler: route, method, error });
      else reportOnce("handler", route, error);
    } catch { /* a failing error hook must not fail the request */ }
    return new Response("Internal Server Error\n", {
      status: 500,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  };

  const finish = (
    request: Request,
    route: string,
    method: string,
    start: number,
    result: unknown,
  ): Response => {
    if (trackInProgress) m.inProgress.dec();
    const response = result instanceof Response ? result : fail(
      route,
      method,
      new TypeError(`handler for "${route}" returned ${typeof result}, not a Response`),
    );
    const seconds = (performance.now() - start) / 1000;
    const status = response.status;
    const r = routeSeries(route);
    const s = methodSeries(r, route, method);
    requestsChild(s, route, method, status).inc();
    // GET and HEAD carry no body, and reading request headers costs Deno
    // about 0.9 µs a request (bench/http_overhead.ts --profile).
    r.requestSize.observe(
      method === "GET" || method === "HEAD" ? 0 : contentLength(request.headers),
    );
    r.responseSize.observe(contentLength(response.headers));
    m.durationHighr.observe(seconds);
    s.duration.observe(seconds);
    if (onRequest) {
      try {
        onRequest({ handler: route, method, status, seconds });
      } catch (error) {
        reportOnce("onRequest hook", route, error);
      }
    }
    return response;
  };

  // Synchronous when the handler is: an async wrapper alone costs Deno's
  // fast path about 0.9 µs a request (bench/http_overhead.ts --profile).
  return (request: Request, ...rest: A): Response | Promise<Response> => {
    const route = routes.match(pathnameOf(request.url));
    if (excluded(route)) return handler(request, ...rest);
    const method = methodLabel(request.method);
    const start = performance.now();
    if (trackInProgress) m.inProgress.inc();
    let result: Response | Promise<Response>;
    try {
      result = handler(request, ...rest);
    } catch (error) {
      return finish(request, route, method, start, fail(route, method, error));
    }
    if (typeof (result as { then?: unknown } | null)?.then === "function") {
      return Promise.resolve(result).then(
        (response) => finish(request, route, method, start, response),
        (error) => finish(request, route, method, start, fail(route, method, error)),
      );
    }
    return finish(request, route, method, start, result);
  };
}
