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
 * - and, for reference, Hono + an empty `async (c, next) => await next()`:
 *   what any middleware costs (an app whose only match is the handler takes
 *   a fast path that skips Hono's `compose`).
 *
 * Two groups: `GET`, where the handler's `c.text(...)` carries no
 * `Content-Length`, so `honoMetrics` records the byte length of the text
 * `c.text()` was given (no body is read back); and `HEAD` on the same
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
import { honoMetrics } from "../src/http/mod.ts";

/** Requests per benchmark iteration, so each iteration is long enough to be timed on its own (see _rows.ts). */
export const BATCH = 100;
/** `BATCH` requests to `/users/:id` with `method`. */
export const requests = (method: string): Request[] =>
  Array.from(
    { length: BATCH },
    (_, i) => new Request(`http://localhost/users/${i % 10}`, { method }),
  );

/** The apps of one group: the same route, with each middleware (or none). */
export function group(): {
  peerRegistry: client.Registry;
  plain: Hono;
  empty: Hono;
  peer: Hono;
  ours: Hono;
} {
  const app = (middleware?: MiddlewareHandler) => {
    const hono = new Hono();
    if (middleware !== undefined) hono.use(middleware);
    return hono.get("/users/:id", (c) => c.text(`user ${c.req.param("id")}`));
  };
  const peerRegistry = new client.Registry();
  return {
    peerRegistry,
    plain: app(),
    empty: app(async (_c, next) => await next()),
    peer: app(prometheus({ registry: peerRegistry }).registerMetrics),
    ours: app(honoMetrics({ registry: new Registry() })),
  };
}

/** Sends every request of `batch` through `app.fetch` and reads each body. */
export async function run(app: Hono, batch: readonly Request[]): Promise<void> {
  for (const request of batch) {
    const res = await app.fetch(request);
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await res.arrayBuffer();
  }
}

for (const method of ["GET", "HEAD"]) {
  const apps = group();
  const batch = requests(method);
  // Warm each app up, and check that the peer records, before timing.
  for (const app of [apps.plain, apps.empty, apps.peer, apps.ours]) await run(app, batch);
  if (!(await apps.peerRegistry.metrics()).includes('route="/users/:id"')) {
    throw new Error("@hono/prometheus recorded nothing");
  }
  const name = method === "GET"
    ? "Hono GET /users/:id: c.text(), no Content-Length (ours sizes the text given)"
    : "Hono HEAD /users/:id: no body (no size to read)";
  const bench = (label: string, app: Hono, baseline = false) =>
    Deno.bench({
      name: `${label} [${method}]`,
      group: name,
      baseline,
      async fn() {
        await run(app, batch);
      },
    });
  bench("plain Hono", apps.plain, true);
  bench("Hono + @hono/prometheus", apps.peer);
  bench("Hono + honoMetrics (ours)", apps.ours);
  bench("reference: Hono + an empty middleware", apps.empty);
}
