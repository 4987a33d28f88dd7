import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_PERCENTILES, Summary } from "../../src/core/summary.ts";
import { Registry } from "../../src/core/registry.ts";
import { parseSamples, samplesNamed, valueOf } from "./_exposition.ts";
import { exactQuantile, mulberry32, normals, relativeError } from "./_random.ts";

async function scrape(registry: Registry) {
  return parseSamples(await registry.metrics());
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

/** A clock the test moves by hand, in milliseconds. */
function manualClock(start = 0) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

function assertWithin(estimate: number, exact: number, alpha: number, what: string): void {
  const err = relativeError(estimate, exact);
  assert.ok(err <= alpha + 1e-9, `${what}: estimate ${estimate} vs exact ${exact}, error ${err}`);
}

describe("Summary: basics", () => {
  it("exposes quantiles in increasing order, then _sum and _count", async () => {
    const registry = new Registry();
    const s = new Summary({
      name: "size_bytes",
      help: "Sizes",
      percentiles: [0.5, 0.9, 0.99],
      now: () => 0,
      registry,
    });
    for (let v = 1; v <= 100; v++) s.observe(v);
    const text = await registry.metrics();
    assert.match(text, /^# HELP size_bytes Sizes\n# TYPE size_bytes summary\n/);
    const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    assert.deepEqual(lines.map((l) => l.slice(0, l.lastIndexOf(" "))), [
      'size_bytes{quantile="0.5"}',
      'size_bytes{quantile="0.9"}',
      'size_bytes{quantile="0.99"}',
      "size_bytes_sum",
      "size_bytes_count",
    ]);
    const samples = parseSamples(text);
    // Ranks floor(q * 99) of 1..100: 49 -> 50, 89 -> 90, 98 -> 99.
    assertWithin(valueOf(samples, "size_bytes", { quantile: "0.5" }), 50, 0.01, "p50");
    assertWithin(valueOf(samples, "size_bytes", { quantile: "0.9" }), 90, 0.01, "p90");
    assertWithin(valueOf(samples, "size_bytes", { quantile: "0.99" }), 99, 0.01, "p99");
    assert.equal(valueOf(samples, "size_bytes_sum"), 5050);
    assert.equal(valueOf(samples, "size_bytes_count"), 100);
  });

  it("defaults to prom-client's percentiles", async () => {
    const registry = new Registry();
    const s = new Summary({ name: "s", help: "h", registry });
    assert.deepEqual(s.percentiles, [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999]);
    assert.deepEqual(DEFAULT_PERCENTILES, s.percentiles);
    assert.equal(s.maxAgeSeconds, 600);
    assert.equal(s.ageBuckets, 5);
    const qs = samplesNamed(await scrape(registry), "s").map((x) => x.labels.quantile);
    assert.deepEqual(qs, ["0.01", "0.05", "0.5", "0.9", "0.95", "0.99", "0.999"]);
  });

  it("with the real clock (no `now`), observations are seen at once", () => {
    const s = new Summary({ name: "s", help: "h", percentiles: [0.5], registry: new Registry() });
    s.observe(42);
    const got = s.get()!;
    assertWithin(got.quantiles[0], 42, 0.01, "p50");
    assert.equal(got.count, 1);
  });

  it("with no observation, quantiles are NaN and sum and count 0", async () => {
    const registry = new Registry();
    new Summary({ name: "s", help: "h", percentiles: [0.5, 0.9], registry });
    const text = await registry.metrics();
    assert.match(text, /^s\{quantile="0.5"\} NaN$/m);
    assert.match(text, /^s\{quantile="0.9"\} NaN$/m);
    const samples = parseSamples(text);
    assert.equal(valueOf(samples, "s_sum"), 0);
    assert.equal(valueOf(samples, "s_count"), 0);
  });

  it("percentiles: [] gives only _sum and _count", async () => {
    const registry = new Registry();
    const s = new Summary({ name: "s", help: "h", percentiles: [], labelNames: ["k"], registry });
    s.observe({ k: "a" }, 2);
    s.observe({ k: "a" }, 3);
    const samples = await scrape(registry);
    assert.deepEqual(samples.map((x) => x.name).sort(), ["s_count", "s_sum"]);
    assert.equal(valueOf(samples, "s_sum", { k: "a" }), 5);
    assert.equal(valueOf(samples, "s_count", { k: "a" }), 2);
    assert.deepEqual(s.get({ k: "a" }), { quantiles: [], sum: 5, count: 2 });
  });

  it("validates its options with RangeErrors naming the metric", () => {
    const bad: Record<string, unknown>[] = [
      { percentiles: [1.5] },
      { percentiles: [-0.1] },
      { percentiles: [NaN] },
      { percentiles: [0.9, 0.5] },
      { percentiles: [0.5, 0.5] },
      { maxAgeSeconds: 0 },
      { maxAgeSeconds: -1 },
      { maxAgeSeconds: Infinity },
      { ageBuckets: 0 },
      { ageBuckets: 1.5 },
      { relativeAccuracy: 0 },
      { relativeAccuracy: 1 },
      { maxBins: 8 },
      { maxBins: 100.5 },
    ];
    for (const extra of bad) {
      assert.throws(
        () => new Summary({ name: "my_summary", help: "h", registry: new Registry(), ...extra }),
        (e: unknown) => {
          assert.ok(e instanceof RangeError, JSON.stringify(extra));
          assert.match(e.message, /my_summary/);
          return true;
        },
      );
    }
    assert.throws(
      () =>
        new Summary({
          name: "s",
          help: "h",
          percentiles: "0.5" as unknown as number[],
          registry: new Registry(),
        }),
      TypeError,
    );
    assert.doesNotThrow(() =>
      new Summary({
        name: "s",
        help: "h",
        percentiles: [0, 1],
        ageBuckets: 1,
        registry: new Registry(),
      })
    );
  });

  it("rejects NaN with a RangeError, non-numbers with a TypeError, accepts infinities", async () => {
    const registry = new Registry();
    const s = new Summary({
      name: "s",
      help: "h",
      labelNames: ["k"],
      percentiles: [0.5],
      now: () => 0,
      registry,
    });
    const child = s.labels({ k: "c" });
    const nan = (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /"s"/);
      assert.match(e.message, /NaN/);
      return true;
    };
    assert.throws(() => s.observe({ k: "nan" }, NaN), nan);
    assert.throws(() => child.observe(NaN), nan);
    assert.throws(() => s.observe({ k: "str" }, "1" as unknown as number), TypeError);
    assert.throws(() => child.observe(undefined as unknown as number), TypeError);
    assert.throws(() => s.observe(1), TypeError); // labels are required
    s.observe({ k: "inf" }, Infinity);
    s.observe({ k: "inf" }, -Infinity);
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "s_count", { k: "c" }), 0);
    assert.equal(valueOf(samples, "s_count", { k: "inf" }), 2);
    assert.ok(Number.isNaN(valueOf(samples, "s_sum", { k: "inf" })));
    // A rejected call creates no series.
    assert.deepEqual(
      samplesNamed(samples, "s_count").map((x) => x.labels.k).sort(),
      ["c", "inf"],
    );
  });
});

