// The drop-in's metric types, called as prom-client programs call them:
// positional, object and partial labels, prom-client's errors, `registers`,
// `get()` in prom-client's shape, timers, `zero`, `reset`, `remove`,
// `collect`, and the children `labels()` keeps: the same one per label set,
// bounded, never left writing to a removed series.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Counter,
  Gauge,
  Histogram,
  Metric,
  register,
  Registry,
  Summary,
} from "../../src/compat/mod.ts";

const openMetrics = () => new Registry(Registry.OPENMETRICS_CONTENT_TYPE);

describe("Counter (drop-in)", () => {
  it("takes positional, object and partial labels; get() has prom-client's shape", async () => {
    const r = new Registry();
    const c = new Counter({
      name: "req_total",
      help: "Requests",
      labelNames: ["method", "code"],
      registers: [r],
    });
    assert.ok(c instanceof Metric);
    c.labels("GET", "200").inc();
    c.labels("GET", "200").inc(2);
    c.labels({ method: "POST", code: 201 }).inc();
    c.inc({ method: "PUT", code: "204" }, 4);
    c.inc({ method: "DELETE" }); // partial: code is exposed as ""
    const got = await c.get();
    assert.deepEqual(got, {
      help: "Requests",
      name: "req_total",
      type: "counter",
      aggregator: "sum",
      values: [
        { value: 3, labels: { method: "GET", code: "200" } },
        { value: 1, labels: { method: "POST", code: "201" } },
        { value: 4, labels: { method: "PUT", code: "204" } },
        { value: 1, labels: { method: "DELETE", code: "" } },
      ],
    });
    assert.match(await r.metrics(), /^req_total\{method="DELETE",code=""\} 1$/m);
  });

  it("throws prom-client's errors, and records nothing for a rejected call", async () => {
    const c = new Counter({ name: "e_total", help: "E", labelNames: ["a", "b"], registers: [] });
    assert.throws(() => c.inc({ a: "x" }, -1), {
      message: "It is not possible to decrease a counter",
    });
    assert.throws(() => c.inc("3ms" as never), {
      name: "TypeError",
      message: "Value is not a valid number: 3ms",
    });
    assert.throws(() => c.inc(NaN), { message: "Value is not a valid number: NaN" });
    assert.throws(() => c.labels("GET").inc(), {
      message: 'Invalid number of arguments (1): "GET" for label names (2): "a, b".',
    });
    assert.throws(() => c.inc({ a: "x", z: "y" } as never), {
      message: `Added label "z" is not included in initial labelset: [ 'a', 'b' ]`,
    });
    assert.deepEqual((await c.get()).values, []);
    // labels() starts its series at 0 (as the native API does); the rejected inc adds nothing.
    assert.throws(() => c.labels("x", "y").inc(-2), /not possible to decrease/);
    assert.deepEqual((await c.get()).values, [{ value: 0, labels: { a: "x", b: "y" } }]);
  });

  it("checks the options as prom-client does, and names an unknown option", () => {
    assert.throws(() => new Counter(null as never), /constructor expected a config object/);
    assert.throws(() => new Counter({ name: "x" } as never), /Missing mandatory help parameter/);
    assert.throws(() => new Counter({ help: "x" } as never), /Missing mandatory name parameter/);
    assert.throws(
      () => new Counter({ name: "no valid name", help: "x" }),
      { message: "Invalid metric name: no valid name" },
    );
    assert.throws(
      () => new Counter({ name: "x", help: "x", labelNames: ["ok", "not ok"] }),
      { message: "At least one label name is invalid: not ok" },
    );
    assert.throws(
      () => new Counter({ name: "x", help: "x", collect: 3 as never }),
      /Optional "collect" parameter must be a function/,
    );
    assert.throws(
      () => new Counter({ name: "x", help: "x", registers: [], labelNmes: ["a"] } as never),
      /unknown option "labelNmes" \(did you mean "labelNames"\?\)/,
    );
  });

  it("registers in each of `registers`, none for [], the global register by default", async () => {
    const a = new Registry();
    const b = new Registry();
    const both = new Counter({ name: "both_total", help: "B", registers: [a, b] });
    both.inc(2);
    const none = new Counter({ name: "none_total", help: "N", registers: [] });
    none.inc();
    const global = new Counter({ name: "compat_global_total", help: "G" });
    try {
      assert.match(await a.metrics(), /^both_total 2$/m);
      assert.match(await b.metrics(), /^both_total 2$/m);
      assert.equal(register.getSingleMetric("compat_global_total"), global);
      assert.equal(register.getSingleMetric("none_total"), undefined);
      assert.equal((await none.get()).values[0].value, 1);
    } finally {
      register.removeSingleMetric("compat_global_total");
    }
  });

  it("remove() drops a series, and labels() of it afterwards starts it again", async () => {
    const c = new Counter({ name: "rm_total", help: "R", labelNames: ["k"], registers: [] });
    c.labels("a").inc(5);
    c.labels("b").inc();
    c.remove("a");
    assert.deepEqual((await c.get()).values, [{ value: 1, labels: { k: "b" } }]);
    c.labels("a").inc();
    c.remove({ k: "b" });
    assert.deepEqual((await c.get()).values, [{ value: 1, labels: { k: "a" } }]);
    assert.throws(() => c.remove("a", "b"), /Invalid number of arguments \(2\)/);
    c.reset();
    assert.deepEqual((await c.get()).values, []);
  });

  it("positional labels() past the series cap fold into the overflow series", async () => {
    const r = new Registry();
    const c = new Counter({
      name: "cap_total",
      help: "C",
      labelNames: ["user"],
      registers: [r],
      maxSeries: 3,
    });
    for (let i = 0; i < 50; i++) c.labels(`u${i}`).inc();
    const values = (await c.get()).values;
    assert.equal(values.length, 4); // 3 series, and the overflow series
    assert.equal(values.reduce((s, v) => s + v.value, 0), 50);
    assert.ok(values.some((v) => v.labels.user === "__overflow__" && v.value === 47));
    assert.match(await r.metrics(), /^metrics_series_overflow_total\{metric="cap_total"\} 47$/m);
  });

  it("runs `collect` with the metric as this, before get() and each scrape", async () => {
    const r = new Registry();
    let calls = 0;
    new Counter({
      name: "collected_total",
      help: "C",
      registers: [r],
      collect() {
        calls++;
        (this as Counter).inc(10);
      },
    });
    assert.match(await r.metrics(), /^collected_total 10$/m);
    assert.match(await r.metrics(), /^collected_total 20$/m);
    assert.equal(calls, 2);
  });

  it("with enableExemplars, inc and observe take { labels, value, exemplarLabels }", async () => {
    const r = openMetrics();
    const c = new Counter({
      name: "traced_total",
      help: "T",
      labelNames: ["route"],
      enableExemplars: true,
      registers: [r],
    });
    c.inc({ labels: { route: "/a" }, value: 2, exemplarLabels: { trace_id: "abc" } });
    c.inc({ labels: { route: "/a" } }); // no exemplarLabels: no exemplar, the old one stays
    const h = new Histogram({
      name: "traced_seconds",
      help: "T",
      buckets: [1],
      enableExemplars: true,
      registers: [r],
    });
    h.observe({ value: 0.5, exemplarLabels: { trace_id: "t1" } });
    h.startTimer({}, { trace_id: "t2" })();
    assert.throws(() => c.inc({ value: -1, exemplarLabels: {} }), /not possible to decrease/);
    const text = await r.metrics();
    assert.match(text, /^traced_total\{route="\/a"\} 3 # \{trace_id="abc"\} 2 \d+\.\d+$/m);
    assert.match(
      text,
      /^traced_seconds_bucket\{le="1\.0"\} 2 # \{trace_id="t2"\} [\d.e-]+ \d+\.\d+$/m,
    );
    assert.equal((await c.get()).values[0].value, 3);
  });

  it("accepts enableExemplars on an OpenMetrics registry, refuses it on a Prometheus one", () => {
    new Counter({ name: "ex_total", help: "E", enableExemplars: true, registers: [openMetrics()] });
    assert.throws(
      () =>
        new Counter({
          name: "ex_total",
          help: "E",
          enableExemplars: true,
          registers: [new Registry()],
        }),
      { name: "TypeError", message: "Exemplars are supported only on OpenMetrics registries" },
    );
  });
});

describe("Gauge (drop-in)", () => {
  it("sets, increments, decrements, with and without labels", async () => {
    const g = new Gauge({ name: "g", help: "G", registers: [] });
    g.set(10);
    g.inc();
    g.dec(5);
    assert.equal((await g.get()).values[0].value, 6);
    assert.throws(() => g.set("asd" as never), { message: "Value is not a valid number: asd" });
    const l = new Gauge({ name: "gl", help: "G", labelNames: ["q"], registers: [] });
    l.set({ q: "a" }, 20);
    l.labels("a").inc();
    l.labels({ q: "a" }).dec(3);
    l.labels("b").set(7);
    assert.deepEqual((await l.get()).values, [
      { value: 18, labels: { q: "a" } },
      { value: 7, labels: { q: "b" } },
    ]);
  });

  it("setToCurrentTime sets seconds since the epoch; startTimer sets the elapsed seconds", async () => {
    const g = new Gauge({ name: "gt", help: "G", labelNames: ["code", "ok"], registers: [] });
    const before = Date.now() / 1000;
    g.setToCurrentTime({ code: "200", ok: "yes" });
    const now = (await g.get()).values[0].value;
    assert.ok(now >= before && now <= Date.now() / 1000 + 1, String(now));
    const start = { code: "201" };
    const end = g.startTimer(start);
    const seconds = end({ ok: "no" });
    assert.deepEqual(start, { code: "201" });
    const timed = (await g.get()).values.find((v) => v.labels.code === "201")!;
    assert.deepEqual(timed.labels, { code: "201", ok: "no" });
    assert.equal(timed.value, seconds);
    assert.ok(seconds >= 0 && seconds < 10);
  });
});

describe("labels() children (drop-in)", () => {
  it("gives the same gauge child for the same label values, and no series until a write", async () => {
    const g = new Gauge({ name: "gc", help: "G", labelNames: ["q", "r"], registers: [] });
    const a = g.labels("a", "x");
    assert.equal(g.labels("a", "x"), a);
    assert.equal(g.labels({ q: "a", r: "x" }), a);
    assert.equal(g.labels({ r: "x", q: "a" }), a);
    assert.notEqual(g.labels("a", "y"), a);
    assert.deepEqual((await g.get()).values, []); // prom-client: labels() alone exposes nothing
    a.set(4);
    g.labels("a", "x").inc(2);
    g.labels({ q: "a", r: "x" }).dec();
    assert.deepEqual((await g.get()).values, [{ value: 5, labels: { q: "a", r: "x" } }]);
    // A kept label set still refuses an undeclared label, and a bad value.
    assert.throws(() => g.labels({ q: "a", r: "x", z: "1" } as never), {
      message: `Added label "z" is not included in initial labelset: [ 'q', 'r' ]`,
    });
    assert.throws(() => a.set("5" as never), { message: "Value is not a valid number: 5" });
    assert.throws(() => a.inc("5" as never), { message: "Value is not a valid number: 5" });
    const t0 = Date.now() / 1000;
    g.labels("b", "x").setToCurrentTime();
    const b = (await g.get()).values.find((v) => v.labels.q === "b")!.value;
    assert.ok(b >= t0 && b <= Date.now() / 1000 + 1, String(b));
  });

  it("a child held across remove() and reset() writes its own series again, as prom-client's", async () => {
    const g = new Gauge({ name: "gr", help: "G", labelNames: ["q"], registers: [] });
    const held = g.labels("a");
    held.set(1);
    g.remove("a");
    assert.deepEqual((await g.get()).values, []);
    assert.notEqual(g.labels("a"), held); // the cache was emptied, not left pointing at "a"'s child
    g.labels("b").set(2); // takes the id "a" had
    held.set(3);
    assert.deepEqual((await g.get()).values, [
      { value: 2, labels: { q: "b" } },
      { value: 3, labels: { q: "a" } },
    ]);
    g.reset();
    held.inc();
    g.labels("a").inc(); // a new child, on the same series
    assert.deepEqual((await g.get()).values, [{ value: 2, labels: { q: "a" } }]);
    // The same for a counter child (bound when made).
    const c = new Counter({ name: "cr_total", help: "C", labelNames: ["q"], registers: [] });
    const hc = c.labels("a");
    hc.inc();
    c.remove("a");
    c.labels("b").inc(5);
    hc.inc(2);
    assert.deepEqual((await c.get()).values, [
      { value: 5, labels: { q: "b" } },
      { value: 2, labels: { q: "a" } },
    ]);
  });

  it("keeps at most maxSeries children, even for values that share one series", async () => {
    const c = new Counter({
      name: "alias_total",
      help: "C",
      labelNames: ["k"],
      maxSeries: 3,
      registers: [],
    });
    // 1000 lone surrogates: distinct strings, one series ("\uFFFD" once well-formed).
    for (let u = 0xd800; u < 0xd800 + 1000; u++) c.labels(String.fromCharCode(u)).inc();
    const values = (await c.get()).values;
    assert.deepEqual(values, [{ value: 1000, labels: { k: "\uFFFD" } }]);
    assert.equal(c.labels("\uD800"), c.labels("\uD800")); // kept: among the first three
    assert.notEqual(c.labels("\uDBE7"), c.labels("\uDBE7")); // past three: made each time
    const g = new Gauge({
      name: "flood",
      help: "G",
      labelNames: ["k"],
      maxSeries: 3,
      registers: [],
    });
    for (let i = 0; i < 1000; i++) g.labels(`u${i}`).set(i);
    assert.equal(g.labels("u0"), g.labels("u0"));
    assert.notEqual(g.labels("u999"), g.labels("u999"));
    const gv = (await g.get()).values;
    assert.equal(gv.length, 4); // three series and the overflow series
    assert.equal(gv.find((v) => v.labels.k === "__overflow__")?.value, 999);
  });

  it("a gauge child past the series cap counts every write as folded, and binds once there is room", async () => {
    const r = new Registry();
    const g = new Gauge({
      name: "capped",
      help: "G",
      labelNames: ["k"],
      maxSeries: 1,
      registers: [r],
    });
    g.set({ k: "a" }, 1);
    const held = g.labels("x");
    held.set(1);
    held.set(2);
    g.labels("x").set(3);
    assert.match(await r.metrics(), /^metrics_series_overflow_total\{metric="capped"\} 3$/m);
    g.remove("a");
    held.set(4); // room again: its own series, not the overflow one
    const values = (await g.get()).values;
    assert.deepEqual(values.find((v) => v.labels.k === "x"), { value: 4, labels: { k: "x" } });
    assert.equal(values.find((v) => v.labels.k === "__overflow__")?.value, 3);
  });

  it("a held child whose series was removed, written at the cap, is counted each time and gets its own series back", async () => {
    // Every type: the core child under the drop-in's revives its series; at
    // the cap it must not stay on the overflow series.
    const kinds = [
      ["counter", Counter, "capped_total", "capped_total"],
      ["gauge", Gauge, "capped", "capped"],
      ["histogram", Histogram, "capped", "capped_sum"],
      ["summary", Summary, "capped", "capped_sum"],
    ] as const;
    for (const [kind, Type, name, sample] of kinds) {
      const r = new Registry();
      const opts = { name, help: "H", labelNames: ["k"], maxSeries: 2, registers: [r] };
      // deno-lint-ignore no-explicit-any
      const m = new (Type as any)(opts);
      const add = kind === "counter" || kind === "gauge" ? "inc" : "observe";
      const held = m.labels("held");
      held[add](1);
      m[add]({ k: "a" }, 1);
      m.remove("held");
      m[add]({ k: "b" }, 1); // at the cap again
      held[add](2);
      held[add](3);
      assert.match(
        await r.metrics(),
        new RegExp(`^metrics_series_overflow_total\\{metric="${name}"\\} 2$`, "m"),
        kind,
      );
      m.remove("a");
      held[add](7); // room again
      const values = (await m.get()).values.filter((v: { metricName?: string }) =>
        (v.metricName ?? name) === sample
      );
      assert.equal(values.find((v: { labels: { k: string } }) => v.labels.k === "held")?.value, 7);
      assert.equal(
        values.find((v: { labels: { k: string } }) => v.labels.k === "__overflow__")?.value,
        5,
        kind,
      );
    }
  });

  it("a child keeps a copy of the caller's label object", async () => {
    const h = new Histogram({ name: "hc", help: "H", labelNames: ["m"], registers: [] });
    const labels = { m: "GET" };
    h.labels(labels).observe(1);
    labels.m = "POST";
    h.labels({ m: "GET" }).startTimer()();
    assert.deepEqual(
      (await h.get()).values.filter((v) => v.metricName === "hc_count"),
      [{ labels: { m: "GET" }, value: 2, metricName: "hc_count" }],
    );
  });
});

describe("Histogram (drop-in)", () => {
  it("observes, and get() lists buckets (le as a number), sum and count", async () => {
    const h = new Histogram({
      name: "h_seconds",
      help: "H",
      labelNames: ["m"],
      buckets: [0.1, 1],
      registers: [],
    });
    h.labels("GET").observe(0.5);
    h.observe({ m: "GET" }, 2);
    assert.deepEqual((await h.get()).values, [
      { labels: { m: "GET", le: 0.1 }, value: 0, metricName: "h_seconds_bucket", exemplar: null },
      { labels: { m: "GET", le: 1 }, value: 1, metricName: "h_seconds_bucket", exemplar: null },
      {
        labels: { m: "GET", le: "+Inf" },
        value: 2,
        metricName: "h_seconds_bucket",
        exemplar: null,
      },
      { labels: { m: "GET" }, value: 2.5, metricName: "h_seconds_sum" },
      { labels: { m: "GET" }, value: 2, metricName: "h_seconds_count" },
    ]);
    assert.throws(() => h.observe("asd" as never), { message: "Value is not a valid number: asd" });
    assert.throws(() => h.observe(Infinity), /Value is not a valid number: Infinity/);
    assert.throws(
      () => new Histogram({ name: "x", help: "x", labelNames: ["le"], registers: [] }),
      { message: "le is a reserved label keyword" },
    );
  });

  it("zero() exposes a series before its first observation; timers observe seconds", async () => {
    const h = new Histogram({ name: "hz", help: "H", labelNames: ["m"], registers: [] });
    h.zero({ m: "POST" });
    const zeros = (await h.get()).values;
    assert.equal(zeros.length, 14); // 11 default buckets, +Inf, sum, count
    assert.ok(zeros.every((v) => v.value === 0 && v.labels.m === "POST"));
    const seconds = h.labels("POST").startTimer()();
    const count = (await h.get()).values.find((v) => v.metricName === "hz_count")!;
    assert.equal(count.value, 1);
    assert.ok(seconds >= 0 && seconds < 10);
  });
});

describe("Summary (drop-in)", () => {
  it("observes; quantiles within 1%, sum and count exact, in prom-client's shape", async () => {
    const s = new Summary({
      name: "s_bytes",
      help: "S",
      percentiles: [0.5, 0.9],
      labelNames: ["r"],
      registers: [],
    });
    for (let v = 1; v <= 1000; v++) s.labels("a").observe(v);
    const values = (await s.get()).values;
    assert.deepEqual(values.map((v) => [v.labels.quantile, v.metricName, v.labels.r]), [
      [0.5, undefined, "a"],
      [0.9, undefined, "a"],
      [undefined, "s_bytes_sum", "a"],
      [undefined, "s_bytes_count", "a"],
    ]);
    assert.ok(Math.abs(values[0].value - 500) <= 5, String(values[0].value));
    assert.ok(Math.abs(values[1].value - 900) <= 9, String(values[1].value));
    assert.equal(values[2].value, 500500);
    assert.equal(values[3].value, 1000);
    assert.throws(
      () => s.observe({ r: "a", x: "y" } as never, 1),
      { message: `Added label "x" is not included in initial labelset: [ 'r' ]` },
    );
    assert.throws(
      () => new Summary({ name: "x", help: "x", labelNames: ["quantile"], registers: [] }),
      { message: "quantile is a reserved label keyword" },
    );
  });

  it("accepts prom-client's window options; an empty window reports NaN quantiles", async () => {
    const s = new Summary({
      name: "sw",
      help: "S",
      maxAgeSeconds: 60,
      ageBuckets: 3,
      pruneAgedBuckets: false,
      compressCount: 1000,
      registers: [],
    });
    const values = (await s.get()).values;
    assert.equal(values.length, 9);
    assert.ok(values.slice(0, 7).every((v) => Number.isNaN(v.value)));
    assert.deepEqual(values.slice(7).map((v) => v.value), [0, 0]);
  });
});
