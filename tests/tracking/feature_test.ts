// deno-lint-ignore-file require-await -- stand-ins for async features are trivial
/**
 * Feature tracking: `FeatureMetrics` with `using`, `trackFeature` (sync and
 * async) and `trackFeatureAsync` as a wrapper and as a TC39 method decorator.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { createTracking, type Tracking } from "../../src/tracking/mod.ts";
import { changes, expected, scrape, valueOf } from "./_support.ts";

function fresh(): Tracking {
  return createTracking(new Registry());
}

class ValidationError extends Error {}

/** The changes of `runs` runs of `feature`, with `errors` counted per class name. */
function runs(feature: string, n: number, errors: Record<string, number> = {}) {
  const labels = { feature_name: feature };
  return expected([
    ["feature_usage_total", labels, n],
    ["feature_duration_seconds_count", labels, n],
    ...Object.entries(errors).map(([type, count]) =>
      ["feature_errors_total", { feature_name: feature, error_type: type }, count] as [
        string,
        Record<string, string>,
        number,
      ]
    ),
  ]);
}

describe("FeatureMetrics", () => {
  it("records one use and its duration when the using block ends, not before", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    {
      using feature = new t.FeatureMetrics("threat_analysis");
      assert.equal(feature.featureName, "threat_analysis");
      assert.equal(t.metrics.featureUsageTotal.get({ feature_name: "threat_analysis" }), 0);
    }
    assert.deepEqual(changes(before, await scrape(t.registry)), runs("threat_analysis", 1));
  });

  it("fail() counts the error under its class name; the run still counts as a use", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    const analyze = (input: string): number => {
      using feature = new t.FeatureMetrics("threat_analysis");
      try {
        if (input === "") throw new ValidationError("empty diagram");
        return input.length;
      } catch (error) {
        feature.fail(error);
        throw error;
      }
    };
    assert.equal(analyze("abc"), 3);
    assert.throws(() => analyze(""), ValidationError);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      runs("threat_analysis", 2, { ValidationError: 1 }),
    );
  });

  it("names odd thrown values by type: string, null, Object, anonymous classes", () => {
    const t = fresh();
    const f = new t.FeatureMetrics("f");
    f.fail("just a string");
    f.fail(null);
    f.fail(undefined);
    f.fail({ message: "plain object" });
    f.fail(Object.create(null));
    f.fail(new (class extends Error {})());
    f.fail(new TypeError("t"));
    const errors = (type: string) =>
      t.metrics.featureErrorsTotal.get({ feature_name: "f", error_type: type });
    assert.equal(errors("string"), 1);
    assert.equal(errors("null"), 1);
    assert.equal(errors("undefined"), 1);
    assert.equal(errors("Object"), 2);
    // An anonymous Error subclass has no class name: its inherited name, "Error".
    assert.equal(errors("Error"), 1);
    assert.equal(errors("TypeError"), 1);
  });

  it("end() records once and returns the same elapsed time; dispose after end adds nothing", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    {
      using f = new t.FeatureMetrics("report");
      const first = f.end();
      assert.ok(first >= 0 && Number.isFinite(first));
      assert.equal(f.end(), first);
    }
    assert.deepEqual(changes(before, await scrape(t.registry)), runs("report", 1));
  });

  it("rejects an empty or non-string name with a TypeError naming FeatureMetrics", () => {
    const t = fresh();
    assert.throws(() => new t.FeatureMetrics(""), {
      name: "TypeError",
      message: 'FeatureMetrics: featureName must be a non-empty string, got ""',
    });
    assert.throws(
      () => new t.FeatureMetrics(42 as unknown as string),
      /FeatureMetrics: featureName must be a non-empty string, got number 42/,
    );
  });
});

