import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_MAX_SERIES,
  OVERFLOW_VALUE,
  SeriesIndex,
  type SeriesStorage,
} from "../../src/core/series.ts";
import { Counter } from "../../src/core/counter.ts";
import { Gauge } from "../../src/core/gauge.ts";
import { Histogram } from "../../src/core/histogram.ts";
import { Summary } from "../../src/core/summary.ts";
import { OVERFLOW_METRIC, Registry } from "../../src/core/registry.ts";
import { parseSamples, samplesNamed, valueOf } from "./_exposition.ts";

/** A storage that records what the index asks of it. */
class FakeStorage implements SeriesStorage {
  capacity = 0;
  readonly inits: number[] = [];
  readonly releases: number[] = [];
  grow(capacity: number): void {
    assert.ok(capacity >= this.capacity, "storage must never shrink");
    this.capacity = capacity;
  }
  init(id: number): void {
    assert.ok(id < this.capacity, `init(${id}) beyond capacity ${this.capacity}`);
    this.inits.push(id);
  }
  release(id: number): void {
    this.releases.push(id);
  }
}

function index(names: string[], maxSeries = DEFAULT_MAX_SERIES) {
  const storage = new FakeStorage();
  const idx = new SeriesIndex("my_metric", names, maxSeries, storage);
  return { idx, storage };
}

function labelsOf(idx: SeriesIndex, id: number): string[] {
  const n = idx.names.length;
  return idx.escaped.slice(id * n, id * n + n) as string[];
}

