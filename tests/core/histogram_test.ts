import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Histogram } from "../../src/core/histogram.ts";
import { DEFAULT_BUCKETS, exponentialBuckets, linearBuckets } from "../../src/core/buckets.ts";
import { Registry } from "../../src/core/registry.ts";
import { parseSamples, samplesNamed, valueOf } from "./_exposition.ts";
import { mulberry32 } from "./_random.ts";

async function scrape(registry: Registry) {
  return parseSamples(await registry.metrics());
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

/** Bucket counts by `le` string, for one label set, from parsed output. */
function bucketsOf(
  samples: ReturnType<typeof parseSamples>,
  name: string,
  labels: Record<string, string> = {},
): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samplesNamed(samples, name + "_bucket")) {
    const { le, ...rest } = s.labels;
    if (
      JSON.stringify(Object.entries(rest).sort()) !== JSON.stringify(Object.entries(labels).sort())
    ) {
      continue;
    }
    out.set(le, s.value);
  }
  return out;
}

describe("Histogram: buckets", () => {
  it("defaults to Prometheus' default buckets, .005 to 10, plus +Inf", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "lat_seconds", help: "h", registry });
    assert.deepEqual(h.buckets, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    assert.deepEqual(h.buckets, DEFAULT_BUCKETS);
    const les = [...bucketsOf(await scrape(registry), "lat_seconds").keys()];
    assert.deepEqual(les, [
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "10",
      "+Inf",
    ]);
  });

  it("validates buckets at construction: sorted, finite, unique", () => {
    const registry = new Registry();
    const make = (buckets: number[]) => () =>
      new Histogram({ name: "h", help: "h", buckets, registry: new Registry() });
    assert.throws(make([1, 0.5]), RangeError);
    assert.throws(make([1, 1]), RangeError);
    assert.throws(make([1, NaN]), RangeError);
    assert.throws(make([-Infinity, 1]), RangeError);
    assert.throws(make([1, Infinity, 2]), RangeError);
    assert.throws(make([0.1, 1, 0.5]), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /"h"/);
      return true;
    });
    assert.equal(registry.getAll().length, 0);
  });

  it("drops a trailing +Inf, which is always there anyway", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", buckets: [1, 2, Infinity], registry });
    assert.deepEqual(h.buckets, [1, 2]);
    assert.deepEqual([...bucketsOf(await scrape(registry), "h").keys()], ["1", "2", "+Inf"]);
  });

  it("buckets: [] gives only the +Inf bucket", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", buckets: [], registry });
    h.observe(3);
    h.observe(-3);
    const samples = await scrape(registry);
    assert.deepEqual([...bucketsOf(samples, "h")], [["+Inf", 2]]);
    assert.equal(valueOf(samples, "h_sum"), 0);
    assert.equal(valueOf(samples, "h_count"), 2);
  });

  it("linearBuckets and exponentialBuckets plug in, with Go-style le spelling", async () => {
    const registry = new Registry();
    new Histogram({ name: "lin", help: "h", buckets: linearBuckets(1, 1, 3), registry });
    new Histogram({
      name: "exp",
      help: "h",
      buckets: exponentialBuckets(0.00001, 10, 3),
      registry,
    });
    const samples = await scrape(registry);
    assert.deepEqual([...bucketsOf(samples, "lin").keys()], ["1", "2", "3", "+Inf"]);
    assert.deepEqual([...bucketsOf(samples, "exp").keys()], ["1e-05", "0.0001", "0.001", "+Inf"]);
  });
});

