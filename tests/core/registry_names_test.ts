import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/mod.ts";

describe("Registry refuses metrics whose output names would collide", () => {
  it("a gauge named like a counter's OpenMetrics family", () => {
    const registry = new Registry();
    new Counter({ name: "foo_total", help: "c", registry });
    assert.throws(
      () => new Gauge({ name: "foo", help: "g", registry }),
      (e: unknown) =>
        e instanceof TypeError && /"foo"/.test(e.message) && /"foo_total"/.test(e.message),
    );
    assert.throws(() => new Gauge({ name: "foo_created", help: "g", registry }), TypeError);
  });

  it("a gauge named like a histogram's or summary's samples", () => {
    const registry = new Registry();
    new Histogram({ name: "lat", help: "h", registry });
    new Summary({ name: "size", help: "s", registry });
    for (const name of ["lat_bucket", "lat_sum", "lat_count", "size_sum", "size_count"]) {
      assert.throws(() => new Gauge({ name, help: "g", registry }), TypeError, name);
    }
    // and the other way round
    new Gauge({ name: "x_count", help: "g", registry });
    assert.throws(() => new Histogram({ name: "x", help: "h", registry }), TypeError);
  });

  it("frees the names on unregister and clear", () => {
    const registry = new Registry();
    new Counter({ name: "foo_total", help: "c", registry });
    assert.equal(registry.unregister("foo_total"), true);
    new Gauge({ name: "foo", help: "g", registry });
    registry.clear();
    new Counter({ name: "foo_total", help: "c", registry });
    assert.ok(registry.get("foo_total"));
  });

  it("a user metric holding an internal counter's name does not break inc or scrape", async () => {
    const registry = new Registry();
    new Gauge({ name: "metrics_series_overflow", help: "squatter", registry });
    const c = new Counter({
      name: "capped_total",
      help: "c",
      labelNames: ["u"],
      maxSeries: 1,
      registry,
    });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      c.inc({ u: "a" });
      c.inc({ u: "b" }); // folded; the overflow counter cannot be created
      c.inc({ u: "c" });
    } finally {
      console.error = original;
    }
    // Two problems, each said once (not once per call): the cap is reached,
    // and the counter of folded calls cannot be created.
    const lines = errors.map((args) => String((args as unknown[])[0]));
    assert.equal(lines.length, 2, lines.join("\n"));
    assert.equal(lines.filter((l) => /"capped_total" reached its series cap/.test(l)).length, 1);
    assert.equal(
      lines.filter((l) => /cannot create metrics_series_overflow_total/.test(l)).length,
      1,
    );
    const text = await registry.metrics();
    assert.match(text, /capped_total\{u="__overflow__"\} 2/);
    assert.doesNotMatch(text, /metrics_series_overflow_total/);
  });
});
