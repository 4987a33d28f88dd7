import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter } from "../../src/core/counter.ts";
import { Gauge } from "../../src/core/gauge.ts";
import { Histogram } from "../../src/core/histogram.ts";
import { Registry } from "../../src/core/registry.ts";
import { registerProcessMetrics } from "../../src/collectors/process.ts";
import { registerRuntimeMetrics } from "../../src/collectors/runtime.ts";
import type { ErrorRecord, RequestRecord } from "../../src/http/instrument.ts";
import { type AppOptions, createApp } from "../../app/app.ts";
import { family, parseOpenMetrics, parseText } from "../_support/parse.ts";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";
import { fetchText, seeded, seriesKeys, serveOnLoopback, valueIn } from "./_support.ts";

const TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
// What Prometheus 2.x sends.
const PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0," +
  "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

function quietly<T>(fn: () => T): T {
  const original = console.error;
  console.error = () => {};
  try {
    return fn();
  } finally {
    console.error = original;
  }
}

function catalogue(customRegistry: Registry) {
  const requests = new Counter({
    name: "llm_requests_total",
    help: "Total number of LLM API requests",
    labelNames: ["model", "endpoint"],
    registry: customRegistry,
  });
  const active = new Gauge({
    name: "active_sessions",
    help: "Active sessions",
    registry: customRegistry,
  });
  const latency = new Histogram({
    name: "llm_request_duration_seconds",
    help: "LLM request latency",
    buckets: [0.1, 1, 10],
    registry: customRegistry,
  });
  requests.inc({ model: "gpt-4o", endpoint: "chat" }, 3);
  active.set(2);
  latency.observe(0.42);
}

async function withApp(
  options: Partial<AppOptions>,
  body: (origin: string, registry: Registry, customRegistry: Registry) => Promise<void>,
) {
  const registry = options.registry ?? new Registry();
  const customRegistry = options.customRegistry ?? new Registry();
  const server = await serveOnLoopback(createApp({ ...options, registry, customRegistry }));
  try {
    await body(server.origin, registry, customRegistry);
  } finally {
    await server.close();
  }
}