describe("Summary: infinities", () => {
  it("one Infinity observation does not spoil the other quantiles", async () => {
    const registry = new Registry();
    const s = new Summary({
      name: "s",
      help: "h",
      percentiles: [0.5, 0.9, 1],
      now: () => 0,
      registry,
    });
    for (let v = 1; v <= 99; v++) s.observe(v);
    s.observe(Infinity);
    // sorted: 1..99, +Inf; ranks floor(q * 99): 49 -> 50, 89 -> 90, 99 -> +Inf.
    const samples = await scrape(registry);
    assertWithin(valueOf(samples, "s", { quantile: "0.5" }), 50, 0.01, "p50");
    assertWithin(valueOf(samples, "s", { quantile: "0.9" }), 90, 0.01, "p90");
    assert.equal(valueOf(samples, "s", { quantile: "1" }), Infinity);
    assert.equal(valueOf(samples, "s_sum"), Infinity);
  });
});

describe("Summary: sliding window", () => {
  it("observations drop out of the quantiles as the window slides; sum and count do not", async () => {
    const registry = new Registry();
    const clock = manualClock();
    const s = new Summary({
      name: "s",
      help: "h",
      percentiles: [0, 1],
      maxAgeSeconds: 60,
      ageBuckets: 3, // the window slides in 20 s steps
      now: clock.now,
      registry,
    });
    s.observe(1000);
    clock.t = 39_999;
    let q = s.get()!.quantiles;
    assertWithin(q[0], 1000, 0.01, "t=40s min");
    clock.t = 40_000;
    s.observe(5);
    clock.t = 59_999;
    q = s.get()!.quantiles;
    assertWithin(q[0], 5, 0.01, "t=60s min");
    assertWithin(q[1], 1000, 0.01, "t=60s max");
    clock.t = 60_000; // the observation at t=0 is now 60 s old: out
    q = s.get()!.quantiles;
    assertWithin(q[0], 5, 0.01, "t=60s min");
    assertWithin(q[1], 5, 0.01, "t=60s max");
    clock.t = 100_000; // and so is the one at t=40s
    assert.ok(s.get()!.quantiles.every(Number.isNaN));
    const samples = await scrape(registry);
    assert.ok(Number.isNaN(valueOf(samples, "s", { quantile: "0" })));
    assert.ok(Number.isNaN(valueOf(samples, "s", { quantile: "1" })));
    assert.equal(valueOf(samples, "s_sum"), 1005);
    assert.equal(valueOf(samples, "s_count"), 2);
    // New observations fill the window again.
    s.observe(7);
    assertWithin(s.get()!.quantiles[1], 7, 0.01, "after refill");
    assert.equal(s.get()!.count, 3);
  });

  it("at every moment, nothing older than maxAgeSeconds is in the window", () => {
    const maxAge = 60_000;
    for (const ageBuckets of [1, 4, 5]) {
      const period = maxAge / ageBuckets;
      const clock = manualClock(1_000_000);
      const s = new Summary({
        name: "s",
        help: "h",
        percentiles: [0, 1],
        maxAgeSeconds: maxAge / 1000,
        ageBuckets,
        relativeAccuracy: 0.001, // ids up to 100 are told apart exactly
        maxBins: 4096, // and none is collapsed
        now: clock.now,
        registry: new Registry(),
      });
      const times: number[] = []; // times[id - 1] = when observation `id` was made
      const random = mulberry32(ageBuckets);
      const end = clock.t + 400_000;
      let next = clock.t;
      for (let t = clock.t; t <= end; t += 250) {
        clock.t = t;
        if (t >= next && times.length < 100) {
          times.push(t);
          s.observe(times.length);
          next = t + Math.floor(random() * 9000);
        }
        const [q0, q1] = s.get()!.quantiles;
        const inWindow = times.filter((o) => t - o <= maxAge - period).length > 0;
        if (Number.isNaN(q0)) {
          assert.ok(!inWindow, `t=${t}: an observation at most maxAge - period old was dropped`);
          continue;
        }
        const oldest = Math.round(q0);
        const newest = Math.round(q1);
        assert.equal(newest, times.length, `t=${t}: newest`);
        assert.ok(t - times[oldest - 1] < maxAge, `t=${t}: id ${oldest} is too old`);
        if (oldest > 1) {
          assert.ok(
            t - times[oldest - 2] > maxAge - period,
            `t=${t}: id ${oldest - 1} dropped too early (ageBuckets ${ageBuckets})`,
          );
        }
      }
    }
  });

  it("each series has its own window", () => {
    const clock = manualClock();
    const s = new Summary({
      name: "s",
      help: "h",
      labelNames: ["k"],
      percentiles: [0.5],
      maxAgeSeconds: 10,
      ageBuckets: 2,
      now: clock.now,
      registry: new Registry(),
    });
    s.observe({ k: "a" }, 1);
    clock.t = 6_000;
    s.observe({ k: "b" }, 2);
    clock.t = 10_000;
    assert.ok(Number.isNaN(s.get({ k: "a" })!.quantiles[0]));
    assertWithin(s.get({ k: "b" })!.quantiles[0], 2, 0.01, "b");
  });
});

