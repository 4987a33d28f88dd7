/**
 * What HTTP metrics middleware costs a Hono request, in process (no
 * network): `/users/:id` through `app.fetch(new Request(...))`, body read,
 * with
 *
 * - plain Hono (the baseline),
 * - Hono + `@hono/prometheus` (prom-client underneath; its default
 *   `http_requests_total` and `http_request_duration_seconds`, no sizes),
 * - Hono + `honoMetrics` (this package: the six families of `instrument()`,
 *   response sizes included),
 * - plain Hono's `app.fetch` wrapped by `instrument()` with
 *   `routes: ["/users/:id"]` (no Hono middleware): by default, and with
 *   `responseSizes: "content-length"` (the header only, as
 *   prometheus-fastapi-instrumentator; a body without one counts 0),
 * - and, for reference, Hono + an empty `async (c, next) => await next()`
 *   (what any middleware costs: an app whose only match is the handler takes
 *   a fast path that skips Hono's `compose`), and Hono + a middleware that
 *   only reads `performance.now()` twice and the matched route: the floor
 *   of any middleware that times requests.

 * Two groups: `GET`, where the handler's `c.text(...)` carries no
 * `Content-Length`, so `honoMetrics` records the byte length of the text
 * `c.text()` was given (no body is read back) while `instrument()`, which
 * cannot see what Hono was given, reads the body back by default; and
 * `HEAD` on the same
 * route, which sends no body, so the difference is the recording alone. Each
 * app has one middleware registered with `app.use`, as each library
 * documents. The overhead of a middleware is its time minus plain Hono's in
 * the same group; the README reports ours as a fraction of
 * `@hono/prometheus`'s (target: at most 1/3).
 *
 * Run: `deno bench --allow-read --allow-env --allow-sys bench/http_frameworks.bench.ts`
 * (also part of `deno task bench`); one group per process: add
 * `--filter "[GET]"` or `--filter "[HEAD]"`. `deno bench` times each app's
 * iterations one app after the other, so on a shared machine a change of
 * load between them moves the ratio; `http_frameworks_report.ts` runs the
 * same apps in one process, alternating batch by batch, for the README.
 *
 * @module
 */

import { Hono, type MiddlewareHandler } from "npm:hono@4";
import { prometheus } from "npm:@hono/prometheus@1";
import client from "npm:prom-client@15.1.3";
import { Registry } from "../src/mod.ts";
import { honoMetrics, instrument } from "../src/http/mod.ts";

/** Requests per benchmark iteration, so each iteration is long enough to be timed on its own (see _rows.ts). */
export const BATCH = 100;
/** `BATCH` requests to `/users/:id` with `method`. */
export const requests = (method: string): Request[] =>
  Array.from(
    { length: BATCH },
    (_, i) => new Request(`http://localhost/users/${i % 10}`, { method }),
  );

/** A fetch handler, as `app.fetch` and `instrument()` give it. */
export type Fetch = (request: Request) => Response | Promise<Response>;

/** One app of a group: what the README's table calls it, and its fetch handler. */
export interface App {
  key: "plain" | "peer" | "ours" | "instrument" | "instrumentHeader" | "empty" | "clocks";
  label: string;
  fetch: Fetch;
}

/** Keeps the clock reads of the `clocks` reference from being optimized away. */
let sink = 0;

/** The apps of one group: the same route, with each middleware (or none); the first is the baseline. */
export function group(): { peerRegistry: client.Registry; apps: App[] } {
  const app = (middleware?: MiddlewareHandler) => {
    const hono = new Hono();
    if (middleware !== undefined) hono.use(middleware);
    return hono.get("/users/:id", (c) => c.text(`user ${c.req.param("id")}`));
  };
  const peerRegistry = new client.Registry();
  const routes = ["/users/:id"];
  return {
    peerRegistry,
    apps: [
      { key: "plain", label: "plain Hono", fetch: app().fetch },
      {
        key: "peer",
        label: "Hono + `@hono/prometheus`",
        fetch: app(prometheus({ registry: peerRegistry }).registerMetrics).fetch,
      },
      {
        key: "ours",
        label: "Hono + `honoMetrics` (ours)",
        fetch: app(honoMetrics({ registry: new Registry() })).fetch,
      },
      {
        key: "instrument",
        label: "`instrument(app.fetch, { routes })` (ours)",
        fetch: instrument(app().fetch, { registry: new Registry(), routes }),
      },
      {
        key: "instrumentHeader",
        label: '`instrument(…, { responseSizes: "content-length" })` (ours)',
        fetch: instrument(app().fetch, {
          registry: new Registry(),
          routes,
          responseSizes: "content-length",
        }),
      },
      {
        key: "empty",
        label: "reference: Hono + an empty middleware",
        fetch: app(async (_c, next) => await next()).fetch,
      },
      {
        key: "clocks",
        label: "reference: Hono + a middleware reading two clocks and the route",
        fetch: app(async (c, next) => {
          const start = performance.now();
          await next();
          sink += performance.now() - start + c.req.matchedRoutes[c.req.routeIndex].path.length;
        }).fetch,
      },
    ],
  };
}

/** Sends every request of `batch` through `fetch` and reads each body. */
export async function run(fetch: Fetch, batch: readonly Request[]): Promise<void> {
  for (const request of batch) {
    const res = await fetch(request);
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await res.arrayBuffer();
  }
  if (sink < 0) throw new Error("unreachable");
}

for (const method of ["GET", "HEAD"]) {
  const { apps, peerRegistry } = group();
  const batch = requests(method);
  // Warm each app up, and check that the peer records, before timing.
  for (const app of apps) await run(app.fetch, batch);
  if (!(await peerRegistry.metrics()).includes('route="/users/:id"')) {
    throw new Error("@hono/prometheus recorded nothing");
  }
  const name = method === "GET"
    ? "Hono GET /users/:id: c.text(), no Content-Length (ours sizes the text given)"
    : "Hono HEAD /users/:id: no body (no size to read)";
  for (const app of apps) {
    Deno.bench({
      name: `${app.label} [${method}]`,
      group: name,
      baseline: app.key === "plain",
      async fn() {
        await run(app.fetch, batch);
      },
    });
  }
}
