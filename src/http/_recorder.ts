/**
 * The HTTP request recorder every instrumentation of this folder shares:
 * `instrument()` (a fetch-handler wrapper) and the framework middleware
 * (Hono, Oak, Elysia) all record through {@linkcode createRecorder}, so they
 * write the same six families (prometheus-fastapi-instrumentator's names,
 * labels, buckets and HELP texts) with the same behaviour. Private to
 * `src/http/`; `instrument.ts` re-exports the public names defined here.
 *
 * How an adapter uses it, once per request:
 *
 * ```ts ignore
 * const rec = createRecorder(options, "hono middleware");   // once, at set-up
 * // per request:
 * if (rec.excluded(route)) return next();                   // not recorded at all
 * const start = rec.start();                                // clock + in-progress +1
 * let response: Response;
 * try {
 *   response = await handle();
 * } catch (error) {
 *   rec.error(route, request.method, error);                // onError, or logged once
 *   response = internalError();                             // or let the framework answer
 * }
 * rec.finish(route, request.method, response.status, start, requestBytes(request));
 * return await rec.measureSettled(route, request.method, response); // http_response_size_bytes
 * ```
 *
 * (`measure` instead of `measureSettled` where the answer must be
 * synchronous: it always streams bodies of unknown length, which costs more.)
 *
 * `method` arguments take the request's method as received; the recorder
 * maps it to its label (`methodLabel`: the nine standard methods, upper case,
 * anything else `OTHER`), so a client sending random methods cannot create
 * series or grow a cache.
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
import { traceIdOf } from "./_traceparent.ts";

/** What {@linkcode RecordingOptions.onRequest} receives once per recorded request. */
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

/** What {@linkcode RecordingOptions.onError} receives when the handler throws. */
export interface ErrorRecord {
  /** Route template matched, or `"none"`. */
  handler: string;
  /** Request method, as in {@linkcode RequestRecord}. */
  method: string;
  /** What the handler threw (or rejected with). */
  error: unknown;
}

/**
 * What every HTTP instrumentation of this package records, and where:
 * the options `instrument()` and the framework middleware share.
 */
export interface RecordingOptions {
  /** Registry for the HTTP metrics (default {@linkcode defaultRegistry}). */
  registry?: Registry;
  /** Templates (exact) or patterns whose requests are not recorded at all. */
  excludedHandlers?: readonly (string | RegExp)[];
  /** Report status as `2xx` … `5xx` (default `true`); `false` keeps exact codes. */
  groupStatusCodes?: boolean;
  /** Keep the `http_requests_inprogress` gauge (default `true`). */
  inProgress?: boolean;
  /**
   * Where `http_response_size_bytes` takes a response's size from.
   * `"body"` (default): its `Content-Length` when it has one, else its
   * body's bytes (a body already in memory is read at once and answered as
   * those bytes; a stream is counted as it is sent). `"content-length"`:
   * the header only, 0 without one, as prometheus-fastapi-instrumentator
   * does; every response passes through untouched, which saves the cost of
   * reading bodies (several microseconds a request in `Deno.serve`; see the
   * README's benchmarks).
   */
  responseSizes?: "body" | "content-length";
  /**
   * Exemplars from W3C Trace Context: with `true`, a request with a valid
   * `traceparent` header puts its trace id, as `{ trace_id }`, on its
   * `http_requests_total` series and on its buckets of both duration
   * histograms (shown in OpenMetrics and protobuf scrapes). Default `false`:
   * the header is never read, so requests cost what they did without
   * exemplars. Reading it means reading the request's headers, which
   * `Deno.serve` otherwise skips for GET and HEAD: about 1 µs of server CPU
   * a request (see the README's benchmarks).
   */
  exemplars?: boolean;
  /** Called after each recorded request (e.g. to feed application metrics). */
  onRequest?: (record: RequestRecord) => void;
  /**
   * Called when the handler throws; the client gets a 500 either way. Absent:
   * the error's class is reported once per route and class through the
   * registry's log (`registry.logOnce`).
   */
  onError?: (record: ErrorRecord) => void;
}

/** The keys of {@linkcode RecordingOptions}, for `checkOptionKeys` in each adapter. */
export const RECORDING_OPTION_KEYS: readonly string[] = Object.freeze([
  "registry",
  "excludedHandlers",
  "groupStatusCodes",
  "inProgress",
  "responseSizes",
  "exemplars",
  "onRequest",
  "onError",
]);

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