describe("Histogram: observations", () => {
  it("le is inclusive: an observation equal to a bound lands in that bucket", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", buckets: [0.5, 1, 2], registry });
    h.observe(1);
    h.observe(0.5);
    h.observe(2);
    const b = bucketsOf(await scrape(registry), "h");
    assert.deepEqual([...b], [["0.5", 1], ["1", 2], ["2", 3], ["+Inf", 3]]);
  });

  it("counts are cumulative, +Inf equals count, and the sum is exact", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", buckets: [1, 5, 10], registry });
    // Values exactly representable in binary, so their sum is exact.
    const values = [0.25, 0.5, 1, 3, 5, 7.75, 10, 12, 1000, -2];
    for (const v of values) h.observe(v);
    const samples = await scrape(registry);
    const b = bucketsOf(samples, "h");
    assert.deepEqual([...b], [["1", 4], ["5", 6], ["10", 8], ["+Inf", 10]]);
    assert.equal(valueOf(samples, "h_count"), values.length);
    assert.equal(valueOf(samples, "h_sum"), 1037.5);
    assert.deepEqual(h.get(), { buckets: [4, 6, 8, 10], sum: 1037.5, count: 10 });
  });

  it("bucket counts match a naive count, with few and with many (binary search) buckets", () => {
    for (const bounds of [[0.1, 0.3, 0.7], linearBuckets(0, 0.03125, 40)]) {
      const h = new Histogram({ name: "h", help: "h", buckets: bounds, registry: new Registry() });
      const random = mulberry32(7);
      const values: number[] = [];
      for (let i = 0; i < 5000; i++) {
        // Half the draws sit exactly on a bound, to exercise the inclusive edge.
        const v = i % 2 === 0 ? bounds[Math.floor(random() * bounds.length)] : random() * 1.5 - 0.2;
        values.push(v);
        h.observe(v);
      }
      const expected = [...bounds, Infinity].map((b) => values.filter((v) => v <= b).length);
      const got = h.get()!;
      assert.deepEqual(got.buckets, expected);
      assert.equal(got.count, values.length);
    }
  });

  it("accepts +Inf and -Inf, rejects NaN with a RangeError and non-numbers with a TypeError", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", labelNames: ["k"], buckets: [1], registry });
    h.observe({ k: "inf" }, Infinity);
    h.observe({ k: "ninf" }, -Infinity);
    const child = h.labels({ k: "c" });
    const check = (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /"h"/);
      assert.match(e.message, /NaN/);
      return true;
    };
    assert.throws(() => h.observe({ k: "nan" }, NaN), check);
    assert.throws(() => child.observe(NaN), check);
    assert.throws(() => h.observe({ k: "str" }, "1" as unknown as number), TypeError);
    assert.throws(() => h.observe({ k: "undef" } as never), TypeError);
    assert.throws(() => child.observe("1" as unknown as number), TypeError);
    const samples = await scrape(registry);
    assert.deepEqual([...bucketsOf(samples, "h", { k: "inf" })], [["1", 0], ["+Inf", 1]]);
    assert.deepEqual([...bucketsOf(samples, "h", { k: "ninf" })], [["1", 1], ["+Inf", 1]]);
    assert.equal(valueOf(samples, "h_sum", { k: "inf" }), Infinity);
    assert.equal(valueOf(samples, "h_count", { k: "c" }), 0);
    // A rejected call creates no series.
    for (const k of ["nan", "str", "undef"]) {
      assert.equal(samplesNamed(samples, "h_count").filter((s) => s.labels.k === k).length, 0, k);
    }
  });

  it("an unlabelled histogram is exposed at once, empty", async () => {
    const registry = new Registry();
    new Histogram({ name: "h", help: "h", buckets: [1], registry });
    const samples = await scrape(registry);
    assert.deepEqual([...bucketsOf(samples, "h")], [["1", 0], ["+Inf", 0]]);
    assert.equal(valueOf(samples, "h_sum"), 0);
    assert.equal(valueOf(samples, "h_count"), 0);
  });
});

describe("Histogram: labels", () => {
  it("one-off observe(labels, v) and cached children share the series", async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: "req_seconds",
      help: "h",
      labelNames: ["model", "endpoint"],
      buckets: [0.1, 1],
      registry,
    });
    h.observe({ model: "m", endpoint: "chat" }, 0.5);
    const child = h.labels({ endpoint: "chat", model: "m" });
    assert.equal(h.labels({ model: "m", endpoint: "chat" }), child);
    child.observe(0.05);
    child.observe(3);
    h.observe({ model: "m", endpoint: "embed" }, 0.5);
    const samples = await scrape(registry);
    assert.deepEqual([...bucketsOf(samples, "req_seconds", { model: "m", endpoint: "chat" })], [
      ["0.1", 1],
      ["1", 2],
      ["+Inf", 3],
    ]);
    assert.equal(valueOf(samples, "req_seconds_sum", { model: "m", endpoint: "chat" }), 3.55);
    assert.equal(valueOf(samples, "req_seconds_count", { model: "m", endpoint: "embed" }), 1);
    assert.equal(samplesNamed(samples, "req_seconds_count").length, 2);
  });

  it("a missing or unknown label throws a TypeError naming the metric and the label", () => {
    const h = new Histogram({
      name: "h",
      help: "h",
      labelNames: ["model"],
      registry: new Registry(),
    });
    assert.throws(() => h.observe({} as never, 1), /"h".*"model"/);
    assert.throws(() => h.observe({ model: "m", x: "y" } as never, 1), /"h".*"x"/);
    assert.throws(() => h.observe(1), TypeError);
    assert.throws(() => h.labels({ x: "y" } as never), TypeError);
  });

  it("every series keeps its observations while the storage grows", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", labelNames: ["k"], buckets: [10], registry });
    for (let i = 0; i < 300; i++) h.observe({ k: i }, i);
    const samples = await scrape(registry);
    for (let i = 0; i < 300; i++) {
      assert.equal(valueOf(samples, "h_sum", { k: String(i) }), i);
      assert.equal(valueOf(samples, "h_count", { k: String(i) }), 1);
    }
  });
});

