// oakMetrics against the real Oak 14 (npm:@oakserver/oak), served by Oak's
// own app.listen on 127.0.0.1 under Deno (where the npm build runs on
// node:http) and under Bun (Bun.serve).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer } from "node:net";
import type * as OakModule from "npm:@oakserver/oak@14";
import { Registry } from "../../src/core/registry.ts";
// From the ./http entry point, as users import them.
import {
  type ErrorRecord,
  oakMetrics,
  type RecordingOptions,
  type RequestRecord,
} from "../../src/http/mod.ts";
import { family } from "../_support/parse.ts";
import { isBun, sleep } from "../app/_support.ts";
import {
  byLabels,
  handlersIn,
  loadPackage,
  requestTotals,
  scrapeUrl,
  send,
  sharedCases,
} from "./_frameworks.ts";

const { Application, Router, Status } = await loadPackage(
  "@oakserver/oak",
  "npm:@oakserver/oak@14",
) as typeof OakModule;

type App = InstanceType<typeof Application>;

/** A free port on 127.0.0.1 (Oak's npm build on node:http does not report the one it got for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on `port` (at most 10 s). */
async function accepting(port: number): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) {
      throw new Error(`nothing listens on 127.0.0.1:${port}`);
    }
    await sleep(10);
  }
}

/** Runs `app` with `app.listen` on 127.0.0.1 while `body` runs, then stops it. */
async function serve(
  app: App,
  body: (origin: string) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  const controller = new AbortController();
  const listening = app.listen({
    hostname: "127.0.0.1",
    port,
    signal: controller.signal,
  });
  listening.catch(() => {});
  const origin = `http://127.0.0.1:${port}`;
  try {
    await accepting(port);
    await body(origin);
  } finally {
    controller.abort();
    // Oak stops its Bun server only when the next request ends after the abort.
    if (isBun) await fetch(origin + "/closing").then((r) => r.text(), () => {});
  }
}

/**
 * An application as an Oak user writes it: the middleware first, a router
 * with a middleware of its own, a nested router under /api, /metrics served
 * by the same app, and allowedMethods().
 */
function makeApp(
  options: RecordingOptions = {},
  slow?: { entered(): void; release: Promise<void> },
) {
  const registry = new Registry();
  const app: App = new Application({ logErrors: false }); // errors are this test's business
  app.use(oakMetrics({ registry, ...options }));
  const router = new Router();
  router.use(async (_ctx, next) => await next()); // a router middleware (no methods)
  router.get("/users/:id", (ctx) => {
    ctx.response.body = `user ${ctx.params.id}`;
  });
  router.post("/users/:id", async (ctx) => {
    ctx.response.status = Status.Created;
    ctx.response.body = { got: await ctx.request.body.text() };
  });
  router.get("/status/:code", (ctx) => {
    ctx.response.status = Number(ctx.params.code);
    ctx.response.body = `status ${ctx.params.code}`;
  });
  router.get("/bytes", (ctx) => {
    ctx.response.body = new Uint8Array(1000);
  });
  router.get("/stream", (ctx) => {
    const sizes = [100, 200, 300];
    ctx.response.type = "application/octet-stream";
    ctx.response.body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const size = sizes.shift();
        if (size === undefined) controller.close();
        else controller.enqueue(new Uint8Array(size));
      },
    });
  });
  router.get("/throw", () => {
    throw new RangeError("boom from /throw");
  });
  router.get("/denied", (ctx) => {
    ctx.throw(Status.Unauthorized, "no");
  });
  router.get("/slow", async (ctx) => {
    slow?.entered();
    await slow?.release;
    ctx.response.body = "slow";
  });
  router.get("/metrics", async (ctx) => {
    ctx.response.type = "text/plain; version=0.0.4; charset=utf-8";
    ctx.response.body = await registry.metrics();
  });
  const api = new Router();
  api.get("/items/:item", (ctx) => {
    ctx.response.body = "item";
  });
  router.use("/api", api.routes());
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { registry, app };
}