/**
 * Records requests into one registry's HTTP metrics. Every method is safe to
 * call on the hot path: children are bound once per route, method and status.
 */
export interface Recorder {
  /** The six families, as registered in the registry. */
  readonly metrics: HttpMetrics;
  /** The registry recorded into (for its `log` and `logOnce`). */
  readonly registry: Registry;
  /** Whether requests labelled `route` are left out (`excludedHandlers`); check before `start`. */
  excluded(route: string): boolean;
  /** A request starts: `http_requests_inprogress` +1 (unless `inProgress: false`); returns `performance.now()`, to pass to `finish`. */
  start(): number;
  /**
   * The trace id of a request's valid `traceparent` header, to pass to
   * `finish`; `undefined` without one, or unless `exemplars: true` (then
   * the headers are not read). Read it while the request is open.
   */
  traceId(request: { readonly headers: { get(name: string): string | null } }): string | undefined;
  /**
   * A request's handler has answered: `http_requests_inprogress` −1,
   * `http_requests_total`, both duration histograms (seconds since `start`),
   * `http_request_size_bytes` (`requestBytes`), then `onRequest` (an
   * exception from it is logged once, never thrown). Returns the seconds.
   * Call exactly once per `start`. The response size is `measure`'s job.
   * With `traceId`, it is the exemplar (`{ trace_id }`) of the counter and
   * of the duration buckets.
   */
  finish(
    route: string,
    method: string,
    status: number,
    start: number,
    requestBytes: number,
    traceId?: string,
  ): number;
  /** Observes one `http_response_size_bytes` value for `route`. */
  responseSize(route: string, bytes: number): void;
  /**
   * Observes the size of `response`'s body, once, and returns the response
   * to send: `response` itself when the size is known now (HEAD: 0, a valid
   * `Content-Length`: its value, no body: 0; with `responseSizes:
   * "content-length"`, 0 without the header), otherwise a copy (same status,
   * status text and headers) whose body counts the bytes the server reads
   * from it, observed when that body ends, errors or is cancelled. Always
   * synchronous, but a counting stream is sent chunked and, in `Deno.serve`,
   * cost about twice as much CPU as `measureSettled`'s reading of a body in
   * memory (one measurement here): prefer `measureSettled` where the
   * answer may be a promise.
   */
  measure(route: string, method: string, response: Response): Response;
  /**
   * As `measure`, but a body of unknown length that ends at once (a
   * string, bytes, JSON, form data: anything already in memory) is read and
   * answered as bytes, so the server still sends it with a `Content-Length`;
   * only other bodies (streams waiting on I/O, timers, events) get the
   * counting stream, without delaying the headers. Synchronous when
   * `measure` returns `response` itself, a promise otherwise. Reading a
   * body costs `Deno.serve` several microseconds a request
   * (bench/http_sizes.ts); `responseSizes: "content-length"` skips it.
   */
  measureSettled(
    route: string,
    method: string,
    response: Response,
  ): Response | Promise<Response>;
  /** The handler threw `error`: `onError`, else reported once per route and error class (`registry.logOnce`). Never throws. */
  error(route: string, method: string, error: unknown): void;
}

/** One route's bound series. */
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

/** The series one (route, method label, status) finishes into. */
interface Bundle {
  readonly route: string;
  readonly method: string;
  readonly status: number;
  readonly requests: CounterChild;
  readonly duration: HistogramChild;
  readonly requestSize: SummaryChild;
}

/**
 * The value of a `Content-Length` header: a non-negative finite number, or
 * `undefined` when absent or invalid.
 */
export function lengthHeader(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  if (value === null) return undefined;
  const n = Number(value);
  return value.trim() !== "" && n >= 0 && n < Infinity ? n : undefined;
}

/**
 * The `http_request_size_bytes` value of `request`: its `Content-Length`
 * (0 when absent or invalid), and 0 for GET and HEAD without reading the
 * headers (they carry no body, and reading request headers costs Deno about
 * 0.9 µs a request; bench/http_overhead.ts --profile). `method`: the
 * request's method, when the caller has read it already.
 */
export function requestBytes(
  request: { readonly method: string; readonly headers: Headers },
  method: string = request.method,
): number {
  if (method === "GET" || method === "HEAD") return 0;
  return lengthHeader(request.headers) ?? 0;
}

