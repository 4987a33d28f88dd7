import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/mod.ts";
import { checkOptionKeys, closestKey } from "../../src/core/options.ts";

describe("unknown option keys", () => {
  it("prom-client's registers: [r] is refused, pointing at registry", () => {
    const r = new Registry();
    assert.throws(
      () => new Counter({ name: "a_total", help: "h", registers: [r] } as never),
      (e: Error) =>
        e instanceof TypeError &&
        /^Counter "a_total": unknown option "registers" \(did you mean "registry"\?\)/.test(
          e.message,
        ),
    );
    assert.equal(r.getAll().length, 0, "nothing registered anywhere");
  });

  it("each type names itself and its own options; typos get the closest key", () => {
    const registry = new Registry();
    assert.throws(
      () => new Histogram({ name: "h", help: "h", bucket: [1], registry } as never),
      /Histogram "h": unknown option "bucket" \(did you mean "buckets"\?\)/,
    );
    assert.throws(
      () => new Summary({ name: "s", help: "h", maxAgeSecond: 60, registry } as never),
      /Summary "s": unknown option "maxAgeSecond" \(did you mean "maxAgeSeconds"\?\)/,
    );
    assert.throws(
      () => new Gauge({ name: "g", help: "h", agregate: "max", registry } as never),
      /Gauge "g": unknown option "agregate" \(did you mean "aggregate"\?\)/,
    );
    assert.throws(
      () => new Counter({ name: "c_total", help: "h", zzz: 1, registry } as never),
      (e: Error) => !e.message.includes("did you mean") && e.message.includes("known options"),
    );
    // Every documented option is accepted.
    new Summary({
      name: "s2",
      help: "h",
      percentiles: [0.5],
      maxAgeSeconds: 60,
      ageBuckets: 2,
      relativeAccuracy: 0.02,
      maxBins: 64,
      now: Date.now,
      unit: "",
      labelNames: [],
      maxSeries: 5,
      registry,
    });
    new Gauge({ name: "g2", help: "h", collect: () => {}, aggregate: "max", registry });
  });

  it("checkOptionKeys and closestKey on their own", () => {
    assert.doesNotThrow(() => checkOptionKeys("x", { a: 1 }, ["a", "b"]));
    assert.throws(
      () => checkOptionKeys("x", { c: 1 }, ["a", "b"]),
      /^TypeError: x: unknown option "c"/,
    );
    assert.equal(closestKey("registers", ["registry", "help"]), "registry");
    assert.equal(closestKey("labelnames", ["labelNames"]), "labelNames");
    assert.equal(closestKey("completely_different", ["name", "help"]), undefined);
  });
});
