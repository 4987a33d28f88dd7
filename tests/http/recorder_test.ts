import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { Histogram } from "../../src/core/histogram.ts";
import {
  createRecorder,
  httpMetrics,
  internalError,
  lengthHeader,
  RECORDING_OPTION_KEYS,
  type RecordingOptions,
  requestBytes,
  type RequestRecord,
} from "../../src/http/_recorder.ts";
import { samplesNamed, scrape, valueIn } from "../app/_support.ts";

const requests = (method: string, status: string, handler: string) => ({
  method,
  status,
  handler,
});

/** One request through `rec`, as an adapter records it. */
function record(
  rec: ReturnType<typeof createRecorder>,
  route: string,
  method: string,
  status: number,
  bytes = 0,
): number {
  const start = rec.start();
  return rec.finish(route, method, status, start, bytes);
}

describe("createRecorder", () => {
  it("RECORDING_OPTION_KEYS are exactly the keys of RecordingOptions", () => {
    // Adding an option to RecordingOptions without listing it fails to type-check here.
    const every: Record<keyof RecordingOptions, true> = {
      registry: true,
      excludedHandlers: true,
      groupStatusCodes: true,
      inProgress: true,
      responseSizes: true,
      exemplars: true,
      onRequest: true,
      onError: true,
    };
    assert.deepEqual(
      [...RECORDING_OPTION_KEYS].sort(),
      Object.keys(every).sort(),
    );
  });

  it("two recorders on one registry (instrument and a middleware) write the same series", async () => {
    const registry = new Registry();
    const a = createRecorder({ registry }, "instrument");
    const b = createRecorder({ registry }, "hono middleware");
    record(a, "/users/:id", "GET", 200);
    record(b, "/users/:id", "GET", 201);
    a.responseSize("/users/:id", 10);
    b.responseSize("/users/:id", 5);
    const fams = await scrape(registry);
    assert.equal(
      valueIn(
        fams,
        "http_requests_total",
        requests("GET", "2xx", "/users/:id"),
      ),
      2,
    );
    assert.equal(
      valueIn(fams, "http_response_size_bytes_sum", { handler: "/users/:id" }),
      15,
    );
    assert.equal(valueIn(fams, "http_request_duration_highr_seconds_count"), 2);
  });

  it("start and finish: in progress while between them, durations in seconds, request sizes", async () => {
    const registry = new Registry();
    const rec = createRecorder({ registry }, "test");
    const first = rec.start();
    const second = rec.start();
    assert.equal(
      valueIn(await scrape(registry), "http_requests_inprogress"),
      2,
    );
    const seconds = rec.finish("/a", "POST", 200, first, 123);
    rec.finish("/a", "POST", 200, second, 7);
    const fams = await scrape(registry);
    assert.equal(valueIn(fams, "http_requests_inprogress"), 0);
    assert.ok(seconds >= 0 && seconds < 60, `seconds ${seconds}`);
    assert.equal(
      valueIn(fams, "http_request_size_bytes_sum", { handler: "/a" }),
      130,
    );
    assert.equal(
      valueIn(fams, "http_request_duration_seconds_count", {
        method: "POST",
        handler: "/a",
      }),
      2,
    );
  });

  it("inProgress: false never touches the gauge", async () => {
    const registry = new Registry();
    const rec = createRecorder({ registry, inProgress: false }, "test");
    rec.start();
    const v = valueIn(await scrape(registry), "http_requests_inprogress");
    assert.ok(v === undefined || v === 0);
  });

  it("methods are labelled by methodLabel: random methods add no series and no cache entries", async () => {
    const registry = new Registry();
    const records: RequestRecord[] = [];
    const rec = createRecorder(
      { registry, onRequest: (r) => records.push(r) },
      "test",
    );
    record(rec, "/", "get", 200);
    for (let i = 0; i < 1000; i++) record(rec, "/", `BREW${i}`, 200);
    assert.deepEqual(records.slice(0, 2).map((r) => r.method), [
      "GET",
      "OTHER",
    ]);
    const fams = await scrape(registry);
    assert.deepEqual(
      samplesNamed(fams, "http_requests_total").map((
        s,
      ) => [s.labels.method, s.value]),
      [["GET", 1], ["OTHER", 1000]],
    );
  });

  it("status codes are grouped by class unless groupStatusCodes is false", async () => {
    const grouped = new Registry();
    const exact = new Registry();
    const g = createRecorder({ registry: grouped }, "test");
    const e = createRecorder(
      { registry: exact, groupStatusCodes: false },
      "test",
    );
    for (const status of [200, 204, 301, 404, 418, 503]) {
      record(g, "/", "GET", status);
      record(e, "/", "GET", status);
    }
    const statuses = async (r: Registry) =>
      Object.fromEntries(
        samplesNamed(await scrape(r), "http_requests_total").map((
          s,
        ) => [s.labels.status, s.value]),
      );
    assert.deepEqual(await statuses(grouped), {
      "2xx": 2,
      "3xx": 1,
      "4xx": 2,
      "5xx": 1,
    });
    assert.deepEqual(await statuses(exact), {
      "200": 1,
      "204": 1,
      "301": 1,
      "404": 1,
      "418": 1,
      "503": 1,
    });
  });

  it("excluded: exact templates and RegExps", () => {
    const rec = createRecorder(
      {
        registry: new Registry(),
        excludedHandlers: ["/metrics", /^\/internal\//],
      },
      "test",
    );
    assert.equal(rec.excluded("/metrics"), true);
    assert.equal(rec.excluded("/internal/x"), true);
    assert.equal(rec.excluded("/metrics/x"), false);
    assert.equal(rec.excluded("none"), false);
  });

  it("a child in an overflow series is not kept: each request past the cap counts as folded", async () => {
    const logged: string[] = [];
    const registry = new Registry({ log: (m) => logged.push(m) });
    // The same signature as httpMetrics' histogram, with a cap of 1.
    new Histogram({
      name: "http_request_duration_seconds",
      help: "Latency with only few buckets by handler. " +
        "Made to be only used if aggregation by handler is important.",
      labelNames: ["method", "handler"],
      buckets: [0.1, 0.5, 1],
      maxSeries: 1,
      registry,
    });
    const rec = createRecorder({ registry }, "test");
    record(rec, "/a", "GET", 200);
    for (let i = 0; i < 4; i++) record(rec, "/b", "GET", 200);
    const fams = await scrape(registry);
    assert.equal(
      valueIn(fams, "metrics_series_overflow_total", {
        metric: "http_request_duration_seconds",
      }),
      4,
    );
    assert.equal(
      valueIn(fams, "http_requests_total", requests("GET", "2xx", "/b")),
      4,
    );
    assert.equal(
      httpMetrics(registry).requests.get(requests("GET", "2xx", "/b")),
      4,
    );
    assert.equal(logged.length, 1, "the cap is reported once");
  });

  it("error: onError gets the label method and the error; a throwing hook is swallowed", () => {
    const seen: unknown[] = [];
    const rec = createRecorder({
      registry: new Registry(),
      onError: (r) => seen.push([r.handler, r.method, r.error]),
    }, "test");
    const boom = new Error("boom");
    rec.error("/a", "delete", boom);
    assert.deepEqual(seen, [["/a", "DELETE", boom]]);
    const throwing = createRecorder({
      registry: new Registry(),
      onError: () => {
        throw new Error("hook");
      },
    }, "test");
    assert.doesNotThrow(() => throwing.error("/a", "GET", boom));
  });

  it("error without onError: logged once per route and error class, without the message", () => {
    const logged: string[] = [];
    const registry = new Registry({ log: (m) => logged.push(m) });
    const rec = createRecorder({ registry }, "test");
    for (let i = 0; i < 3; i++) {
      rec.error("/a", "GET", new RangeError("token=abc"));
      rec.error("/a", "GET", new TypeError("x"));
      rec.error("/b", "GET", new RangeError("y"));
    }
    assert.deepEqual(logged.map((m) => m.replace(/ \(reported once.*$/, "")), [
      'handler for "/a" threw RangeError',
      'handler for "/a" threw TypeError',
      'handler for "/b" threw RangeError',
    ]);
    assert.ok(!logged.join("\n").includes("token=abc"));
  });

  it("an onRequest hook that throws is logged once and does not throw", () => {
    const logged: string[] = [];
    const rec = createRecorder({
      registry: new Registry({ log: (m) => logged.push(m) }),
      onRequest: () => {
        throw new SyntaxError("no");
      },
    }, "test");
    for (let i = 0; i < 3; i++) record(rec, "/a", "GET", 200);
    assert.equal(logged.length, 1);
    assert.match(logged[0], /onRequest hook for "\/a" threw SyntaxError/);
  });

  it("bad options are TypeErrors naming the owner", () => {
    assert.throws(
      () => createRecorder({ excludedHandlers: [42 as never] }, "oak middleware"),
      /^TypeError: oak middleware: excludedHandlers takes strings and RegExps, got number$/,
    );
    assert.throws(
      () =>
        createRecorder(
          { excludedHandlers: "/metrics" as never },
          "oak middleware",
        ),
      /oak middleware: excludedHandlers must be an array/,
    );
    assert.throws(
      () => createRecorder({ onRequest: 1 as never }, "elysia plugin"),
      /elysia plugin: onRequest must be a function, got number/,
    );
  });
});

describe("Recorder.measure", () => {
  const setup = () => {
    const registry = new Registry();
    const rec = createRecorder({ registry }, "test");
    const size = async (route: string) => {
      const fams = await scrape(registry);
      return [
        valueIn(fams, "http_response_size_bytes_sum", { handler: route }),
        valueIn(fams, "http_response_size_bytes_count", { handler: route }),
      ];
    };
    return { rec, size };
  };

  it("HEAD counts 0 (any case) and returns the response itself", async () => {
    const { rec, size } = setup();
    const res = new Response("body");
    assert.equal(rec.measure("/h", "HEAD", res), res);
    assert.equal(rec.measure("/h", "head", res), res);
    assert.deepEqual(await size("/h"), [0, 2]);
  });

  it("Content-Length is taken as is; an invalid one is ignored and the body counted", async () => {
    const { rec, size } = setup();
    const set = new Response("abc", { headers: { "content-length": "3" } });
    assert.equal(rec.measure("/l", "GET", set), set);
    const bad = new Response("abcdef", { headers: { "content-length": "x" } });
    const copy = rec.measure("/bad", "GET", bad);
    assert.notEqual(copy, bad);
    assert.equal(await copy.text(), "abcdef");
    assert.deepEqual(await size("/l"), [3, 1]);
    assert.deepEqual(await size("/bad"), [6, 1]);
  });

  it("no body counts 0, and a 101-style bodiless response is returned untouched", async () => {
    const { rec, size } = setup();
    const res = new Response(null, { status: 204 });
    assert.equal(rec.measure("/n", "GET", res), res);
    assert.deepEqual(await size("/n"), [0, 1]);
  });

  it("the counting copy keeps status, status text and every header", async () => {
    const { rec, size } = setup();
    const res = new Response("hello", {
      status: 202,
      statusText: "Queued",
      headers: {
        "X-A": "1",
        "Set-Cookie": "a=1",
        "Content-Type": "text/x-test",
      },
    });
    res.headers.append("Set-Cookie", "b=2");
    const copy = rec.measure("/c", "GET", res);
    assert.equal(copy.status, 202);
    assert.equal(copy.statusText, "Queued");
    assert.deepEqual([...copy.headers], [...res.headers]);
    assert.deepEqual(
      await size("/c"),
      [undefined, undefined],
      "nothing observed before the body is read",
    );
    assert.equal(await copy.text(), "hello");
    assert.deepEqual(await size("/c"), [5, 1]);
  });
});

describe("Recorder.measureSettled", () => {
  const setup = () => {
    const registry = new Registry();
    const rec = createRecorder({ registry }, "test");
    const size = async (route = "/") => {
      const fams = await scrape(registry);
      return [
        valueIn(fams, "http_response_size_bytes_sum", { handler: route }),
        valueIn(fams, "http_response_size_bytes_count", { handler: route }),
      ];
    };
    return { rec, size };
  };
  const enc = (s: string) => new TextEncoder().encode(s);

  it("known sizes are answered synchronously, as measure does", async () => {
    const { rec, size } = setup();
    const res = new Response("abc", { headers: { "content-length": "3" } });
    assert.equal(rec.measureSettled("/", "GET", res), res);
    const head = new Response("abc");
    assert.equal(rec.measureSettled("/", "HEAD", head), head);
    assert.deepEqual(await size(), [3, 2]);
  });

  it("a body already in memory (several chunks too) is read, observed and answered as its bytes", async () => {
    const { rec, size } = setup();
    const eager = new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc("ab"));
          c.enqueue(enc("cd"));
          c.enqueue(enc("é"));
          c.close();
        },
      }),
      { status: 201, headers: { "content-type": "text/x-a" } },
    );
    const answer = rec.measureSettled("/", "GET", eager);
    assert.ok(answer instanceof Promise);
    const res = await answer;
    assert.deepEqual(await size(), [6, 1], "observed before anything reads the body");
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("content-type"), "text/x-a");
    assert.equal(await res.text(), "abcdé");
    for (const body of ["text", new Uint8Array(5), new URLSearchParams("a=1&b=2")]) {
      await rec.measureSettled("/more", "GET", new Response(body));
    }
    assert.deepEqual(await size("/more"), [4 + 5 + 7, 3]);
  });

  it("a body that waits is streamed from where it stopped: the chunks already read, then the pending read", async () => {
    const { rec, size } = setup();
    let resume!: () => void;
    const waiting = new Promise<void>((r) => resume = r);
    let pulls = 0;
    const res = await rec.measureSettled(
      "/",
      "GET",
      new Response(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            pulls++;
            if (pulls === 1) c.enqueue(enc("first,"));
            else if (pulls === 2) {
              await waiting;
              c.enqueue(enc("second,"));
            } else c.close();
          },
        }),
      ),
    );
    assert.deepEqual(await size(), [undefined, undefined], "not observed while unfinished");
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "first,");
    resume();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "second,");
    assert.equal((await reader.read()).done, true);
    assert.deepEqual(await size(), [13, 1]);
  });

  it("a body that fails at once: the copy fails the same way, and 0 bytes are observed", async () => {
    const { rec, size } = setup();
    const res = await rec.measureSettled(
      "/",
      "GET",
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            c.error(new RangeError("source failed"));
          },
        }),
      ),
    );
    await assert.rejects(res.text(), RangeError);
    assert.deepEqual(await size(), [0, 1]);
  });
});

