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

// ------------------------------------------------------------ compact trie nodes

import { COMPACT_MAX } from "../../src/core/series.ts";
import { escapeLabelValue } from "../../src/model/escape.ts";
import { int, mulberry32, pick, type Random } from "../_support/random.ts";

/** `count` distinct values: `v0`, `v1`, ... */
function values(count: number, prefix = "v"): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Values whose naive joins or escapes collide, and lone surrogates. */
const HOSTILE = [
  "",
  "|",
  "a|",
  "a",
  "a,b",
  ",b",
  "a\u0000",
  "\u0000",
  "a\n", // newline: escapes to `a\n`...
  "a\\n", // ...which is this value as written, whose own escape is `a\\n`
  '"',
  '\\"',
  "\\",
  "\\\\",
  "🎉",
];

describe("SeriesIndex: compact nodes (flat arrays, leaf chains) and their promotion to Maps", () => {
  it("the root is a Map however few its values, so one-label lookups stay hashed", () => {
    const { idx } = index(["a"]);
    idx.lookup({ a: "x" });
    assert.equal(idx.nodeKind([]), "map");
    idx.remove({ a: "x" });
    assert.equal(idx.nodeKind([]), undefined);
    idx.lookup({ a: "y" });
    assert.equal(idx.nodeKind([]), "map");
  });

  it(`a last level holds ${COMPACT_MAX} values in a chain, and becomes a Map at the next`, () => {
    const { idx } = index(["p", "a"]);
    const vs = values(COMPACT_MAX + 1);
    const ids = vs.slice(0, COMPACT_MAX).map((a) => idx.lookup({ p: "p", a }));
    assert.equal(idx.nodeKind(["p"]), "chain");
    ids.push(idx.lookup({ p: "p", a: vs[COMPACT_MAX] }));
    assert.equal(idx.nodeKind(["p"]), "map");
    assert.equal(new Set(ids).size, ids.length);
    vs.forEach((a, i) => {
      assert.equal(idx.find({ p: "p", a }), ids[i]);
      assert.equal(idx.lookup({ p: "p", a }), ids[i]);
      assert.deepEqual(labelsOf(idx, ids[i]), ["p", a]);
    });
    assert.equal(idx.size, COMPACT_MAX + 1);
  });

  it(`an inner level holds ${COMPACT_MAX} values in a flat array, and becomes a Map at the next`, () => {
    const { idx } = index(["p", "a", "b"]);
    const vs = values(COMPACT_MAX + 1);
    const ids = vs.slice(0, COMPACT_MAX).map((a) => idx.lookup({ p: "p", a, b: "x" }));
    assert.equal(idx.nodeKind(["p"]), "array");
    assert.equal(idx.nodeKind(["p", "v0"]), "chain");
    ids.push(idx.lookup({ p: "p", a: vs[COMPACT_MAX], b: "x" }));
    assert.equal(idx.nodeKind(["p"]), "map");
    vs.forEach((a, i) => assert.equal(idx.find({ p: "p", a, b: "x" }), ids[i]));
    assert.equal(idx.nodeKind(["p", "nope"]), undefined);
  });

  it("a Map shrinks back to a compact node at half the threshold, keeping every series", () => {
    for (const names of [["p", "a"], ["p", "a", "b"]]) {
      const { idx } = index(names);
      const set = (a: string) => names.length === 2 ? { p: "p", a } : { p: "p", a, b: "x" };
      const vs = values(COMPACT_MAX * 2);
      const ids = new Map(vs.map((a) => [a, idx.lookup(set(a))]));
      const compact = names.length === 2 ? "chain" : "array";
      assert.equal(idx.nodeKind(["p"]), "map");
      let left = vs.length;
      for (const a of vs) {
        if (left === 1) break;
        assert.equal(idx.remove(set(a)), true);
        ids.delete(a);
        left--;
        const kind = left > COMPACT_MAX / 2 ? "map" : compact;
        assert.equal(idx.nodeKind(["p"]), kind, `${left} left`);
        for (const [b, id] of ids) assert.equal(idx.find(set(b)), id);
        assert.equal(idx.find(set(a)), -1);
      }
      // Growing again promotes again, past the threshold, not before.
      for (const a of values(COMPACT_MAX - 1, "w")) ids.set(a, idx.lookup(set(a)));
      assert.equal(idx.nodeKind(["p"]), compact);
      ids.set("last", idx.lookup(set("last")));
      assert.equal(idx.nodeKind(["p"]), "map");
      for (const [a, id] of ids) assert.equal(idx.find(set(a)), id);
      assert.equal(idx.size, ids.size);
    }
  });

  it("removing from a chain unlinks head, middle and tail alike", () => {
    const { idx } = index(["a", "b"]);
    const vs = values(5);
    const ids = vs.map((b) => idx.lookup({ a: "p", b }));
    // The newest series is the chain's head, the oldest its tail.
    for (const k of [4, 2, 0]) {
      assert.equal(idx.remove({ a: "p", b: vs[k] }), true);
      assert.equal(idx.find({ a: "p", b: vs[k] }), -1);
    }
    assert.equal(idx.find({ a: "p", b: "v1" }), ids[1]);
    assert.equal(idx.find({ a: "p", b: "v3" }), ids[3]);
    assert.equal(idx.nodeKind(["p"]), "chain");
    idx.remove({ a: "p", b: "v1" });
    idx.remove({ a: "p", b: "v3" });
    assert.equal(idx.nodeKind(["p"]), undefined, "an emptied node leaves the trie");
    assert.equal(idx.nodeKind([]), undefined);
    assert.equal(idx.size, 0);
    const again = idx.lookup({ a: "p", b: "v1" });
    assert.equal(idx.find({ a: "p", b: "v1" }), again);
  });

  it("removing from a flat array keeps the other entries, and an emptied array leaves", () => {
    const { idx } = index(["p", "a", "b"]);
    const vs = values(5);
    const ids = vs.map((a) => idx.lookup({ p: "p", a, b: "x" }));
    for (const k of [0, 2, 4]) assert.equal(idx.remove({ p: "p", a: vs[k], b: "x" }), true);
    assert.equal(idx.nodeKind(["p"]), "array");
    assert.equal(idx.find({ p: "p", a: "v1", b: "x" }), ids[1]);
    assert.equal(idx.find({ p: "p", a: "v3", b: "x" }), ids[3]);
    assert.equal(idx.find({ p: "p", a: "v0", b: "x" }), -1);
    idx.remove({ p: "p", a: "v1", b: "x" });
    idx.remove({ p: "p", a: "v3", b: "x" });
    assert.equal(idx.nodeKind(["p"]), undefined);
    assert.equal(idx.size, 0);
  });

  it("hostile values never collide, in compact nodes and in Maps, at every level", () => {
    // Few siblings (compact nodes: three hostile values at a time) and, with
    // padding, many (Maps: all of them at once).
    for (const pad of [0, COMPACT_MAX * 2]) {
      const chunk = pad === 0 ? 3 : HOSTILE.length;
      for (let k = 0; k < HOSTILE.length; k += chunk) {
        const { idx } = index(["a", "b", "c"]);
        for (const p of values(pad, "pad")) idx.lookup({ a: "a", b: p, c: p });
        for (const p of values(pad, "pad")) idx.lookup({ a: "a", b: "a", c: p });
        const sets: { a: string; b: string; c: string }[] = [];
        for (const x of HOSTILE.slice(k, k + chunk)) {
          sets.push({ a: x, b: "a", c: "a" }, { a: "a", b: x, c: "a" }, { a: "a", b: "a", c: x });
        }
        const ids = sets.map((s) => idx.lookup(s));
        const unique = new Set(sets.map((s) => JSON.stringify([s.a, s.b, s.c])));
        assert.equal(new Set(ids).size, unique.size, `pad ${pad}`);
        sets.forEach((s, i) => {
          assert.equal(idx.find(s), ids[i]);
          assert.deepEqual(labelsOf(idx, ids[i]), [s.a, s.b, s.c].map(escapeLabelValue));
        });
        assert.equal(idx.nodeKind(["a"]), pad === 0 ? "array" : "map");
        assert.equal(idx.nodeKind(["a", "a"]), pad === 0 ? "chain" : "map");
      }
    }
  });

  it("a chain tells a value from another's escaped form, before and after promotion", () => {
    const { idx } = index(["p", "v"]);
    const newline = idx.lookup({ p: "p", v: "a\n" }); // stored escaped as `a\n`
    const written = idx.lookup({ p: "p", v: "a\\n" }); // the value `a\n` as written
    assert.notEqual(newline, written);
    assert.deepEqual(labelsOf(idx, newline), ["p", "a\\n"]);
    assert.deepEqual(labelsOf(idx, written), ["p", "a\\\\n"]);
    assert.equal(idx.nodeKind(["p"]), "chain");
    for (const v of values(COMPACT_MAX)) idx.lookup({ p: "p", v });
    assert.equal(idx.nodeKind(["p"]), "map");
    assert.equal(idx.find({ p: "p", v: "a\n" }), newline);
    assert.equal(idx.find({ p: "p", v: "a\\n" }), written);
    for (const v of values(COMPACT_MAX)) idx.remove({ p: "p", v });
    assert.equal(idx.nodeKind(["p"]), "chain");
    assert.equal(idx.find({ p: "p", v: "a\n" }), newline);
    assert.equal(idx.find({ p: "p", v: "a\\n" }), written);
    // A removed escaped series leaves no trace: its id, reused, holds a plain value.
    idx.remove({ p: "p", v: "a\n" });
    const reused = idx.lookup({ p: "p", v: "a\\n\\" });
    assert.equal(idx.find({ p: "p", v: "a\n" }), -1);
    assert.equal(idx.find({ p: "p", v: "a\\n\\" }), reused);
  });

  it("lone surrogates fold into one series in chains, flat arrays and Maps", () => {
    for (const pad of [0, COMPACT_MAX * 2]) {
      for (const names of [["p", "a"], ["p", "a", "b"]]) {
        const { idx } = index(names);
        const set = (a: string) => names.length === 2 ? { p: "p", a } : { p: "p", a, b: a };
        for (const p of values(pad, "pad")) idx.lookup(set(p));
        const x = idx.lookup(set("\uD800"));
        assert.equal(idx.lookup(set("\uDC00")), x);
        assert.equal(idx.lookup(set("\uFFFD")), x);
        assert.equal(idx.find(set("\uDC00")), x);
        assert.equal(idx.size, pad + 1);
        assert.equal(idx.nodeKind(["p"]), pad > 0 ? "map" : names.length === 2 ? "chain" : "array");
        assert.equal(idx.remove(set("\uDC00")), true);
        assert.equal(idx.find(set("\uD800")), -1);
        assert.equal(idx.size, pad);
      }
    }
  });

  it("many siblings: 10,000 values under one parent, then all removed", () => {
    const { idx } = index(["a", "b"], 20_000);
    const vs = values(10_000);
    const ids = vs.map((b) => idx.lookup({ a: "one", b }));
    assert.equal(new Set(ids).size, vs.length);
    assert.equal(idx.nodeKind(["one"]), "map");
    vs.forEach((b, i) => assert.equal(idx.lookup({ a: "one", b }), ids[i]));
    for (const b of vs) assert.equal(idx.remove({ a: "one", b }), true);
    assert.equal(idx.size, 0);
    assert.equal(idx.nodeKind([]), undefined);
    const id = idx.lookup({ a: "one", b: "v0" });
    assert.equal(idx.find({ a: "one", b: "v0" }), id);
    assert.equal(idx.nodeKind(["one"]), "chain");
  });

  it("the overflow series lives in compact nodes like any other", () => {
    const { idx } = index(["p", "a", "b"], 3);
    const real = ["p", "q", "r"].map((a) => idx.lookup({ p: OVERFLOW_VALUE, a, b: "x" }));
    const overflow = idx.lookup({ p: "p", a: "s", b: "x" });
    assert.equal(idx.overflowId, overflow);
    assert.equal(idx.nodeKind([OVERFLOW_VALUE]), "array");
    assert.equal(idx.nodeKind([OVERFLOW_VALUE, OVERFLOW_VALUE]), "chain");
    const all = { p: OVERFLOW_VALUE, a: OVERFLOW_VALUE, b: OVERFLOW_VALUE };
    assert.equal(idx.find(all), overflow);
    assert.equal(idx.remove(all), true);
    assert.equal(idx.overflowId, -1);
    const again = idx.lookup({ p: "p", a: "t", b: "x" });
    assert.equal(again, overflow, "a new overflow series takes the freed id");
    assert.equal(idx.find({ p: OVERFLOW_VALUE, a: "p", b: "x" }), real[0]);
  });
});

