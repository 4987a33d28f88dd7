/**
 * createExporter({ nativeHistograms }): the catalogue's two duration
 * histograms are served as native histograms too (classic buckets kept) to a
 * protobuf scrape, replacing the classic-only ones the tracking module
 * registered at import; without the option they stay classic. Requests go to
 * the fetch handler directly, and every protobuf body goes through the
 * strict decoder.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/mod.ts";
import { createTracking } from "../../src/tracking/mod.ts";
import { createExporter } from "../../app/exporter.ts";
import { silentLog } from "../../app/log.ts";
import { decodeChecked, type Family, readsAsNative } from "../_support/protobuf.ts";

/** Prometheus 2.42's Accept with --enable-feature=native-histograms. */
const PROTOBUF_FIRST = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;" +
  "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

async function scrapeCatalogue(
  nativeHistograms: boolean,
): Promise<{ families: Map<string, Family>; llmReplaced: boolean }> {
  const customRegistry = new Registry();
  // As in the exporter's process: the tracking module's catalogue is already there, classic.
  const classicLLM = createTracking(customRegistry).metrics.llmRequestDurationSeconds;
  const exporter = createExporter({
    registry: new Registry(),
    customRegistry,
    nativeHistograms,
    log: silentLog,
    notices: silentLog,
  });
  for (let i = 0; i < 3; i++) {
    const res = await exporter.fetch(new Request("http://127.0.0.1/healthz"));
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  const res = await exporter.fetch(
    new Request("http://127.0.0.1/custom_metrics", { headers: { accept: PROTOBUF_FIRST } }),
  );
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/vnd\.google\.protobuf/);
  const families = decodeChecked(new Uint8Array(await res.arrayBuffer()));
  return {
    families: new Map(families.map((f) => [f.name!, f])),
    llmReplaced: customRegistry.get("llm_request_duration_seconds") !== classicLLM,
  };
}

describe("createExporter: nativeHistograms", () => {
  it("serves app_request_duration_seconds as native, classic buckets kept", async () => {
    const { families, llmReplaced } = await scrapeCatalogue(true);
    const app = families.get("app_request_duration_seconds");
    assert.ok(app, "app_request_duration_seconds in the scrape");
    const healthz = app.metrics.find((m) =>
      m.labels.some(([k, v]) => k === "endpoint" && v === "/healthz")
    );
    assert.ok(healthz?.histogram, "a /healthz series");
    const h = healthz.histogram;
    assert.equal(h.sampleCount, 3);
    assert.equal(h.schema, 3, "bucket factor 1.1 gives schema 3");
    assert.ok(readsAsNative(h), "Prometheus 2.42 reads it as native");
    assert.ok(h.buckets.length > 0, "classic buckets kept beside the native ones");
    assert.equal(h.buckets.at(-1)?.cumulativeCount, 3);
    // The LLM histogram (no observation yet, so not in the scrape) was replaced too.
    assert.equal(llmReplaced, true);
  });

  it("without it, the same scrape is classic only", async () => {
    const { families, llmReplaced } = await scrapeCatalogue(false);
    assert.equal(llmReplaced, false);
    const h = families.get("app_request_duration_seconds")?.metrics[0]?.histogram;
    assert.ok(h, "app_request_duration_seconds in the scrape");
    assert.equal(h.sampleCount, 3);
    assert.equal(h.schema, undefined);
    assert.equal(readsAsNative(h), false);
  });
});
