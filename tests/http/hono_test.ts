// honoMetrics against the real Hono 4 (npm), on a real server on 127.0.0.1:
// Deno.serve under Deno, Bun.serve under Bun.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as HonoModule from "npm:hono@4";
import type * as HonoHttpException from "npm:hono@4/http-exception";
import { Registry } from "../../src/core/registry.ts";
import { metricsHandler } from "../../src/http/metrics_handler.ts";
// From the ./http entry point, as users import them.
import {
  type ErrorRecord,
  honoMetrics,
  type RecordingOptions,
  type RequestRecord,
} from "../../src/http/mod.ts";
import { family, parseText } from "../_support/parse.ts";
import { serveOnLoopback } from "../app/_support.ts";
import {
  byLabels,
  handlersIn,
  loadPackage,
  requestTotals,
  scrapeUrl,
  send,
  sharedCases,
} from "./_frameworks.ts";

const { Hono } = await loadPackage("hono", "npm:hono@4") as typeof HonoModule;
const { HTTPException } = await loadPackage(
  "hono/http-exception",
  "npm:hono@4/http-exception",
) as typeof HonoHttpException;

type App = InstanceType<typeof Hono>;

/**
 * An application as a Hono user writes it, with the middleware first, a
 * middleware of its own after it, a sub-application under /api, and
 * /metrics served by the same app.
 */
function makeApp(
  options: RecordingOptions = {},
  slow?: { entered(): void; release: Promise<void> },
) {
  const registry = new Registry();
  const metrics = metricsHandler(registry);
  const app: App = new Hono();
  app.use(honoMetrics({ registry, ...options }));
  // A middleware of the app's own, on every path, after ours.
  app.use(async (c, next) => {
    await next();
    c.header("x-app", "1");
  });
  app.get("/users/:id", (c) => c.text(`user ${c.req.param("id")}`));
  app.post("/users/:id", async (c) => c.json({ got: await c.req.text() }, 201));
  app.get("/status/:code", (c) => {
    const code = Number(c.req.param("code"));
    return new Response(code === 204 ? null : `status ${code}`, {
      status: code,
    });
  });
  app.get("/throw", () => {
    throw new RangeError("boom from /throw");
  });
  app.get("/denied", () => {
    throw new HTTPException(401, { message: "no" });
  });
  app.get("/slow", async (c) => {
    slow?.entered();
    await slow?.release;
    return c.text("slow");
  });
  app.get("/metrics", (c) => metrics(c.req.raw));
  const api = new Hono();
  api.use("/items/*", async (_c, next) => await next()); // a scoped middleware
  api.get("/items/:item", (c) => c.text("item"));
  app.route("/api", api);
  return { registry, app };
}

async function serve(
  app: App,
  body: (origin: string) => Promise<void>,
): Promise<void> {
  const server = await serveOnLoopback(app.fetch);
  try {
    await body(server.origin);
  } finally {
    await server.close();
  }
}

