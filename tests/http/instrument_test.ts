import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { Counter } from "../../src/core/counter.ts";
import {
  HIGHR_BUCKETS,
  httpMetrics,
  instrument,
  type InstrumentOptions,
  LOWR_BUCKETS,
  type RequestRecord,
} from "../../src/http/instrument.ts";
import { family } from "../_support/parse.ts";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";
import {
  type FetchHandler,
  gate,
  isBun,
  samplesNamed,
  scrape,
  seeded,
  seriesKeys,
  serveOnLoopback,
  sleep,
  valueIn,
} from "../app/_support.ts";

// prometheus-fastapi-instrumentator's defaults, typed in from its
// `metrics.default()` (src/prometheus_fastapi_instrumentator/metrics.py),
// not from our source.
const INSTRUMENTATOR_HIGHR = [
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
];
const INSTRUMENTATOR_LOWR = [0.1, 0.5, 1];

const ROUTES = [
  "/",
  "/users/:id",
  "/status/:code",
  "/echo",
  "/slow",
  "/throw",
  "/metrics",
];
const ORIGIN = "http://127.0.0.1:1";

interface Answer {
  status: number;
  body: string;
  headers: Headers;
}
type Send = (path: string, init?: RequestInit) => Promise<Answer>;

/** A plain application: no metrics code of its own. */
function makeApp(
  slow?: { entered: () => void; release: Promise<void> },
): FetchHandler {
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/") return new Response("index");
    if (path.startsWith("/users/")) {
      return new Response(`user ${path.slice(7)}`);
    }
    if (path.startsWith("/status/")) {
      const code = Number(path.slice(8));
      return new Response(
        code === 204 || code === 304 ? null : `status ${code}`,
        {
          status: code,
        },
      );
    }
    if (path === "/echo") {
      const body = new Uint8Array(await request.arrayBuffer());
      return new Response(body, {
        headers: { "Content-Length": String(body.byteLength) },
      });
    }
    if (path === "/slow") {
      slow?.entered();
      await slow?.release;
      return new Response("slow");
    }
    if (path === "/throw") throw new RangeError("boom from /throw");
    return new Response("not found", { status: 404 });
  };
}

/** What a client puts on the wire that a bare `new Request` lacks. */
function wireLike(path: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  if (typeof init.body === "string" && !headers.has("content-length")) {
    headers.set(
      "content-length",
      String(new TextEncoder().encode(init.body).byteLength),
    );
  }
  return new Request(ORIGIN + path, { ...init, headers });
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** Bodies without Content-Length, by path, with their size in bytes. */
const SIZED_BODIES: Record<string, number> = {
  "/sized/text": 6, // "héllo": é is 2 bytes
  "/sized/json": 16, // {"a":"é","b":1}: 15 characters, é is 2 bytes
  "/sized/bytes": 1000,
  "/sized/blob": 5,
  "/sized/stream": 600, // 100 + 200 + 300, enqueued one by one
  "/sized/created": 3, // a stream answered 201 with custom headers
  "/sized/empty": 0, // new Response(null)
  "/sized/length": 4, // Content-Length: 4, taken as is
};
/** Answers each of SIZED_BODIES, synchronously. */
const sizedApp: FetchHandler = (request) => {
  const path = new URL(request.url).pathname;
  const chunks = (...sizes: number[]) => {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(1);
        if (i < sizes.length) {
          controller.enqueue(new Uint8Array(sizes[i++]).fill(97));
        } else controller.close();
      },
    });
  };
  switch (path) {
    case "/sized/text":
      return new Response("héllo");
    case "/sized/json":
      return Response.json({ a: "é", b: 1 });
    case "/sized/bytes":
      return new Response(new Uint8Array(1000).fill(98));
    case "/sized/blob":
      return new Response(new Blob(["abcde"]));
    case "/sized/stream":
      return new Response(chunks(100, 200, 300));
    case "/sized/created":
      return new Response(chunks(3), {
        status: 201,
        statusText: "Made",
        headers: { "X-Kept": "yes" },
      });
    case "/sized/empty":
      return new Response(null);
    case "/sized/length":
      return new Response("abcd", { headers: { "Content-Length": "4" } });
  }
  return new Response("not found", { status: 404 });
};

interface Transport {
  name: string;
  /** Runs `body` with a `send` that reaches `handler` this way. */
  run(
    handler: FetchHandler,
    body: (send: Send) => Promise<void>,
  ): Promise<void>;
}

const runtime = isBun ? "Bun.serve" : "Deno.serve";
const TRANSPORTS: Transport[] = [
  {
    name: "a direct call",
    run: (handler, body) => body(async (path, init) => answer(await handler(wireLike(path, init)))),
  },
  {
    name: "an `export default { fetch }` object",
    run: (handler, body) => {
      const mod = { fetch: handler };
      return body(async (path, init) => answer(await mod.fetch(wireLike(path, init))));
    },
  },
  {
    name: `a real ${runtime} server on 127.0.0.1`,
    run: async (handler, body) => {
      const server = await serveOnLoopback(handler);
      try {
        await body(async (path, init) =>
          answer(
            await fetch(server.origin + path, { redirect: "manual", ...init }),
          )
        );
      } finally {
        await server.close();
      }
    },
  },
];

function wrap(options: InstrumentOptions = {}, app: FetchHandler = makeApp()) {
  const registry = new Registry();
  const handler = instrument(app, { registry, routes: ROUTES, ...options });
  return { registry, handler };
}

const requests = (method: string, status: string, handler: string) => ({
  method,
  status,
  handler,
});

