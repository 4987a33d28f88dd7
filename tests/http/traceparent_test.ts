// The trace id of a W3C `traceparent` header as the exemplar of the HTTP
// metrics: parsed by the Trace Context rules, put by instrument() (and by
// the framework middleware, which share its recorder) on
// http_requests_total and the duration buckets, read back from a real
// server's OpenMetrics scrape.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as HonoModule from "npm:hono@4";
import { Registry } from "../../src/core/registry.ts";
import { honoMetrics, instrument, type InstrumentOptions } from "../../src/http/mod.ts";
import { traceIdOf } from "../../src/http/_traceparent.ts";
import { type Family, parseOpenMetrics, type Sample } from "../_support/parse.ts";
import { isBun, serveOnLoopback } from "../app/_support.ts";
import { loadPackage } from "./_frameworks.ts";

const { Hono } = await loadPackage("hono", "npm:hono@4") as typeof HonoModule;

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const VALID = `00-${TRACE}-${PARENT}-01`;

describe("traceIdOf: W3C Trace Context traceparent", () => {
  const cases: [string, string | null, string | undefined][] = [
    ["version 00", VALID, TRACE],
    ["not sampled", `00-${TRACE}-${PARENT}-00`, TRACE],
    ["a later version with more fields", `01-${TRACE}-${PARENT}-01-what-comes-next`, TRACE],
    ["absent", null, undefined],
    ["empty", "", undefined],
    ["upper-case hex", VALID.toUpperCase(), undefined],
    ["version ff", `ff-${TRACE}-${PARENT}-01`, undefined],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`, undefined],
    ["an all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`, undefined],
    ["version 00 with more fields", `${VALID}-extra`, undefined],
    ["a short trace id", `00-${TRACE.slice(1)}-${PARENT}-01`, undefined],
    ["a later version glued to more text", `01-${TRACE}-${PARENT}-01x`, undefined],
    ["not hex", `00-${TRACE.replace("4", "g")}-${PARENT}-01`, undefined],
  ];
  for (const [what, header, expected] of cases) {
    it(what, () => assert.equal(traceIdOf(header), expected));
  }
});

const runtime = isBun ? "Bun.serve" : "Deno.serve";

function om(body: string): Family[] {
  return parseOpenMetrics(body);
}

function samples(families: Family[], name: string, labels: Record<string, string>): Sample[] {
  return families.flatMap((f) => f.samples).filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
}

/** Serves `handler`, sends `requests` (path and traceparent), and returns the OpenMetrics scrape. */
async function serveAndScrape(
  handler: (request: Request) => Response | Promise<Response>,
  registry: Registry,
  requests: [string, string | undefined][],
): Promise<Family[]> {
  const server = await serveOnLoopback(handler);
  try {
    for (const [path, traceparent] of requests) {
      const r = await fetch(server.origin + path, {
        headers: traceparent === undefined ? {} : { traceparent },
      });
      await r.text();
    }
  } finally {
    await server.close();
  }
  return om(await registry.metrics("openmetrics"));
}

describe(`instrument(): traceparent exemplars on a real ${runtime} server`, () => {
  const app = (request: Request) =>
    new URL(request.url).pathname === "/missing"
      ? new Response("no", { status: 404 })
      : new Response("ok", { headers: { "content-length": "2" } });
  const wrapped = (options: InstrumentOptions = {}) => {
    const registry = new Registry();
    return {
      registry,
      handler: instrument(app, {
        registry,
        routes: ["/traced", "/plain", "/bad"],
        exemplars: true,
        ...options,
      }),
    };
  };

  it("a valid traceparent's trace id goes on http_requests_total and the duration buckets", async () => {
    const { registry, handler } = wrapped();
    const families = await serveAndScrape(handler, registry, [
      ["/traced", VALID],
      ["/plain", undefined],
      ["/bad", `00-${"0".repeat(32)}-${PARENT}-01`],
    ]);
    const total = samples(families, "http_requests_total", { handler: "/traced" });
    assert.equal(total.length, 1);
    assert.deepEqual(total[0].exemplar?.labels, { trace_id: TRACE });
    assert.equal(total[0].exemplar?.value, 1);
    assert.ok(total[0].exemplar!.timestamp! > 1.7e9);
    const buckets = samples(families, "http_request_duration_seconds_bucket", {
      handler: "/traced",
    });
    const withExemplar = buckets.filter((b) => b.exemplar !== undefined);
    assert.equal(withExemplar.length, 1, "exactly the bucket the duration fell in");
    assert.deepEqual(withExemplar[0].exemplar?.labels, { trace_id: TRACE });
    const first = buckets.findIndex((b) => b.value === 1);
    assert.equal(buckets.indexOf(withExemplar[0]), first, "the first bucket that counts it");
    const highr = samples(families, "http_request_duration_highr_seconds_bucket", {});
    assert.equal(highr.filter((b) => b.exemplar?.labels.trace_id === TRACE).length, 1);
    for (const handler of ["/plain", "/bad"]) {
      const untraced = [
        ...samples(families, "http_requests_total", { handler }),
        ...samples(families, "http_request_duration_seconds_bucket", { handler }),
      ];
      assert.ok(untraced.length > 0);
      assert.ok(untraced.every((s) => s.exemplar === undefined), handler);
    }
    const text = await registry.metrics();
    assert.doesNotMatch(text, /trace_id/, "never in text 0.0.4");
  });

  it("the newest request's trace id replaces the older one", async () => {
    const { registry, handler } = wrapped();
    const second = "0af7651916cd43dd8448eb211c80319c";
    const families = await serveAndScrape(handler, registry, [
      ["/traced", VALID],
      ["/traced", `00-${second}-${PARENT}-01`],
    ]);
    const total = samples(families, "http_requests_total", { handler: "/traced" })[0];
    assert.equal(total.value, 2);
    assert.deepEqual(total.exemplar?.labels, { trace_id: second });
  });

  it("without exemplars: true (the default) the header is never read", async () => {
    const { registry, handler } = wrapped({ exemplars: undefined });
    const read: string[] = [];
    const request = new Request("http://127.0.0.1/traced", { headers: { traceparent: VALID } });
    Object.defineProperty(request, "headers", {
      get() {
        read.push("headers");
        return new Headers({ traceparent: VALID });
      },
    });
    await handler(request);
    assert.deepEqual(read, [], "a GET's headers are not read");
    const families = await serveAndScrape(handler, registry, [["/traced", VALID]]);
    assert.ok(families.every((f) => f.samples.every((s) => s.exemplar === undefined)));
    assert.throws(
      () => instrument(app, { exemplars: "yes" as never }),
      /instrument: exemplars must be a boolean, got string/,
    );
  });
});

describe(`Hono middleware: the shared recorder's exemplars, on a real ${runtime} server`, () => {
  it("puts the trace id on the route's series", async () => {
    const registry = new Registry();
    const app = new Hono();
    app.use(honoMetrics({ registry, exemplars: true }));
    app.get("/users/:id", (c) => c.text("user"));
    const families = await serveAndScrape(app.fetch, registry, [
      ["/users/1", VALID],
      ["/users/2", undefined],
    ]);
    const total = samples(families, "http_requests_total", { handler: "/users/:id" })[0];
    assert.equal(total.value, 2);
    assert.deepEqual(total.exemplar?.labels, { trace_id: TRACE });
    const buckets = samples(families, "http_request_duration_seconds_bucket", {
      handler: "/users/:id",
    });
    assert.equal(buckets.filter((b) => b.exemplar?.labels.trace_id === TRACE).length, 1);
  });
});
