/**
 * A child held across the removal of its series, written while the metric is
 * at its series cap: each such write is folded into `__overflow__` and counted
 * in `metrics_series_overflow_total` (as a labelled call would be), and once a
 * removal makes room the next write re-creates the child's own series. The
 * child never stays bound to the overflow series.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter } from "../../src/core/counter.ts";
import { Gauge } from "../../src/core/gauge.ts";
import { Histogram } from "../../src/core/histogram.ts";
import { OVERFLOW_METRIC, Registry } from "../../src/core/registry.ts";
import { OVERFLOW_VALUE } from "../../src/core/series.ts";
import { Summary } from "../../src/core/summary.ts";
import type { MetricFamily } from "../../src/model/family.ts";
import { parseSamples, samplesNamed, valueOf } from "./_exposition.ts";

type Labels = { k: string };

/** One way of writing through a child, and how its writes add up in a scrape. */
interface Variant {
  name: string;
  /** Metric name; `sample` is the sample whose value the writes set. */
  metric: string;
  sample: string;
  /** `sum`: the sample is the sum of the values written; `last`: the last one. */
  adds: "sum" | "last";
  make(registry: Registry): {
    labels(l: Labels): unknown;
    write(child: never, v: number): void;
    writeLabelled(l: Labels, v: number): void;
    remove(l: Labels): boolean;
    collect(): MetricFamily;
  };
}

const opts = (name: string, registry: Registry) => ({
  name,
  help: "h",
  labelNames: ["k"] as const,
  maxSeries: 2,
  registry,
});

const counter =
  (write: (c: ReturnType<Counter["labels"]>, v: number) => void): Variant["make"] => (registry) => {
    const m = new Counter(opts("held_total", registry));
    return {
      labels: (l) => m.labels(l),
      write: write as never,
      writeLabelled: (l, v) => m.inc(l, v),
      remove: (l) => m.remove(l),
      collect: () => m.collect(),
    };
  };

const gauge = (
  write: (c: ReturnType<Gauge["labels"]>, v: number) => void,
  set = false,
): Variant["make"] =>
(registry) => {
  const m = new Gauge(opts("held", registry));
  return {
    labels: (l) => m.labels(l),
    write: write as never,
    writeLabelled: (l, v) => set ? m.set(l, v) : m.inc(l, v),
    remove: (l) => m.remove(l),
    collect: () => m.collect() as MetricFamily,
  };
};

const histogram = (
  write: (c: ReturnType<Histogram["labels"]>, v: number) => void,
  native = false,
): Variant["make"] =>
(registry) => {
  const m = new Histogram({ ...opts("held_seconds", registry), buckets: [5], native });
  return {
    labels: (l) => m.labels(l),
    write: write as never,
    writeLabelled: (l, v) => m.observe(l, v),
    remove: (l) => m.remove(l),
    collect: () => m.collect(),
  };
};

const summary = (registry: Registry) => {
  const m = new Summary({ ...opts("held_bytes", registry), percentiles: [0.5], now: () => 0 });
  return {
    labels: (l: Labels) => m.labels(l),
    write: ((c: ReturnType<Summary["labels"]>, v: number) => c.observe(v)) as never,
    writeLabelled: (l: Labels, v: number) => m.observe(l, v),
    remove: (l: Labels) => m.remove(l),
    collect: () => m.collect(),
  };
};

