/**
 * An Elysia plugin recording the HTTP metrics of `instrument()` (same names,
 * labels, buckets), labelled by the route template Elysia matched.
 *
 * @module
 */

import { checkOptionKeys } from "../core/options.ts";
import {
  createRecorder,
  RECORDING_OPTION_KEYS,
  type RecordingOptions,
  requestBytes,
} from "./_recorder.ts";
import { bodyBytes } from "./_body_size.ts";
import { UNMATCHED_HANDLER } from "./routes.ts";

/**
 * The part of Elysia 1's handler context that {@linkcode elysiaMetrics}
 * reads (structural, so this package does not depend on Elysia). The same
 * object is passed to every lifecycle hook of a request.
 *
 * @example
 * ```ts
 * import type { ElysiaContext } from "@securetrack/metrics/http";
 * // What Elysia's context offers once GET /users/1 was answered:
 * const context: ElysiaContext = {
 *   request: new Request("http://localhost/users/1"),
 *   route: "/users/:id",
 *   set: { status: 200 },
 *   response: "user 1",
 * };
 * ```
 */
export interface ElysiaContext {
  /** The web-standard request. */
  readonly request: Request;
  /** The route template Elysia matched (`/users/:id`); unset before routing and when none matched. */
  readonly route?: string | null;
  /** Status (a number, or a status name) and headers the response gets. */
  readonly set: { readonly status?: number | string };
  /** What the handler (or an error hook) answered: a `Response`, or a value Elysia serializes. */
  readonly response?: unknown;
}

/**
 * What Elysia passes to `onError` hooks: the context, the error and its code.
 *
 * @example
 * ```ts
 * import type { ElysiaErrorContext } from "@securetrack/metrics/http";
 * const context: ElysiaErrorContext = {
 *   request: new Request("http://localhost/nope"),
 *   route: null,
 *   set: { status: 404 },
 *   code: "NOT_FOUND",
 *   error: new Error("NOT_FOUND"),
 * };
 * ```
 */
export interface ElysiaErrorContext extends ElysiaContext {
  /** `NOT_FOUND`, `PARSE`, `VALIDATION`, `UNKNOWN`, … or a custom error's name. */
  readonly code?: unknown;
  /** What was thrown. */
  readonly error?: unknown;
}

/**
 * The lifecycle hooks of an Elysia 1 app that {@linkcode elysiaMetrics}
 * registers (structural, so this package does not depend on Elysia).
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { elysiaMetrics, type ElysiaHooks } from "@securetrack/metrics/http";
 * // Any app with these hooks takes the plugin, as Elysia's `.use()` does:
 * const registered: string[] = [];
 * const app: ElysiaHooks = {
 *   onRequest: () => registered.push("onRequest"),
 *   onTransform: () => registered.push("onTransform"),
 *   onAfterHandle: () => registered.push("onAfterHandle"),
 *   onError: () => registered.push("onError"),
 *   onAfterResponse: () => registered.push("onAfterResponse"),
 * };
 * elysiaMetrics({ registry: new Registry() })(app);
 * if (registered.length !== 5) throw new Error(`registered ${registered}`);
 * ```
 */
export interface ElysiaHooks {
  /** Runs first, before routing. */
  onRequest(handler: (context: ElysiaContext) => void): unknown;
  /** Runs once the route is matched, before validation and the handler. */
  onTransform(handler: (context: ElysiaContext) => void): unknown;
  /** Runs after the handler; a `Response` returned replaces the handler's. */
  onAfterHandle(handler: (context: ElysiaContext) => Response | undefined): unknown;
  /** Runs when anything throws, or no route matched. */
  onError(handler: (context: ElysiaErrorContext) => void): unknown;
  /** Runs once the response is handed to the server. */
  onAfterResponse(handler: (context: ElysiaContext) => void): unknown;
}

/** Elysia's own error codes for requests it refuses: not a handler error, not for `onError`. */
const REQUEST_ERRORS = new Set([
  "NOT_FOUND",
  "PARSE",
  "VALIDATION",
  "INVALID_COOKIE_SIGNATURE",
  "INVALID_FILE_TYPE",
]);

/** One request's state, kept on Elysia's context object between hooks. */
interface RequestState {
  /** `recorder.start()`, at onRequest. */
  start: number;
  /** The request's method. */
  method: string;
  /**
   * `http_request_size_bytes`, read at onRequest: by the time onAfterResponse
   * runs, `Deno.serve` has closed the request and its headers throw.
   */
  bytesIn: number;
  /** The trace id of its `traceparent` header (read at onRequest, for the same reason). */
  traceId: string | undefined;
  /** When the handler or an error hook answered (`performance.now()`), 0 until then. */
  answered: number;
  /** Counted in http_requests_inprogress (route known and not excluded). */
  counted: boolean;
  /** The response size is already taken care of (a counting copy of a Response). */
  sized: boolean;
}

const STATE: unique symbol = Symbol("elysiaMetrics");
type WithState = ElysiaContext & { [STATE]?: RequestState };

/** The numeric status of what Elysia answers. */
function statusOf(context: ElysiaContext): number {
  const response = context.response;
  if (response instanceof Response) return response.status;
  const status = context.set.status;
  if (typeof status === "number") return status;
  const n = Number(status);
  return Number.isInteger(n) ? n : 200;
}