describe("Summary: accuracy", () => {
  const n = 100_000;
  const qs = [0.5, 0.9, 0.99, 0.999];
  const distributions: Record<string, (u: () => number, z: () => number) => number> = {
    lognormal: (_u, z) => Math.exp(3 + 1.5 * z()),
    pareto: (u) => 1 / Math.pow(1 - u(), 1 / 1.5), // x_m = 1, shape 1.5: heavy tail
    bimodal: (u, z) => (u() < 0.6 ? 50 + 5 * z() : 500 + 40 * z()),
  };

  for (const [name, draw] of Object.entries(distributions)) {
    it(`${name}: p50, p90, p99, p99.9 within 1% of the exact quantiles (100,000 samples)`, () => {
      const uniform = mulberry32(0x5eed + name.length);
      const z = normals(uniform);
      const s = new Summary({
        name: "s",
        help: "h",
        percentiles: qs,
        now: () => 0,
        registry: new Registry(),
      });
      const values = new Float64Array(n);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const v = draw(uniform, z);
        values[i] = v;
        sum += v;
        s.observe(v);
      }
      const sorted = values.slice().sort();
      const got = s.get()!;
      qs.forEach((q, j) => {
        assertWithin(got.quantiles[j], exactQuantile(sorted, q), 0.01, `${name} p${q * 100}`);
      });
      assert.equal(got.count, n);
      assert.equal(got.sum, sum);
    });
  }

  it("relativeAccuracy sets the error bound", () => {
    const uniform = mulberry32(99);
    const z = normals(uniform);
    const s = new Summary({
      name: "s",
      help: "h",
      percentiles: qs,
      relativeAccuracy: 0.001,
      maxBins: 16_384, // at 0.1%, 2,048 bins span only 1.8 orders of magnitude
      now: () => 0,
      registry: new Registry(),
    });
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = Math.exp(2 * z());
      values.push(v);
      s.observe(v);
    }
    values.sort((a, b) => a - b);
    const got = s.get()!;
    qs.forEach((q, j) => assertWithin(got.quantiles[j], exactQuantile(values, q), 0.001, `p${q}`));
  });

  it("maxBins bounds memory without hurting high quantiles", () => {
    const uniform = mulberry32(3);
    const s = new Summary({
      name: "s",
      help: "h",
      percentiles: [0.99, 0.999, 1],
      maxBins: 64,
      now: () => 0,
      registry: new Registry(),
    });
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = Math.pow(10, uniform() * 40 - 20); // 40 orders of magnitude
      values.push(v);
      s.observe(v);
    }
    values.sort((a, b) => a - b);
    // 64 bins of 2% cover a factor of about 3.5 below the maximum: p99 and up are in it.
    const got = s.get()!.quantiles;
    assertWithin(got[0], exactQuantile(values, 0.99), 0.01, "p99");
    assertWithin(got[1], exactQuantile(values, 0.999), 0.01, "p99.9");
    assertWithin(got[2], values[values.length - 1], 0.01, "max");
  });
});