describe("trackFeature", () => {
  it("runs a sync function: result and error pass through unchanged", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    const result = { threats: ["spoofing"] };
    assert.equal(t.trackFeature("threat_analysis", () => result), result);
    const boom = new RangeError("out of range");
    assert.throws(
      () =>
        t.trackFeature("threat_analysis", () => {
          throw boom;
        }),
      (e: unknown) => e === boom,
    );
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      runs("threat_analysis", 2, { RangeError: 1 }),
    );
  });

  it("runs an async function and records when its promise settles", async () => {
    const t = fresh();
    let release!: (v: string) => void;
    const pending = t.trackFeature(
      "data_flow_analysis",
      () => new Promise<string>((r) => release = r),
    );
    assert.equal(t.metrics.featureUsageTotal.get({ feature_name: "data_flow_analysis" }), 0);
    release("flows");
    assert.equal(await pending, "flows");
    assert.equal(t.metrics.featureUsageTotal.get({ feature_name: "data_flow_analysis" }), 1);

    const boom = new ValidationError("bad diagram");
    await assert.rejects(
      t.trackFeature("data_flow_analysis", async () => {
        throw boom;
      }),
      (e: unknown) => e === boom,
    );
    const s = await scrape(t.registry);
    assert.equal(valueOf(s, "feature_usage_total", { feature_name: "data_flow_analysis" }), 2);
    assert.equal(
      valueOf(s, "feature_errors_total", {
        feature_name: "data_flow_analysis",
        error_type: "ValidationError",
      }),
      1,
    );
  });

  it("rejects a bad name or a non-function before running anything", () => {
    const t = fresh();
    let ran = false;
    assert.throws(() => t.trackFeature("", () => ran = true), /trackFeature: name must be/);
    assert.throws(
      () => t.trackFeature("x", "nope" as unknown as () => void),
      /trackFeature: fn must be a function/,
    );
    assert.equal(ran, false);
  });
});

describe("trackFeatureAsync", () => {
  it("wraps a function, keeping arguments, this and the result", async () => {
    const t = fresh();
    const analyzeDataFlow = t.trackFeatureAsync("data_flow_analysis")(
      async (diagram: string, depth: number): Promise<string[]> =>
        diagram.split("->").slice(0, depth),
    );
    assert.deepEqual(await analyzeDataFlow("a->b->c", 2), ["a", "b"]);
    const counter = {
      n: 10,
      add: t.trackFeatureAsync("adder")(function (this: { n: number }, k: number): number {
        return this.n + k;
      }),
    };
    assert.equal(counter.add(5), 15);
    const s = await scrape(t.registry);
    assert.equal(valueOf(s, "feature_usage_total", { feature_name: "data_flow_analysis" }), 1);
    assert.equal(valueOf(s, "feature_usage_total", { feature_name: "adder" }), 1);
  });

  it("decorates methods (TC39 standard decorators), errors included", async () => {
    const t = fresh();
    class Analyzer {
      constructor(readonly prefix: string) {}

      @t.trackFeatureAsync("data_flow_analysis")
      async analyzeDataFlow(diagram: string): Promise<string> {
        if (diagram === "") throw new ValidationError("empty");
        return this.prefix + diagram;
      }
    }
    const a = new Analyzer("flows:");
    const before = await scrape(t.registry);
    assert.equal(await a.analyzeDataFlow("x"), "flows:x");
    await assert.rejects(a.analyzeDataFlow(""), ValidationError);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      runs("data_flow_analysis", 2, { ValidationError: 1 }),
    );
  });

  it("refuses a bad name, a non-function and non-method decoration", () => {
    const t = fresh();
    assert.throws(() => t.trackFeatureAsync(""), /trackFeatureAsync: name must be a non-empty/);
    const wrap = t.trackFeatureAsync("f");
    assert.throws(
      () => wrap(7 as unknown as () => void),
      /trackFeatureAsync\("f"\): wraps functions/,
    );
    assert.throws(
      () =>
        (wrap as unknown as (v: unknown, c: { kind: string }) => unknown)(() => 1, {
          kind: "getter",
        }),
      /decorates methods only, not a getter/,
    );
  });
});
