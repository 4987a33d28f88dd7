/**
 * Oak middleware recording the HTTP metrics of `instrument()` (same names,
 * labels, buckets), labelled by the route template Oak's router matched.
 *
 * @module
 */

import { checkOptionKeys } from "../core/options.ts";
import {
  createRecorder,
  lengthHeader,
  RECORDING_OPTION_KEYS,
  type RecordingOptions,
  requestBytes,
} from "./_recorder.ts";
import { bodyBytes } from "./_body_size.ts";
import { UNMATCHED_HANDLER } from "./routes.ts";

/**
 * One route layer Oak's router matched (what the middleware reads of Oak's `Layer`).
 *
 * @example
 * ```ts
 * import type { OakRoute } from "@securetrack/metrics/http";
 * // As Oak's router lists `router.get("/users/:id", ...)` in `ctx.matched`:
 * const layer: OakRoute = { path: "/users/:id", methods: ["HEAD", "GET"] };
 * ```
 */
export interface OakRoute {
  /** The template as registered, router prefixes included (`/api/users/:id`). */
  readonly path: string;
  /** The methods it answers (`HEAD` is added to `GET`); empty for `router.use` middleware. */
  readonly methods: readonly string[];
}

/**
 * Header access as Oak's request and response offer it.
 *
 * @example
 * ```ts
 * import type { OakHeaders } from "@securetrack/metrics/http";
 * const headers: OakHeaders = new Headers({ "content-length": "42" });
 * ```
 */
export interface OakHeaders {
  /** The value of header `name`, or `null`. */
  get(name: string): string | null;
}

/**
 * The part of Oak 14's `Context` that {@linkcode oakMetrics} reads and
 * writes. Structural, so this package does not depend on Oak.
 *
 * @example
 * ```ts
 * import type { OakContext } from "@securetrack/metrics/http";
 * // What Oak's Context offers once the router answered GET /users/1:
 * const ctx: OakContext = {
 *   request: { method: "GET", headers: new Headers() },
 *   response: { status: 200, headers: new Headers(), body: "user 1" },
 *   matched: [{ path: "/users/:id", methods: ["HEAD", "GET"] }],
 * };
 * ```
 */
export interface OakContext {
  /** The request. */
  readonly request: { readonly method: string; readonly headers: OakHeaders };
  /** The response being built. */
  readonly response: {
    /** Status so far. */
    readonly status: number;
    /** Headers so far. */
    readonly headers: OakHeaders;
    /** The body, serialized by Oak once the middleware chain is done. */
    body?: unknown;
  };
  /** The layers the router matched for the request's path, set by `router.routes()`. */
  matched?: OakRoute[];
}

/**
 * An Oak middleware, as `app.use` takes it.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { oakMetrics, type OakMiddleware } from "@securetrack/metrics/http";
 * const middleware: OakMiddleware = oakMetrics({ registry: new Registry() });
 * ```
 */
export type OakMiddleware = (ctx: OakContext, next: () => Promise<unknown>) => Promise<void>;

/**
 * The template of the route `matched` (layers in order) gives `method`: the
 * first layer answering it, else the first route layer for the path (a 405
 * from `allowedMethods()` is labelled by its route, as `instrument()` would),
 * else `"none"`.
 */
function oakRoute(matched: readonly OakRoute[] | undefined, method: string): string {
  if (matched === undefined) return UNMATCHED_HANDLER;
  let pathOnly: string | undefined;
  for (const layer of matched) {
    if (layer.methods.length === 0) continue; // router.use() middleware
    if (layer.methods.includes(method)) return layer.path;
    pathOnly ??= layer.path;
  }
  return pathOnly ?? UNMATCHED_HANDLER;
}

/** The status Oak's application answers an error thrown by middleware with (Oak 14's `#handleError`). */
function oakErrorStatus(error: unknown): number {
  if (!(error instanceof Error)) return 500;
  const notFound = (globalThis as { Deno?: { errors?: { NotFound?: unknown } } }).Deno?.errors
    ?.NotFound;
  if (typeof notFound === "function" && error instanceof notFound) return 404;
  const status = (error as { status?: unknown }).status;
  return typeof status === "number" && status !== 0 ? status : 500;
}

