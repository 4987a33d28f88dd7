// elysiaMetrics against the real Elysia 1 (npm), on a real server on
// 127.0.0.1: Elysia's own app.listen under Bun (its home), Deno.serve with
// app.fetch under Deno (Elysia's web-standard adapter).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as ElysiaModule from "npm:elysia@1";
import { Registry } from "../../src/core/registry.ts";
import { metricsHandler } from "../../src/http/metrics_handler.ts";
// From the ./http entry point, as users import them.
import {
  elysiaMetrics,
  type ErrorRecord,
  type RecordingOptions,
  type RequestRecord,
} from "../../src/http/mod.ts";
import { family } from "../_support/parse.ts";
import { isBun, serveOnLoopback, sleep } from "../app/_support.ts";
import {
  byLabels,
  handlersIn,
  loadPackage,
  requestTotals,
  scrapeUrl,
  send,
  sharedCases,
} from "./_frameworks.ts";

const { Elysia, t } = await loadPackage(
  "elysia",
  "npm:elysia@1",
) as typeof ElysiaModule;

/**
 * Elysia runs onAfterResponse hooks (where the plugin records) after the
 * response is handed to the server, on a later turn: wait until `records`
 * has `n` entries (at most 10 s) before reading what they recorded.
 */
async function recorded(records: readonly unknown[], n: number): Promise<void> {
  const end = Date.now() + 10_000;
  while (records.length < n) {
    if (Date.now() > end) {
      throw new Error(
        `${records.length} requests recorded, expected ${n}: ${JSON.stringify(records)}`,
      );
    }
    await sleep(5);
  }
}

/**
 * An application as an Elysia user writes it: the plugin first, routes,
 * a prefixed sub-application, validation, /metrics served by the same app.
 */
function makeApp(
  options: RecordingOptions = {},
  slow?: { entered(): void; release: Promise<void> },
) {
  const registry = new Registry();
  const metrics = metricsHandler(registry);
  const records: RequestRecord[] = [];
  const onRequest = options.onRequest;
  const app = new Elysia()
    .use(elysiaMetrics({
      registry,
      ...options,
      onRequest: (r) => {
        records.push(r);
        onRequest?.(r);
      },
    }))
    .get("/users/:id", ({ params }) => `user ${params.id}`)
    .post("/users/:id", ({ body, set }) => {
      set.status = 201;
      return { got: body.name };
    }, { body: t.Object({ name: t.String() }) })
    .get("/status/:code", ({ params, set }) => {
      set.status = Number(params.code);
      return `status ${params.code}`;
    })
    .get("/created", ({ status }) => status(201, "made"))
    .get("/gone", () => new Response("gone", { status: 410 }))
    .get("/bytes", () => new Uint8Array(1000))
    .get("/stream", () => {
      const sizes = [100, 200, 300];
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            const size = sizes.shift();
            if (size === undefined) controller.close();
            else controller.enqueue(new Uint8Array(size));
          },
        }),
        { status: 202 },
      );
    })
    .get("/throw", () => {
      throw new RangeError("boom from /throw");
    })
    .get("/slow", async () => {
      slow?.entered();
      await slow?.release;
      return "slow";
    })
    .get("/metrics", ({ request }) => metrics(request))
    .use(new Elysia({ prefix: "/api" }).get("/items/:item", () => "item"));
  return { registry, app, records };
}

type App = ReturnType<typeof makeApp>["app"];

/** Serves `app` on 127.0.0.1 while `body` runs: app.listen under Bun, Deno.serve(app.fetch) under Deno. */
async function serve(
  app: App,
  body: (origin: string) => Promise<void>,
): Promise<void> {
  if (isBun) {
    app.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await body(`http://127.0.0.1:${app.server!.port}`);
    } finally {
      await app.stop(true);
    }
    return;
  }
  const server = await serveOnLoopback(app.fetch);
  try {
    await body(server.origin);
  } finally {
    await server.close();
  }
}

const runtime = isBun ? "app.listen under Bun" : "Deno.serve(app.fetch)";