describe("responseSizes", () => {
  it('"content-length": every response passes untouched, sized by its header or 0', async () => {
    const registry = new Registry();
    const rec = createRecorder({ registry, responseSizes: "content-length" }, "test");
    const bare = new Response("not counted");
    assert.equal(rec.measure("/", "GET", bare), bare);
    assert.equal(rec.measureSettled("/", "GET", bare), bare, "synchronous, the same response");
    const sized = new Response("abc", { headers: { "content-length": "3" } });
    assert.equal(rec.measureSettled("/", "GET", sized), sized);
    const fams = await scrape(registry);
    assert.equal(valueIn(fams, "http_response_size_bytes_sum", { handler: "/" }), 3);
    assert.equal(valueIn(fams, "http_response_size_bytes_count", { handler: "/" }), 3);
    assert.equal(bare.bodyUsed, false);
  });

  it("anything but body or content-length is a TypeError naming the owner and the value", () => {
    for (const bad of ["header", "", 1, "Body"]) {
      assert.throws(
        () => createRecorder({ responseSizes: bad as never }, "honoMetrics"),
        (e: unknown) =>
          e instanceof TypeError &&
          e.message ===
            `honoMetrics: responseSizes must be "body" or "content-length", got ${
              JSON.stringify(bad)
            }`,
        String(bad),
      );
    }
  });
});

describe("request and header helpers", () => {
  it("lengthHeader: a non-negative finite number, else undefined", () => {
    const h = (v?: string) => new Headers(v === undefined ? {} : { "content-length": v });
    assert.equal(lengthHeader(h("12")), 12);
    assert.equal(lengthHeader(h("0")), 0);
    for (const v of [undefined, "", " ", "-1", "abc", "1e400", "Infinity"]) {
      assert.equal(lengthHeader(h(v)), undefined, String(v));
    }
  });

  it("requestBytes: 0 for GET and HEAD, Content-Length otherwise (0 when missing)", () => {
    const req = (method: string, length?: string) => ({
      method,
      headers: new Headers(
        length === undefined ? {} : { "content-length": length },
      ),
    });
    assert.equal(requestBytes(req("GET", "5")), 0);
    assert.equal(requestBytes(req("HEAD", "5")), 0);
    assert.equal(requestBytes(req("POST", "5")), 5);
    assert.equal(requestBytes(req("PUT")), 0);
  });

  it("internalError: a 500 whose Content-Length is its body's size", async () => {
    const res = internalError();
    assert.equal(res.status, 500);
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(Number(res.headers.get("content-length")), body.byteLength);
  });
});