const trace = { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" };

const VARIANTS: Variant[] = [
  {
    name: "counter child inc(v)",
    metric: "held_total",
    sample: "held_total",
    adds: "sum",
    make: counter((c, v) => c.inc(v)),
  },
  {
    name: "counter child incWithExemplar",
    metric: "held_total",
    sample: "held_total",
    adds: "sum",
    make: counter((c, v) => c.incWithExemplar({ value: v, exemplarLabels: trace })),
  },
  {
    name: "gauge child inc(v)",
    metric: "held",
    sample: "held",
    adds: "sum",
    make: gauge((c, v) => c.inc(v)),
  },
  {
    name: "gauge child dec(-v)",
    metric: "held",
    sample: "held",
    adds: "sum",
    make: gauge((c, v) => c.dec(-v)),
  },
  {
    name: "gauge child set(v)",
    metric: "held",
    sample: "held",
    adds: "last",
    make: gauge((c, v) => c.set(v), true),
  },
  {
    name: "histogram child observe(v)",
    metric: "held_seconds",
    sample: "held_seconds_sum",
    adds: "sum",
    make: histogram((c, v) => c.observe(v)),
  },
  {
    name: "histogram child observeWithExemplar",
    metric: "held_seconds",
    sample: "held_seconds_sum",
    adds: "sum",
    make: histogram((c, v) => c.observeWithExemplar({ value: v, exemplarLabels: trace })),
  },
  {
    name: "native histogram child observe(v)",
    metric: "held_seconds",
    sample: "held_seconds_sum",
    adds: "sum",
    make: histogram((c, v) => c.observe(v), true),
  },
  {
    name: "summary child observe(v)",
    metric: "held_bytes",
    sample: "held_bytes_sum",
    adds: "sum",
    make: summary,
  },
];

/** Series `k`'s position in `family`, by its label value. */
function seriesAt(family: MetricFamily, k: string): number {
  for (let s = 0; s < family.size; s++) if (family.labelValues[s] === k) return s;
  return -1;
}

/** Observations in a native histogram's series `s`: zero bucket plus every bucket. */
function nativeCount(family: MetricFamily, s: number): number {
  const b = family.native![s];
  let n = b.zeroCount;
  for (let j = 0; j < b.positive.length; j++) n += b.positive[j];
  for (let j = 0; j < b.negative.length; j++) n += b.negative[j];
  return n;
}

describe("a held child whose series was removed, written at the series cap", () => {
  for (const variant of VARIANTS) {
    it(`${variant.name}: each write at the cap is counted; once there is room it writes its own series`, async () => {
      const logged: string[] = [];
      const registry = new Registry({ log: (line) => logged.push(line) });
      const m = variant.make(registry);
      const total = (v: number[]) => variant.adds === "sum" ? v.reduce((a, b) => a + b) : v.at(-1)!;
      const scrape = async () => parseSamples(await registry.metrics());
      const folded = async () =>
        valueOf(await scrape(), OVERFLOW_METRIC, { metric: variant.metric });

      const child = m.labels({ k: "held" }) as never;
      m.write(child, 1);
      m.writeLabelled({ k: "a" }, 1); // the cap (2) is reached
      assert.equal(m.remove({ k: "held" }), true);
      m.writeLabelled({ k: "b" }, 1); // the freed room is taken: at the cap again

      // At the cap: every write through the held child is folded and counted.
      const full = [2, 3, 4];
      for (let w = 0; w < full.length; w++) {
        m.write(child, full[w]);
        assert.equal(await folded(), w + 1, `write ${w + 1} at the cap is counted`);
      }
      let samples = await scrape();
      assert.equal(valueOf(samples, variant.sample, { k: OVERFLOW_VALUE }), total(full));
      assert.throws(() => valueOf(samples, variant.sample, { k: "held" }), /found 0/);
      assert.equal(logged.length, 1, "the first overflow is logged once");
      assert.match(logged[0], new RegExp(variant.metric));

      // Room again: the next write re-creates the child's own series.
      assert.equal(m.remove({ k: "a" }), true);
      const free = [7, 11];
      for (const v of free) m.write(child, v);
      samples = await scrape();
      assert.equal(valueOf(samples, variant.sample, { k: "held" }), total(free));
      assert.equal(
        valueOf(samples, variant.sample, { k: OVERFLOW_VALUE }),
        total(full),
        "__overflow__ keeps only what was written while full",
      );
      assert.equal(valueOf(samples, OVERFLOW_METRIC, { metric: variant.metric }), full.length);
      assert.equal(valueOf(samples, variant.sample, { k: "b" }), 1);
      assert.equal(logged.length, 1);

      // Bound to its own series again: full once more, its writes stay its own.
      m.writeLabelled({ k: "c" }, 1); // folded (held and b hold the cap)
      m.write(child, 13);
      samples = await scrape();
      assert.equal(valueOf(samples, variant.sample, { k: "held" }), total([...free, 13]));
      assert.equal(valueOf(samples, variant.sample, { k: OVERFLOW_VALUE }), total([...full, 1]));
      assert.equal(valueOf(samples, OVERFLOW_METRIC, { metric: variant.metric }), full.length + 1);

      if (variant.name.startsWith("native")) {
        const family = m.collect();
        assert.equal(nativeCount(family, seriesAt(family, "held")), free.length + 1);
        assert.equal(nativeCount(family, seriesAt(family, OVERFLOW_VALUE)), full.length + 1);
      }
    });
  }
});

describe("the child labels() returns at the series cap", () => {
  for (const variant of VARIANTS) {
    it(`${variant.name}: it is shared by every folded label set and attributes writes to none of them`, async () => {
      const registry = new Registry({ log: () => {} });
      const m = variant.make(registry);
      const scrape = async () => parseSamples(await registry.metrics());
      m.writeLabelled({ k: "a" }, 1);
      m.writeLabelled({ k: "b" }, 1); // the cap (2) is reached
      const x = m.labels({ k: "x" });
      const y = m.labels({ k: "y" });
      assert.equal(x, y, "one child for the overflow series");
      m.write(y as never, 5);
      // The overflow series goes, and so does a real one: there is room for
      // any label set again. A write through the held child must not create
      // (or land in) the series of whoever called labels() first ("x").
      assert.equal(m.remove({ k: OVERFLOW_VALUE }), true);
      assert.equal(m.remove({ k: "a" }), true);
      m.write(y as never, 7);
      const samples = await scrape();
      const keys = samplesNamed(samples, variant.sample).map((s) => s.labels.k).sort();
      assert.deepEqual(keys, [OVERFLOW_VALUE, "b"], "series: b, and __overflow__ (no x, no y)");
      assert.equal(valueOf(samples, variant.sample, { k: OVERFLOW_VALUE }), 7);
    });
  }
});