/** One random label value: from a per-label pool, sometimes hostile, sometimes a number. */
function poolOf(rand: Random): (string | number)[] {
  const size = pick(rand, [1, 2, 3, COMPACT_MAX, COMPACT_MAX + 1, 20]);
  const pool: (string | number)[] = [];
  for (let i = 0; i < size; i++) {
    const r = rand();
    pool.push(
      r < 0.3
        ? pick(rand, HOSTILE)
        : r < 0.4
        ? pick(rand, ["\uD800", "\uDC00", "\uFFFD", "x\uDBFF"])
        : r < 0.5
        ? int(rand, 5) // 3 and "3" are one value
        : `v${int(rand, 30)}`,
    );
  }
  return pool;
}

describe("SeriesIndex: property test against a Map keyed by JSON.stringify of the values", () => {
  for (let seed = 1; seed <= 60; seed++) {
    it(`seed ${seed}: lookup, find, remove and clear agree with the reference`, () => {
      const rand = mulberry32(seed);
      const names = ["a", "b", "c"].slice(0, 1 + int(rand, 3));
      const pools = names.map(() => poolOf(rand));
      const maxSeries = pick(rand, [4, 30, 10_000]);
      const { idx, storage } = index(names, maxSeries);
      let folded = 0;
      idx.onOverflow = () => folded++;
      const ref = new Map<string, number>(); // JSON of the well-formed values → id
      let overflow = -1;
      let expectFolded = 0;
      for (let step = 0; step < 900; step++) {
        // Phases of 150 steps, growing then shrinking, so nodes are promoted
        // to Maps and demoted again; a shrinking step mostly removes a
        // series that exists.
        const growing = Math.floor(step / 150) % 2 === 0;
        const r = rand();
        const op = growing
          ? (r < 0.75 ? "lookup" : "find")
          : r < 0.15
          ? "lookup"
          : r < 0.25
          ? "find"
          : r < 0.997
          ? "remove"
          : "clear";
        let labels: Record<string, string | number> = {};
        for (let i = 0; i < names.length; i++) labels[names[i]] = pick(rand, pools[i]);
        if (op === "remove" && ref.size > 0 && rand() < 0.7) {
          const vs = JSON.parse(pick(rand, [...ref.keys()])) as string[];
          labels = Object.fromEntries(names.map((n, i) => [n, vs[i]]));
        }
        const vs = names.map((n) => String(labels[n]).toWellFormed());
        const key = JSON.stringify(vs);
        const at = `seed ${seed}, step ${step}, ${op} ${key}`;
        if (op === "lookup") {
          const id = idx.lookup(labels);
          if (ref.has(key)) {
            assert.equal(id, ref.get(key), at);
          } else if (ref.size >= maxSeries) {
            expectFolded++;
            if (overflow < 0) overflow = id;
            assert.equal(id, overflow, at);
            assert.deepEqual(labelsOf(idx, id), names.map(() => OVERFLOW_VALUE), at);
          } else {
            assert.ok(![...ref.values()].includes(id) && id !== overflow, `${at}: id ${id} reused`);
            assert.deepEqual(labelsOf(idx, id), vs.map(escapeLabelValue), at);
            ref.set(key, id);
          }
        } else if (op === "find") {
          assert.equal(idx.find(labels), ref.get(key) ?? -1, at);
        } else if (op === "remove") {
          assert.equal(idx.remove(labels), ref.delete(key), at);
          assert.equal(idx.find(labels), -1, at);
        } else {
          idx.clear();
          ref.clear();
          overflow = -1;
        }
        assert.equal(idx.size, ref.size + (overflow >= 0 ? 1 : 0), at);
      }
      assert.equal(folded, expectFolded);
      for (const [key, id] of ref) {
        const vs = JSON.parse(key) as string[];
        const labels = Object.fromEntries(names.map((n, i) => [n, vs[i]]));
        assert.equal(idx.find(labels), id, `seed ${seed}: ${key}`);
        assert.equal(idx.alive[id], 1);
      }
      assert.ok(storage.capacity >= idx.end);
    });
  }
});