describe("instrument: the instrumentator's metrics", () => {
  it("registers the six families with the instrumentator's names, types and labels", async () => {
    const { registry, handler } = wrap();
    await handler(wireLike("/users/1"));
    const fams = await scrape(registry);
    const types = Object.fromEntries(fams.map((f) => [f.name, f.type]));
    assert.deepEqual(types, {
      http_requests_total: "counter",
      http_request_size_bytes: "summary",
      http_response_size_bytes: "summary",
      http_request_duration_highr_seconds: "histogram",
      http_request_duration_seconds: "histogram",
      http_requests_inprogress: "gauge",
    });
    const labelsOf = (name: string) =>
      [
        ...new Set(
          family(fams, name).samples.flatMap((s) => Object.keys(s.labels)),
        ),
      ].sort();
    assert.deepEqual(labelsOf("http_requests_total"), [
      "handler",
      "method",
      "status",
    ]);
    assert.deepEqual(labelsOf("http_request_size_bytes"), ["handler"]);
    assert.deepEqual(labelsOf("http_response_size_bytes"), ["handler"]);
    assert.deepEqual(labelsOf("http_request_duration_highr_seconds"), ["le"]);
    assert.deepEqual(labelsOf("http_request_duration_seconds"), [
      "handler",
      "le",
      "method",
    ]);
    assert.deepEqual(labelsOf("http_requests_inprogress"), []);
    // Summaries without quantiles: only _sum and _count.
    for (
      const name of ["http_request_size_bytes", "http_response_size_bytes"]
    ) {
      assert.deepEqual(
        family(fams, name).samples.map((s) => s.name).sort(),
        [`${name}_count`, `${name}_sum`],
      );
    }
  });

  it("HELP texts are the instrumentator's", async () => {
    const { registry, handler } = wrap();
    await handler(wireLike("/"));
    const fams = await scrape(registry);
    // The instrumentator's texts end in a space, which prometheus_client keeps.
    const help = (name: string) => family(fams, name).help?.trimEnd();
    assert.equal(
      help("http_requests_total"),
      "Total number of requests by method, status and handler.",
    );
    assert.equal(
      help("http_request_size_bytes"),
      "Content length of incoming requests by handler. Only value of header is respected. " +
        "Otherwise ignored. No percentile calculated.",
    );
    assert.equal(
      help("http_response_size_bytes"),
      "Content length of outgoing responses by handler. Only value of header is respected. " +
        "Otherwise ignored. No percentile calculated.",
    );
    assert.equal(
      help("http_request_duration_highr_seconds"),
      "Latency with many buckets but no API specific labels. " +
        "Made for more accurate percentile calculations.",
    );
    assert.equal(
      help("http_request_duration_seconds"),
      "Latency with only few buckets by handler. " +
        "Made to be only used if aggregation by handler is important.",
    );
  });

  it("buckets are the instrumentator's: highr list and 0.1/0.5/1, then +Inf", async () => {
    assert.deepEqual([...HIGHR_BUCKETS], INSTRUMENTATOR_HIGHR);
    assert.deepEqual([...LOWR_BUCKETS], INSTRUMENTATOR_LOWR);
    const { registry, handler } = wrap();
    await handler(wireLike("/"));
    const fams = await scrape(registry);
    const les = (name: string) =>
      samplesNamed(fams, `${name}_bucket`).map((s) =>
        s.labels.le === "+Inf" ? Infinity : Number(s.labels.le)
      );
    assert.deepEqual(les("http_request_duration_highr_seconds"), [
      ...INSTRUMENTATOR_HIGHR,
      Infinity,
    ]);
    assert.deepEqual(les("http_request_duration_seconds"), [
      ...INSTRUMENTATOR_LOWR,
      Infinity,
    ]);
  });

  it("httpMetrics() registered twice in one registry gives the same metrics", async () => {
    const registry = new Registry();
    const a = instrument(makeApp(), { registry, routes: ROUTES });
    const b = instrument(makeApp(), { registry, routes: ROUTES });
    await a(wireLike("/users/1"));
    await b(wireLike("/users/2"));
    assert.equal(
      httpMetrics(registry).requests.get(requests("GET", "2xx", "/users/:id")),
      2,
    );
    const fams = await scrape(registry);
    assert.equal(
      valueIn(
        fams,
        "http_requests_total",
        requests("GET", "2xx", "/users/:id"),
      ),
      2,
    );
  });

  it("the `promtool check metrics` linter accepts the output", {
    skip: promtoolSkip,
  }, async () => {
    const { registry, handler } = wrap();
    for (const p of ["/", "/users/1", "/nope", "/status/500", "/echo"]) {
      await handler(wireLike(p));
    }
    const r = checkMetrics(await registry.metrics());
    assert.equal(r.stdout + r.stderr, "");
    assert.equal(r.status, 0);
  });
});