describe("Histogram: timers", () => {
  it("startTimer() observes the elapsed seconds once", () => {
    const h = new Histogram({ name: "h", help: "h", registry: new Registry() });
    const t0 = performance.now();
    const end = h.startTimer();
    const a = performance.now();
    busyWait(5);
    const b = performance.now();
    const seconds = end();
    const t1 = performance.now();
    assert.ok(seconds * 1000 >= b - a && seconds * 1000 <= t1 - t0, String(seconds));
    assert.equal(end(), seconds);
    assert.deepEqual(h.get(), {
      buckets: DEFAULT_BUCKETS.map((bound) => (seconds <= bound ? 1 : 0)).concat(1),
      sum: seconds,
      count: 1,
    });
  });

  it("works with `using` and records only once, also for a child", () => {
    const h = new Histogram({ name: "h", help: "h", labelNames: ["op"], registry: new Registry() });
    {
      using _t = h.startTimer({ op: "a" });
    }
    {
      using end = h.labels({ op: "b" }).startTimer();
      end();
    }
    {
      using _t = h.labels({ op: "c" }).startTimer();
    }
    assert.equal(h.get({ op: "a" })!.count, 1);
    assert.equal(h.get({ op: "b" })!.count, 1);
    assert.equal(h.get({ op: "c" })!.count, 1);
  });

  it("labels can be split between start and stop", () => {
    const h = new Histogram({
      name: "h",
      help: "h",
      labelNames: ["a", "b"],
      registry: new Registry(),
    });
    h.startTimer({ a: "1" })({ b: "2" });
    h.startTimer()({ a: "3", b: "4" });
    assert.equal(h.get({ a: "1", b: "2" })!.count, 1);
    assert.equal(h.get({ a: "3", b: "4" })!.count, 1);
  });
});

describe("Histogram: remove and reset", () => {
  it("remove(labels) and reset() drop series; an unlabelled one goes back to empty", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", labelNames: ["k"], buckets: [1], registry });
    const u = new Histogram({ name: "u", help: "h", buckets: [1], registry });
    h.observe({ k: "a" }, 1);
    h.observe({ k: "b" }, 1);
    u.observe(0.5);
    assert.equal(h.remove({ k: "a" }), true);
    assert.equal(h.remove({ k: "a" }), false);
    assert.equal(h.get({ k: "a" }), undefined);
    let samples = await scrape(registry);
    assert.equal(samplesNamed(samples, "h_count").length, 1);
    h.reset();
    u.reset();
    samples = await scrape(registry);
    assert.deepEqual(samplesNamed(samples, "h_count"), []);
    assert.equal(valueOf(samples, "u_count"), 0);
    assert.equal(valueOf(samples, "u_sum"), 0);
  });

  it("a child held across remove and reset keeps working, starting empty", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", labelNames: ["k"], buckets: [1], registry });
    const held = h.labels({ k: "a" });
    held.observe(0.5);
    h.remove({ k: "a" });
    held.observe(2);
    let samples = await scrape(registry);
    assert.deepEqual([...bucketsOf(samples, "h", { k: "a" })], [["1", 0], ["+Inf", 1]]);
    h.reset();
    held.observe(0.25);
    samples = await scrape(registry);
    assert.equal(valueOf(samples, "h_sum", { k: "a" }), 0.25);
    assert.equal(h.labels({ k: "a" }), held);
  });

  it("a child revived after the storage grew writes to the live storage", () => {
    const h = new Histogram({
      name: "h",
      help: "h",
      labelNames: ["k"],
      buckets: [1],
      registry: new Registry(),
    });
    const held = h.labels({ k: "held" });
    h.remove({ k: "held" });
    for (let i = 0; i < 100; i++) h.observe({ k: `o${i}` }, 1);
    held.observe(1);
    held.observe(1);
    assert.equal(h.get({ k: "held" })!.count, 2);
  });

  it("an old child and a new one for the same labels never write to another series", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "h", help: "h", labelNames: ["k"], buckets: [1], registry });
    const old = h.labels({ k: "a" });
    h.remove({ k: "a" });
    const fresh = h.labels({ k: "a" });
    old.observe(1); // the series exists, owned by `fresh`
    fresh.observe(1);
    h.remove({ k: "a" });
    h.observe({ k: "b" }, 5); // may take the freed id
    old.observe(1);
    fresh.observe(1);
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "h_count", { k: "b" }), 1);
    assert.equal(valueOf(samples, "h_sum", { k: "b" }), 5);
    assert.equal(valueOf(samples, "h_count", { k: "a" }), 2);
  });
});

describe("Histogram: collect", () => {
  it("returns cumulative bucket values, sums, counts and the bounds", () => {
    const h = new Histogram({
      name: "h",
      help: "h",
      labelNames: ["k"],
      buckets: [1, 2],
      registry: new Registry(),
    });
    h.observe({ k: "x" }, 1.5);
    h.observe({ k: "x" }, 0.5);
    const f = h.collect();
    assert.equal(f.type, "histogram");
    assert.deepEqual(f.bounds, [1, 2]);
    assert.deepEqual(Array.from(f.values), [1, 2, 2]);
    assert.deepEqual(Array.from(f.sums!), [2]);
    assert.deepEqual(Array.from(f.counts!), [2]);
    assert.deepEqual(Array.from(f.labelValues), ["x"]);
  });
});