describe(`elysiaMetrics (real Elysia 1, ${runtime} on 127.0.0.1)`, () => {
  const recordsOf = new WeakMap<object, readonly unknown[]>();
  sharedCases({
    makeApp: (options, slow) => {
      const made = makeApp(options, slow);
      recordsOf.set(made.app, made.records);
      return made;
    },
    serve,
    errorPath: "/throw",
    recorded: (app, n) => recorded(recordsOf.get(app)!, n),
  });

  it("counts each request exactly, by method, status and the route template Elysia matched", async () => {
    const { app, records } = makeApp();
    await serve(app, async (origin) => {
      assert.equal((await send(origin, "/users/1")).body, "user 1");
      assert.equal((await send(origin, "/users/2")).status, 200);
      const posted = await send(origin, "/users/3", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"name":"abc"}',
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
      assert.equal((await send(origin, "/created")).status, 201);
      assert.equal((await send(origin, "/gone")).status, 410);
      assert.equal((await send(origin, "/api/items/9")).body, "item");
      // Elysia refuses these: a body that fails validation (422), one that is not JSON (400).
      const invalid = await send(origin, "/users/5", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"name":5}',
      });
      assert.equal(invalid.status, 422);
      const unparsable = await send(origin, "/users/5", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{nope",
      });
      assert.equal(unparsable.status, 400);
      // No route: Elysia's NOT_FOUND.
      assert.equal((await send(origin, "/nope/42")).status, 404);
      assert.equal(
        (await send(origin, "/users/6", { method: "DELETE" })).status,
        404,
      );
      await recorded(records, 14);
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(requestTotals(fams), {
        "GET 2xx /users/:id": 2,
        "POST 2xx /users/:id": 1,
        "POST 4xx /users/:id": 2,
        "HEAD 2xx /users/:id": 1,
        "GET 3xx /status/:code": 1,
        "GET 4xx /status/:code": 1,
        "GET 5xx /status/:code": 1,
        "GET 2xx /created": 1,
        "GET 4xx /gone": 1,
        "GET 2xx /api/items/:item": 1,
        "GET 4xx none": 1,
        "DELETE 4xx none": 1,
      });
      assert.deepEqual(
        byLabels(fams, "http_request_duration_seconds_count", [
          "method",
          "handler",
        ]),
        {
          "GET /users/:id": 2,
          "POST /users/:id": 3,
          "HEAD /users/:id": 1,
          "GET /status/:code": 3,
          "GET /created": 1,
          "GET /gone": 1,
          "GET /api/items/:item": 1,
          "GET none": 1,
          "DELETE none": 1,
        },
      );
      assert.deepEqual(
        byLabels(fams, "http_request_duration_highr_seconds_count", []),
        {
          "": 14,
        },
      );
      // This scrape is in progress: /metrics is not excluded here.
      assert.equal(
        family(fams, "http_requests_inprogress").samples[0].value,
        1,
      );
      assert.deepEqual(handlersIn(fams), [
        "/api/items/:item",
        "/created",
        "/gone",
        "/status/:code",
        "/users/:id",
        "none",
      ]);
      await recorded(records, 15);
      const again = await scrapeUrl(origin + "/metrics");
      assert.equal(requestTotals(again)["GET 2xx /metrics"], 1);
    });
  });

  it("keeps exact status codes with groupStatusCodes: false", async () => {
    const { app, records } = makeApp({
      groupStatusCodes: false,
      excludedHandlers: ["/metrics"],
    });
    await serve(app, async (origin) => {
      for (const code of [200, 201, 302, 404, 503, 503]) {
        await send(origin, `/status/${code}`);
      }
      await send(origin, "/nope");
      await recorded(records, 7);
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

  it("a throwing handler: the status Elysia sends, onError gets the error, the server stays up", async () => {
    const errors: ErrorRecord[] = [];
    const { app, records } = makeApp({
      excludedHandlers: ["/metrics"],
      onError: (e) => errors.push(e),
    });
    await serve(app, async (origin) => {
      assert.equal((await send(origin, "/throw")).status, 500);
      assert.equal((await send(origin, "/users/7")).body, "user 7");
      assert.equal((await send(origin, "/nope")).status, 404); // not a handler error
      assert.equal(
        (await send(origin, "/throw", { method: "POST" })).status,
        404,
      );
      assert.equal((await send(origin, "/throw")).status, 500);
      await recorded(records, 5);
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(requestTotals(fams), {
        "GET 5xx /throw": 2,
        "GET 2xx /users/:id": 1,
        "GET 4xx none": 1,
        "POST 4xx none": 1,
      });
      assert.equal(
        family(fams, "http_requests_inprogress").samples[0].value,
        0,
      );
    });
    assert.deepEqual(errors.map((e) => [e.handler, e.method]), [
      ["/throw", "GET"],
      ["/throw", "GET"],
    ]);
    assert.ok(errors[0].error instanceof RangeError);
    assert.equal((errors[0].error as Error).message, "boom from /throw");
    assert.deepEqual(records.map((r) => [r.handler, r.status]), [
      ["/throw", 500],
      ["/users/:id", 200],
      ["none", 404],
      ["none", 404],
      ["/throw", 500],
    ]);
  });

  it("the status of the app's own error handler is the one recorded", async () => {
    const registry = new Registry();
    const records: RequestRecord[] = [];
    const app = new Elysia()
      .use(elysiaMetrics({ registry, onRequest: (r) => records.push(r) }))
      .onError(({ set }) => {
        set.status = 503;
        return "unavailable";
      })
      .get("/throw", () => {
        throw new Error("down");
      });
    const res = await app.handle(new Request("http://127.0.0.1/throw"));
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "unavailable");
    await recorded(records, 1);
    assert.deepEqual(records.map((r) => [r.handler, r.status]), [[
      "/throw",
      503,
    ]]);
    const text = await registry.metrics();
    assert.match(
      text,
      /^http_requests_total\{method="GET",status="5xx",handler="\/throw"\} 1$/m,
    );
  });

  it("excluded handlers (templates and patterns) are not recorded, nor counted in progress", async () => {
    const seen: RequestRecord[] = [];
    const { app } = makeApp({
      excludedHandlers: ["/metrics", /^\/status\//, "none"],
      onRequest: (r) => seen.push(r),
    });
    await serve(app, async (origin) => {
      assert.equal((await send(origin, "/status/200")).status, 200);
      assert.equal((await send(origin, "/random/scan")).status, 404);
      assert.equal((await send(origin, "/users/1")).status, 200);
      await recorded(seen, 1);
      const fams = await scrapeUrl(origin + "/metrics");
      // The scrape runs through the plugin: excluded, it is not in progress.
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
    assert.deepEqual(seen.map((r) => r.handler), ["/users/:id"]);
  });

  it("sizes: request Content-Length; responses as Elysia sends them (text, JSON, bytes, streams); HEAD 0", async () => {
    const { app, records } = makeApp({ excludedHandlers: ["/metrics"] });
    await serve(app, async (origin) => {
      const json = { "content-type": "application/json" };
      // '{"name":"héllo"}' is 17 bytes in; '{"got":"héllo"}' 16 out.
      await send(origin, "/users/3", {
        method: "POST",
        headers: json,
        body: '{"name":"héllo"}',
      });
      await send(origin, "/users/12"); // "user 12": 7
      await send(origin, "/users/12", { method: "HEAD" });
      assert.equal((await send(origin, "/bytes")).body.length, 1000);
      const streamed = await send(origin, "/stream");
      assert.equal(streamed.status, 202);
      assert.equal(streamed.body.length, 600);
      await recorded(records, 5);
      const fams = await scrapeUrl(origin + "/metrics");
      assert.deepEqual(
        byLabels(fams, "http_request_size_bytes_sum", ["handler"]),
        {
          "/users/:id": 17,
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

describe("elysiaMetrics: options", () => {
  it("an unknown option key is a TypeError naming the closest known one", () => {
    assert.throws(
      () =>
        elysiaMetrics(
          {
            registry: new Registry(),
            groupStatusCode: false,
          } as RecordingOptions,
        ),
      (e) =>
        e instanceof TypeError &&
        /elysiaMetrics: unknown option "groupStatusCode".*"groupStatusCodes"/
          .test(e.message),
    );
  });

  it("bad option values are TypeErrors naming elysiaMetrics", () => {
    assert.throws(
      () => elysiaMetrics({ onError: 1 as unknown as () => void }),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith("elysiaMetrics: onError"),
    );
    assert.throws(
      () => elysiaMetrics("registry" as unknown as RecordingOptions),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith("elysiaMetrics: options"),
    );
  });
});
