import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  COLLECT_ERRORS_METRIC,
  defaultRegistry,
  OVERFLOW_METRIC,
  Registry,
} from "../../src/core/registry.ts";
import { Counter } from "../../src/core/counter.ts";
import { Gauge } from "../../src/core/gauge.ts";
import { Histogram } from "../../src/core/histogram.ts";
import { Summary } from "../../src/core/summary.ts";
import type { Collector } from "../../src/core/collector.ts";
import type { MetricFamily } from "../../src/model/family.ts";
import { parseSamples, samplesNamed, valueOf } from "./_exposition.ts";

async function scrape(registry: Registry) {
  return parseSamples(await registry.metrics());
}

/** Runs `fn` with console.error silenced (the registry warns once per failing collector). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.error;
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.error = original;
  }
}

function gaugeFamily(name: string, value: number): MetricFamily {
  return {
    name,
    help: "custom",
    type: "gauge",
    unit: "",
    labelNames: [],
    labelValues: [],
    size: 1,
    values: [value],
  };
}

function alreadyRegistered(name: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof TypeError, `expected a TypeError, got ${e}`);
    assert.ok(e.message.includes(`"${name}"`), e.message);
    assert.match(e.message, /already registered/);
    return true;
  };
}

describe("Registry: register, get, unregister, clear", () => {
  it("metrics register themselves with the registry they are given", () => {
    const registry = new Registry();
    const before = defaultRegistry.getAll().length;
    const c = new Counter({ name: "a_total", help: "h", registry });
    const g = new Gauge({ name: "b", help: "h", registry });
    assert.equal(registry.get("a_total"), c);
    assert.equal(registry.get("b"), g);
    assert.equal(registry.get("nope"), undefined);
    assert.deepEqual(registry.getAll(), [c, g]);
    assert.equal(c.registry, registry);
    assert.equal(defaultRegistry.getAll().length, before, "the default registry is untouched");
  });

  it("registry: null registers nowhere; register() adds it later", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "late_total", help: "h", registry: null });
    c.inc(2);
    assert.equal(c.registry, null);
    assert.equal(registry.get("late_total"), undefined);
    assert.equal(registry.register(c), c);
    assert.equal(registry.register(c), c, "registering the same object twice is a no-op");
    assert.equal(valueOf(await scrape(registry), "late_total"), 2);
  });

  it("a metric created without a registry option joins defaultRegistry", () => {
    const name = `default_registry_probe_${Date.now()}_total`;
    const c = new Counter({ name, help: "h" });
    try {
      assert.equal(c.registry, defaultRegistry);
      assert.equal(defaultRegistry.get(name), c);
    } finally {
      defaultRegistry.unregister(name);
    }
  });

  it("unregister removes one metric and reports whether it was there", async () => {
    const registry = new Registry();
    new Counter({ name: "a_total", help: "h", registry }).inc();
    new Counter({ name: "b_total", help: "h", registry }).inc();
    assert.equal(registry.unregister("a_total"), true);
    assert.equal(registry.unregister("a_total"), false);
    const samples = await scrape(registry);
    assert.deepEqual(samples.map((s) => s.name), ["b_total"]);
  });

  it("after unregister, the name is free: for a fresh metric, even of another kind", async () => {
    const registry = new Registry();
    new Counter({ name: "x", help: "h", registry }).inc(5);
    registry.unregister("x");
    const c = new Counter({ name: "x", help: "h", registry });
    assert.equal(c.get(), 0, "no state carried over");
    registry.unregister("x");
    new Gauge({ name: "x", help: "h", registry }).set(3);
    assert.match(await registry.metrics(), /^# TYPE x gauge$/m);
  });

  it("clear() removes every metric; names can be used again", async () => {
    const registry = new Registry();
    new Counter({ name: "a_total", help: "h", registry }).inc();
    new Histogram({ name: "h", help: "h", registry }).observe(1);
    registry.clear();
    assert.deepEqual(registry.getAll(), []);
    assert.equal(await registry.metrics(), "");
    assert.equal(await registry.metrics("openmetrics"), "# EOF\n");
    const again = new Counter({ name: "a_total", help: "h", registry });
    assert.equal(again.get(), 0);
    assert.equal(registry.get("a_total"), again);
  });

  it("clear() also forgets the internal overflow counter, which comes back when needed", async () => {
    const registry = new Registry();
    const c = new Counter({
      name: "c_total",
      help: "h",
      labelNames: ["k"],
      maxSeries: 1,
      registry,
    });
    c.inc({ k: "a" });
    c.inc({ k: "b" });
    assert.equal(valueOf(await scrape(registry), OVERFLOW_METRIC, { metric: "c_total" }), 1);
    registry.clear();
    const d = new Counter({
      name: "d_total",
      help: "h",
      labelNames: ["k"],
      maxSeries: 1,
      registry,
    });
    d.inc({ k: "a" });
    d.inc({ k: "b" });
    d.inc({ k: "c" });
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, OVERFLOW_METRIC, { metric: "d_total" }), 2);
    assert.equal(samplesNamed(samples, OVERFLOW_METRIC).length, 1);
  });

  it("resetMetrics() zeroes every metric but keeps them registered", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "c_total", help: "h", registry });
    const l = new Counter({ name: "l_total", help: "h", labelNames: ["k"], registry });
    const h = new Histogram({ name: "h", help: "h", buckets: [1], registry });
    c.inc(3);
    l.inc({ k: "a" });
    h.observe(0.5);
    registry.resetMetrics();
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "c_total"), 0);
    assert.deepEqual(samplesNamed(samples, "l_total"), []);
    assert.equal(valueOf(samples, "h_count"), 0);
    assert.equal(registry.getAll().length, 3);
  });
});

describe("Registry: metrics(format)", () => {
  it("renders text 0.0.4 by default and on request, OpenMetrics on request", async () => {
    const registry = new Registry();
    new Counter({ name: "jobs_total", help: "Jobs run", registry }).inc(2);
    new Gauge({ name: "depth", help: "Queue depth", registry }).set(7);
    const text = await registry.metrics();
    assert.equal(await registry.metrics("text"), text);
    assert.equal(
      text,
      "# HELP jobs_total Jobs run\n# TYPE jobs_total counter\njobs_total 2\n" +
        "# HELP depth Queue depth\n# TYPE depth gauge\ndepth 7\n",
    );
    const om = await registry.metrics("openmetrics", { created: false });
    assert.equal(
      om,
      "# TYPE jobs counter\n# HELP jobs Jobs run\njobs_total 2\n" +
        "# TYPE depth gauge\n# HELP depth Queue depth\ndepth 7\n# EOF\n",
    );
    const withCreated = await registry.metrics("openmetrics");
    assert.match(withCreated, /^jobs_created \d+(\.\d+)?(e[+-]?\d+)?$/m);
  });

  it("families appear in registration order, each family's lines together", async () => {
    const registry = new Registry();
    const a = new Counter({ name: "a_total", help: "h", labelNames: ["k"], registry });
    const b = new Gauge({ name: "b", help: "h", labelNames: ["k"], registry });
    a.inc({ k: "1" });
    b.set({ k: "1" }, 1);
    a.inc({ k: "2" });
    b.set({ k: "2" }, 2);
    const names = (await scrape(registry)).map((s) => s.name);
    assert.deepEqual(names, ["a_total", "a_total", "b", "b"]);
  });
});

describe("Registry: duplicate names", () => {
  it("a second metric of another kind under a taken name throws a clear TypeError", () => {
    const registry = new Registry();
    new Counter({ name: "thing", help: "h", registry });
    assert.throws(
      () => new Gauge({ name: "thing", help: "h", registry }),
      alreadyRegistered("thing"),
    );
    assert.throws(
      () => new Histogram({ name: "thing", help: "h", registry }),
      alreadyRegistered("thing"),
    );
    assert.throws(
      () => new Summary({ name: "thing", help: "h", registry }),
      alreadyRegistered("thing"),
    );
    assert.equal(registry.getAll().length, 1);
  });

  it("same kind with other help, labels, label order or unit throws", () => {
    const registry = new Registry();
    new Counter({
      name: "req_total",
      help: "Requests",
      labelNames: ["a", "b"],
      registry,
    });
    const variants = [
      { help: "Other help", labelNames: ["a", "b"] },
      { help: "Requests", labelNames: ["a"] },
      { help: "Requests", labelNames: ["a", "b", "c"] },
      { help: "Requests", labelNames: ["b", "a"] },
      { help: "Requests", labelNames: [] },
    ];
    for (const v of variants) {
      assert.throws(
        () => new Counter({ name: "req_total", registry, ...v }),
        alreadyRegistered("req_total"),
        JSON.stringify(v),
      );
    }
    new Gauge({ name: "size_bytes", help: "h", registry });
    assert.throws(
      () => new Gauge({ name: "size_bytes", help: "h", unit: "bytes", registry }),
      alreadyRegistered("size_bytes"),
    );
  });

  it("histograms with different buckets conflict", () => {
    const registry = new Registry();
    new Histogram({ name: "lat", help: "h", buckets: [1, 2], registry });
    assert.throws(
      () => new Histogram({ name: "lat", help: "h", buckets: [1, 3], registry }),
      alreadyRegistered("lat"),
    );
    assert.throws(
      () => new Histogram({ name: "lat", help: "h", registry }),
      alreadyRegistered("lat"),
    );
    // A trailing +Inf is the same layout.
    assert.doesNotThrow(() =>
      new Histogram({ name: "lat", help: "h", buckets: [1, 2, Infinity], registry })
    );
  });

  it("summaries with different quantiles (or window) conflict", () => {
    const registry = new Registry();
    new Summary({ name: "sz", help: "h", percentiles: [0.5, 0.9], registry });
    assert.throws(
      () => new Summary({ name: "sz", help: "h", percentiles: [0.5, 0.99], registry }),
      alreadyRegistered("sz"),
    );
    assert.throws(
      () => new Summary({ name: "sz", help: "h", percentiles: [0.5], registry }),
      alreadyRegistered("sz"),
    );
    assert.throws(
      () =>
        new Summary({
          name: "sz",
          help: "h",
          percentiles: [0.5, 0.9],
          maxAgeSeconds: 60,
          registry,
        }),
      alreadyRegistered("sz"),
    );
  });

  it("registry.register() of an incompatible collector throws; of a compatible one returns the existing", () => {
    const registry = new Registry();
    const first = new Counter({ name: "c_total", help: "h", registry });
    const other = new Counter({ name: "c_total", help: "other", registry: null });
    assert.throws(() => registry.register(other), alreadyRegistered("c_total"));
    const twin = new Counter({ name: "c_total", help: "h", registry: null });
    assert.equal(registry.register(twin), first);
    const custom: Collector = { name: "c_total", collect: () => gaugeFamily("c_total", 1) };
    assert.throws(() => registry.register(custom), alreadyRegistered("c_total"));
    assert.equal(registry.get("c_total"), first);
  });
});

describe("Registry: re-running module set-up is safe", () => {
  function setup(registry: Registry) {
    return {
      requests: new Counter({
        name: "llm_requests_total",
        help: "Total number of LLM API requests",
        labelNames: ["model", "endpoint"],
        registry,
      }),
      sessions: new Gauge({ name: "app_active_sessions", help: "Sessions", registry }),
      latency: new Histogram({
        name: "llm_request_duration_seconds",
        help: "Duration",
        labelNames: ["model"],
        buckets: [0.1, 1],
        registry,
      }),
      sizes: new Summary({
        name: "llm_completion_size_bytes",
        help: "Sizes",
        labelNames: ["model"],
        percentiles: [0.5],
        now: () => 0,
        registry,
      }),
    };
  }

  it("the second set-up shares state with the first; one family each in the output", async () => {
    const registry = new Registry();
    const a = setup(registry);
    const b = setup(registry);
    assert.notEqual(a.requests, b.requests);
    a.requests.inc({ model: "m", endpoint: "e" });
    b.requests.inc({ model: "m", endpoint: "e" }, 2);
    assert.equal(a.requests.get({ model: "m", endpoint: "e" }), 3);
    assert.equal(
      a.requests.labels({ model: "m", endpoint: "e" }),
      b.requests.labels({ model: "m", endpoint: "e" }),
      "children are shared too",
    );
    a.sessions.inc();
    b.sessions.inc();
    a.latency.observe({ model: "m" }, 0.5);
    b.latency.observe({ model: "m" }, 5);
    a.sizes.observe({ model: "m" }, 10);
    b.sizes.observe({ model: "m" }, 30);
    assert.equal(registry.getAll().length, 4);
    assert.equal(registry.get("llm_requests_total"), a.requests);
    const text = await registry.metrics();
    for (const name of Object.values(a).map((m) => m.name)) {
      assert.equal(text.split(`# TYPE ${name} `).length, 2, `${name} appears once`);
    }
    const samples = parseSamples(text);
    assert.equal(valueOf(samples, "llm_requests_total", { model: "m", endpoint: "e" }), 3);
    assert.equal(valueOf(samples, "app_active_sessions"), 2);
    assert.equal(valueOf(samples, "llm_request_duration_seconds_count", { model: "m" }), 2);
    assert.equal(valueOf(samples, "llm_request_duration_seconds_sum", { model: "m" }), 5.5);
    assert.equal(valueOf(samples, "llm_completion_size_bytes_sum", { model: "m" }), 40);
    // remove and reset through either object act on the shared state.
    b.requests.remove({ model: "m", endpoint: "e" });
    assert.equal(a.requests.get({ model: "m", endpoint: "e" }), 0);
  });
});

describe("Registry: collection", () => {
  it("collects custom collectors, sync and async", async () => {
    const registry = new Registry();
    registry.register({ name: "sync_value", collect: () => gaugeFamily("sync_value", 1) });
    registry.register({
      name: "async_value",
      collect: async () => {
        await new Promise((r) => setTimeout(r, 1));
        return gaugeFamily("async_value", 2);
      },
    });
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "sync_value"), 1);
    assert.equal(valueOf(samples, "async_value"), 2);
  });

  it("a failing collector is left out, the others kept, and the failure counted per scrape", async () => {
    const registry = new Registry();
    new Counter({ name: "ok_total", help: "h", registry }).inc();
    registry.register({
      name: "throws",
      collect: () => {
        throw new Error("boom");
      },
    });
    registry.register({ name: "rejects", collect: () => Promise.reject(new Error("boom")) });
    const samples = await quietly(() => scrape(registry));
    assert.equal(valueOf(samples, "ok_total"), 1);
    assert.deepEqual(samplesNamed(samples, "throws"), []);
    assert.equal(valueOf(samples, COLLECT_ERRORS_METRIC, { metric: "throws" }), 1);
    assert.equal(valueOf(samples, COLLECT_ERRORS_METRIC, { metric: "rejects" }), 1);
    const again = await quietly(() => scrape(registry));
    assert.equal(valueOf(again, COLLECT_ERRORS_METRIC, { metric: "throws" }), 2);
  });

  it("timeoutMs leaves out a collector that takes too long, and ignores its late result", async () => {
    const registry = new Registry();
    let release: () => void = () => {};
    registry.register({
      name: "slow",
      collect: () =>
        new Promise<MetricFamily>((resolve) => {
          release = () => resolve(gaugeFamily("slow", 1));
        }),
    });
    new Gauge({ name: "fast", help: "h", registry }).set(1);
    const families = await quietly(() => registry.collect({ timeoutMs: 20 }));
    release();
    const names = families.map((f) => f.name);
    assert.deepEqual(names, ["fast", COLLECT_ERRORS_METRIC]);
    await new Promise((r) => setTimeout(r, 5));
    const errors = families[1];
    assert.equal(errors.values[0], 1);
  });

  it("without timeoutMs, every collector is awaited", async () => {
    const registry = new Registry();
    registry.register({
      name: "slowish",
      collect: () => new Promise((r) => setTimeout(() => r(gaugeFamily("slowish", 3)), 30)),
    });
    assert.equal(valueOf(await scrape(registry), "slowish"), 3);
  });

  it("reports through its log option: once per failing collector, one line each", async () => {
    const lines: string[] = [];
    const registry = new Registry({ log: (m) => lines.push(m) });
    registry.register({
      name: "broken",
      collect: () => {
        throw new SyntaxError("secret-token-123 in a message");
      },
    });
    for (let i = 0; i < 3; i++) await registry.collect();
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.match(lines[0], /collecting "broken" failed \(SyntaxError\)/);
    assert.doesNotMatch(lines[0], /secret-token/);
    assert.doesNotMatch(lines[0], /\n/);
    assert.equal(valueOf(await scrape(registry), COLLECT_ERRORS_METRIC, { metric: "broken" }), 4);
    assert.throws(() => new Registry({ log: "stderr" as never }), /log must be a function/);
  });

  it("its log can be reassigned, and logOnce says each key once", () => {
    const registry = new Registry();
    const lines: string[] = [];
    registry.log = (m) => lines.push(m);
    registry.logOnce("k", "first");
    registry.logOnce("k", "again");
    registry.logOnce("other", "second");
    assert.deepEqual(lines, ["first", "second"]);
  });

  it("the first overflow of each metric is one line in its log: name, cap, counter", async () => {
    const lines: string[] = [];
    const registry = new Registry({ log: (m) => lines.push(m) });
    const capped = new Counter({
      name: "capped_total",
      help: "h",
      labelNames: ["user"],
      maxSeries: 3,
      registry,
    });
    const other = new Gauge({
      name: "other",
      help: "h",
      labelNames: ["k"],
      maxSeries: 1,
      registry,
    });
    for (let i = 0; i < 3; i++) capped.inc({ user: `u${i}` });
    assert.deepEqual(lines, [], "under the cap: nothing to say");
    for (let i = 3; i < 1_003; i++) capped.inc({ user: `u${i}` });
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(
      lines[0],
      'metric "capped_total" reached its series cap (maxSeries 3): new label sets are folded ' +
        'into its "__overflow__" series and counted in metrics_series_overflow_total ' +
        "(reported once)",
    );
    const fams = await scrape(registry);
    assert.equal(valueOf(fams, OVERFLOW_METRIC, { metric: "capped_total" }), 1_000);
    // Another metric's overflow is another problem: its own line, once.
    other.set({ k: "a" }, 1);
    for (let i = 0; i < 10; i++) other.set({ k: `b${i}` }, 1);
    assert.equal(lines.length, 2, JSON.stringify(lines));
    assert.match(lines[1], /^metric "other" reached its series cap \(maxSeries 1\)/);
  });

  it("the overflow counter lives in the metric's own registry", async () => {
    const r1 = new Registry();
    const r2 = new Registry();
    const c1 = new Counter({
      name: "c_total",
      help: "h",
      labelNames: ["k"],
      maxSeries: 1,
      registry: r1,
    });
    new Counter({ name: "c_total", help: "h", labelNames: ["k"], maxSeries: 1, registry: r2 });
    for (let i = 0; i < 5; i++) c1.inc({ k: i });
    assert.equal(valueOf(await scrape(r1), OVERFLOW_METRIC, { metric: "c_total" }), 4);
    assert.deepEqual(samplesNamed(await scrape(r2), OVERFLOW_METRIC), []);
  });
});