for (const transport of TRANSPORTS) {
  describe(`instrument: through ${transport.name}`, () => {
    it("counts each request exactly, by method, grouped status and route template", async () => {
      const { registry, handler } = wrap();
      await transport.run(handler, async (send) => {
        assert.equal((await send("/users/1")).status, 200);
        assert.equal((await send("/users/2")).body, "user 2");
        assert.equal(
          (await send("/users/3", { method: "POST", body: "abc" })).status,
          200,
        );
        assert.equal(
          (await send("/users/4?x=/y#z", { method: "DELETE" })).status,
          200,
        );
        assert.equal((await send("/nope/42")).status, 404);
        assert.equal(
          (await send("/status/201", { method: "PUT", body: "" })).status,
          201,
        );
        assert.equal((await send("/status/204")).status, 204);
        assert.equal((await send("/status/302")).status, 302);
        assert.equal((await send("/status/418")).status, 418);
        assert.equal((await send("/status/503")).status, 503);
        assert.equal((await send("/users/5", { method: "PURGE" })).status, 200);
        assert.equal((await send("/users/6", { method: "HEAD" })).status, 200);
      });
      const fams = await scrape(registry);
      const total = samplesNamed(fams, "http_requests_total");
      const got = Object.fromEntries(
        total.map((
          s,
        ) => [
          `${s.labels.method} ${s.labels.status} ${s.labels.handler}`,
          s.value,
        ]),
      );
      assert.deepEqual(got, {
        "GET 2xx /users/:id": 2,
        "POST 2xx /users/:id": 1,
        "DELETE 2xx /users/:id": 1,
        "GET 4xx none": 1,
        "PUT 2xx /status/:code": 1,
        "GET 2xx /status/:code": 1,
        "GET 3xx /status/:code": 1,
        "GET 4xx /status/:code": 1,
        "GET 5xx /status/:code": 1,
        "OTHER 2xx /users/:id": 1,
        "HEAD 2xx /users/:id": 1,
      });
      const count = (name: string, labels: Record<string, string> = {}) =>
        valueIn(fams, `${name}_count`, labels);
      assert.equal(count("http_request_duration_highr_seconds"), 12);
      assert.equal(
        valueIn(fams, "http_request_duration_highr_seconds_bucket", {
          le: "+Inf",
        }),
        12,
      );
      assert.equal(
        count("http_request_duration_seconds", {
          method: "GET",
          handler: "/users/:id",
        }),
        2,
      );
      assert.equal(
        count("http_request_duration_seconds", {
          method: "GET",
          handler: "none",
        }),
        1,
      );
      assert.equal(
        count("http_request_duration_seconds", {
          method: "GET",
          handler: "/status/:code",
        }),
        4,
      );
      assert.equal(
        count("http_request_duration_seconds", {
          method: "OTHER",
          handler: "/users/:id",
        }),
        1,
      );
      assert.equal(
        samplesNamed(fams, "http_request_duration_seconds_count").length,
        8,
      );
      assert.equal(
        count("http_request_size_bytes", { handler: "/users/:id" }),
        6,
      );
      assert.equal(
        count("http_request_size_bytes", { handler: "/status/:code" }),
        5,
      );
      assert.equal(count("http_response_size_bytes", { handler: "none" }), 1);
      assert.equal(valueIn(fams, "http_requests_inprogress"), 0);
      // Raw paths never become label values.
      const text = await registry.metrics();
      for (const raw of ["/users/1", "/nope", "/status/201", "PURGE"]) {
        assert.ok(!text.includes(`"${raw}`), raw);
      }
    });

    it("keeps exact status codes with groupStatusCodes: false", async () => {
      const { registry, handler } = wrap({ groupStatusCodes: false });
      await transport.run(handler, async (send) => {
        for (const code of [200, 201, 302, 404, 503, 503]) {
          await send(`/status/${code}`);
        }
        await send("/nope");
      });
      const fams = await scrape(registry);
      const got = Object.fromEntries(
        samplesNamed(fams, "http_requests_total").map((s) => [
          `${s.labels.status} ${s.labels.handler}`,
          s.value,
        ]),
      );
      assert.deepEqual(got, {
        "200 /status/:code": 1,
        "201 /status/:code": 1,
        "302 /status/:code": 1,
        "404 /status/:code": 1,
        "503 /status/:code": 2,
        "404 none": 1,
      });
    });

    it("request sizes come from Content-Length (a missing header counts as 0); so do response sizes when set", async () => {
      const { registry, handler } = wrap();
      await transport.run(handler, async (send) => {
        assert.equal(
          (await send("/echo", { method: "POST", body: "hello world" })).body,
          "hello world",
        );
        assert.equal(
          (await send("/echo", { method: "POST", body: "é€" })).body,
          "é€",
        );
        // A GET carries no Content-Length, and /echo answers "Content-Length: 0".
        await send("/echo");
      });
      const fams = await scrape(registry);
      // "hello world" is 11 bytes; "é€" is 2 + 3 bytes of UTF-8.
      assert.equal(
        valueIn(fams, "http_request_size_bytes_sum", { handler: "/echo" }),
        16,
      );
      assert.equal(
        valueIn(fams, "http_request_size_bytes_count", { handler: "/echo" }),
        3,
      );
      assert.equal(
        valueIn(fams, "http_response_size_bytes_sum", { handler: "/echo" }),
        16,
      );
      assert.equal(
        valueIn(fams, "http_response_size_bytes_count", { handler: "/echo" }),
        3,
      );
    });

    it("response sizes without Content-Length are the body bytes sent: text, JSON, bytes, blobs, streams", async () => {
      const { registry, handler } = wrap(
        { routes: Object.keys(SIZED_BODIES) },
        sizedApp,
      );
      await transport.run(handler, async (send) => {
        for (const [path, body] of Object.entries(SIZED_BODIES)) {
          const res = await send(path);
          assert.equal(res.status, path === "/sized/created" ? 201 : 200, path);
          assert.equal(
            new TextEncoder().encode(res.body).byteLength,
            body,
            path,
          );
        }
        // Status and headers survive the counting copy.
        assert.equal(
          (await send("/sized/created")).headers.get("x-kept"),
          "yes",
        );
        // A server sends no body for HEAD, whatever the handler returned: it counts 0.
        assert.equal(
          (await send("/sized/text", { method: "HEAD" })).status,
          200,
        );
      });
      const fams = await scrape(registry);
      for (const [path, bytes] of Object.entries(SIZED_BODIES)) {
        const sent = path === "/sized/text" || path === "/sized/created" ? 2 : 1; // HEAD, twice
        const handler = { handler: path };
        assert.equal(
          valueIn(fams, "http_response_size_bytes_count", handler),
          sent,
          path,
        );
        assert.equal(
          valueIn(fams, "http_response_size_bytes_sum", handler),
          path === "/sized/created" ? 2 * bytes : bytes,
          path,
        );
      }
      assert.equal(
        valueIn(
          fams,
          "http_requests_total",
          requests("GET", "2xx", "/sized/created"),
        ),
        2,
      );
    });

    it("in-progress goes up while slow requests run and back to 0", async () => {
      const release = gate();
      let entered = 0;
      const arrived = [gate(), gate()];
      const app = makeApp({
        entered: () => arrived[entered++]?.open(),
        release: release.promise,
      });
      const { registry, handler } = wrap({}, app);
      await transport.run(handler, async (send) => {
        const first = send("/slow");
        const second = send("/slow");
        try {
          await Promise.all(arrived.map((g) => g.promise));
          assert.equal(
            valueIn(await scrape(registry), "http_requests_inprogress"),
            2,
          );
          // Finished requests are not counted until they finish.
          assert.equal(
            valueIn(
              await scrape(registry),
              "http_requests_total",
              requests("GET", "2xx", "/slow"),
            ),
            undefined,
          );
        } finally {
          release.open();
        }
        assert.equal((await first).body, "slow");
        assert.equal((await second).body, "slow");
      });
      const fams = await scrape(registry);
      assert.equal(valueIn(fams, "http_requests_inprogress"), 0);
      assert.equal(
        valueIn(fams, "http_requests_total", requests("GET", "2xx", "/slow")),
        2,
      );
    });

    it("a throwing handler: 500, onError gets the error, counted as 5xx, server stays up", async () => {
      const errors: { handler: string; method: string; error: unknown }[] = [];
      const records: RequestRecord[] = [];
      const { registry, handler } = wrap({
        onError: (e) => errors.push(e),
        onRequest: (r) => records.push(r),
      });
      await transport.run(handler, async (send) => {
        const res = await send("/throw", { method: "POST", body: "x" });
        assert.equal(res.status, 500);
        assert.ok(
          !res.body.includes("boom"),
          "the error message is not sent to the client",
        );
        // The same server keeps serving.
        assert.equal((await send("/users/7")).body, "user 7");
        assert.equal((await send("/throw")).status, 500);
        assert.equal((await send("/")).status, 200);
      });
      assert.equal(errors.length, 2);
      assert.equal(errors[0].handler, "/throw");
      assert.equal(errors[0].method, "POST");
      assert.ok(errors[0].error instanceof RangeError);
      assert.equal((errors[0].error as Error).message, "boom from /throw");
      assert.equal(errors[1].method, "GET");
      assert.deepEqual(
        records.map((r) => [r.method, r.handler, r.status]),
        [["POST", "/throw", 500], ["GET", "/users/:id", 200], [
          "GET",
          "/throw",
          500,
        ], [
          "GET",
          "/",
          200,
        ]],
      );
      const fams = await scrape(registry);
      assert.equal(
        valueIn(fams, "http_requests_total", requests("POST", "5xx", "/throw")),
        1,
      );
      assert.equal(
        valueIn(fams, "http_requests_total", requests("GET", "5xx", "/throw")),
        1,
      );
      assert.equal(valueIn(fams, "http_requests_inprogress"), 0);
    });

    it("excluded handlers are not recorded at all", async () => {
      const records: RequestRecord[] = [];
      const { registry, handler } = wrap({
        excludedHandlers: ["/metrics", /^\/status\//, "none"],
        onRequest: (r) => records.push(r),
      });
      await transport.run(handler, async (send) => {
        assert.equal((await send("/metrics")).status, 404); // the app has no /metrics; still excluded
        assert.equal((await send("/status/200")).status, 200);
        assert.equal((await send("/random/scan")).status, 404);
        assert.equal((await send("/users/1")).status, 200);
      });
      assert.deepEqual(records.map((r) => r.handler), ["/users/:id"]);
      const fams = await scrape(registry);
      const handlers = new Set(
        fams.flatMap((f) => f.samples.map((s) => s.labels.handler)).filter((
          h,
        ) => h !== undefined),
      );
      assert.deepEqual([...handlers], ["/users/:id"]);
      assert.equal(
        valueIn(fams, "http_request_duration_highr_seconds_count"),
        1,
      );
    });
  });
}

describe("instrument: options and edge cases", () => {
  it("onRequest gets handler, method, exact status and the seconds the histograms got", async () => {
    const records: RequestRecord[] = [];
    const { registry, handler } = wrap({ onRequest: (r) => records.push(r) });
    await handler(wireLike("/status/201", { method: "PUT" }));
    assert.equal(records.length, 1);
    const [r] = records;
    assert.equal(r.handler, "/status/:code");
    assert.equal(r.method, "PUT");
    assert.equal(r.status, 201);
    const fams = await scrape(registry);
    assert.equal(
      valueIn(fams, "http_request_duration_highr_seconds_sum"),
      r.seconds,
    );
    assert.equal(
      valueIn(fams, "http_request_duration_seconds_sum", {
        method: "PUT",
        handler: "/status/:code",
      }),
      r.seconds,
    );
  });

  it("durations are in seconds: a 150 ms handler is above the 0.1 bucket", async () => {
    const app: FetchHandler = async () => {
      await sleep(150);
      return new Response("ok");
    };
    const { registry, handler } = wrap({}, app);
    await handler(wireLike("/"));
    const fams = await scrape(registry);
    const bucket = (le: string) =>
      valueIn(fams, "http_request_duration_seconds_bucket", {
        method: "GET",
        handler: "/",
        le,
      });
    assert.equal(bucket("0.1"), 0);
    assert.equal(bucket("+Inf"), 1);
    assert.ok(valueIn(fams, "http_request_duration_highr_seconds_sum")! >= 0.1);
  });

  it("inProgress: false leaves the gauge alone", async () => {
    const release = gate();
    const arrived = gate();
    const { registry, handler } = wrap(
      { inProgress: false },
      makeApp({ entered: () => arrived.open(), release: release.promise }),
    );
    const pending = handler(wireLike("/slow"));
    await arrived.promise;
    const during = valueIn(await scrape(registry), "http_requests_inprogress");
    release.open();
    await pending;
    assert.ok(during === undefined || during === 0, `in progress ${during}`);
  });

  it("a synchronous throw, a rejection and a non-Response are all answered 500", async () => {
    const errors: unknown[] = [];
    const registry = new Registry();
    const opts = {
      registry,
      routes: ["/"],
      onError: (e: { error: unknown }) => errors.push(e.error),
    };
    const sync = instrument((): Response => {
      throw new TypeError("sync");
    }, opts);
    const rejected = instrument(
      () => Promise.reject(new SyntaxError("async")),
      opts,
    );
    const notResponse = instrument(() => "hello" as unknown as Response, opts);
    for (const h of [sync, rejected, notResponse]) {
      const res = await h(wireLike("/"));
      assert.equal(res.status, 500);
      await res.body?.cancel();
    }
    assert.deepEqual(
      errors.map((e) => (e as Error).constructor.name),
      ["TypeError", "SyntaxError", "TypeError"],
    );
    assert.equal(
      valueIn(
        await scrape(registry),
        "http_requests_total",
        requests("GET", "5xx", "/"),
      ),
      3,
    );
  });

  it("an onError hook that throws still gives a 500; an onRequest hook that throws does not break the response", async () => {
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const { registry, handler } = wrap({
        onError: () => {
          throw new Error("hook broke");
        },
        onRequest: () => {
          throw new Error("request hook broke");
        },
      });
      const a = await handler(wireLike("/throw"));
      assert.equal(a.status, 500);
      const b = await handler(wireLike("/users/1"));
      assert.equal(b.status, 200);
      assert.equal(await b.text(), "user 1");
      const fams = await scrape(registry);
      assert.equal(
        valueIn(fams, "http_requests_total", requests("GET", "5xx", "/throw")),
        1,
      );
      assert.equal(
        valueIn(
          fams,
          "http_requests_total",
          requests("GET", "2xx", "/users/:id"),
        ),
        1,
      );
    } finally {
      console.error = original;
    }
    assert.ok(logged.length >= 1, "the broken onRequest hook is logged");
  });

  it("without onError a failing handler is reported once per route and error class, through the registry's log", async () => {
    const logged: string[] = [];
    const registry = new Registry({ log: (m) => logged.push(m) });
    const handler = instrument(makeApp(), { registry, routes: ROUTES });
    for (let i = 0; i < 3; i++) {
      assert.equal((await handler(wireLike("/throw"))).status, 500);
    }
    assert.equal(logged.length, 1, `logged: ${JSON.stringify(logged)}`);
    assert.match(logged[0], /"\/throw" threw RangeError/);
    // The message may carry anything (a token in a URL): only the class is named.
    assert.doesNotMatch(logged[0], /boom from/);
    assert.equal(
      valueIn(
        await scrape(registry),
        "http_requests_total",
        requests("GET", "5xx", "/throw"),
      ),
      3,
    );
  });

  it("without a log option the report is one line on stderr", async () => {
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const { handler } = wrap();
      assert.equal((await handler(wireLike("/throw"))).status, 500);
      assert.equal((await handler(wireLike("/throw"))).status, 500);
    } finally {
      console.error = original;
    }
    assert.equal(logged.length, 1);
    assert.equal(logged[0].length, 1);
    assert.match(
      String(logged[0][0]),
      /^\[metrics\] handler for "\/throw" threw RangeError/,
    );
  });

  it("a metric at its series cap: each request past it is counted as folded, none is cached", async () => {
    const registry = new Registry();
    // Same signature as instrument's own counter, so instrument reuses it, cap included.
    new Counter({
      name: "http_requests_total",
      help: "Total number of requests by method, status and handler.",
      labelNames: ["method", "status", "handler"],
      maxSeries: 2,
      registry,
    });
    const handler = instrument(makeApp(), { registry, routes: ROUTES });
    await handler(wireLike("/"));
    await handler(wireLike("/users/1"));
    for (let i = 0; i < 5; i++) await handler(wireLike("/echo"));
    const fams = await scrape(registry);
    const over = {
      method: "__overflow__",
      status: "__overflow__",
      handler: "__overflow__",
    };
    assert.equal(valueIn(fams, "http_requests_total", over), 5);
    assert.equal(
      valueIn(fams, "metrics_series_overflow_total", {
        metric: "http_requests_total",
      }),
      5,
    );
    // The routes bound before the cap keep their own series.
    assert.equal(
      valueIn(
        fams,
        "http_requests_total",
        requests("GET", "2xx", "/users/:id"),
      ),
      1,
    );
  });

  it("extra arguments (Deno's info, Bun's server) reach the handler", async () => {
    const seen: unknown[] = [];
    const wrapped = instrument(
      (_req: Request, info: { tag: string }) => {
        seen.push(info);
        return new Response("ok");
      },
      { registry: new Registry() },
    );
    const info = { tag: "info" };
    await wrapped(wireLike("/"), info);
    assert.equal(seen[0], info);
  });

  it("an invalid Content-Length counts as 0", async () => {
    const { registry, handler } = wrap();
    for (const cl of ["abc", "-5", "1e400"]) {
      await handler(
        new Request(ORIGIN + "/", { headers: { "content-length": cl } }),
      );
    }
    const fams = await scrape(registry);
    assert.equal(
      valueIn(fams, "http_request_size_bytes_sum", { handler: "/" }),
      0,
    );
    assert.equal(
      valueIn(fams, "http_request_size_bytes_count", { handler: "/" }),
      3,
    );
  });

  it("rejects a handler that is not a function and bad excludedHandlers", () => {
    assert.throws(() => instrument(42 as unknown as FetchHandler), TypeError);
    assert.throws(
      () => instrument(makeApp(), { excludedHandlers: [42 as unknown as string] }),
      TypeError,
    );
  });
});