/**
 * Oak middleware recording the six HTTP families of {@linkcode httpMetrics}
 * (`http_requests_total`, the two duration histograms, request and response
 * sizes, `http_requests_inprogress`), with the `handler` label set to the
 * template of the route Oak's router matched (`ctx.matched`: `/users/:id`,
 * prefixes included), never the raw path; a request no router route
 * matches is labelled `"none"`. Register it first, before the routers:
 * `app.use(oakMetrics({ registry }))`. Oak 14 (`@oakserver/oak` on npm,
 * `@oak/oak` on JSR).
 *
 * The status is the response's after the rest of the chain has run. An
 * error thrown downstream is recorded with the status Oak's application
 * answers it with (the error's `status`, 404 for `Deno.errors.NotFound`,
 * else 500), passed to `onError` when given, and rethrown to Oak, which
 * reports it (its `error` event). Durations run until the chain returns.
 * Response sizes: the `Content-Length` header, else the body's size as Oak
 * will send it (strings in UTF-8, bytes, blobs, JSON for objects), a stream
 * counted as it is sent; bodies Oak writes itself for errors, and
 * async-iterable or function bodies, count 0. `excludedHandlers` match the
 * template; an excluded request is not recorded, and leaves the in-progress
 * gauge as soon as the router has matched it.
 *
 * Throws a `TypeError` for an unknown option key (naming the closest known
 * one) or a bad option value.
 *
 * @param options Registry, excluded templates, status grouping, hooks.
 * @returns The middleware, for `app.use`.
 *
 * @example
 * ```ts ignore
 * import { Application, Router } from "@oak/oak";
 * import { metricsHandler, Registry } from "@securetrack/metrics";
 * import { oakMetrics } from "@securetrack/metrics/http";
 *
 * const registry = new Registry();
 * const metrics = metricsHandler(registry);
 * const router = new Router();
 * router.get("/users/:id", (ctx) => ctx.response.body = `user ${ctx.params.id}`);
 * router.get("/metrics", async (ctx) => ctx.response.with(await metrics(ctx.request.source!)));
 * const app = new Application();
 * app.use(oakMetrics({ registry, excludedHandlers: ["/metrics"] }));
 * app.use(router.routes(), router.allowedMethods());
 * await app.listen({ port: 8000 });
 * ```
 */
export function oakMetrics(options: RecordingOptions = {}): OakMiddleware {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`oakMetrics: options must be an object, got ${options}`);
  }
  checkOptionKeys("oakMetrics", options, RECORDING_OPTION_KEYS);
  // In-progress is kept here, not by the recorder: the route is known only
  // once the router has matched, and an excluded request must not stay counted.
  const recorder = createRecorder({ ...options, inProgress: false }, "oakMetrics");
  const inProgress = (options.inProgress ?? true) ? recorder.metrics.inProgress : undefined;
  const watchRouter = inProgress !== undefined && (options.excludedHandlers?.length ?? 0) > 0;
  const reportErrors = options.onError !== undefined;

  return async (ctx, next) => {
    const request = ctx.request;
    const method = request.method;
    let counted = inProgress !== undefined;
    inProgress?.inc();
    if (watchRouter && !("matched" in ctx)) {
      // The router sets ctx.matched before running the route's handlers: an
      // excluded route (a /metrics scrape) leaves the gauge before it runs.
      let matched: OakRoute[] | undefined;
      Object.defineProperty(ctx, "matched", {
        configurable: true,
        enumerable: true,
        get: () => matched,
        set: (value: OakRoute[] | undefined) => {
          matched = value;
          const route = oakRoute(value, method);
          if (counted && route !== UNMATCHED_HANDLER && recorder.excluded(route)) {
            counted = false;
            inProgress!.dec();
          }
        },
      });
    }
    const start = recorder.start();
    const bytesIn = requestBytes(request as { method: string; headers: Headers });
    const traceId = recorder.traceId(request);
    try {
      await next();
    } catch (error) {
      if (counted) inProgress!.dec();
      const route = oakRoute(ctx.matched, method);
      if (!recorder.excluded(route)) {
        if (reportErrors) recorder.error(route, method, error);
        recorder.finish(route, method, oakErrorStatus(error), start, bytesIn, traceId);
        recorder.responseSize(route, 0);
      }
      throw error;
    }
    if (counted) inProgress!.dec();
    const route = oakRoute(ctx.matched, method);
    if (recorder.excluded(route)) return;
    const response = ctx.response;
    recorder.finish(route, method, response.status, start, bytesIn, traceId);
    if (method === "HEAD") return recorder.responseSize(route, 0);
    const length = lengthHeader(response.headers as Headers) ?? bodyBytes(response.body);
    if (length !== undefined) return recorder.responseSize(route, length);
    if (response.body instanceof ReadableStream) {
      // Counted as Oak sends it, the way instrument() counts a stream.
      response.body = recorder.measure(route, method, new Response(response.body)).body;
      return;
    }
    recorder.responseSize(route, 0);
  };
}
