/**
 * The server side of `http_overhead.ts`: one trivial handler, served on
 * 127.0.0.1 on a free port, in one mode (first argument):
 *
 * - `plain`: `Deno.serve((req) => new Response("ok"))`.
 * - `instrumented`: the same handler wrapped in `instrument(handler,
 *   { registry, routes: ["/"] })`.
 * - `scrape`: the instrumented handler plus `/metrics` serving a registry
 *   that also holds a counter with 10,000 labelled series (the shape of the
 *   scrape row in `core.bench.ts`); `/metrics` is itself instrumented, as in
 *   the exporter (`app/app.ts`).
 * - The `PROFILE_MODES`: what `instrument()` does per request, rebuilt step
 *   by step, each mode adding one ingredient to the one before (`+async`:
 *   an async wrapper; `+route`: reads `request.url` and `request.method` and
 *   looks the route up; `+request-headers` and `+response-headers`: read
 *   `Content-Length`; `+clock`: two `performance.now()`; `+metrics`: the
 *   seven metric updates). The step from `+metrics` to `instrumented` is
 *   what `instrument()` does beyond that (error handling, exclusions, hooks).
 * - `profile`: serves `PROFILE_VARIANTS` (plain, each step, instrumented) in
 *   turn, switching to the next on every SIGUSR2, and counts the requests
 *   each slice served. Interleaving short slices in one process spreads
 *   whatever else the machine is doing evenly over the variants
 *   (`http_overhead.ts --profile`).
 *
 * It prints one JSON line, `{"port": N}`, once it listens, then one line
 * `{"cpuMicros": N}` (user + system CPU time of the whole process so far;
 * in `profile` mode also the variant that just ended and the requests it
 * served) each time it receives SIGUSR2, and runs until it is killed. (Not
 * SIGUSR1: Deno opens its inspector on that.) Run:
 * `deno run --allow-net=127.0.0.1 bench/_http_server.ts <mode>`.
 *
 * @module
 */

import process from "node:process";
import { Counter, metricsHandler, Registry } from "../src/mod.ts";
import { httpMetrics, instrument } from "../src/http/mod.ts";
import { pathnameOf, RouteTable } from "../src/http/routes.ts";

/** `instrument()` rebuilt step by step, each mode adding one ingredient to the previous one. */
export const PROFILE_MODES = [
  "+async",
  "+route",
  "+request-headers",
  "+response-headers",
  "+clock",
  "+metrics",
] as const;

/** What `profile` mode cycles through. */
export const PROFILE_VARIANTS = [
  "plain",
  ...PROFILE_MODES,
  "instrumented",
  "instrumented-exemplars",
] as const;

/** The modes this server runs in. */
export const MODES = [
  "plain",
  "instrumented",
  "instrumented-exemplars",
  "scrape",
  "profile",
  ...PROFILE_MODES,
] as const;
/** One of {@linkcode MODES}. */
export type Mode = typeof MODES[number];

/** Label values per label of the scraped counter: 100 × 100 = 10,000 series. */
export const SCRAPE_SIDE = 100;

/** The trivial handler every mode serves at `/`. */
const hello = (_request: Request): Response => new Response("ok");

type Handler = (request: Request) => Response | Promise<Response>;

function scrapeHandler(): Handler {
  const registry = new Registry();
  const scraped = new Counter({
    name: "bench_scrape_total",
    help: "Scraped counter",
    labelNames: ["model", "endpoint"],
    registry,
    // The default cap (10,000) would fold the 10,000th series into the
    // overflow series; every one of the 10,000 must be a real series.
    maxSeries: SCRAPE_SIDE * SCRAPE_SIDE,
  });
  for (let m = 0; m < SCRAPE_SIDE; m++) {
    for (let e = 0; e < SCRAPE_SIDE; e++) {
      // Integers and fractions, so value formatting is not all one case.
      const by = 1 + ((m * SCRAPE_SIDE + e) % 7) * 0.25;
      scraped.inc({ model: `model-${m}`, endpoint: `endpoint-${e}` }, by);
    }
  }
  const metrics = metricsHandler(registry);
  const app = (request: Request): Response | Promise<Response> =>
    pathnameOf(request.url) === "/metrics" ? metrics(request) : hello(request);
  return instrument(app, { registry, routes: ["/", "/metrics"] });
}

/** Keeps a profiled ingredient's result observable, so it cannot be optimised away. */
let sink = 0;

function contentLength(headers: Headers): number {
  const n = Number(headers.get("content-length") ?? 0);
  return n >= 0 && n < Infinity ? n : 0;
}

function handlerFor(mode: Exclude<Mode, "profile">): Handler {
  switch (mode) {
    case "plain":
      return hello;
    case "instrumented":
      return instrument(hello, { registry: new Registry(), routes: ["/"] });
    case "instrumented-exemplars":
      return instrument(hello, { registry: new Registry(), routes: ["/"], exemplars: true });
    case "scrape":
      return scrapeHandler();
    default:
      return cumulative(PROFILE_MODES.indexOf(mode) + 1);
  }
}

/**
 * The plain handler with the first `steps` of `PROFILE_MODES` added, in the
 * order and with the labels `instrument()` uses for this server's requests.
 */
function cumulative(steps: number): Handler {
  const routes = new RouteTable(["/"]);
  const m = httpMetrics(new Registry());
  const [route, requestHeaders, responseHeaders, clock, metrics] = [2, 3, 4, 5, 6].map((k) =>
    steps >= k
  );
  return async (request) => {
    let handler = "/";
    let method = "GET";
    if (route) {
      handler = routes.match(pathnameOf(request.url));
      method = request.method;
    }
    const start = clock ? performance.now() : 0;
    if (metrics) m.inProgress.inc();
    const response = await hello(request);
    if (metrics) m.inProgress.dec();
    const seconds = clock ? (performance.now() - start) / 1000 : 0;
    const requestSize = requestHeaders ? contentLength(request.headers) : 0;
    const responseSize = responseHeaders ? contentLength(response.headers) : 0;
    if (metrics) {
      const status = `${Math.floor(response.status / 100)}xx`;
      m.requests.inc({ method, status, handler });
      m.requestSize.observe({ handler }, requestSize);
      m.responseSize.observe({ handler }, responseSize);
      m.durationHighr.observe(seconds);
      m.duration.observe({ method, handler }, seconds);
    } else {
      sink += handler.length + method.length + requestSize + responseSize + seconds;
    }
    return response;
  };
}

if (import.meta.main) {
  const mode = Deno.args[0] as Mode;
  if (!MODES.includes(mode)) {
    console.error(`usage: _http_server.ts ${MODES.join("|")} (got ${JSON.stringify(mode)})`);
    Deno.exit(2);
  }
  let handler: Handler;
  let report = () => ({});
  if (mode === "profile") {
    const variants = PROFILE_VARIANTS.map(handlerFor);
    let current = 0;
    let requests = 0;
    handler = (request) => {
      requests++;
      return variants[current](request);
    };
    report = () => {
      const ended = { variant: PROFILE_VARIANTS[current], requests };
      current = (current + 1) % variants.length;
      requests = 0;
      return ended;
    };
  } else {
    handler = handlerFor(mode);
  }
  Deno.addSignalListener("SIGUSR2", () => {
    const { user, system } = process.cpuUsage();
    console.log(JSON.stringify({ cpuMicros: user + system, ...report(), sink: sink > 0 }));
  });
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  }, handler);
}