describe("Summary: labels, timers, remove, reset", () => {
  it("one-off observe(labels, v) and cached children share the series", async () => {
    const registry = new Registry();
    const s = new Summary({
      name: "s",
      help: "h",
      labelNames: ["model"],
      percentiles: [0.5],
      now: () => 0,
      registry,
    });
    const child = s.labels({ model: "m" });
    assert.equal(s.labels({ model: "m" }), child);
    child.observe(2);
    s.observe({ model: "m" }, 4);
    s.observe({ model: "n" }, 8);
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "s_sum", { model: "m" }), 6);
    assert.equal(valueOf(samples, "s_count", { model: "m" }), 2);
    assert.equal(valueOf(samples, "s_count", { model: "n" }), 1);
    assert.throws(() => s.observe({ modle: "m" } as never, 1), /"s".*"modle"/);
  });

  it("startTimer() observes elapsed seconds once; `using` works; labels may be split", () => {
    const s = new Summary({
      name: "s",
      help: "h",
      labelNames: ["a", "b"],
      percentiles: [0.5],
      now: () => 0,
      registry: new Registry(),
    });
    const t0 = performance.now();
    const end = s.startTimer({ a: "1" });
    const a = performance.now();
    busyWait(5);
    const b = performance.now();
    const seconds = end({ b: "2" });
    const t1 = performance.now();
    assert.ok(seconds * 1000 >= b - a && seconds * 1000 <= t1 - t0, String(seconds));
    end({ b: "2" });
    assert.deepEqual(s.get({ a: "1", b: "2" })!.count, 1);
    assert.equal(s.get({ a: "1", b: "2" })!.sum, seconds);
    {
      using _t = s.labels({ a: "x", b: "y" }).startTimer();
    }
    {
      using stop = s.startTimer({ a: "x", b: "y" });
      stop();
    }
    assert.equal(s.get({ a: "x", b: "y" })!.count, 2);
  });

  it("remove and reset drop series; a held child keeps working from empty", async () => {
    const registry = new Registry();
    const s = new Summary({
      name: "s",
      help: "h",
      labelNames: ["k"],
      percentiles: [0.5],
      now: () => 0,
      registry,
    });
    const u = new Summary({ name: "u", help: "h", percentiles: [0.5], now: () => 0, registry });
    const held = s.labels({ k: "a" });
    held.observe(100);
    s.observe({ k: "b" }, 1);
    u.observe(3);
    assert.equal(s.remove({ k: "a" }), true);
    assert.equal(s.remove({ k: "a" }), false);
    assert.equal(s.get({ k: "a" }), undefined);
    held.observe(7);
    let samples = await scrape(registry);
    assert.equal(valueOf(samples, "s_sum", { k: "a" }), 7);
    assertWithin(valueOf(samples, "s", { k: "a", quantile: "0.5" }), 7, 0.01, "revived p50");
    s.reset();
    u.reset();
    samples = await scrape(registry);
    assert.deepEqual(samplesNamed(samples, "s_count"), []);
    assert.equal(valueOf(samples, "u_count"), 0);
    assert.ok(Number.isNaN(valueOf(samples, "u", { quantile: "0.5" })));
    held.observe(9);
    assert.equal(s.get({ k: "a" })!.sum, 9);
    assert.equal(s.labels({ k: "a" }), held);
  });

  it("an old child and a new one for the same labels never write to another series", async () => {
    const registry = new Registry();
    const s = new Summary({
      name: "s",
      help: "h",
      labelNames: ["k"],
      percentiles: [],
      registry,
    });
    const old = s.labels({ k: "a" });
    s.remove({ k: "a" });
    const fresh = s.labels({ k: "a" });
    old.observe(1);
    fresh.observe(1);
    s.remove({ k: "a" });
    s.observe({ k: "b" }, 5);
    old.observe(1);
    fresh.observe(1);
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "s_count", { k: "b" }), 1);
    assert.equal(valueOf(samples, "s_count", { k: "a" }), 2);
  });

  it("every series keeps its state while the storage grows", () => {
    const s = new Summary({
      name: "s",
      help: "h",
      labelNames: ["k"],
      percentiles: [0.5],
      now: () => 0,
      registry: new Registry(),
    });
    for (let i = 1; i <= 300; i++) s.observe({ k: i }, i);
    for (let i = 1; i <= 300; i++) {
      const got = s.get({ k: i })!;
      assert.equal(got.sum, i);
      assertWithin(got.quantiles[0], i, 0.01, `k=${i}`);
    }
  });
});
