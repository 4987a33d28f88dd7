/**
 * Hono middleware recording the HTTP metrics of `instrument()` (same names,
 * labels, buckets), labelled by the route template Hono matched.
 *
 * @module
 */

import { checkOptionKeys } from "../core/options.ts";
import { bodyBytes, utf8Length } from "./_body_size.ts";
import {
  createRecorder,
  RECORDING_OPTION_KEYS,
  type RecordingOptions,
  requestBytes,
} from "./_recorder.ts";
import { UNMATCHED_HANDLER } from "./routes.ts";

/**
 * One route Hono's router matched for a request (what the middleware reads
 * of Hono's `RouterRoute`).
 *
 * @example
 * ```ts
 * import type { HonoRoute } from "@securetrack/metrics/http";
 * // As Hono lists `app.get("/users/:id", ...)` in `c.req.matchedRoutes`:
 * const route: HonoRoute = { path: "/users/:id", method: "GET" };
 * ```
 */
export interface HonoRoute {
  /** The template as registered, base path included (`/api/users/:id`, `*` for `app.use(mw)`). */
  readonly path: string;
  /** The registered method (`GET`, `PURGE`, …); `ALL` for `app.use` and `app.all`. */
  readonly method: string;
}

/**
 * The part of Hono 4's `Context` that {@linkcode honoMetrics} reads and
 * writes. Structural, so this package does not depend on Hono.
 *
 * @example
 * ```ts
 * import type { HonoContext } from "@securetrack/metrics/http";
 * // What Hono's Context offers when a GET /users/1 reached its handler:
 * const c: HonoContext = {
 *   req: {
 *     raw: new Request("http://localhost/users/1"),
 *     routeIndex: 1,
 *     matchedRoutes: [{ path: "*", method: "ALL" }, { path: "/users/:id", method: "GET" }],
 *   },
 *   res: new Response("user 1"),
 * };
 * ```
 */
export interface HonoContext {
  /** The request. */
  readonly req: {
    /** The web-standard request. */
    readonly raw: Request;
    /** Index in `matchedRoutes` of the handler or middleware running (the last one that ran, after `next()`). */
    readonly routeIndex: number;
    /** Every route and middleware the router matched, in order. */
    readonly matchedRoutes: readonly HonoRoute[];
  };
  /** The response so far. */
  res: Response;
  /** What a handler threw, when Hono's error handler answered. */
  readonly error?: unknown;
}

/**
 * A Hono middleware, as `app.use` takes it.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { honoMetrics, type HonoMiddleware } from "@securetrack/metrics/http";
 * const middleware: HonoMiddleware = honoMetrics({ registry: new Registry() });
 * ```
 */
export type HonoMiddleware = (c: HonoContext, next: () => Promise<void>) => Promise<void>;

/**
 * The body-making methods of Hono's `Context` that {@linkcode honoMetrics}
 * watches for the body's size (own properties of each context in Hono 4).
 */
interface HonoBodyMethods {
  body?: (data: unknown, ...rest: unknown[]) => Response;
  text?: (text: string, ...rest: unknown[]) => Response;
  json?: (object: unknown, ...rest: unknown[]) => Response;
}

/**
 * What one request's handler made with `c.body`, `c.text` or `c.json`: the
 * response, and its body's size in bytes, computed from the value the
 * handler passed (no body is read); `bytes` is -1 until a response is made
 * or when the value's size cannot be known (a stream).
 */
class MadeBody {
  response: Response | undefined = undefined;
  bytes = -1;

  /** The size of `response`'s body when this request's handler made it, else -1. */
  sizeOf(response: Response): number {
    const made = this.response;
    if (made === undefined) return -1;
    // Hono rebuilds the response over the same body when a middleware sets
    // a header after the handler (`c.header()` once finalized): the body,
    // hence its size, is the same.
    if (made !== response && made.body !== response.body) return -1;
    return this.bytes;
  }

  /** Wraps `c.body`, `c.text` and `c.json` of one context to note what they make. */
  watch(c: HonoBodyMethods): void {
    const { body, text, json } = c;
    if (typeof body === "function") {
      c.body = (data, a, b) => {
        const response = body(data, a, b);
        this.response = response;
        this.bytes = bodyBytes(data) ?? -1;
        return response;
      };
    }
    if (typeof text === "function") {
      c.text = (value, a, b) => {
        const response = text(value, a, b);
        this.response = response;
        this.bytes = typeof value === "string" ? utf8Length(value) : -1;
        return response;
      };
    }
    if (typeof json === "function") {
      c.json = (value, a, b) => {
        const response = json(value, a, b);
        this.response = response;
        // Serialized again (Hono keeps its text to itself): ~0.1-0.3 µs for
        // a small object, still far less than reading the body back.
        const text = JSON.stringify(value);
        this.bytes = text === undefined ? 0 : utf8Length(text);
        return response;
      };
    }
  }
}

/** The template of the route that will answer, when the matched routes tell it; `undefined` when they cannot. */
function expectedRoute(matched: readonly HonoRoute[], own: number): string | undefined {
  if (own + 1 >= matched.length) return UNMATCHED_HANDLER; // nothing after us: Hono's notFound
  for (let i = own + 1; i < matched.length; i++) {
    if (matched[i].method !== "ALL") return matched[i].path;
  }
  return undefined; // only `app.use`/`app.all` routes: a handler or a middleware, cannot tell
}

/** The template of the route that answered, read after `next()`. */
function answeredRoute(c: HonoContext, matched: readonly HonoRoute[], own: number): string {
  const i = c.req.routeIndex;
  // Nothing after this middleware ran: Hono's notFound answered.
  if (i <= own || i >= matched.length) return UNMATCHED_HANDLER;
  const route = matched[i];
  // The last route ran and is an `app.use`/`app.all` one: a middleware that
  // called next() into notFound (Hono does not say; a 404 is taken as that).
  if (i === matched.length - 1 && route.method === "ALL" && c.res.status === 404) {
    return UNMATCHED_HANDLER;
  }
  return route.path;
}

