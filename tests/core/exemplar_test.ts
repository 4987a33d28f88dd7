// Exemplars on counters and histogram buckets: the API, the 128 code point
// limit, one slot per series or bucket (newest wins), timestamps, and where
// they appear (OpenMetrics, never text 0.0.4), judged by tests/_support/
// parse.ts, Python's prometheus_client and promtool.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter } from "../../src/core/counter.ts";
import { Histogram } from "../../src/core/histogram.ts";
import { Gauge } from "../../src/core/gauge.ts";
import { Registry } from "../../src/core/registry.ts";
import { attachSegment, shareCollector } from "../../src/core/collector.ts";
import { family, parseOpenMetrics, parseText, type Sample } from "../_support/parse.ts";
import { pythonJudgeMissing, pythonParse } from "../_support/python_judge.ts";
import { checkMetrics, promtoolMissing } from "../_support/promtool.ts";
import { skipWithout } from "../_support/tools.ts";
import { decodeChecked } from "../_support/protobuf.ts";
import { toProtobuf } from "../../src/exposition/protobuf.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

async function om(registry: Registry) {
  return parseOpenMetrics(await registry.metrics("openmetrics"));
}

function sample(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample {
  const s = samples.find((x) =>
    x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)
  );
  assert.ok(s, `no sample ${name} ${JSON.stringify(labels)}`);
  return s;
}

function setup() {
  const registry = new Registry();
  const counter = new Counter({
    name: "requests_total",
    help: "Requests",
    labelNames: ["route"],
    registry,
  });
  const histogram = new Histogram({
    name: "latency_seconds",
    help: "Latency",
    labelNames: ["route"],
    buckets: [0.1, 1],
    registry,
  });
  return { registry, counter, histogram };
}