/** `promise`'s value, or a rejection after `ms` (a bound so that a broken wrapper fails the test instead of hanging it). */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} did not happen`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads scrapes until `ready` holds for one (the server finishes a body after the client has it). */
async function scrapeUntil(
  registry: Registry,
  ready: (fams: Awaited<ReturnType<typeof scrape>>) => boolean,
): Promise<Awaited<ReturnType<typeof scrape>>> {
  for (let i = 0;; i++) {
    const fams = await scrape(registry);
    if (ready(fams) || i === 500) return fams;
    await sleep(10);
  }
}

describe("instrument: response sizes, edge cases", () => {
  const sizeOf = (fams: Awaited<ReturnType<typeof scrape>>, handler = "/") => ({
    sum: valueIn(fams, "http_response_size_bytes_sum", { handler }),
    count: valueIn(fams, "http_response_size_bytes_count", { handler }),
  });

  it("a synchronous handler gets a synchronous answer when the size is known; a body in memory is answered as bytes", async () => {
    const registry = new Registry();
    let original: Response | undefined;
    const handler = instrument((request: Request) => {
      const path = new URL(request.url).pathname;
      original = path === "/known"
        ? new Response("abc", { headers: { "Content-Length": "3" } })
        : path === "/none"
        ? new Response(null, { status: 204 })
        : new Response("abc", { status: 203, headers: { "X-Kept": "1" } });
      return original;
    }, { registry, routes: ["/known", "/none", "/counted"] });
    const known = handler(wireLike("/known"));
    assert.equal(
      known,
      original,
      "Content-Length set: the handler's own response, synchronously",
    );
    const none = handler(wireLike("/none"));
    assert.equal(
      none,
      original,
      "no body: the handler's own response, synchronously",
    );
    const pending = handler(wireLike("/counted"));
    assert.ok(
      pending instanceof Promise,
      "a body of unknown length is read first",
    );
    const counted = await pending;
    // Measured before the client reads anything: the body was already in memory.
    assert.deepEqual(sizeOf(await scrape(registry), "/counted"), { sum: 3, count: 1 });
    assert.equal(counted.status, 203);
    assert.equal(counted.headers.get("x-kept"), "1");
    assert.equal(await counted.text(), "abc");
    const fams = await scrape(registry);
    assert.deepEqual(sizeOf(fams, "/known"), { sum: 3, count: 1 });
    assert.deepEqual(sizeOf(fams, "/none"), { sum: 0, count: 1 });
    assert.deepEqual(sizeOf(fams, "/counted"), { sum: 3, count: 1 });
  });

  it(`on a real ${runtime} server, a body in memory keeps its Content-Length; a stream stays a stream`, async () => {
    const registry = new Registry();
    const release = gate();
    const handler = instrument((request: Request) => {
      if (new URL(request.url).pathname === "/text") {
        return Response.json({ hello: "world" });
      }
      let step = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (step++ === 0) {
              controller.enqueue(new TextEncoder().encode("head\n"));
            } else {
              await release.promise;
              controller.enqueue(new TextEncoder().encode("tail\n"));
              controller.close();
            }
          },
        }),
      );
    }, { registry, routes: ["/text", "/stream"] });
    const server = await serveOnLoopback(handler);
    try {
      const text = await fetch(server.origin + "/text");
      assert.equal(text.headers.get("content-length"), "17");
      assert.equal(await text.text(), '{"hello":"world"}');
      // The headers and the first chunk arrive while the stream still waits.
      const stream = await fetch(server.origin + "/stream");
      const reader = stream.body!.getReader();
      assert.equal(
        new TextDecoder().decode((await reader.read()).value),
        "head\n",
      );
      assert.equal(sizeOf(await scrape(registry), "/stream").count, 0, "not ended yet");
      release.open();
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        rest += new TextDecoder().decode(r.value);
      }
      assert.equal(rest, "tail\n");
      const fams = await scrapeUntil(
        registry,
        (f) => sizeOf(f, "/stream").count === 1,
      );
      assert.deepEqual(sizeOf(fams, "/text"), { sum: 17, count: 1 });
      assert.deepEqual(sizeOf(fams, "/stream"), { sum: 10, count: 1 });
    } finally {
      release.open(); // a failed assertion must not leave the response open
      await server.close();
    }
  });

  it('responseSizes: "content-length" answers synchronously with the handler\'s own response, 0 without the header', async () => {
    const registry = new Registry();
    let original: Response | undefined;
    const handler = instrument(() => original = new Response("abc"), {
      registry,
      routes: ["/"],
      responseSizes: "content-length",
    });
    const answer = handler(wireLike("/"));
    assert.equal(answer, original);
    assert.equal(await (answer as Response).text(), "abc");
    assert.deepEqual(sizeOf(await scrape(registry)), { sum: 0, count: 1 });
  });

  it("a body that fails midway counts the bytes read before it failed", async () => {
    const registry = new Registry();
    let sent = 0;
    const handler = instrument(() =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < 2) controller.enqueue(new Uint8Array(10));
            else controller.error(new Error("disk gone"));
          },
        }),
      ), { registry, routes: ["/"] });
    const res = await handler(wireLike("/"));
    await assert.rejects(res.text());
    assert.deepEqual(sizeOf(await scrape(registry)), { sum: 20, count: 1 });
  });

  it("a body cancelled by its reader counts what was read, and the cancel reaches the handler's stream", async () => {
    const registry = new Registry();
    const cancelled = gate<unknown>();
    const handler = instrument(() =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(new Uint8Array(7));
          },
          cancel(reason) {
            cancelled.open(reason);
          },
        }),
      ), { registry, routes: ["/"] });
    const res = await handler(wireLike("/"));
    const reader = res.body!.getReader();
    assert.equal((await reader.read()).value?.byteLength, 7);
    assert.equal((await reader.read()).value?.byteLength, 7);
    await reader.cancel("enough");
    assert.equal(await within(cancelled.promise, 5000, "the cancel"), "enough");
    const fams = await scrape(registry);
    assert.deepEqual(sizeOf(fams), { sum: 14, count: 1 });
    // Cancelling again (or reading after) does not count twice.
    await reader.cancel("again").catch(() => {});
    assert.deepEqual(sizeOf(await scrape(registry)), { sum: 14, count: 1 });
  });

  it("an already-read body is answered as is and counts 0", async () => {
    const registry = new Registry();
    const handler = instrument(async () => {
      const res = new Response("used");
      await res.text();
      return res;
    }, { registry, routes: ["/"] });
    const res = await handler(wireLike("/"));
    assert.equal(res.bodyUsed, true);
    assert.deepEqual(sizeOf(await scrape(registry)), { sum: 0, count: 1 });
  });

  it(`a client leaving a streamed response on a real ${runtime} server: the bytes sent so far are counted once`, async () => {
    const registry = new Registry();
    const cancelled = gate();
    const handler = instrument(() =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("first chunk\n"));
          },
          // Then nothing more until the client leaves.
          cancel() {
            cancelled.open();
          },
        }),
      ), { registry, routes: ["/"] });
    const server = await serveOnLoopback(handler);
    try {
      const abort = new AbortController();
      const res = await fetch(server.origin + "/", { signal: abort.signal });
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), "first chunk\n");
      abort.abort();
      await reader.cancel().catch(() => {});
      await within(cancelled.promise, 5000, "the server's cancel");
      const fams = await scrapeUntil(registry, (f) => sizeOf(f).count === 1);
      assert.deepEqual(sizeOf(fams), { sum: 12, count: 1 });
      assert.equal(
        valueIn(fams, "http_requests_total", requests("GET", "2xx", "/")),
        1,
      );
    } finally {
      await server.close();
    }
  });
});

describe("instrument: the route option and option keys", () => {
  it("route gives the handler label; undefined gives 'none'", async () => {
    const registry = new Registry();
    const seen: string[] = [];
    const handler = instrument(() => new Response("ok"), {
      registry,
      route: (request) => {
        seen.push(request.url);
        const path = new URL(request.url).pathname;
        return path.startsWith("/users/") ? "/users/{id}" : undefined;
      },
      excludedHandlers: ["/private"],
    });
    await handler(wireLike("/users/1"));
    await handler(wireLike("/users/2", { method: "POST" }));
    await handler(wireLike("/other"));
    assert.equal(seen.length, 3);
    const fams = await scrape(registry);
    assert.equal(
      valueIn(
        fams,
        "http_requests_total",
        requests("GET", "2xx", "/users/{id}"),
      ),
      1,
    );
    assert.equal(
      valueIn(
        fams,
        "http_requests_total",
        requests("POST", "2xx", "/users/{id}"),
      ),
      1,
    );
    assert.equal(
      valueIn(fams, "http_requests_total", requests("GET", "2xx", "none")),
      1,
    );
  });

  it("excludedHandlers applies to the route option's labels", async () => {
    const registry = new Registry();
    const handler = instrument(() => new Response("ok"), {
      registry,
      route: (request) => new URL(request.url).pathname === "/metrics" ? "/metrics" : "/app",
      excludedHandlers: ["/metrics"],
    });
    await handler(wireLike("/metrics"));
    await handler(wireLike("/x"));
    const fams = await scrape(registry);
    assert.equal(
      valueIn(fams, "http_requests_total", requests("GET", "2xx", "/app")),
      1,
    );
    assert.equal(valueIn(fams, "http_request_duration_highr_seconds_count"), 1);
  });

  it("a route callback that throws or returns a non-string labels 'none' and is reported once", async () => {
    const logged: string[] = [];
    const registry = new Registry({ log: (m) => logged.push(m) });
    const handler = instrument(() => new Response("ok"), {
      registry,
      route: (request) => {
        const path = new URL(request.url).pathname;
        if (path === "/throw") throw new RangeError("secret-token-in-message");
        if (path === "/number") return 42 as unknown as string;
        return "/fine";
      },
    });
    for (let i = 0; i < 3; i++) {
      assert.equal((await handler(wireLike("/throw"))).status, 200);
      assert.equal((await handler(wireLike("/number"))).status, 200);
      assert.equal((await handler(wireLike("/ok"))).status, 200);
    }
    assert.equal(logged.length, 2, JSON.stringify(logged));
    assert.match(logged[0], /route option threw RangeError/);
    assert.doesNotMatch(logged[0], /secret-token/);
    assert.match(logged[1], /route option returned number/);
    const fams = await scrape(registry);
    assert.equal(
      valueIn(fams, "http_requests_total", requests("GET", "2xx", "none")),
      6,
    );
    assert.equal(
      valueIn(fams, "http_requests_total", requests("GET", "2xx", "/fine")),
      3,
    );
  });

  it("routes and route together, or a route that is not a function, are a TypeError", () => {
    const app = () => new Response("ok");
    assert.throws(
      () =>
        instrument(app, {
          registry: new Registry(),
          routes: ["/"],
          route: () => "/",
        }),
      /instrument: give routes or route, not both/,
    );
    assert.throws(
      () =>
        instrument(app, {
          registry: new Registry(),
          route: "/users/:id" as never,
        }),
      (e: unknown) => e instanceof TypeError && /route must be a function/.test(e.message),
    );
    assert.throws(
      () =>
        instrument(app, {
          registry: new Registry(),
          routes: "/users/:id" as never,
        }),
      TypeError,
    );
  });

  it("an unknown option key is a TypeError naming the closest known one; nothing is registered", () => {
    const registry = new Registry();
    const app = () => new Response("ok");
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ routs: ["/"] }, /unknown option "routs" \(did you mean "routes"\?\)/],
      [
        { excludeHandlers: [] },
        /unknown option "excludeHandlers" \(did you mean "excludedHandlers"\?\)/,
      ],
      [
        { registers: [registry] },
        /unknown option "registers" \(did you mean "registry"\?\)/,
      ],
      [
        { onrequest: () => {} },
        /unknown option "onrequest" \(did you mean "onRequest"\?\)/,
      ],
      [{ groupStatusCode: false }, /did you mean "groupStatusCodes"/],
    ];
    for (const [extra, message] of cases) {
      assert.throws(
        () => instrument(app, { registry, ...extra } as InstrumentOptions),
        (e: unknown) =>
          e instanceof TypeError && e.message.startsWith("instrument: ") &&
          message.test(e.message),
        JSON.stringify(Object.keys(extra)),
      );
    }
    assert.throws(
      () => instrument(app, { registry, zzzzzz: 1 } as InstrumentOptions),
      (e: unknown) => e instanceof TypeError && !e.message.includes("did you mean"),
    );
    assert.equal(registry.getAll().length, 0);
    assert.throws(() => instrument(app, null as never), TypeError);
    assert.throws(
      () => instrument(app, { onError: "log" as never }),
      /onError must be a function/,
    );
  });
});

/** Random request paths, as a vulnerability scanner sends them. */
function scannerPaths(n: number, seed: number): string[] {
  const rand = seeded(seed);
  const pick = <T>(xs: ArrayLike<T>): T => xs[Math.floor(rand() * xs.length)];
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@";
  const segment = () => {
    const len = 1 + Math.floor(rand() * 12);
    let s = "";
    for (let i = 0; i < len; i++) {
      s += rand() < 0.1
        ? `%${Math.floor(rand() * 256).toString(16).padStart(2, "0")}`
        : pick(chars);
    }
    return s;
  };
  const known = [
    "wp-admin",
    "phpmyadmin",
    ".env",
    ".git",
    "cgi-bin",
    "users",
    "admin",
    "etc",
  ];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const depth = 1 + Math.floor(rand() * 5);
    const parts = [];
    for (let d = 0; d < depth; d++) {
      parts.push(rand() < 0.3 ? pick(known) : segment());
    }
    // Template-shaped paths too: /users/<random> matches /users/:id.
    if (rand() < 0.2) parts.splice(0, parts.length, "users", segment());
    let path = "/" + parts.join("/");
    if (rand() < 0.3) path += `?${segment()}=${segment()}`;
    out.push(path);
  }
  return out;
}

describe("instrument: a scan of random paths", () => {
  it(`1,000 random paths on a real ${runtime} server add no series`, async () => {
    // 200 for /users/<one segment>, 404 for anything else.
    const app: FetchHandler = (request) =>
      new Response(null, {
        status: /^\/users\/[^/]+$/.test(new URL(request.url).pathname) ? 200 : 404,
      });
    const { registry, handler } = wrap({}, app);
    const methods = ["GET", "POST", "PROPFIND", "OPTIONS"];
    const server = await serveOnLoopback(handler);
    try {
      const hit = async (method: string, path: string) => {
        const res = await fetch(server.origin + path, {
          method,
          redirect: "manual",
        });
        await res.body?.cancel();
        return res.status;
      };
      // One request of each kind the scan can produce creates its series.
      for (const m of methods) {
        assert.equal(await hit(m, "/users/warm"), 200);
        assert.equal(await hit(m, "/warm/up"), 404);
      }
      const before = seriesKeys(await scrape(registry));
      const paths = scannerPaths(1000, 4242);
      const rand = seeded(7);
      // A few at a time, as a scanner does.
      for (let i = 0; i < paths.length; i += 8) {
        await Promise.all(
          paths.slice(i, i + 8).map((p) => hit(methods[Math.floor(rand() * methods.length)], p)),
        );
      }
      const fams = await scrape(registry);
      assert.deepEqual([...seriesKeys(fams)].sort(), [...before].sort());
      let sent = 0;
      for (const s of samplesNamed(fams, "http_requests_total")) {
        sent += s.value;
      }
      assert.equal(sent, 1000 + 2 * methods.length);
      assert.equal(
        valueIn(fams, "http_request_duration_highr_seconds_count"),
        sent,
      );
    } finally {
      await server.close();
    }
  });
});