/** The body an answer is sent with: an Elysia `status(code, body)` answer carries it in `response`. */
function bodyOf(value: unknown): unknown {
  if (
    value !== null && typeof value === "object" && "code" in value && "response" in value &&
    value.constructor?.name === "ElysiaCustomStatusResponse"
  ) {
    return (value as { response: unknown }).response;
  }
  return value;
}

/**
 * An Elysia plugin recording the six HTTP families of
 * {@linkcode httpMetrics} (`http_requests_total`, the two duration
 * histograms, request and response sizes, `http_requests_inprogress`), with
 * the `handler` label set to the route template Elysia matched
 * (`context.route`: `/users/:id`, prefixes included), never the raw path; a
 * request no route matches is labelled `"none"`. Use it before the routes:
 * `new Elysia().use(elysiaMetrics({ registry }))` (hooks apply to the routes
 * registered after them). Elysia 1, on Bun and on Deno.
 *
 * Durations run from `onRequest` until the handler (or an error hook)
 * answered. The status is the one sent: a returned `Response`'s, else
 * `set.status` (Elysia sets it for errors: 404, 400, 422, 500, …). An error
 * a handler throws is passed to `onError` when given (not Elysia's own
 * refusals: not found, parse and validation errors). Response sizes: a
 * returned `Response`'s `Content-Length`, or its body counted as it is
 * sent; other values as Elysia sends them (strings in UTF-8, bytes, JSON
 * for objects); bodies Elysia writes itself for errors, and generators, count
 * 0. `excludedHandlers` match the template; an excluded request is not
 * recorded, nor counted in progress.
 *
 * Throws a `TypeError` for an unknown option key (naming the closest known
 * one) or a bad option value.
 *
 * @param options Registry, excluded templates, status grouping, hooks.
 * @returns The plugin, for `app.use`.
 *
 * @example
 * ```ts ignore
 * import { Elysia } from "elysia";
 * import { metricsHandler, Registry } from "@securetrack/metrics";
 * import { elysiaMetrics } from "@securetrack/metrics/http";
 *
 * const registry = new Registry();
 * const metrics = metricsHandler(registry);
 * new Elysia()
 *   .use(elysiaMetrics({ registry, excludedHandlers: ["/metrics"] }))
 *   .get("/users/:id", ({ params }) => `user ${params.id}`)
 *   .get("/metrics", ({ request }) => metrics(request))
 *   .listen(3000);
 * ```
 */
export function elysiaMetrics(
  options: RecordingOptions = {},
): <App extends ElysiaHooks>(app: App) => App {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`elysiaMetrics: options must be an object, got ${options}`);
  }
  checkOptionKeys("elysiaMetrics", options, RECORDING_OPTION_KEYS);
  // In-progress is kept here, not by the recorder: it is counted from the
  // moment the route is known (onTransform), so excluded routes and routes
  // registered before the plugin (which never reach our later hooks) are not.
  const recorder = createRecorder({ ...options, inProgress: false }, "elysiaMetrics");
  const inProgress = (options.inProgress ?? true) ? recorder.metrics.inProgress : undefined;
  const reportErrors = options.onError !== undefined;

  return <App extends ElysiaHooks>(app: App): App => {
    app.onRequest((context: WithState) => {
      const request = context.request;
      context[STATE] = {
        start: recorder.start(),
        method: request.method,
        bytesIn: requestBytes(request),
        traceId: recorder.traceId(request),
        answered: 0,
        counted: false,
        sized: false,
      };
    });
    app.onTransform((context: WithState) => {
      const state = context[STATE];
      if (state === undefined || inProgress === undefined) return;
      if (recorder.excluded(context.route ?? UNMATCHED_HANDLER)) return;
      state.counted = true;
      inProgress.inc();
    });
    app.onAfterHandle((context: WithState) => {
      const state = context[STATE];
      if (state === undefined) return undefined;
      state.answered = performance.now();
      const response = context.response;
      const route = context.route ?? UNMATCHED_HANDLER;
      if (!(response instanceof Response) || recorder.excluded(route)) return undefined;
      state.sized = true;
      const measured = recorder.measure(route, state.method, response);
      return measured === response ? undefined : measured;
    });
    app.onError((context: ElysiaErrorContext & WithState) => {
      const state = context[STATE];
      if (state === undefined) return;
      state.answered = performance.now();
      const route = context.route ?? UNMATCHED_HANDLER;
      if (
        reportErrors && !REQUEST_ERRORS.has(String(context.code)) && !recorder.excluded(route)
      ) {
        recorder.error(route, state.method, context.error);
      }
    });
    app.onAfterResponse((context: WithState) => {
      const state = context[STATE];
      if (state === undefined) return;
      context[STATE] = undefined;
      if (state.counted) inProgress!.dec();
      const route = context.route ?? UNMATCHED_HANDLER;
      if (recorder.excluded(route)) return;
      const method = state.method;
      // The seconds until the answer, not until this (deferred) hook runs.
      const start = state.answered === 0
        ? state.start
        : state.start + (performance.now() - state.answered);
      recorder.finish(route, method, statusOf(context), start, state.bytesIn, state.traceId);
      if (state.sized) return;
      const bytes = method === "HEAD" ? 0 : bodyBytes(bodyOf(context.response));
      recorder.responseSize(route, bytes ?? 0);
    });
    return app;
  };
}