/**
 * Hono middleware recording the six HTTP families of
 * {@linkcode httpMetrics} (`http_requests_total`, the two duration
 * histograms, request and response sizes, `http_requests_inprogress`), with
 * the `handler` label set to the route template Hono matched (`/users/:id`,
 * base path included), never the raw path; a request no route answers
 * (Hono's `notFound`) is labelled `"none"`. Register it before the routes:
 * `app.use(honoMetrics({ registry }))`. Hono 4, on Deno, Bun and any other
 * runtime Hono runs on.
 *
 * Durations run until the handlers' response (the body may still stream
 * afterwards). A handler that throws is answered by Hono's error handler
 * (`app.onError`); the status recorded is the one the client gets, and the
 * error is passed to `onError` when given (Hono reports it itself
 * otherwise). Sizes: the body's bytes. A body made by `c.text()`,
 * `c.json()` or `c.body()` with a string, bytes or JSON is sized from the
 * value the handler passed (the bytes the server sends), and the response
 * is sent untouched. Any other body (a stream, a `Response` the handler
 * built itself, or one Hono rebuilt because a later middleware set a header
 * after `next()`, under Deno) is measured as `instrument()` measures it:
 * its `Content-Length` when it has one, else a body already in memory is
 * read and answered as bytes (still sent with a `Content-Length`), and a
 * stream is counted as it is sent.
 * `excludedHandlers` match the template: an excluded request is not
 * recorded at all (nor counted in progress, when its route is known before
 * it runs).
 *
 * Throws a `TypeError` for an unknown option key (naming the closest known
 * one) or a bad option value.
 *
 * @param options Registry, excluded templates, status grouping, hooks.
 * @returns The middleware, for `app.use`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { metricsHandler, Registry } from "@securetrack/metrics";
 * import { honoMetrics } from "@securetrack/metrics/http";
 *
 * const registry = new Registry();
 * const metrics = metricsHandler(registry);
 * const app = new Hono();
 * app.use(honoMetrics({ registry, excludedHandlers: ["/metrics"] }));
 * app.get("/users/:id", (c) => c.text(`user ${c.req.param("id")}`));
 * app.get("/metrics", (c) => metrics(c.req.raw));
 * Deno.serve(app.fetch); // Bun: export default app
 * ```
 */
export function honoMetrics(options: RecordingOptions = {}): HonoMiddleware {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`honoMetrics: options must be an object, got ${options}`);
  }
  checkOptionKeys("honoMetrics", options, RECORDING_OPTION_KEYS);
  // In-progress is kept here, not by the recorder: the route is known only
  // once Hono has run the request, and an excluded one must not stay counted.
  const recorder = createRecorder({ ...options, inProgress: false }, "honoMetrics");
  const inProgress = (options.inProgress ?? true) ? recorder.metrics.inProgress : undefined;
  const reportErrors = options.onError !== undefined;
  const sizeBodies = options.responseSizes !== "content-length";
  const hasExclusions = (options.excludedHandlers?.length ?? 0) > 0;

  return async (c, next) => {
    const req = c.req;
    const own = req.routeIndex;
    if (hasExclusions) {
      const expected = expectedRoute(req.matchedRoutes, own);
      if (expected !== undefined && recorder.excluded(expected)) return await next();
    }
    const request = req.raw;
    const method = request.method;
    // The size of a body made by c.text(), c.json() or c.body() is known
    // from the value the handler passed: reading the body back instead (as
    // measureSettled does) costs more than all the recording (see
    // bench/http_frameworks.bench.ts).
    let made: MadeBody | undefined;
    if (sizeBodies && method !== "HEAD") (made = new MadeBody()).watch(c as HonoBodyMethods);
    inProgress?.inc();
    const start = recorder.start();
    const traceId = recorder.traceId(request);
    try {
      await next();
    } catch (error) {
      // Hono's compose answers what handlers throw (Error instances) with its
      // error handler; what reaches here is a non-Error throw, or an error
      // handler that threw: Hono rejects, and the server answers 500.
      inProgress?.dec();
      const route = answeredRoute(c, req.matchedRoutes, own);
      if (!recorder.excluded(route)) {
        if (reportErrors) recorder.error(route, method, error);
        recorder.finish(route, method, 500, start, requestBytes(request, method), traceId);
        recorder.responseSize(route, 0);
      }
      throw error;
    }
    inProgress?.dec();
    const route = answeredRoute(c, req.matchedRoutes, own);
    if (recorder.excluded(route)) return;
    const response = c.res;
    if (reportErrors && c.error !== undefined) recorder.error(route, method, c.error);
    recorder.finish(route, method, response.status, start, requestBytes(request, method), traceId);
    const bytes = made === undefined ? -1 : made.sizeOf(response);
    if (bytes >= 0) {
      // The bytes the handler gave are the bytes sent: the response's
      // headers are not read for a Content-Length (reading them was 0.3 µs
      // of the 1.8 µs this middleware added to a GET, in process).
      recorder.responseSize(route, bytes);
      return;
    }
    const sized = recorder.measureSettled(route, method, response);
    const measured = sized instanceof Response ? sized : await sized;
    if (measured !== response) {
      // Hono's res setter rebuilds a response that replaces another (a new
      // Response over the body, the old headers merged in): the copy has
      // them already, so clear first and the copy is set as it is.
      (c as { res: Response | undefined }).res = undefined;
      c.res = measured;
    }
  };
}