describe("honoMetrics (real Hono 4 over HTTP on 127.0.0.1)", () => {
  sharedCases({ makeApp, serve, errorPath: "/denied" });

  it("counts each request exactly, by method, status and the route template Hono matched", async () => {
    const { app } = makeApp();
    await serve(app, async (origin) => {
      assert.equal((await send(origin, "/users/1")).body, "user 1");
      assert.equal((await send(origin, "/users/2")).headers.get("x-app"), "1");
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
      assert.equal((await send(origin, "/status/204")).status, 204);
      assert.equal((await send(origin, "/status/302")).status, 302);
      assert.equal((await send(origin, "/status/418")).status, 418);
      assert.equal((await send(origin, "/status/503")).status, 503);
      assert.equal((await send(origin, "/api/items/9")).body, "item");
      // Nothing answers these: Hono's notFound, through the app's own middleware.
      assert.equal((await send(origin, "/nope/42")).status, 404);
      assert.equal(
        (await send(origin, "/users/5", { method: "DELETE" })).status,
        404,
      );
      assert.equal((await send(origin, "/api/other")).status, 404);
      assert.equal(
        (await send(origin, "/users/6", { method: "PURGE" })).status,
        404,
      );
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(requestTotals(fams), {
        "GET 2xx /users/:id": 2,
        "POST 2xx /users/:id": 1,
        "HEAD 2xx /users/:id": 1,
        "GET 2xx /status/:code": 1,
        "GET 3xx /status/:code": 1,
        "GET 4xx /status/:code": 1,
        "GET 5xx /status/:code": 1,
        "GET 2xx /api/items/:item": 1,
        "GET 4xx none": 2,
        "DELETE 4xx none": 1,
        "OTHER 4xx none": 1,
        // Scrapes count once they are answered: this one is not yet.
      });
      const counts = byLabels(fams, "http_request_duration_seconds_count", [
        "method",
        "handler",
      ]);
      assert.deepEqual(counts, {
        "GET /users/:id": 2,
        "POST /users/:id": 1,
        "HEAD /users/:id": 1,
        "GET /status/:code": 4,
        "GET /api/items/:item": 1,
        "GET none": 2,
        "DELETE none": 1,
        "OTHER none": 1,
      });
      const highr = byLabels(
        fams,
        "http_request_duration_highr_seconds_count",
        [],
      );
      assert.deepEqual(highr, { "": 13 });
      assert.equal(
        family(fams, "http_requests_inprogress").samples[0].value,
        1, // this scrape itself, which /metrics is not excluded from here
      );
      // Raw paths never become label values.
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

  it("a throwing handler: the status Hono's error handler sends, onError gets the error, the server stays up", async () => {
    const errors: ErrorRecord[] = [];
    const records: RequestRecord[] = [];
    const { app } = makeApp({
      excludedHandlers: ["/metrics"],
      onError: (e) => errors.push(e),
      onRequest: (r) => records.push(r),
    });
    await serve(app, async (origin) => {
      assert.equal((await send(origin, "/throw")).status, 500); // Hono's default handler
      assert.equal((await send(origin, "/denied")).status, 401); // an HTTPException's response
      assert.equal((await send(origin, "/users/7")).body, "user 7");
      app.onError((_error, c) => c.text("unavailable", 503)); // the app's own error handler
      assert.equal((await send(origin, "/throw")).status, 503);
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(requestTotals(fams), {
        "GET 5xx /throw": 2,
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
      ["/throw", "GET"],
    ]);
    assert.ok(errors[0].error instanceof RangeError);
    assert.equal((errors[0].error as Error).message, "boom from /throw");
    assert.ok(errors[1].error instanceof HTTPException);
    assert.ok(errors[2].error instanceof RangeError);
    assert.deepEqual(records.map((r) => [r.handler, r.status]), [
      ["/throw", 500],
      ["/denied", 401],
      ["/users/:id", 200],
      ["/throw", 503],
    ]);
  });

  it("a non-Error throw reaches the server: counted as 500, and rethrown", async () => {
    const registry = new Registry();
    const app: App = new Hono();
    app.use(honoMetrics({ registry }));
    app.get("/odd", () => {
      throw "a string"; // Hono's error handler takes Error instances only
    });
    await assert.rejects(
      async () => await app.request("/odd"),
      (e) => e === "a string",
    );
    const fams = parseText(await registry.metrics());
    assert.deepEqual(requestTotals(fams), { "GET 5xx /odd": 1 });
    assert.equal(family(fams, "http_requests_inprogress").samples[0].value, 0);
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
      // The scrape itself runs through the middleware: excluded, it is not in progress.
      assert.equal(
        family(fams, "http_requests_inprogress").samples[0].value,
        0,
      );
      await scrapeUrl(origin + "/metrics");
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

  it("sizes: request Content-Length; response bytes as sent (Hono sets no Content-Length); HEAD 0", async () => {
    const { app } = makeApp({ excludedHandlers: ["/metrics"] });
    await serve(app, async (origin) => {
      await send(origin, "/users/3", { method: "POST", body: "héllo" }); // 6 bytes in, '{"got":"héllo"}' 16 out
      await send(origin, "/users/3", { method: "POST", body: "" });
      // Hono sets no Content-Length; the size is read from the body, which
      // is still sent with one (not chunked).
      const user = await send(origin, "/users/12"); // "user 12": 7 bytes
      assert.equal(user.headers.get("content-length"), "7");
      assert.equal(user.headers.get("x-app"), "1");
      await send(origin, "/users/12", { method: "HEAD" }); // no body sent
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(
        byLabels(fams, "http_request_size_bytes_sum", ["handler"]),
        {
          "/users/:id": 6,
        },
      );
      assert.deepEqual(
        byLabels(fams, "http_request_size_bytes_count", ["handler"]),
        {
          "/users/:id": 4,
        },
      );
      assert.deepEqual(
        byLabels(fams, "http_response_size_bytes_sum", ["handler"]),
        {
          "/users/:id": 16 + 10 + 7,
        },
      );
      assert.deepEqual(
        byLabels(fams, "http_response_size_bytes_count", ["handler"]),
        {
          "/users/:id": 4,
        },
      );
    });
  });

  it("sizes of bodies made by c.text, c.json and c.body come from the value passed; streams are counted as sent", async () => {
    const registry = new Registry();
    const app: App = new Hono();
    app.use(honoMetrics({ registry }));
    app.get("/text", (c) => c.text("héllo 😀")); // 6 + 1 + 4 + ... = 11 bytes
    app.get("/json", (c) => c.json({ name: "é" })); // {"name":"é"}: 13 bytes
    app.get("/bytes", (c) => c.body(new Uint8Array(300)));
    app.get("/empty", (c) => c.body(null, 204));
    app.get("/stream", (c) =>
      c.body(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new Uint8Array(40));
            controller.enqueue(new Uint8Array(2));
            controller.close();
          },
        }),
      ));
    // The handler makes one response with c.text and sends another: the one sent is measured.
    app.get("/other", (c) => {
      c.text("not this one");
      return new Response("this");
    });
    await serve(app, async (origin) => {
      for (const p of ["/text", "/json", "/bytes", "/empty", "/stream", "/other"]) {
        const res = await fetch(origin + p);
        await res.arrayBuffer();
      }
    });
    const fams = parseText(await registry.metrics());
    assert.deepEqual(byLabels(fams, "http_response_size_bytes_sum", ["handler"]), {
      "/text": new TextEncoder().encode("héllo 😀").byteLength,
      "/json": new TextEncoder().encode('{"name":"é"}').byteLength,
      "/bytes": 300,
      "/empty": 0,
      "/stream": 42,
      "/other": 4,
    });
  });
});

describe("honoMetrics: options", () => {
  it("an unknown option key is a TypeError naming the closest known one", () => {
    assert.throws(
      () =>
        honoMetrics(
          {
            registry: new Registry(),
            excludeHandlers: ["/metrics"],
          } as RecordingOptions,
        ),
      (e) =>
        e instanceof TypeError &&
        /honoMetrics: unknown option "excludeHandlers".*"excludedHandlers"/
          .test(e.message),
    );
  });

  it("bad option values are TypeErrors naming honoMetrics", () => {
    assert.throws(
      () => honoMetrics({ excludedHandlers: [42] as unknown as string[] }),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith("honoMetrics: excludedHandlers"),
    );
    assert.throws(
      () => honoMetrics({ onRequest: "log" as unknown as () => void }),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith("honoMetrics: onRequest"),
    );
    assert.throws(
      () => honoMetrics(null as unknown as RecordingOptions),
      (e) => e instanceof TypeError && e.message.startsWith("honoMetrics: options"),
    );
  });

  it("inProgress: false leaves the gauge alone", async () => {
    const registry = new Registry();
    const app: App = new Hono();
    app.use(honoMetrics({ registry, inProgress: false }));
    app.get("/", (c) => c.text("ok"));
    await (await app.request("/")).text();
    const text = await registry.metrics();
    assert.match(text, /^http_requests_inprogress 0$/m);
    assert.match(
      text,
      /^http_requests_total\{method="GET",status="2xx",handler="\/"\} 1$/m,
    );
  });
});