describe("oakMetrics (real Oak 14, app.listen on 127.0.0.1)", () => {
  sharedCases({ makeApp, serve, errorPath: "/throw" });

  it("counts each request exactly, by method, status and the route template the router matched", async () => {
    const { app } = makeApp();
    await serve(app, async (origin) => {
      assert.equal((await send(origin, "/users/1")).body, "user 1");
      assert.equal((await send(origin, "/users/2")).status, 200);
      const posted = await send(origin, "/users/3", {
        method: "POST",
        body: "abc",
      });
      assert.equal(posted.status, 201);
      assert.equal(posted.body, '{"got":"abc"}');
      assert.equal(
        (await send(origin, "/users/4", { method: "HEAD" })).status,
        200,
      );
      assert.equal((await send(origin, "/status/302")).status, 302);
      assert.equal((await send(origin, "/status/418")).status, 418);
      assert.equal((await send(origin, "/status/503")).status, 503);
      assert.equal((await send(origin, "/api/items/9")).body, "item");
      // The route exists, not for this method: allowedMethods() answers 405.
      assert.equal(
        (await send(origin, "/users/5", { method: "DELETE" })).status,
        405,
      );
      // No route for these paths: Oak's default 404.
      assert.equal((await send(origin, "/nope/42")).status, 404);
      assert.equal((await send(origin, "/api/other")).status, 404);
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(requestTotals(fams), {
        "GET 2xx /users/:id": 2,
        "POST 2xx /users/:id": 1,
        "HEAD 2xx /users/:id": 1,
        "GET 3xx /status/:code": 1,
        "GET 4xx /status/:code": 1,
        "GET 5xx /status/:code": 1,
        "GET 2xx /api/items/:item": 1,
        "DELETE 4xx /users/:id": 1,
        "GET 4xx none": 2,
      });
      assert.deepEqual(
        byLabels(fams, "http_request_duration_seconds_count", [
          "method",
          "handler",
        ]),
        {
          "GET /users/:id": 2,
          "POST /users/:id": 1,
          "HEAD /users/:id": 1,
          "DELETE /users/:id": 1,
          "GET /status/:code": 3,
          "GET /api/items/:item": 1,
          "GET none": 2,
        },
      );
      assert.deepEqual(
        byLabels(fams, "http_request_duration_highr_seconds_count", []),
        {
          "": 11,
        },
      );
      // This scrape is in progress: /metrics is not excluded here.
      assert.equal(
        family(fams, "http_requests_inprogress").samples[0].value,
        1,
      );
      assert.deepEqual(handlersIn(fams), [
        "/api/items/:item",
        "/status/:code",
        "/users/:id",
        "none",
      ]);
      const again = await scrapeUrl(origin + "/metrics");
      assert.equal(requestTotals(again)["GET 2xx /metrics"], 1);
    });
  });

  it("keeps exact status codes with groupStatusCodes: false", async () => {
    const { app } = makeApp({
      groupStatusCodes: false,
      excludedHandlers: ["/metrics"],
    });
    await serve(app, async (origin) => {
      for (const code of [200, 201, 302, 404, 503, 503]) {
        await send(origin, `/status/${code}`);
      }
      await send(origin, "/nope");
      assert.deepEqual(requestTotals(await scrapeUrl(origin + "/metrics")), {
        "GET 200 /status/:code": 1,
        "GET 201 /status/:code": 1,
        "GET 302 /status/:code": 1,
        "GET 404 /status/:code": 1,
        "GET 503 /status/:code": 2,
        "GET 404 none": 1,
      });
    });
  });

  it("a throwing handler: the status Oak answers, onError gets the error, the server stays up", async () => {
    const errors: ErrorRecord[] = [];
    const records: RequestRecord[] = [];
    const { app } = makeApp({
      excludedHandlers: ["/metrics"],
      onError: (e) => errors.push(e),
      onRequest: (r) => records.push(r),
    });
    await serve(app, async (origin) => {
      assert.equal((await send(origin, "/throw")).status, 500);
      assert.equal((await send(origin, "/denied")).status, 401); // ctx.throw: an HttpError
      assert.equal((await send(origin, "/users/7")).body, "user 7");
      assert.equal(
        (await send(origin, "/throw", { method: "HEAD" })).status,
        500,
      );
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(requestTotals(fams), {
        "GET 5xx /throw": 1,
        "HEAD 5xx /throw": 1,
        "GET 4xx /denied": 1,
        "GET 2xx /users/:id": 1,
      });
      assert.equal(
        family(fams, "http_requests_inprogress").samples[0].value,
        0,
      );
    });
    assert.deepEqual(errors.map((e) => [e.handler, e.method]), [
      ["/throw", "GET"],
      ["/denied", "GET"],
      ["/throw", "HEAD"],
    ]);
    assert.ok(errors[0].error instanceof RangeError);
    assert.equal((errors[1].error as { status?: number }).status, 401);
    assert.deepEqual(records.map((r) => [r.handler, r.status]), [
      ["/throw", 500],
      ["/denied", 401],
      ["/users/:id", 200],
      ["/throw", 500],
    ]);
  });

  it("excluded handlers (templates and patterns) are not recorded, nor counted in progress", async () => {
    const records: RequestRecord[] = [];
    const { app } = makeApp({
      excludedHandlers: ["/metrics", /^\/status\//, "none"],
      onRequest: (r) => records.push(r),
    });
    await serve(app, async (origin) => {
      assert.equal((await send(origin, "/status/200")).status, 200);
      assert.equal((await send(origin, "/random/scan")).status, 404);
      assert.equal((await send(origin, "/users/1")).status, 200);
      const fams = await scrapeUrl(origin + "/metrics");
      // The scrape runs through the middleware: excluded, it left the gauge once routed.
      assert.equal(
        family(fams, "http_requests_inprogress").samples[0].value,
        0,
      );
      const after = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(handlersIn(after), ["/users/:id"]);
      assert.deepEqual(requestTotals(after), { "GET 2xx /users/:id": 1 });
      assert.deepEqual(
        byLabels(after, "http_request_duration_highr_seconds_count", []),
        {
          "": 1,
        },
      );
    });
    assert.deepEqual(records.map((r) => r.handler), ["/users/:id"]);
  });

  it("sizes: request Content-Length; response bodies as Oak sends them (text, JSON, bytes, streams); HEAD 0", async () => {
    const { app } = makeApp({ excludedHandlers: ["/metrics"] });
    await serve(app, async (origin) => {
      await send(origin, "/users/3", { method: "POST", body: "héllo" }); // 6 in; '{"got":"héllo"}' 16 out
      await send(origin, "/users/12"); // "user 12": 7
      await send(origin, "/users/12", { method: "HEAD" });
      assert.equal((await send(origin, "/bytes")).body.length, 1000);
      assert.equal((await send(origin, "/stream")).body.length, 600);
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(
        byLabels(fams, "http_request_size_bytes_sum", ["handler"]),
        {
          "/users/:id": 6,
          "/bytes": 0,
          "/stream": 0,
        },
      );
      assert.deepEqual(
        byLabels(fams, "http_response_size_bytes_sum", ["handler"]),
        {
          "/users/:id": 16 + 7 + 0,
          "/bytes": 1000,
          "/stream": 600,
        },
      );
      assert.deepEqual(
        byLabels(fams, "http_response_size_bytes_count", ["handler"]),
        {
          "/users/:id": 3,
          "/bytes": 1,
          "/stream": 1,
        },
      );
    });
  });
});

describe("oakMetrics: options", () => {
  it("an unknown option key is a TypeError naming the closest known one", () => {
    assert.throws(
      () =>
        oakMetrics(
          { registry: new Registry(), onrequest: () => {} } as RecordingOptions,
        ),
      (e) =>
        e instanceof TypeError &&
        /oakMetrics: unknown option "onrequest".*"onRequest"/.test(e.message),
    );
  });

  it("bad option values are TypeErrors naming oakMetrics", () => {
    assert.throws(
      () => oakMetrics({ excludedHandlers: "/metrics" as unknown as string[] }),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith("oakMetrics: excludedHandlers"),
    );
    assert.throws(
      () => oakMetrics(42 as unknown as RecordingOptions),
      (e) => e instanceof TypeError && e.message.startsWith("oakMetrics: options"),
    );
  });
});