describe("createApp: endpoints", () => {
  it("/ lists the endpoints", async () => {
    await withApp({}, async (origin) => {
      const res = await fetchText(origin + "/");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      for (const p of ["/metrics", "/custom_metrics", "/healthz"]) {
        assert.ok(res.body.includes(p), p);
      }
    });
  });

  it("/healthz answers 200 with a small JSON body", async () => {
    await withApp({}, async (origin) => {
      const res = await fetchText(origin + "/healthz");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      const json = JSON.parse(res.body);
      assert.equal(json.status, "ok");
      assert.equal(typeof json.uptime_seconds, "number");
      assert.ok(json.uptime_seconds >= 0);
    });
  });

  it("anything else is 404", async () => {
    await withApp({}, async (origin) => {
      for (const p of ["/nope", "/metrics/", "/healthz/x", "/custom_metrics.txt", "/METRICS"]) {
        assert.equal((await fetchText(origin + p)).status, 404, p);
      }
    });
    // Bun's fetch client collapses a leading "//", so this one goes in directly.
    const app = createApp({ registry: new Registry(), customRegistry: new Registry() });
    assert.equal((await app(new Request("http://127.0.0.1//metrics"))).status, 404);
  });

  it("/metrics and /custom_metrics: text by default, OpenMetrics when Prometheus asks", async () => {
    const customRegistry = new Registry();
    catalogue(customRegistry);
    await withApp({ customRegistry }, async (origin) => {
      for (const path of ["/metrics", "/custom_metrics"]) {
        const text = await fetchText(origin + path);
        assert.equal(text.status, 200);
        assert.equal(text.headers.get("content-type"), TEXT_TYPE, path);
        parseText(text.body);
        const om = await fetchText(origin + path, { headers: { Accept: PROMETHEUS_ACCEPT } });
        assert.equal(om.status, 200);
        assert.equal(om.headers.get("content-type"), OM_TYPE, path);
        assert.ok(om.body.endsWith("# EOF\n"), path);
        parseOpenMetrics(om.body);
      }
    });
  });

  it("a traced request's trace id is the exemplar of its HTTP series in OpenMetrics", async () => {
    await withApp({}, async (origin) => {
      const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
      await fetchText(origin + "/healthz", {
        headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` },
      });
      const om = await fetchText(origin + "/metrics", { headers: { Accept: PROMETHEUS_ACCEPT } });
      const samples = parseOpenMetrics(om.body).flatMap((f) => f.samples);
      const traced = samples.filter((s) => s.exemplar?.labels.trace_id === trace);
      assert.deepEqual(
        [...new Set(traced.map((s) => s.name))].sort(),
        [
          "http_request_duration_highr_seconds_bucket",
          "http_request_duration_seconds_bucket",
          "http_requests_total",
        ],
      );
      assert.ok(traced.every((s) => s.name.endsWith("_bucket") || s.labels.handler === "/healthz"));
    });
  });

  it("/custom_metrics serves the custom registry only, /metrics the default one", async () => {
    const customRegistry = new Registry();
    catalogue(customRegistry);
    await withApp({ customRegistry }, async (origin) => {
      const custom = parseText((await fetchText(origin + "/custom_metrics")).body);
      assert.deepEqual(
        custom.map((f) => f.name).sort(),
        ["active_sessions", "llm_request_duration_seconds", "llm_requests_total"],
      );
      assert.equal(
        valueIn(custom, "llm_requests_total", { model: "gpt-4o", endpoint: "chat" }),
        3,
      );
      const main = parseText((await fetchText(origin + "/metrics")).body);
      assert.ok(main.every((f) => f.name.startsWith("http_")), main.map((f) => f.name).join());
    });
  });

  it("HEAD and other methods on /metrics", async () => {
    await withApp({}, async (origin) => {
      const head = await fetchText(origin + "/metrics", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.body, "");
      assert.equal(head.headers.get("content-type"), TEXT_TYPE);
      const post = await fetchText(origin + "/metrics", { method: "POST", body: "x" });
      assert.equal(post.status, 405);
    });
  });
});

describe("createApp: HTTP metrics", () => {
  it("count the requests exactly, in the default registry only", async () => {
    await withApp({}, async (origin, registry, customRegistry) => {
      for (let i = 0; i < 5; i++) await fetchText(origin + "/healthz");
      for (let i = 0; i < 3; i++) await fetchText(origin + "/custom_metrics");
      for (let i = 0; i < 2; i++) await fetchText(origin + "/no/such/page");
      await fetchText(origin + "/");
      await fetchText(origin + "/metrics");
      const fams = parseText((await fetchText(origin + "/metrics")).body);
      const total = (status: string, handler: string) =>
        valueIn(fams, "http_requests_total", { method: "GET", status, handler });
      assert.equal(total("2xx", "/healthz"), 5);
      assert.equal(total("2xx", "/custom_metrics"), 3);
      assert.equal(total("4xx", "none"), 2);
      assert.equal(total("2xx", "/"), 1);
      // The scrape being answered is still in progress: only the first is counted.
      assert.equal(total("2xx", "/metrics"), 1);
      assert.equal(valueIn(fams, "http_requests_inprogress"), 1);
      assert.equal(valueIn(fams, "http_request_duration_highr_seconds_count"), 12);
      assert.deepEqual(
        (await customRegistry.collect()).map((f) => f.name),
        [],
        "no HTTP metrics in the custom registry",
      );
      assert.ok(registry.get("http_requests_total") !== undefined);
    });
  });

  it("extra routes are served and labelled by their template; a throwing one is a 500", async () => {
    const errors: ErrorRecord[] = [];
    const records: RequestRecord[] = [];
    const routes = {
      "/api/items/:id": (req: Request) =>
        new Response(`item ${new URL(req.url).pathname.slice(11)}`),
      "/api/fail": (): Response => {
        throw new URIError("bad item");
      },
    };
    await withApp({
      routes,
      onError: (e) => errors.push(e),
      onRequest: (r) => records.push(r),
    }, async (origin, registry) => {
      assert.equal((await fetchText(origin + "/api/items/17")).body, "item 17");
      assert.equal((await fetchText(origin + "/api/items/18")).body, "item 18");
      assert.equal((await fetchText(origin + "/api/fail")).status, 500);
      assert.equal((await fetchText(origin + "/healthz")).status, 200);
      assert.ok((await fetchText(origin + "/")).body.includes("/api/items/:id"));
      const fams = parseText(await registry.metrics());
      assert.equal(
        valueIn(fams, "http_requests_total", {
          method: "GET",
          status: "2xx",
          handler: "/api/items/:id",
        }),
        2,
      );
      assert.equal(
        valueIn(fams, "http_requests_total", {
          method: "GET",
          status: "5xx",
          handler: "/api/fail",
        }),
        1,
      );
    });
    assert.equal(errors.length, 1);
    assert.equal(errors[0].handler, "/api/fail");
    assert.ok(errors[0].error instanceof URIError);
    assert.deepEqual(records.map((r) => r.handler), [
      "/api/items/:id",
      "/api/items/:id",
      "/api/fail",
      "/healthz",
      "/",
    ]);
  });

  it("a scan of 1,000 random paths adds no series to /metrics", async () => {
    await withApp({}, async (origin) => {
      await fetchText(origin + "/warm-up");
      await fetchText(origin + "/healthz");
      await fetchText(origin + "/metrics");
      const before = seriesKeys(parseText((await fetchText(origin + "/metrics")).body));
      const rand = seeded(99);
      const word = () => Math.floor(rand() * 36 ** 6).toString(36);
      const paths: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const depth = 1 + Math.floor(rand() * 4);
        paths.push(
          "/" + Array.from({ length: depth }, word).join("/") + (rand() < 0.3 ? `?${word()}` : ""),
        );
      }
      for (let i = 0; i < paths.length; i += 10) {
        const answers = await Promise.all(paths.slice(i, i + 10).map((p) => fetchText(origin + p)));
        for (const a of answers) assert.equal(a.status, 404);
      }
      const body = (await fetchText(origin + "/metrics")).body;
      const after = parseText(body);
      assert.deepEqual([...seriesKeys(after)].sort(), [...before].sort());
      assert.equal(
        valueIn(after, "http_requests_total", { method: "GET", status: "4xx", handler: "none" }),
        1001,
      );
      for (const p of paths.slice(0, 50)) assert.ok(!body.includes(p.split("?")[0]), p);
    });
  });
});

describe("createApp: promtool", () => {
  it("`promtool check metrics` prints nothing for either endpoint", {
    skip: promtoolSkip,
  }, async () => {
    const registry = new Registry();
    quietly(() => registerProcessMetrics(registry));
    const runtime = registerRuntimeMetrics(registry);
    const customRegistry = new Registry();
    catalogue(customRegistry);
    try {
      await withApp({ registry, customRegistry }, async (origin) => {
        await fetchText(origin + "/healthz");
        await fetchText(origin + "/nope");
        for (const path of ["/metrics", "/custom_metrics"]) {
          const res = await fetchText(origin + path);
          assert.equal(res.status, 200);
          if (path === "/metrics") family(parseText(res.body), "process_cpu_seconds_total");
          const r = checkMetrics(res.body);
          assert.equal(r.stdout + r.stderr, "", path);
          assert.equal(r.status, 0, path);
        }
      });
    } finally {
      runtime.stop();
    }
  });
});
