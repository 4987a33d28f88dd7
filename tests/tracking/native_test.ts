/**
 * The catalogue's `nativeHistograms` option: the two latency histograms keep
 * native buckets beside their classic ones, served in protobuf (checked by
 * the strict decoder), while text scrapes and every other histogram stay as
 * they were.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry, toProtobuf, toText } from "../../src/mod.ts";
import { createTracking, LLM_DURATION_BUCKETS } from "../../src/tracking/mod.ts";
import { decodeChecked, nativeBuckets } from "../_support/protobuf.ts";

describe("createTracking({ nativeHistograms })", () => {
  it("llm_request_duration_seconds and app_request_duration_seconds get native buckets, classic kept", async () => {
    const registry = new Registry();
    const t = createTracking(registry, { nativeHistograms: true });
    await t.trackLLMCall({ model: "gpt-4o", endpoint: "chat" }, () => Promise.resolve("hi"));
    t.metrics.llmRequestDurationSeconds.observe({ model: "gpt-4o", endpoint: "chat" }, 2);
    t.trackAppRequest({ endpoint: "/api/x", method: "GET", statusCode: 200, seconds: 0.25 });
    t.metrics.featureDurationSeconds.observe({ feature_name: "f" }, 1);
    const families = await registry.collect();
    const byName = new Map(families.map((f) => [f.name, f]));
    assert.ok(byName.get("llm_request_duration_seconds")!.native !== undefined);
    assert.ok(byName.get("app_request_duration_seconds")!.native !== undefined);
    assert.equal(byName.get("feature_duration_seconds")!.native, undefined);

    const decoded = new Map(decodeChecked(toProtobuf(families)).map((f) => [f.name, f]));
    const llm = decoded.get("llm_request_duration_seconds")!.metrics[0].histogram!;
    assert.equal(llm.schema, 3);
    assert.equal(llm.sampleCount, 2);
    assert.equal(llm.buckets.length, LLM_DURATION_BUCKETS.length, "classic buckets served too");
    const buckets = nativeBuckets(llm.positiveSpans, llm.positiveDeltas);
    assert.equal(buckets.get(8), 1, "2 s in bucket 8 of schema 3: (1.834, 2]");
    const app = decoded.get("app_request_duration_seconds")!.metrics[0].histogram!;
    assert.deepEqual([...nativeBuckets(app.positiveSpans, app.positiveDeltas)], [[-16, 1]]);

    // Text: exactly what the classic catalogue gives.
    const classic = new Registry();
    const c = createTracking(classic);
    c.metrics.llmRequestDurationSeconds.observe({ model: "gpt-4o", endpoint: "chat" }, 2);
    t.metrics.llmRequestDurationSeconds.remove({ model: "gpt-4o", endpoint: "chat" });
    t.metrics.llmRequestDurationSeconds.observe({ model: "gpt-4o", endpoint: "chat" }, 2);
    const text = (r: typeof families) =>
      toText(r.filter((f) => f.name === "llm_request_duration_seconds"));
    assert.equal(text(await registry.collect()), text(await classic.collect()));
  });

  it("a registry that already holds the classic catalogue refuses the native one, naming the metric", () => {
    const registry = new Registry();
    createTracking(registry);
    assert.throws(
      () => createTracking(registry, { nativeHistograms: true }),
      /Metric "llm_request_duration_seconds" is already registered with different help, labels or layout/,
    );
  });

  it("native options pass through", async () => {
    const registry = new Registry();
    const t = createTracking(registry, { nativeHistograms: { bucketFactor: 2 } });
    t.metrics.appRequestDurationSeconds.observe({ endpoint: "/", method: "GET" }, 3);
    const f = (await registry.collect()).find((f) => f.name === "app_request_duration_seconds")!;
    assert.equal(f.native![0].schema, 0);
  });
});