function typeErrorMentioning(...parts: string[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof TypeError, `expected a TypeError, got ${e}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  };
}

describe("SeriesIndex: label set to series id", () => {
  it("an unlabelled index has exactly one series, id 0", () => {
    const { idx, storage } = index([]);
    assert.equal(idx.lookup({}), 0);
    assert.equal(idx.lookup({}), 0);
    assert.equal(idx.find({}), 0);
    assert.equal(idx.size, 1);
    assert.deepEqual(storage.inits, [0]);
  });

  it("the same label set maps to the same id, in any key order", () => {
    const { idx } = index(["a", "b"]);
    const x = idx.lookup({ a: "1", b: "2" });
    assert.equal(idx.lookup({ b: "2", a: "1" }), x);
    assert.equal(idx.find({ a: "1", b: "2" }), x);
    const y = idx.lookup({ a: "2", b: "1" });
    assert.notEqual(x, y);
    assert.equal(idx.size, 2);
    assert.deepEqual(labelsOf(idx, x), ["1", "2"]);
    assert.deepEqual(labelsOf(idx, y), ["2", "1"]);
  });

  it("numbers are coerced with String: {code: 200} and {code: '200'} are one series", () => {
    const { idx } = index(["code"]);
    const a = idx.lookup({ code: 200 });
    assert.equal(idx.lookup({ code: "200" }), a);
    assert.equal(idx.find({ code: 200 }), a);
    assert.equal(idx.lookup({ code: 1.5 }), idx.lookup({ code: "1.5" }));
    assert.equal(idx.size, 2);
    assert.deepEqual(labelsOf(idx, a), ["200"]);
  });

  it("keys cannot collide: {a:'a|', b:''} and {a:'a', b:'|'} are distinct", () => {
    const { idx } = index(["a", "b"]);
    const sets = [
      { a: "a|", b: "" },
      { a: "a", b: "|" },
      { a: "", b: "a|" },
      { a: "a,b", b: "" },
      { a: "a", b: ",b" },
      { a: "a\u0000", b: "" },
      { a: "a", b: "\u0000" },
    ];
    const ids = sets.map((s) => idx.lookup(s));
    assert.equal(new Set(ids).size, sets.length);
    sets.forEach((s, i) => assert.deepEqual(labelsOf(idx, ids[i]), [s.a, s.b]));
  });

  it("any string is a valid value: empty, quotes, backslashes, newlines, emoji", () => {
    const { idx } = index(["v"]);
    const values = ["", '"', "\\", "\n", "🎉", " ", "a=b,c"];
    const ids = values.map((v) => idx.lookup({ v }));
    assert.equal(new Set(ids).size, values.length);
    assert.deepEqual(
      ids.map((id) => labelsOf(idx, id)[0]),
      ["", '\\"', "\\\\", "\\n", "🎉", " ", "a=b,c"],
    );
  });

  it("lone surrogates \\uD800 and \\uDC00 render alike, so they are one series", () => {
    const { idx } = index(["a", "b"]);
    const x = idx.lookup({ a: "\uD800", b: "k" });
    assert.equal(idx.lookup({ a: "\uDC00", b: "k" }), x);
    assert.equal(idx.lookup({ a: "\uFFFD", b: "k" }), x);
    assert.equal(idx.size, 1);
    assert.deepEqual(labelsOf(idx, x), ["\uFFFD", "k"]);
    // Looking the series up or removing it works through either spelling.
    assert.equal(idx.find({ a: "\uDC00", b: "k" }), x);
    assert.equal(idx.remove({ a: "\uDC00", b: "k" }), true);
    assert.equal(idx.size, 0);
    assert.equal(idx.find({ a: "\uD800", b: "k" }), -1);
  });

  it("find returns -1 for an absent series and creates nothing", () => {
    const { idx, storage } = index(["a"]);
    assert.equal(idx.find({ a: "x" }), -1);
    assert.equal(idx.size, 0);
    assert.deepEqual(storage.inits, []);
  });
});

describe("SeriesIndex: label errors", () => {
  it("a missing label throws a TypeError naming the metric and the label", () => {
    const { idx } = index(["model", "endpoint"]);
    assert.throws(() => idx.lookup({ model: "m" }), typeErrorMentioning("my_metric", "endpoint"));
    assert.throws(() => idx.lookup({}), typeErrorMentioning("my_metric", "model"));
    assert.throws(() => idx.find({ endpoint: "e" }), typeErrorMentioning("my_metric", "model"));
    assert.throws(() => idx.remove({ endpoint: "e" }), typeErrorMentioning("my_metric", "model"));
  });

  it("an unknown label throws a TypeError naming the metric and the label", () => {
    const { idx } = index(["model"]);
    assert.throws(
      () => idx.lookup({ model: "m", colour: "red" }),
      typeErrorMentioning("my_metric", "colour"),
    );
    assert.throws(
      () => idx.find({ model: "m", colour: "red" }),
      typeErrorMentioning("my_metric", "colour"),
    );
    assert.throws(
      () => idx.remove({ model: "m", colour: "red" }),
      typeErrorMentioning("my_metric", "colour"),
    );
    // Right count, wrong name (a typo): the unknown one is named.
    const two = index(["a", "b"]).idx;
    for (const call of [() => two.lookup({ a: "1", c: "2" }), () => two.find({ a: "1", c: "2" })]) {
      assert.throws(call, typeErrorMentioning("my_metric", '"c"', "unknown"));
    }
    assert.throws(() => two.remove({ a: "1", c: "2" }), typeErrorMentioning("my_metric", '"c"'));
  });

  it("labels given to an unlabelled metric throw", () => {
    const { idx } = index([]);
    assert.throws(() => idx.lookup({ a: "1" }), typeErrorMentioning("my_metric", '"a"'));
  });

  it("a value that is not a string or number throws, naming the label", () => {
    const { idx } = index(["a"]);
    for (const bad of [null, undefined, {}, [], () => 1, Symbol("s")]) {
      assert.throws(() => idx.lookup({ a: bad }), typeErrorMentioning("my_metric", '"a"'));
    }
    assert.equal(idx.size, 0);
  });

  it("a failed lookup leaves no series behind", () => {
    const { idx } = index(["a", "b"]);
    assert.throws(() => idx.lookup({ a: "x", b: null }));
    assert.equal(idx.size, 0);
    assert.equal(idx.lookup({ a: "x", b: "y" }), idx.find({ a: "x", b: "y" }));
    assert.equal(idx.size, 1);
  });

  it("remove on an unlabelled index throws (reset is the way)", () => {
    const { idx } = index([]);
    assert.throws(() => idx.remove({}), TypeError);
  });
});

describe("SeriesIndex: remove, clear, id reuse", () => {
  it("remove deletes the series, releases its slot and reuses the id", () => {
    const { idx, storage } = index(["a"]);
    const x = idx.lookup({ a: "x" });
    const y = idx.lookup({ a: "y" });
    assert.equal(idx.remove({ a: "x" }), true);
    assert.equal(idx.remove({ a: "x" }), false);
    assert.equal(idx.remove({ a: "never" }), false);
    assert.deepEqual(storage.releases, [x]);
    assert.equal(idx.find({ a: "x" }), -1);
    assert.equal(idx.find({ a: "y" }), y);
    assert.equal(idx.alive[x], 0);
    const z = idx.lookup({ a: "z" });
    assert.equal(z, x, "the freed id is reused");
    assert.deepEqual(labelsOf(idx, z), ["z"]);
    assert.equal(idx.size, 2);
  });

  it("removing a deep series keeps its siblings in the trie", () => {
    const { idx } = index(["a", "b", "c"]);
    const p = idx.lookup({ a: "1", b: "2", c: "3" });
    const q = idx.lookup({ a: "1", b: "2", c: "4" });
    const r = idx.lookup({ a: "1", b: "5", c: "3" });
    assert.equal(idx.remove({ a: "1", b: "2", c: "3" }), true);
    assert.equal(idx.find({ a: "1", b: "2", c: "3" }), -1);
    assert.equal(idx.find({ a: "1", b: "2", c: "4" }), q);
    assert.equal(idx.find({ a: "1", b: "5", c: "3" }), r);
    assert.notEqual(p, -1);
  });

  it("clear removes every labelled series", () => {
    const { idx, storage } = index(["a"]);
    for (let i = 0; i < 20; i++) idx.lookup({ a: i });
    idx.clear();
    assert.equal(idx.size, 0);
    assert.equal(storage.releases.length, 20);
    for (let i = 0; i < 20; i++) assert.equal(idx.find({ a: i }), -1);
    const id = idx.lookup({ a: "fresh" });
    assert.deepEqual(labelsOf(idx, id), ["fresh"]);
    assert.equal(idx.size, 1);
  });

  it("clear on an unlabelled index keeps its one series, re-initialised", () => {
    const { idx, storage } = index([]);
    idx.clear();
    assert.equal(idx.size, 1);
    assert.equal(idx.find({}), 0);
    assert.deepEqual(storage.releases, [0]);
    assert.deepEqual(storage.inits, [0, 0]);
  });
});

describe("SeriesIndex: cardinality cap", () => {
  it("defaults to 10,000 series", () => {
    assert.equal(DEFAULT_MAX_SERIES, 10_000);
  });

  it("past maxSeries, new label sets fold into one overflow series, nothing throws", () => {
    const { idx } = index(["a", "b"], 3);
    let folded = 0;
    idx.onOverflow = () => folded++;
    const real = [0, 1, 2].map((i) => idx.lookup({ a: i, b: "x" }));
    const o1 = idx.lookup({ a: 3, b: "x" });
    const o2 = idx.lookup({ a: 4, b: "y" });
    const o3 = idx.lookup({ a: 3, b: "x" });
    assert.equal(o1, o2);
    assert.equal(o1, o3);
    assert.ok(!real.includes(o1));
    assert.deepEqual(labelsOf(idx, o1), [OVERFLOW_VALUE, OVERFLOW_VALUE]);
    assert.equal(OVERFLOW_VALUE, "__overflow__");
    assert.equal(folded, 3, "every folded call is counted, repeats included");
    // Existing series still resolve to themselves, uncounted.
    assert.equal(idx.lookup({ a: 1, b: "x" }), real[1]);
    assert.equal(folded, 3);
    assert.equal(idx.size, 4);
  });

  it("removing a series frees room under the cap", () => {
    const { idx } = index(["a"], 3);
    let folded = 0;
    idx.onOverflow = () => folded++;
    for (const a of ["p", "q", "r"]) idx.lookup({ a });
    assert.equal(idx.remove({ a: "p" }), true);
    const s = idx.lookup({ a: "s" });
    assert.deepEqual(labelsOf(idx, s), ["s"]);
    assert.equal(folded, 0);
  });

  it("removing a series frees room even once the overflow series exists", () => {
    const { idx } = index(["a"], 3);
    let folded = 0;
    idx.onOverflow = () => folded++;
    for (const a of ["p", "q", "r"]) idx.lookup({ a });
    const overflow = idx.lookup({ a: "s" });
    assert.equal(folded, 1);
    assert.equal(idx.remove({ a: "p" }), true);
    const t = idx.lookup({ a: "t" });
    assert.notEqual(t, overflow);
    assert.deepEqual(labelsOf(idx, t), ["t"]);
    assert.equal(folded, 1);
    // Full again: the next new set folds into the same overflow series.
    assert.equal(idx.lookup({ a: "u" }), overflow);
    assert.equal(folded, 2);
    assert.equal(idx.size, 4);
  });

  it("memory is bounded: 100,000 distinct sets with maxSeries 1000 hold 1001 slots", () => {
    const { idx, storage } = index(["user"], 1000);
    let folded = 0;
    idx.onOverflow = () => folded++;
    for (let i = 0; i < 100_000; i++) idx.lookup({ user: `u${i}` });
    assert.equal(idx.size, 1001);
    assert.equal(folded, 99_000);
    assert.ok(idx.capacity <= 1001, `capacity ${idx.capacity}`);
    assert.ok(storage.capacity <= 1001, `storage capacity ${storage.capacity}`);
    assert.ok(idx.end <= 1001);
    assert.equal(idx.escaped.length, 1001);
  });

  it("a lone-surrogate value resolves to its existing series even at the cap", () => {
    const { idx } = index(["a"], 1);
    let folded = 0;
    idx.onOverflow = () => folded++;
    const x = idx.lookup({ a: "\uD800" });
    assert.equal(idx.lookup({ a: "\uDC00" }), x);
    assert.equal(folded, 0);
  });
});

describe("series cap, through every metric type and the registry", () => {
  const kinds = {
    counter: (registry: Registry) => {
      const m = new Counter({
        name: "capped_total",
        help: "h",
        labelNames: ["user"],
        maxSeries: 1000,
        registry,
      });
      return {
        name: "capped_total",
        sample: "capped_total",
        use: (u: string) => m.inc({ user: u }),
      };
    },
    gauge: (registry: Registry) => {
      const m = new Gauge({
        name: "capped",
        help: "h",
        labelNames: ["user"],
        maxSeries: 1000,
        registry,
      });
      return { name: "capped", sample: "capped", use: (u: string) => m.inc({ user: u }) };
    },
    histogram: (registry: Registry) => {
      const m = new Histogram({
        name: "capped",
        help: "h",
        labelNames: ["user"],
        maxSeries: 1000,
        buckets: [1],
        registry,
      });
      return {
        name: "capped",
        sample: "capped_count",
        use: (u: string) => m.observe({ user: u }, 1),
      };
    },
    summary: (registry: Registry) => {
      const m = new Summary({
        name: "capped",
        help: "h",
        labelNames: ["user"],
        maxSeries: 1000,
        percentiles: [0.5],
        now: () => 0,
        registry,
      });
      return {
        name: "capped",
        sample: "capped_count",
        use: (u: string) => m.observe({ user: u }, 1),
      };
    },
  };

  for (const [kind, make] of Object.entries(kinds)) {
    it(`${kind}: 100,000 distinct values with maxSeries 1000 give exactly 1001 series`, async () => {
      const registry = new Registry();
      const m = make(registry);
      for (let i = 0; i < 100_000; i++) m.use(`user-${i}`);
      const samples = parseSamples(await registry.metrics());
      const series = samplesNamed(samples, m.sample);
      assert.equal(series.length, 1001);
      assert.equal(new Set(series.map((s) => s.labels.user)).size, 1001, "no duplicate series");
      const overflow = series.filter((s) => s.labels.user === OVERFLOW_VALUE);
      assert.equal(overflow.length, 1);
      assert.equal(overflow[0].value, 99_000, "the folded calls are recorded in overflow");
      assert.equal(valueOf(samples, OVERFLOW_METRIC, { metric: m.name }), 99_000);
    });
  }

  it("a metric without a registry still caps, and nothing throws", () => {
    const c = new Counter({
      name: "loose_total",
      help: "h",
      labelNames: ["u"],
      maxSeries: 2,
      registry: null,
    });
    for (let i = 0; i < 10; i++) c.inc({ u: i });
    assert.equal(c.collect().size, 3);
    assert.equal(c.get({ u: OVERFLOW_VALUE }), 8);
  });

  it("maxSeries must be a positive integer", () => {
    const registry = new Registry();
    for (const maxSeries of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(
        () => new Counter({ name: "c_total", help: "h", maxSeries, registry }),
        RangeError,
      );
    }
  });

  it("collisions and coercions are visible in the output as prom-client's are not", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "pairs_total", help: "h", labelNames: ["a", "b"], registry });
    c.inc({ a: "a|", b: "" });
    c.inc({ a: "a", b: "|" }, 2);
    const codes = new Counter({ name: "codes_total", help: "h", labelNames: ["code"], registry });
    codes.inc({ code: 200 });
    codes.inc({ code: "200" });
    const s = new Counter({ name: "surr_total", help: "h", labelNames: ["v"], registry });
    s.inc({ v: "\uD800" });
    s.inc({ v: "\uDC00" });
    const samples = parseSamples(await registry.metrics());
    assert.equal(valueOf(samples, "pairs_total", { a: "a|", b: "" }), 1);
    assert.equal(valueOf(samples, "pairs_total", { a: "a", b: "|" }), 2);
    assert.equal(samplesNamed(samples, "codes_total").length, 1);
    assert.equal(valueOf(samples, "codes_total", { code: "200" }), 2);
    assert.equal(samplesNamed(samples, "surr_total").length, 1);
    assert.equal(valueOf(samples, "surr_total", { v: "\uFFFD" }), 2);
  });
});