/** The 500 answered when a handler throws: a fixed text, with its length known. */
export function internalError(): Response {
  return new Response("Internal Server Error\n", {
    status: 500,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": "22",
    },
  });
}

function statusLabel(status: number, group: boolean): string {
  if (!group) return String(status);
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : String(status);
}

/** A chunk's size in bytes (0 for what is not a byte view: the server rejects those anyway). */
function byteLength(chunk: unknown): number {
  return (chunk as { byteLength?: unknown } | null)?.byteLength as number ?? 0;
}

/**
 * The rest of a body, counting the bytes the server reads from it: first
 * `prefetched`, then what `pending` (a read already started) gives, then
 * the reader's chunks. Calls `done` once, with the bytes handed out, when
 * the body ends, errors or is cancelled. Pull-based with no queue of its
 * own, so it reads from the source only as fast as the server sends.
 */
function countedBody(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  prefetched: Uint8Array[],
  pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined,
  done: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  let bytes = 0;
  let reported = false;
  const report = () => {
    if (reported) return;
    reported = true;
    done(bytes);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = prefetched.shift();
      if (next !== undefined) {
        bytes += byteLength(next);
        controller.enqueue(next);
        return;
      }
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await (pending ?? reader.read());
      } catch (error) {
        report();
        controller.error(error);
        return;
      } finally {
        pending = undefined;
      }
      if (chunk.done) {
        report();
        controller.close();
        return;
      }
      bytes += byteLength(chunk.value);
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      report();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Microtask turns a body of unknown length gets to end before it is
 * streamed instead. A body made from a string, bytes, JSON or form data
 * ends within 3 turns in Deno 2.9 (a `Blob` within 8) and 2 in Bun 1.4; a
 * body that waits on anything (I/O, a timer, the next event of a stream)
 * does not end within any number of turns.
 */
const SETTLE_TURNS = 16;

/**
 * `response` with its body measured. A body that ends within
 * `SETTLE_TURNS` microtask turns (strings, bytes, JSON: everything already
 * in memory) is answered as bytes, which the server sends with a
 * `Content-Length`; a counting stream would be sent chunked. Any other body
 * is streamed through `countedBody`, without delaying the headers.
 */
async function sizedResponse(
  response: Response,
  body: ReadableStream<Uint8Array>,
  observe: (bytes: number) => void,
): Promise<Response> {
  const init = {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let result: ReadableStreamReadResult<Uint8Array> | undefined;
  let failed = false;
  const settle = (r: ReadableStreamReadResult<Uint8Array>) => void (result = r);
  const fail = () => void (failed = true);
  let pending = reader.read();
  pending.then(settle, fail);
  for (let turn = 0; turn < SETTLE_TURNS && !failed; turn++) {
    await undefined;
    if (result === undefined) continue;
    if (result.done) {
      observe(bytes);
      let all: Uint8Array;
      if (chunks.length === 1) all = chunks[0];
      else {
        all = new Uint8Array(bytes);
        let at = 0;
        for (const c of chunks) {
          all.set(c, at);
          at += c.byteLength;
        }
      }
      return new Response(all as Uint8Array<ArrayBuffer>, init);
    }
    const value: unknown = result.value;
    result = undefined;
    if (!(value instanceof Uint8Array)) {
      // Not a body a server accepts: let the server meet it as the handler made it.
      return new Response(
        countedBody(
          reader,
          [...chunks, value as Uint8Array],
          undefined,
          observe,
        ),
        init,
      );
    }
    chunks.push(value);
    bytes += value.byteLength;
    pending = reader.read();
    pending.then(settle, fail);
  }
  return new Response(countedBody(reader, chunks, pending, observe), init);
}

/**
 * Registers (or finds) the HTTP metrics in `options.registry` and returns a
 * {@linkcode Recorder} over them. `owner` names the caller in errors and log
 * keys (`"instrument"`, `"hono middleware"`). Throws a `TypeError` naming
 * `owner` for a bad `excludedHandlers` entry or a hook that is not a function;
 * unknown option keys are the caller's to check (`RECORDING_OPTION_KEYS`).
 */
export function createRecorder(
  options: RecordingOptions,
  owner: string,
): Recorder {
  const registry = options.registry ?? defaultRegistry;
  const m = httpMetrics(registry);
  const group = options.groupStatusCodes ?? true;
  const trackInProgress = options.inProgress ?? true;
  const { onRequest, onError } = options;
  const responseSizes = options.responseSizes ?? "body";
  if (responseSizes !== "body" && responseSizes !== "content-length") {
    throw new TypeError(
      `${owner}: responseSizes must be "body" or "content-length", got ${
        JSON.stringify(responseSizes)
      }`,
    );
  }
  const bodies = responseSizes === "body";
  const exemplars = options.exemplars ?? false;
  if (typeof exemplars !== "boolean") {
    throw new TypeError(`${owner}: exemplars must be a boolean, got ${typeof exemplars}`);
  }
  const hooks = { onRequest, onError };
  for (const [name, hook] of Object.entries(hooks)) {
    if (hook !== undefined && typeof hook !== "function") {
      throw new TypeError(
        `${owner}: ${name} must be a function, got ${typeof hook}`,
      );
    }
  }
  const excludedExact = new Set<string>();
  const excludedPatterns: RegExp[] = [];
  const excludedHandlers = options.excludedHandlers ?? [];
  if (!Array.isArray(excludedHandlers)) {
    throw new TypeError(
      `${owner}: excludedHandlers must be an array of strings and RegExps`,
    );
  }
  for (const e of excludedHandlers) {
    if (typeof e === "string") excludedExact.add(e);
    else if (e instanceof RegExp) excludedPatterns.push(e);
    else {
      throw new TypeError(
        `${owner}: excludedHandlers takes strings and RegExps, got ${
          e === null ? "null" : typeof e
        }`,
      );
    }
  }
  const excluded = excludedPatterns.length > 0
    ? (route: string) => excludedExact.has(route) || excludedPatterns.some((p) => p.test(route))
    : excludedExact.size > 0
    ? (route: string) => excludedExact.has(route)
    : () => false;

  // The series a request writes to, bound once per route, method and status
  // code: a request then costs three Map lookups instead of four labelled
  // lookups, each with a fresh label object (and status string); in a server
  // that is about 0.7 µs of the ~5 µs instrument() added to a request (see
  // bench/http_overhead.ts --profile). Bounded: methods are the nine standard
  // ones plus "OTHER", routes the templates an adapter passes (and the
  // metrics' series caps). A child that landed in a metric's overflow series
  // (the metric at its series cap) is not kept, so every such request is
  // counted in metrics_series_overflow_total, as a labelled call would be.
  const fits = (metric: MetricVec<string, unknown>, child: { i: number }) =>
    !isOverflowChild(metric, child);
  const series = new Map<string, RouteSeries>();
  // The last route looked up: `finish` and the response size that follows
  // it (and the next request, on a busy route) ask for the same one.
  let lastRoute: string | undefined;
  let lastSeries: RouteSeries | undefined;
  const routeSeries = (route: string): RouteSeries => {
    if (route === lastRoute) return lastSeries!;
    let r = series.get(route);
    if (r !== undefined) {
      lastRoute = route;
      lastSeries = r;
      return r;
    }
    r = {
      requestSize: m.requestSize.labels({ handler: route }),
      responseSize: m.responseSize.labels({ handler: route }),
      methods: new Map(),
    };
    if (
      fits(m.requestSize, r.requestSize) && fits(m.responseSize, r.responseSize)
    ) {
      series.set(route, r);
    }
    return r;
  };
  const methodSeries = (
    r: RouteSeries,
    route: string,
    method: string,
  ): MethodSeries => {
    let s = r.methods.get(method);
    if (s !== undefined) return s;
    s = {
      duration: m.duration.labels({ method, handler: route }),
      requests: new Map(),
    };
    if (fits(m.duration, s.duration)) r.methods.set(method, s);
    return s;
  };
  const requestsChild = (
    s: MethodSeries,
    route: string,
    method: string,
    status: number,
  ) => {
    let c = s.requests.get(status);
    if (c !== undefined) return c;
    c = m.requests.labels({
      method,
      status: statusLabel(status, group),
      handler: route,
    });
    if (fits(m.requests, c)) s.requests.set(status, c);
    return c;
  };
  // The series of the last (route, method label, status) finished: on a
  // busy route most requests repeat it, and then cost no lookup at all.
  let last: Bundle = {
    route: "",
    method: "",
    status: -1,
    requests: undefined as unknown as CounterChild,
    duration: undefined as unknown as HistogramChild,
    requestSize: undefined as unknown as SummaryChild,
  };
  const bundle = (route: string, method: string, status: number): Bundle => {
    const r = routeSeries(route);
    const s = methodSeries(r, route, method);
    const b: Bundle = {
      route,
      method,
      status,
      requests: requestsChild(s, route, method, status),
      duration: s.duration,
      requestSize: r.requestSize,
    };
    // Kept only when every series is kept (none in an overflow series).
    if (
      series.get(route) === r && r.methods.get(method) === s &&
      s.requests.get(status) === b.requests
    ) {
      last = b;
    }
    return b;
  };
  const inProgress = m.inProgress.labels({});
  const durationHighr = m.durationHighr.labels({});

  // Once per route and error class, through the registry's log: a failing
  // handler may fail every request, and each one is counted anyway (status
  // 500 in http_requests_total). The message is left out, as it may carry
  // anything (a token in a URL); `onError` receives the error itself.
  const reportOnce = (what: string, route: string, error: unknown) => {
    const kind = error instanceof Error ? error.name : typeof error;
    registry.logOnce(
      `${owner}\u0000${what}\u0000${route}\u0000${kind}`,
      `${what} for "${route}" threw ${kind} (reported once; pass onError to see each error)`,
    );
  };

  const responseSize = (route: string, bytes: number): void => {
    routeSeries(route).responseSize.observe(bytes);
  };
  /** Observes the response size when it is known now (and returns undefined), else returns the body to count. */
  const knownSize = (
    route: string,
    method: string,
    response: Response,
  ): ReadableStream<Uint8Array> | undefined => {
    if (method === "HEAD" || (method !== "GET" && methodLabel(method) === "HEAD")) {
      responseSize(route, 0);
      return undefined;
    }
    const length = lengthHeader(response.headers);
    if (length !== undefined || !bodies) {
      responseSize(route, length ?? 0);
      return undefined;
    }
    const body = response.body;
    if (body === null || body.locked || response.bodyUsed) {
      // Nothing to send, or a body the server will refuse anyway.
      responseSize(route, 0);
      return undefined;
    }
    return body;
  };

  return {
    metrics: m,
    registry,
    excluded,
    start: trackInProgress
      ? () => {
        inProgress.inc();
        return performance.now();
      }
      : () => performance.now(),
    traceId: exemplars
      ? (request) => traceIdOf(request.headers.get("traceparent"))
      : () => undefined,
    finish(route, method, status, start, requestBytes, traceId) {
      const seconds = (performance.now() - start) / 1000;
      if (trackInProgress) inProgress.dec();
      const label = methodLabel(method);
      let b = last;
      if (b.route !== route || b.method !== label || b.status !== status) {
        b = bundle(route, label, status);
      }
      if (traceId === undefined) {
        b.requests.inc();
        b.requestSize.observe(requestBytes);
        durationHighr.observe(seconds);
        b.duration.observe(seconds);
      } else {
        const exemplarLabels = { trace_id: traceId };
        b.requests.incWithExemplar({ exemplarLabels });
        b.requestSize.observe(requestBytes);
        durationHighr.observeWithExemplar({ value: seconds, exemplarLabels });
        b.duration.observeWithExemplar({ value: seconds, exemplarLabels });
      }
      if (onRequest !== undefined) {
        try {
          onRequest({ handler: route, method: label, status, seconds });
        } catch (error) {
          reportOnce("onRequest hook", route, error);
        }
      }
      return seconds;
    },
    responseSize,
    measure(route, method, response) {
      const body = knownSize(route, method, response);
      if (body === undefined) return response;
      return new Response(
        countedBody(
          body.getReader(),
          [],
          undefined,
          (bytes) => responseSize(route, bytes),
        ),
        {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        },
      );
    },
    measureSettled(route, method, response) {
      const body = knownSize(route, method, response);
      if (body === undefined) return response;
      return sizedResponse(
        response,
        body,
        (bytes) => responseSize(route, bytes),
      );
    },
    error(route, method, error) {
      try {
        if (onError !== undefined) {
          onError({ handler: route, method: methodLabel(method), error });
        } else reportOnce("handler", route, error);
      } catch { /* a failing error hook must not fail the request */ }
    },
  };
}
