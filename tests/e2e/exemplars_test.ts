// Exemplars proven on the real Prometheus 2.42 with
// --enable-feature=exemplar-storage: served over OpenMetrics (what 2.42 asks
// for without the native-histograms flag) and over protobuf (what it asks
// for with it), `/api/v1/query_exemplars` returns exactly the trace ids,
// values and timestamps we exposed, on a counter's _total and on histogram
// buckets (+Inf included), and the targets stay up.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter } from "../../src/core/counter.ts";
import { Histogram } from "../../src/core/histogram.ts";
import { Registry } from "../../src/core/registry.ts";
import { metricsHandler } from "../../src/http/metrics_handler.ts";
import type { Exemplar } from "../../src/model/family.ts";
import { isDeno } from "../app/_support.ts";
import { skipWithout } from "../_support/tools.ts";
import {
  oneJobConfig,
  prometheusMissing,
  sleep,
  targets,
  withPrometheus,
  writeTestConfig,
} from "./_prometheus.ts";
import { createApp } from "../../app/app.ts";
import { createTracking } from "../../src/tracking/mod.ts";
import { panelExpressions } from "../operations/_dashboards.ts";

const skip = !isDeno
  ? "starts prometheus with Deno.Command; run this file with deno test"
  : skipWithout(prometheusMissing);

const OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROTOBUF_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
/** The Accept header Prometheus 2.42 scrapes with (scrape/scrape.go), without the native-histograms flag. */
const ACCEPT_OPENMETRICS = "application/openmetrics-text;version=1.0.0," +
  "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/** The same, with it: protobuf first. */
const ACCEPT_PROTOBUF =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited," +
  "application/openmetrics-text;version=1.0.0;q=0.8," +
  "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