describe("exemplars: counters", () => {
  it("incWithExemplar adds and puts the exemplar, timestamped now, after _total", async () => {
    const { registry, counter } = setup();
    const before = Date.now() / 1000;
    counter.incWithExemplar({
      labels: { route: "/a" },
      value: 2,
      exemplarLabels: { trace_id: TRACE },
    });
    const after = Date.now() / 1000;
    counter.inc({ route: "/b" });
    const f = family(await om(registry), "requests");
    const a = sample(f.samples, "requests_total", { route: "/a" });
    assert.equal(a.value, 2);
    assert.deepEqual(a.exemplar?.labels, { trace_id: TRACE });
    assert.equal(a.exemplar?.value, 2);
    const t = a.exemplar!.timestamp!;
    assert.ok(
      t >= before - 0.001 && t <= after + 0.001,
      `timestamp ${t} not in [${before}, ${after}]`,
    );
    assert.equal(sample(f.samples, "requests_total", { route: "/b" }).exemplar, undefined);
    for (const s of f.samples) if (s.name !== "requests_total") assert.equal(s.exemplar, undefined);
  });

  it("the newer exemplar replaces the older one; plain inc keeps it", async () => {
    const { registry, counter } = setup();
    counter.incWithExemplar({ labels: { route: "/" }, exemplarLabels: { trace_id: "one" } });
    counter.incWithExemplar({
      labels: { route: "/" },
      value: 3,
      exemplarLabels: { trace_id: "two" },
    });
    counter.inc({ route: "/" }, 5);
    const s = sample((await om(registry))[0].samples, "requests_total");
    assert.equal(s.value, 9);
    assert.deepEqual(s.exemplar?.labels, { trace_id: "two" });
    assert.equal(s.exemplar?.value, 3);
  });

  it("children take { value, exemplarLabels }; unlabelled counters take no labels", async () => {
    const registry = new Registry();
    const jobs = new Counter({ name: "jobs_total", help: "Jobs", registry });
    jobs.incWithExemplar({ exemplarLabels: {} });
    const { counter } = setup();
    const child = counter.labels({ route: "/c" });
    child.incWithExemplar({ value: 4, exemplarLabels: { span_id: "00f067aa0ba902b7" } });
    const text = await registry.metrics("openmetrics");
    assert.match(text, /^jobs_total 1 # \{\} 1 \d+(\.\d+)?$/m, "an empty label set is written {}");
    const c = sample((await om(counter.registry!))[0].samples, "requests_total", { route: "/c" });
    assert.equal(c.value, 4);
    assert.deepEqual(c.exemplar?.labels, { span_id: "00f067aa0ba902b7" });
  });

  it("a removed series loses its exemplar; a child writes it again when revived", async () => {
    const { registry, counter } = setup();
    const child = counter.labels({ route: "/r" });
    child.incWithExemplar({ exemplarLabels: { trace_id: "old" } });
    counter.remove({ route: "/r" });
    counter.inc({ route: "/r" });
    assert.equal(sample((await om(registry))[0].samples, "requests_total").exemplar, undefined);
    child.incWithExemplar({ exemplarLabels: { trace_id: "new" } });
    const s = sample((await om(registry))[0].samples, "requests_total");
    assert.equal(s.value, 2);
    assert.deepEqual(s.exemplar?.labels, { trace_id: "new" });
  });
});

describe("exemplars: histogram buckets", () => {
  it("each goes on the bucket its value falls in, +Inf included; one per bucket", async () => {
    const { registry, histogram } = setup();
    const route = { route: "/" };
    histogram.observeWithExemplar({
      labels: route,
      value: 0.05,
      exemplarLabels: { trace_id: "a" },
    });
    histogram.observeWithExemplar({ labels: route, value: 0.5, exemplarLabels: { trace_id: "b" } });
    histogram.observeWithExemplar({ labels: route, value: 0.7, exemplarLabels: { trace_id: "c" } });
    histogram.labels(route).observeWithExemplar({ value: 7, exemplarLabels: { trace_id: "d" } });
    histogram.observe(route, 0.01);
    const f = family(await om(registry), "latency_seconds");
    const bucket = (le: string) => sample(f.samples, "latency_seconds_bucket", { le });
    assert.deepEqual(
      ["0.1", "1.0", "+Inf"].map((le) => [bucket(le).value, bucket(le).exemplar?.labels.trace_id]),
      [[2, "a"], [4, "c"], [5, "d"]],
    );
    assert.equal(bucket("1.0").exemplar?.value, 0.7);
    assert.equal(bucket("+Inf").exemplar?.value, 7);
    assert.equal(sample(f.samples, "latency_seconds_sum").value, 0.05 + 0.5 + 0.7 + 7 + 0.01);
    for (const s of f.samples) {
      if (s.name !== "latency_seconds_bucket") assert.equal(s.exemplar, undefined, s.name);
    }
  });

  it("get() counts exemplar observations like plain ones", () => {
    const { histogram } = setup();
    histogram.observeWithExemplar({ labels: { route: "/" }, value: 0.5, exemplarLabels: {} });
    assert.deepEqual(histogram.get({ route: "/" })?.buckets, [0, 1, 1]);
  });
});

describe("exemplars: bad input is refused, and nothing is recorded", () => {
  const cases: [string, Record<string, unknown>, RegExp, ErrorConstructor][] = [
    ["129 code points", { trace_id: "x".repeat(121) }, /129 code points.*at most 128/, RangeError],
    [
      "129 code points in several labels",
      { trace_id: "x".repeat(60), span_id: "y".repeat(54) },
      /129 code points/,
      RangeError,
    ],
    [
      "a number value",
      { trace_id: 42 },
      /exemplar label "trace_id" must be a string, got number/,
      TypeError,
    ],
    ["a bad name", { "trace-id": "x" }, /invalid exemplar label name "trace-id"/, TypeError],
    ["a reserved name", { __name__: "x" }, /invalid exemplar label name "__name__"/, TypeError],
  ];
  for (const [what, labels, message, type] of cases) {
    it(what, async () => {
      const { registry, counter, histogram } = setup();
      assert.throws(
        () => counter.incWithExemplar({ labels: { route: "/" }, exemplarLabels: labels as never }),
        (e: Error) =>
          e instanceof type && message.test(e.message) && /"requests_total"/.test(e.message),
      );
      assert.throws(
        () =>
          histogram.observeWithExemplar({
            labels: { route: "/" },
            value: 1,
            exemplarLabels: labels as never,
          }),
        (e: Error) =>
          e instanceof type && message.test(e.message) && /"latency_seconds"/.test(e.message),
      );
      assert.throws(
        () => counter.labels({ route: "/x" }).incWithExemplar({ exemplarLabels: labels as never }),
        type,
      );
      const text = await registry.metrics("openmetrics");
      assert.doesNotMatch(text, / # \{/);
      assert.equal(counter.get({ route: "/" }), 0);
      assert.equal(counter.get({ route: "/x" }), 0);
      assert.equal(histogram.get({ route: "/" }), undefined);
    });
  }

  it("counts code points, not UTF-16 units: 120 emoji under trace_id fit, 121 do not", async () => {
    const { registry, counter } = setup();
    const fits = "\u{1F600}".repeat(120); // 240 UTF-16 units, 120 code points
    counter.incWithExemplar({ labels: { route: "/" }, exemplarLabels: { trace_id: fits } });
    assert.throws(
      () =>
        counter.incWithExemplar({
          labels: { route: "/" },
          exemplarLabels: { trace_id: fits + "\u{1F600}" },
        }),
      /129 code points/,
    );
    const s = sample((await om(registry))[0].samples, "requests_total");
    assert.equal(s.exemplar?.labels.trace_id, fits);
    const py = pythonJudgeMissing === ""
      ? pythonParse(await registry.metrics("openmetrics"), "openmetrics")
      : undefined;
    if (py !== undefined) assert.ok(py.ok, py.ok ? "" : py.error);
  });

  it("a bad value or a missing argument is refused before anything is recorded", () => {
    const { counter, histogram } = setup();
    assert.throws(
      () => counter.incWithExemplar({ labels: { route: "/" }, value: -1, exemplarLabels: {} }),
      RangeError,
    );
    assert.throws(
      () =>
        histogram.observeWithExemplar({ labels: { route: "/" }, value: NaN, exemplarLabels: {} }),
      /cannot observe NaN/,
    );
    assert.throws(
      () => counter.incWithExemplar(undefined as never),
      /takes \{ labels, value, exemplarLabels \}/,
    );
    assert.throws(
      () => histogram.labels({ route: "/" }).observeWithExemplar(null as never),
      TypeError,
    );
    assert.throws(
      () => counter.incWithExemplar({ labels: { route: "/" } } as never),
      /exemplarLabels must be an object/,
    );
    assert.throws(() => counter.incWithExemplar({ exemplarLabels: {} }), /label/);
    assert.equal(counter.get({ route: "/" }), 0);
    assert.equal(histogram.get({ route: "/" })?.count ?? 0, 0);
  });

  it("gauges have no exemplar API", () => {
    const g = new Gauge({ name: "g", help: "G", registry: new Registry() });
    assert.equal("incWithExemplar" in g, false);
    assert.equal("observeWithExemplar" in g, false);
  });
});

describe("exemplars: where they appear", () => {
  function full() {
    const { registry, counter, histogram } = setup();
    counter.incWithExemplar({
      labels: { route: '/q"\\\n' },
      exemplarLabels: { trace_id: TRACE, note: 'a "quoted"\\ line\nbreak é' },
    });
    counter.inc({ route: "/plain" });
    histogram.observeWithExemplar({
      labels: { route: "/" },
      value: 0.05,
      exemplarLabels: { trace_id: TRACE },
    });
    histogram.observeWithExemplar({ labels: { route: "/" }, value: 99, exemplarLabels: {} });
    return registry;
  }

  it(
    "never in text 0.0.4, which promtool accepts",
    { skip: skipWithout(promtoolMissing) },
    async () => {
      const text = await full().metrics();
      assert.doesNotMatch(text, /#\s*\{/);
      for (const f of parseText(text)) {
        for (const s of f.samples) {
          assert.equal(s.exemplar, undefined);
        }
      }
      const verdict = checkMetrics(text);
      assert.equal(verdict.status, 0, verdict.stdout + verdict.stderr);
      assert.equal(verdict.stdout + verdict.stderr, "");
    },
  );

  it("in OpenMetrics, escaped, read back the same by parse.ts and prometheus_client", {
    skip: skipWithout(pythonJudgeMissing),
  }, async () => {
    const body = await full().metrics("openmetrics");
    const ours = parseOpenMetrics(body);
    const py = pythonParse(body, "openmetrics");
    assert.ok(py.ok, py.ok ? "" : py.error);
    const exemplars = (families: typeof ours) =>
      families.flatMap((f) =>
        f.samples.filter((s) => s.exemplar).map((s) => [s.name, s.labels, s.exemplar])
      );
    assert.equal(exemplars(ours).length, 3);
    assert.deepEqual(exemplars(py.families), exemplars(ours));
    const c = sample(family(ours, "requests").samples, "requests_total", { route: '/q"\\\n' });
    assert.deepEqual(c.exemplar?.labels, { trace_id: TRACE, note: 'a "quoted"\\ line\nbreak é' });
  });
});

describe("exemplars: protobuf", () => {
  it("on Counter.exemplar and Bucket.exemplar, +Inf as an explicit bucket, with timestamps", async () => {
    const { registry, counter, histogram } = setup();
    counter.incWithExemplar({
      labels: { route: "/" },
      value: 2,
      exemplarLabels: { trace_id: TRACE },
    });
    counter.inc({ route: "/plain" });
    histogram.observeWithExemplar({
      labels: { route: "/" },
      value: 0.5,
      exemplarLabels: { trace_id: "b" },
    });
    histogram.observeWithExemplar({ labels: { route: "/" }, value: 9, exemplarLabels: {} });
    histogram.observe({ route: "/plain" }, 9);
    const families = await registry.collect();
    const exposed = families.flatMap((f) => Array.from(f.exemplars ?? []).filter((e) => e));
    assert.equal(exposed.length, 3);
    const decoded = decodeChecked(toProtobuf(families));
    const c = decoded.find((f) => f.name === "requests_total")!;
    const withEx = c.metrics.find((m) => m.labels[0][1] === "/")!;
    assert.deepEqual(withEx.counter?.exemplar?.labels, { trace_id: TRACE });
    assert.equal(withEx.counter?.exemplar?.value, 2);
    const ts = families[0].exemplars![0]!.timestamp;
    assert.ok(Math.abs(withEx.counter!.exemplar!.timestamp! - ts) < 1e-6);
    assert.equal(c.metrics.find((m) => m.labels[0][1] === "/plain")!.counter?.exemplar, undefined);

    const h = decoded.find((f) => f.name === "latency_seconds")!;
    const hist = h.metrics.find((m) => m.labels[0][1] === "/")!.histogram!;
    assert.deepEqual(
      hist.buckets.map((
        b,
      ) => [b.upperBound, b.cumulativeCount, b.exemplar?.labels, b.exemplar?.value]),
      [[0.1, 0, undefined, undefined], [1, 1, { trace_id: "b" }, 0.5], [Infinity, 2, {}, 9]],
    );
    assert.ok(hist.buckets.every((b) => b.exemplar === undefined || b.exemplar.timestamp! > 1.7e9));
    const plain = h.metrics.find((m) => m.labels[0][1] === "/plain")!.histogram!;
    assert.deepEqual(plain.buckets.map((b) => b.upperBound), [0.1, 1], "+Inf stays implicit");
  });
});

describe("exemplars across workers (shared memory, read as another worker would)", () => {
  function pair() {
    const make = () => {
      const registry = new Registry();
      return {
        registry,
        counter: new Counter({ name: "jobs_total", help: "Jobs", labelNames: ["q"], registry }),
        histogram: new Histogram({
          name: "job_seconds",
          help: "Job time",
          labelNames: ["q"],
          buckets: [1],
          registry,
        }),
      };
    };
    const a = make();
    const b = make();
    for (const [mine, theirs, id] of [[a, b, "wa"], [b, a, "wb"]] as const) {
      for (const name of ["jobs_total", "job_seconds"]) {
        const segment = shareCollector(mine.registry.get(name)!, id)!;
        assert.ok(attachSegment(theirs.registry.get(name)!, segment));
      }
    }
    return { a, b };
  }

  it("a scrape of either worker shows the other's exemplars; the newest wins per slot", async () => {
    const { a, b } = pair();
    a.counter.incWithExemplar({ labels: { q: "x" }, exemplarLabels: { trace_id: "from-a" } });
    a.histogram.observeWithExemplar({
      labels: { q: "x" },
      value: 5,
      exemplarLabels: { trace_id: "a-inf" },
    });
    // Later, in b: same counter series, so b's is newer; its own bucket slot for le=1.
    await new Promise((resolve) => setTimeout(resolve, 5));
    b.counter.incWithExemplar({
      labels: { q: "x" },
      exemplarLabels: { trace_id: "from-b-" + "é".repeat(60) },
    });
    b.histogram.observeWithExemplar({ labels: { q: "x" }, value: 0.5, exemplarLabels: {} });
    for (const side of [a, b]) {
      const families = await om(side.registry);
      const total = sample(family(families, "jobs").samples, "jobs_total");
      assert.equal(total.value, 2);
      assert.equal(total.exemplar?.labels.trace_id, "from-b-" + "é".repeat(60));
      const buckets = family(families, "job_seconds").samples.filter((s) =>
        s.name === "job_seconds_bucket"
      );
      assert.deepEqual(buckets.map((s) => [s.value, s.exemplar?.labels]), [[1, {}], [2, {
        trace_id: "a-inf",
      }]]);
    }
  });

  it("a rewritten exemplar (shorter, longer) and a removed series read back right", async () => {
    const { a, b } = pair();
    for (const trace of ["short", "x".repeat(100), "y", "z".repeat(120)]) {
      a.counter.incWithExemplar({ labels: { q: "x" }, exemplarLabels: { trace_id: trace } });
      const total = sample(family(await om(b.registry), "jobs").samples, "jobs_total");
      assert.equal(total.exemplar?.labels.trace_id, trace);
    }
    a.counter.remove({ q: "x" });
    a.counter.inc({ q: "x" });
    const total = sample(family(await om(b.registry), "jobs").samples, "jobs_total");
    assert.equal(total.exemplar, undefined);
  });
});

describe("exemplars: native histograms", () => {
  it("live on the classic buckets kept beside the native ones, in OpenMetrics and protobuf", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "n_seconds", help: "N", buckets: [1], native: true, registry });
    h.observeWithExemplar({ value: 0.5, exemplarLabels: { trace_id: "a" } });
    h.observeWithExemplar({ value: 3, exemplarLabels: { trace_id: "b" } });
    const buckets = family(await om(registry), "n_seconds").samples.filter((s) =>
      s.name === "n_seconds_bucket"
    );
    assert.deepEqual(buckets.map((s) => s.exemplar?.labels.trace_id), ["a", "b"]);
    const [f] = decodeChecked(toProtobuf(await registry.collect()));
    const hist = f.metrics[0].histogram!;
    assert.equal(hist.schema, 3, "native");
    assert.deepEqual(hist.buckets.map((b) => [b.upperBound, b.exemplar?.labels.trace_id]), [
      [1, "a"],
      [Infinity, "b"],
    ]);
  });

  it("a reset by the bucket limit (minResetSeconds) drops the series' older exemplars", async () => {
    let now = 1_000_000;
    const registry = new Registry();
    const h = new Histogram({
      name: "r_seconds",
      help: "R",
      buckets: [1, 10],
      native: { bucketFactor: 2, maxBuckets: 2, minResetSeconds: 10, now: () => now },
      registry,
    });
    h.observeWithExemplar({ value: 20, exemplarLabels: { trace_id: "before-reset" } });
    now += 20_000;
    h.observe(1); // two buckets: at the limit
    // A third: over the limit, 20 s after the last reset: reset, then this observation.
    h.observeWithExemplar({ value: 2, exemplarLabels: { trace_id: "after-reset" } });
    const f = (await registry.collect())[0];
    assert.equal(f.counts![0], 1, "reset, then this observation");
    assert.deepEqual(
      Array.from(f.exemplars ?? []).map((e) => e?.labels.trace_id),
      [undefined, "after-reset", undefined],
    );
  });
});

describe("exemplars: never on a gauge or summary, whatever a collector hands over", () => {
  it("a custom collector's exemplars on a gauge and a summary are not written", async () => {
    const registry = new Registry();
    const e = { labels: { trace_id: "x" }, value: 1, timestamp: 1_700_000_000 };
    registry.register({
      name: "g",
      type: "gauge",
      collect: () => ({
        name: "g",
        help: "G",
        type: "gauge",
        unit: "",
        labelNames: [],
        labelValues: [],
        size: 1,
        values: [1],
        exemplars: [e],
      }),
    });
    registry.register({
      name: "s",
      type: "summary",
      collect: () => ({
        name: "s",
        help: "S",
        type: "summary",
        unit: "",
        labelNames: [],
        labelValues: [],
        size: 1,
        values: [1],
        sums: [1],
        counts: [1],
        quantiles: [0.5],
        exemplars: [e],
      }),
    });
    const body = await registry.metrics("openmetrics");
    assert.doesNotMatch(body, /#\s*\{/, body);
    parseOpenMetrics(body);
    const decoded = decodeChecked(toProtobuf(await registry.collect()));
    assert.equal(decoded.length, 2);
    assert.ok(!JSON.stringify(decoded).includes("trace_id"));
  });
});
