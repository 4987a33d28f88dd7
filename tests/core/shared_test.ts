// Shared storage, exercised inside one isolate: two registries stand for two
// workers; each shares its metrics and attaches the other's, as the cluster
// module does across `deno serve --parallel` workers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/mod.ts";
import { attachSegment, shareCollector } from "../../src/core/collector.ts";
import { getLocalWorker } from "../../src/core/merge.ts";

/** Shares every metric of `a` (as worker "a") and `b` (as "b") and attaches each to the other. */
function link(a: Registry, b: Registry): void {
  for (const mine of a.getAll()) {
    const other = b.get(mine.name)!;
    assert.ok(attachSegment(other, shareCollector(mine, "a")!));
    assert.ok(attachSegment(mine, shareCollector(other, "b")!));
  }
}

describe("shared storage merges workers at collect", () => {
  it("counters: sums per label set, including sets only one worker has", async () => {
    const a = new Registry();
    const b = new Registry();
    const ca = new Counter({ name: "req_total", help: "r", labelNames: ["route"], registry: a });
    const cb = new Counter({ name: "req_total", help: "r", labelNames: ["route"], registry: b });
    ca.inc({ route: "/x" }, 2); // before sharing: must survive the move to shared memory
    link(a, b);
    const child = ca.labels({ route: "/x" });
    child.inc(3);
    cb.inc({ route: "/x" }, 10);
    cb.inc({ route: "/only-b" });
    for (let i = 0; i < 100; i++) cb.inc({ route: `/grow${i}` }); // b's storage grows after sharing
    child.inc(); // a's child still writes into the shared array
    for (const r of [a, b]) {
      const text = await r.metrics();
      assert.match(text, /^req_total\{route="\/x"\} 16$/m);
      assert.match(text, /^req_total\{route="\/only-b"\} 1$/m);
      assert.match(text, /^req_total\{route="\/grow99"\} 1$/m);
      assert.equal(text.match(/^req_total\{/gm)!.length, 102);
    }
  });

  it("histograms: bucket counts and sums add up", async () => {
    const a = new Registry();
    const b = new Registry();
    const ha = new Histogram({ name: "lat_seconds", help: "l", buckets: [0.1, 1], registry: a });
    const hb = new Histogram({ name: "lat_seconds", help: "l", buckets: [0.1, 1], registry: b });
    link(a, b);
    ha.observe(0.05);
    hb.observe(0.5);
    hb.observe(5);
    const text = await a.metrics();
    assert.match(text, /^lat_seconds_bucket\{le="0.1"\} 1$/m);
    assert.match(text, /^lat_seconds_bucket\{le="1"\} 2$/m);
    assert.match(text, /^lat_seconds_bucket\{le="\+Inf"\} 3$/m);
    assert.match(text, /^lat_seconds_sum 5.55$/m);
    assert.match(text, /^lat_seconds_count 3$/m);
  });

  it("summaries: quantiles come from merged sketches, not averaged quantiles", async () => {
    let now = 1_000_000;
    const opts = { name: "size_bytes", help: "s", percentiles: [0.5, 0.99], now: () => now };
    const a = new Registry();
    const b = new Registry();
    const single = new Registry();
    const sa = new Summary({ ...opts, registry: a });
    const sb = new Summary({ ...opts, registry: b });
    const s1 = new Summary({ ...opts, registry: single });
    for (let i = 1; i <= 500; i++) sa.observe(i); // before sharing: moved into the shared layout
    link(a, b);
    for (let i = 501; i <= 1000; i++) sb.observe(i * 10);
    for (let i = 1; i <= 500; i++) s1.observe(i);
    for (let i = 501; i <= 1000; i++) s1.observe(i * 10);
    const merged = sa.get()!;
    const alone = s1.get()!;
    assert.equal(merged.count, 1000);
    assert.equal(merged.sum, alone.sum);
    // Averaging the two workers' medians (250 and 7500) would give ~3875.
    const text = await a.metrics();
    const p50 = Number(text.match(/^size_bytes\{quantile="0.5"\} (\S+)$/m)![1]);
    const p99 = Number(text.match(/^size_bytes\{quantile="0.99"\} (\S+)$/m)![1]);
    assert.ok(Math.abs(p50 - alone.quantiles[0]) / alone.quantiles[0] <= 0.02, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - alone.quantiles[1]) / alone.quantiles[1] <= 0.02, `p99 ${p99}`);
    now += 11 * 60_000; // past the window: quantiles empty, totals kept
    const later = await a.metrics();
    assert.match(later, /^size_bytes\{quantile="0.5"\} NaN$/m);
    assert.match(later, /^size_bytes_count 1000$/m);
  });

  it("gauges: each aggregation mode", async () => {
    const modes = ["sum", "max", "min", "last", "worker"] as const;
    const a = new Registry();
    const b = new Registry();
    const ga = modes.map((m) => new Gauge({ name: `g_${m}`, help: m, aggregate: m, registry: a }));
    const gb = modes.map((m) => new Gauge({ name: `g_${m}`, help: m, aggregate: m, registry: b }));
    link(a, b);
    ga.forEach((g) => g.set(3));
    await new Promise((r) => setTimeout(r, 2)); // "last" orders writes by their time
    gb.forEach((g) => g.set(5));
    const text = await a.metrics();
    assert.match(text, /^g_sum 8$/m);
    assert.match(text, /^g_max 5$/m);
    assert.match(text, /^g_min 3$/m);
    assert.match(text, /^g_last 5$/m);
    assert.match(text, new RegExp(`^g_worker\\{worker="${getLocalWorker()}"\\} 3$`, "m"));
    assert.match(text, /^g_worker\{worker="b"\} 5$/m);
    assert.equal(ga[0].get(), 8, "get() reports the cluster-wide value");
  });

  it("the registry's own counters merge across workers like any counter", async () => {
    const a = new Registry();
    const b = new Registry();
    const ca = new Counter({
      name: "u_total",
      help: "u",
      labelNames: ["u"],
      maxSeries: 1,
      registry: a,
    });
    const cb = new Counter({
      name: "u_total",
      help: "u",
      labelNames: ["u"],
      maxSeries: 1,
      registry: b,
    });
    for (let i = 0; i < 3; i++) ca.inc({ u: `a${i}` }); // 2 folded in worker a
    for (let i = 0; i < 5; i++) cb.inc({ u: `b${i}` }); // 4 folded in worker b
    link(a, b);
    for (const registry of [a, b]) {
      const text = await registry.metrics();
      assert.match(text, /^metrics_series_overflow_total\{metric="u_total"\} 6$/m);
      // The merged scrape is capped too: of a0 and b0, one keeps its series.
      assert.match(text, /^u_total\{u="[ab]0"\} 1$/m);
      assert.match(text, /^u_total\{u="__overflow__"\} 7$/m);
      assert.equal(text.match(/^u_total\{/gm)!.length, 2);
    }
  });

  it("a merged scrape holds at most maxSeries label sets a metric, plus the overflow series, whatever each worker holds", async () => {
    const a = new Registry();
    const b = new Registry();
    const make = (registry: Registry) => ({
      c: new Counter({ name: "c_total", help: "c", labelNames: ["k"], maxSeries: 3, registry }),
      h: new Histogram({
        name: "h_seconds",
        help: "h",
        labelNames: ["k"],
        buckets: [1],
        maxSeries: 3,
        registry,
      }),
      g: new Gauge({ name: "g", help: "g", labelNames: ["k"], maxSeries: 3, registry }),
      w: new Gauge({
        name: "w",
        help: "w",
        labelNames: ["k"],
        maxSeries: 3,
        aggregate: "worker",
        registry,
      }),
    });
    const ma = make(a);
    const mb = make(b);
    link(a, b);
    // Worker a: k0, k1; worker b: k1, k2, k3 (each under its own cap of 3).
    for (const [m, keys] of [[ma, ["k0", "k1"]], [mb, ["k1", "k2", "k3"]]] as const) {
      for (const k of keys) {
        m.c.inc({ k }, 10);
        m.h.observe({ k }, 0.5);
        m.g.set({ k }, 2);
        m.w.set({ k }, 1);
      }
    }
    for (const registry of [a, b]) {
      const text = await registry.metrics();
      // Workers in one order (by worker id; here both registries stand in
      // for the local worker, so which worker comes first depends on the
      // one scraping), each one's series in creation order: 3 label sets
      // keep their series, the 4th folds, and nothing is lost.
      const values = (name: string) =>
        [...text.matchAll(new RegExp(`^${name}\\{k="([^"]+)"\\} (\\S+)$`, "gm"))]
          .map(([, k, v]) => [k, Number(v)] as const);
      const counters = values("c_total");
      assert.equal(counters.length, 4);
      assert.deepEqual(counters.at(-1), ["__overflow__", 10]);
      assert.equal(counters.reduce((sum, [, v]) => sum + v, 0), 50);
      assert.ok(counters.some(([k, v]) => k === "k1" && v === 20), "k1 is kept: both have it");
      const counts = values("h_seconds_count");
      assert.equal(counts.length, 4);
      assert.equal(counts.reduce((sum, [, v]) => sum + v, 0), 5);
      assert.match(text, /^h_seconds_bucket\{k="__overflow__",le="1"\} 1$/m);
      const gauges = values("g");
      assert.equal(gauges.length, 4);
      assert.equal(gauges.reduce((sum, [, v]) => sum + v, 0), 10);
      // Per-worker series are each worker's own (the worker label): 2 + 3.
      assert.equal(text.match(/^w\{/gm)!.length, 5);
    }
    // Past the cap on a worker too: its own overflow series and the merge's are one.
    for (let i = 0; i < 5; i++) mb.c.inc({ k: `x${i}` });
    for (const registry of [a, b]) {
      const text = await registry.metrics();
      assert.match(text, /^c_total\{k="__overflow__"\} 15$/m);
      assert.equal(text.match(/^c_total\{/gm)!.length, 4);
    }
  });

  it("removed series disappear from every worker's scrape", async () => {
    const a = new Registry();
    const b = new Registry();
    const ca = new Counter({ name: "c_total", help: "c", labelNames: ["k"], registry: a });
    new Counter({ name: "c_total", help: "c", labelNames: ["k"], registry: b });
    link(a, b);
    ca.inc({ k: "gone" });
    ca.inc({ k: "kept" });
    assert.match(await b.metrics(), /c_total\{k="gone"\} 1/);
    ca.remove({ k: "gone" });
    const text = await b.metrics();
    assert.doesNotMatch(text, /gone/);
    assert.match(text, /c_total\{k="kept"\} 1/);
  });
});