interface Stored {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

async function queryExemplars(base: string, query: string): Promise<Stored[]> {
  const now = Date.now() / 1000;
  const params = new URLSearchParams({ query, start: String(now - 600), end: String(now + 60) });
  const r = await fetch(`${base}/api/v1/query_exemplars?${params}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = await r.json() as { status: string; data: Stored[]; error?: string };
  if (body.status !== "success") throw new Error(`query_exemplars ${query}: ${body.error}`);
  return body.data;
}

/** What one served metric set exposes: the exemplars we expect Prometheus to store. */
function serveSet() {
  const registry = new Registry();
  const requests = new Counter({
    name: "ex_requests_total",
    help: "Requests",
    labelNames: ["route"],
    registry,
  });
  const latency = new Histogram({
    name: "ex_latency_seconds",
    help: "Latency",
    labelNames: ["route"],
    buckets: [0.1, 1],
    registry,
  });
  requests.incWithExemplar({
    labels: { route: "/a" },
    value: 2,
    exemplarLabels: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" },
  });
  requests.inc({ route: "/plain" });
  // Native buckets as well: served in protobuf next to the classic ones,
  // which carry its exemplar (2.42 keeps the first classic one per scrape).
  const native = new Histogram({
    name: "ex_native_seconds",
    help: "Latency, native buckets too",
    buckets: [0.1, 1],
    native: true,
    registry,
  });
  native.observe(0.02);
  native.observeWithExemplar({
    value: 0.3,
    exemplarLabels: { trace_id: "5c1e0a0f5d2b4c3a9e8f7a6b5c4d3e2f" },
  });
  latency.observeWithExemplar({
    labels: { route: "/a" },
    value: 0.05,
    exemplarLabels: { trace_id: "0af7651916cd43dd8448eb211c80319c" },
  });
  latency.observeWithExemplar({
    labels: { route: "/a" },
    value: 7.5,
    exemplarLabels: { trace_id: "b7ad6b7169203331a0c2c5c2d4d6b8e1", span_id: "00f067aa0ba902b7" },
  });
  return registry;
}

/** Every exemplar the registry exposes, keyed by trace id, with its sample's series labels. */
async function exposed(registry: Registry): Promise<Map<string, Exemplar>> {
  const out = new Map<string, Exemplar>();
  for (const f of await registry.collect()) {
    for (const e of Array.from(f.exemplars ?? [])) {
      if (e !== undefined) out.set(e.labels.trace_id, e);
    }
  }
  return out;
}

async function run(
  features: string,
  expectedAccept: string,
  expectedType: string,
): Promise<void> {
  const nativeSeries = expectedType === PROTOBUF_TYPE
    ? "ex_native_seconds"
    : "ex_native_seconds_bucket";
  const registry = serveSet();
  const expected = await exposed(registry);
  assert.equal(expected.size, 4);
  // Each answered scrape: what it asked for and what it got (recorded together,
  // so a scrape still in flight at the end is in neither).
  const scrapes: { accept: string | null; type: string | null }[] = [];
  const handler = metricsHandler(registry);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const response = await handler(request);
    scrapes.push({
      accept: request.headers.get("accept"),
      type: response.headers.get("content-type"),
    });
    return response;
  });
  try {
    const config = oneJobConfig("exemplars", `127.0.0.1:${server.addr.port}`);
    await withPrometheus(config, [`--enable-feature=${features}`], async (prometheus) => {
      const base = prometheus.url;
      // Wait by condition: until all four exemplars are stored (60 s at most).
      const end = Date.now() + 60_000;
      let stored: Stored[] = [];
      for (;;) {
        stored = [
          ...await queryExemplars(base, "ex_requests_total"),
          ...await queryExemplars(base, "ex_latency_seconds_bucket"),
          // Native in protobuf (one series, no le), classic buckets in OpenMetrics.
          ...await queryExemplars(base, nativeSeries),
        ];
        const ids = new Set(stored.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id)));
        if (ids.size >= 4 || Date.now() > end) break;
        await sleep(250);
      }
      const byTrace = new Map(
        stored.flatMap((s) =>
          s.exemplars.map((e) => [e.labels.trace_id, { ...e, series: s.seriesLabels }])
        ),
      );
      assert.deepEqual(
        [...byTrace.keys()].sort(),
        [...expected.keys()].sort(),
        prometheus.output().slice(-2000),
      );
      for (const [trace, e] of expected) {
        const got = byTrace.get(trace)!;
        assert.deepEqual(got.labels, e.labels);
        assert.equal(Number(got.value), e.value);
        assert.equal(Math.round(got.timestamp * 1000), Math.round(e.timestamp * 1000), trace);
      }
      // On the right series: the counter's, and the buckets the values fell in.
      const series = (trace: string) => byTrace.get(trace)!.series;
      assert.equal(series("4bf92f3577b34da6a3ce929d0e0e4736").__name__, "ex_requests_total");
      assert.equal(series("4bf92f3577b34da6a3ce929d0e0e4736").route, "/a");
      assert.equal(series("0af7651916cd43dd8448eb211c80319c").le, "0.1");
      assert.equal(series("b7ad6b7169203331a0c2c5c2d4d6b8e1").le, "+Inf");
      const native = series("5c1e0a0f5d2b4c3a9e8f7a6b5c4d3e2f");
      assert.equal(native.__name__, nativeSeries);
      assert.equal(native.le, expectedType === PROTOBUF_TYPE ? undefined : "1.0");
      // Re-served unchanged on every scrape, each is stored once.
      for (const s of stored) assert.equal(s.exemplars.length, 1, JSON.stringify(s));
      const [target] = await targets(base);
      assert.equal(target.health, "up", target.lastError);
      assert.equal(target.lastError, "");
      // Every scrape (at least the one that brought the exemplars; how many
      // more depends on timing) asked with 2.42's Accept for these flags,
      // exactly, and was answered in the format that Accept puts first.
      assert.ok(scrapes.length >= 1);
      assert.deepEqual(
        scrapes,
        scrapes.map(() => ({ accept: expectedAccept, type: expectedType })),
      );
    });
  } finally {
    await server.shutdown();
  }
}

describe("exemplars on a real Prometheus 2.42 (exemplar-storage)", { skip }, () => {
  it("over OpenMetrics: query_exemplars returns the trace ids, values and timestamps sent", async () => {
    await run("exemplar-storage", ACCEPT_OPENMETRICS, OM_TYPE);
  });

  it("over protobuf (native-histograms flag): the same, a native histogram's on its series", async () => {
    await run("native-histograms,exemplar-storage", ACCEPT_PROTOBUF, PROTOBUF_TYPE);
  });
});

describe("the dashboards' exemplars on a real Prometheus 2.42", { skip }, () => {
  it("every panel target that asks for exemplars gets the trace ids of traced requests and LLM calls", async () => {
    const registry = new Registry();
    const customRegistry = new Registry();
    const tracking = createTracking(customRegistry);
    const app = createApp({ registry, customRegistry });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app);
    const httpTrace = "1a2b3c4d5e6f708192a3b4c5d6e7f801";
    const llmTrace = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    try {
      const origin = `http://127.0.0.1:${server.addr.port}`;
      const r = await fetch(`${origin}/healthz`, {
        headers: { traceparent: `00-${httpTrace}-00f067aa0ba902b7-01` },
      });
      await r.body?.cancel();
      await tracking.trackLLMCall(
        { model: "gpt-4o-mini", endpoint: "chat", traceId: llmTrace },
        () => Promise.resolve("ok"),
      );
      const config = (dir: string) => writeTestConfig(dir, `127.0.0.1:${server.addr.port}`, "1s");
      await withPrometheus(config, ["--enable-feature=exemplar-storage"], async (prometheus) => {
        const panels = panelExpressions().filter((p) => p.exemplar);
        assert.ok(panels.length >= 2, panels.map((p) => p.panel).join(", "));
        for (const panel of panels) {
          const want = panel.expr.includes("llm_") ? llmTrace : httpTrace;
          const end = Date.now() + 60_000;
          let ids: string[] = [];
          while (Date.now() < end) {
            const stored = await queryExemplars(prometheus.url, panel.expr);
            ids = stored.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id));
            if (ids.includes(want)) break;
            await sleep(250);
          }
          assert.ok(
            ids.includes(want),
            `${panel.dashboard} / ${panel.panel}: got ${ids.join(", ")}`,
          );
        }
      });
    } finally {
      await server.shutdown();
    }
  });
});
