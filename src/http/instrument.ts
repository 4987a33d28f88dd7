/**
 * HTTP instrumentation for any web-standard fetch handler, recording the
 * metrics prometheus-fastapi-instrumentator exposes by default, with the same
 * names, labels, buckets and HELP texts, so dashboards built for it work.
 *
 * @module
 */

import { checkOptionKeys } from "../core/options.ts";
import type { Registry } from "../core/registry.ts";
import {
  createRecorder,
  internalError,
  RECORDING_OPTION_KEYS,
  type RecordingOptions,
  requestBytes,
} from "./_recorder.ts";
import { RouteTable, UNMATCHED_HANDLER } from "./routes.ts";

export {
  type ErrorRecord,
  HIGHR_BUCKETS,
  type HttpMetrics,
  httpMetrics,
  LOWR_BUCKETS,
  type RecordingOptions,
  type RequestRecord,
} from "./_recorder.ts";

/** Options for {@linkcode instrument}: where the `handler` label comes from, and what is recorded. */
export interface InstrumentOptions extends RecordingOptions {
  /**
   * Route templates as `URLPattern` pathnames (`/users/:id`, `/static/*`);
   * the `handler` label is the template a request's path matches, `"none"`
   * when it matches none, so random paths cannot create series. Exact
   * templates win over patterns; patterns are tried in the order given.
   */
  routes?: readonly string[];
  /**
   * For an application with its own router: returns the `handler` label of a
   * request (its route template, never its raw path). `undefined` labels it
   * `"none"`; so does an exception or a non-string result, reported once
   * through the registry's log. Give `routes` or `route`, not both.
   */
  route?: (request: Request) => string | undefined;
}

const INSTRUMENT_OPTION_KEYS: readonly string[] = [...RECORDING_OPTION_KEYS, "routes", "route"];

/** The `handler` label of a request, from `options.route` or `options.routes`. */
function routeResolver(
  options: InstrumentOptions,
  registry: Registry,
): (request: Request) => string {
  const { route, routes } = options;
  if (route === undefined) {
    const table = new RouteTable(routes);
    return (request) => table.matchUrl(request.url);
  }
  if (typeof route !== "function") {
    throw new TypeError(
      `instrument: route must be a function (request) => string | undefined, got ${typeof route}`,
    );
  }
  if (routes !== undefined) {
    throw new TypeError("instrument: give routes or route, not both");
  }
  const unusable = (what: string) => {
    registry.logOnce(
      `instrument\u0000route\u0000${what}`,
      `the route option ${what}; such requests are labelled "${UNMATCHED_HANDLER}" (reported once)`,
    );
    return UNMATCHED_HANDLER;
  };
  return (request) => {
    let label: unknown;
    try {
      label = route(request);
    } catch (error) {
      return unusable(`threw ${error instanceof Error ? error.name : typeof error}`);
    }
    if (typeof label === "string" && label !== "") return label;
    if (label === undefined) return UNMATCHED_HANDLER;
    return unusable(`returned ${label === "" ? "an empty string" : typeof label}, not a string`);
  };
}

/**
 * Wraps a fetch handler so every request it serves is measured. Works with
 * `Deno.serve`, `Bun.serve`, `export default { fetch }` and frameworks that
 * expose a fetch handler; extra arguments (Deno's `info`, Bun's `server`)
 * pass through.
 *
 * The `handler` label comes from `routes` (templates matched against the
 * path) or `route` (your router's answer); without either, every request is
 * labelled `"none"`. A handler that throws (or rejects) is answered with a
 * 500, reported to `onError`, counted as status 500, and never takes the
 * server down. Durations run until the handler returns its `Response`; the
 * time spent streaming the body afterwards is not included. Request sizes
 * come from `Content-Length` (0 where there is none; GET and HEAD count 0
 * without reading their headers). Response sizes are the body's bytes: its
 * `Content-Length` when set, 0 for HEAD and bodiless responses, and
 * otherwise the bytes the server actually reads from the body (strings,
 * JSON, bytes, streams), observed when the body ends, fails or is cancelled.
 * The wrapper answers synchronously when the handler does. Unknown option
 * keys throw a `TypeError` naming the closest known one.
 *
 * @example
 * ```ts ignore
 * import { metricsHandler, Registry } from "@securetrack/metrics";
 * import { instrument } from "@securetrack/metrics/http";
 * const registry = new Registry();
 * const metrics = metricsHandler(registry);
 * const app = (req: Request) =>
 *   new URL(req.url).pathname === "/metrics" ? metrics(req) : new Response("hello");
 * Deno.serve(instrument(app, { registry, routes: ["/", "/metrics", "/users/:id"] }));
 * ```
 */
export function instrument<A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: InstrumentOptions = {},
): (request: Request, ...rest: A) => Response | Promise<Response> {
  if (typeof handler !== "function") {
    throw new TypeError("instrument: handler must be a function (request) => Response");
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(`instrument: options must be an object, got ${options}`);
  }
  checkOptionKeys("instrument", options, INSTRUMENT_OPTION_KEYS);
  const recorder = createRecorder(options, "instrument");
  const routeOf = routeResolver(options, recorder.registry);

  const fail = (route: string, method: string, error: unknown): Response => {
    recorder.error(route, method, error);
    return internalError();
  };
  const finish = (
    request: Request,
    route: string,
    start: number,
    traceId: string | undefined,
    result: unknown,
  ): Response | Promise<Response> => {
    const method = request.method;
    const response = result instanceof Response ? result : fail(
      route,
      method,
      new TypeError(`handler for "${route}" returned ${typeof result}, not a Response`),
    );
    recorder.finish(route, method, response.status, start, requestBytes(request, method), traceId);
    return recorder.measureSettled(route, method, response);
  };

  // Synchronous when the handler is: an async wrapper alone costs Deno's
  // fast path about 0.9 µs a request (bench/http_overhead.ts --profile).
  return (request: Request, ...rest: A): Response | Promise<Response> => {
    const route = routeOf(request);
    if (recorder.excluded(route)) return handler(request, ...rest);
    const start = recorder.start();
    const traceId = recorder.traceId(request);
    let result: Response | Promise<Response>;
    try {
      result = handler(request, ...rest);
    } catch (error) {
      return finish(request, route, start, traceId, fail(route, request.method, error));
    }
    // A Response first: looking for `then` on one walks its prototype chain.
    if (result instanceof Response) return finish(request, route, start, traceId, result);
    if (typeof (result as { then?: unknown } | null)?.then === "function") {
      return Promise.resolve(result).then(
        (response) => finish(request, route, start, traceId, response),
        (error) => finish(request, route, start, traceId, fail(route, request.method, error)),
      );
    }
    return finish(request, route, start, traceId, result);
  };
}
