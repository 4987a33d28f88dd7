import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DenseStore, Sketch } from "../../src/core/sketch.ts";
import { exactQuantile, mulberry32, normals, relativeError } from "./_random.ts";

function quantiles(sketch: Sketch, qs: number[]): number[] {
  const out: number[] = [];
  sketch.quantiles(qs, out);
  return out;
}

function assertWithin(estimate: number, exact: number, alpha: number, what: string): void {
  const err = relativeError(estimate, exact);
  assert.ok(err <= alpha + 1e-9, `${what}: estimate ${estimate} vs exact ${exact}, error ${err}`);
}

/** Every (bin index, count) pair a store holds. */
function bins(store: DenseStore): [number, number][] {
  const out: [number, number][] = [];
  for (let i = store.min; i <= store.max; i++) {
    const c = store.counts[i - store.offset];
    if (c !== 0) out.push([i, c]);
  }
  return out;
}

function assertBounded(store: DenseStore, maxBins: number): void {
  assert.ok(store.counts.length <= maxBins, `array of ${store.counts.length} > ${maxBins}`);
  if (store.total > 0) assert.ok(store.max - store.min + 1 <= maxBins, "range wider than maxBins");
}

const RANKS = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1];

describe("Sketch: rank definition and accuracy", () => {
  it("estimates sorted[floor(q * (n - 1))], not another rank convention", () => {
    const s = new Sketch(0.01);
    for (const v of [1000, 1, 100, 10]) s.add(v); // order of arrival is irrelevant
    // n = 4: q = 0.26 -> floor(0.78) = 0 -> 1 (nearest-rank would give 10);
    // q = 0.34 -> 1 -> 10; q = 0.67 -> floor(2.01) = 2 -> 100; q = 0.66 -> 1 -> 10.
    const got = quantiles(s, [0.26, 0.34, 0.66, 0.67, 1]);
    [1, 10, 10, 100, 1000].forEach((exact, i) => assertWithin(got[i], exact, 0.01, `#${i}`));
  });

  it("an empty sketch gives NaN for every rank", () => {
    const s = new Sketch();
    assert.equal(s.count, 0);
    assert.ok(quantiles(s, RANKS).every(Number.isNaN));
  });

  it("one value answers every rank", () => {
    const s = new Sketch(0.01);
    s.add(123.456);
    for (const v of quantiles(s, RANKS)) assertWithin(v, 123.456, 0.01, "single");
  });

  it("every single value from 1e-300 to 1e300 (and the extremes) is within alpha", () => {
    for (const alpha of [0.01, 0.05, 0.001]) {
      const s = new Sketch(alpha, 4096);
      const random = mulberry32(11);
      const values = [
        Number.MIN_VALUE,
        2.2250738585072014e-308,
        Number.MAX_VALUE,
        1,
        1e-300,
        1e300,
      ];
      for (let i = 0; i < 5000; i++) {
        values.push(Math.pow(10, random() * 600 - 300) * (1 + random()));
      }
      for (const v of values) {
        s.clear();
        s.add(v);
        assertWithin(quantiles(s, [0.5])[0], v, alpha, `alpha ${alpha}, value ${v}`);
        s.clear();
        s.add(-v);
        assertWithin(quantiles(s, [0.5])[0], -v, alpha, `alpha ${alpha}, value ${-v}`);
      }
    }
  });

  it("values on exact powers of gamma stay within alpha (bin edges)", () => {
    const alpha = 0.01;
    const gamma = (1 + alpha) / (1 - alpha);
    const s = new Sketch(alpha);
    for (let i = -500; i <= 500; i++) {
      for (const v of [Math.pow(gamma, i), Math.pow(gamma, i) * (1 + 1e-15)]) {
        s.clear();
        s.add(v);
        assertWithin(quantiles(s, [1])[0], v, alpha, `gamma^${i}`);
      }
    }
  });

  it("many values: every rank within alpha of the exact rank (normal-ish spread)", () => {
    const uniform = mulberry32(5);
    const z = normals(uniform);
    const s = new Sketch(0.02);
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const v = Math.exp(z() * 2);
      values.push(v);
      s.add(v);
    }
    values.sort((a, b) => a - b);
    const got = quantiles(s, RANKS);
    RANKS.forEach((q, i) => assertWithin(got[i], exactQuantile(values, q), 0.02, `q=${q}`));
  });

  it("writes into out at the given offset, for a typed array too", () => {
    const s = new Sketch(0.01);
    for (let v = 1; v <= 10; v++) s.add(v);
    const out = new Float64Array(5).fill(-1);
    s.quantiles([0, 1], out, 2);
    assert.equal(out[0], -1);
    assert.equal(out[1], -1);
    assertWithin(out[2], 1, 0.01, "min");
    assertWithin(out[3], 10, 0.01, "max");
    assert.equal(out[4], -1);
  });
});

describe("Sketch: negative values and zeros", () => {
  it("orders negatives, zeros and positives correctly", () => {
    const s = new Sketch(0.01);
    const values: number[] = [];
    for (let v = -100; v <= 100; v++) values.push(v); // includes one 0
    for (let i = 0; i < 20; i++) values.push(0, -0);
    const random = mulberry32(1);
    for (let i = values.length - 1; i > 0; i--) { // shuffle
      const j = Math.floor(random() * (i + 1));
      [values[i], values[j]] = [values[j], values[i]];
    }
    for (const v of values) s.add(v);
    assert.equal(s.count, values.length);
    assert.equal(s.zero, 41);
    assert.equal(s.negative.total, 100);
    assert.equal(s.positive.total, 100);
    const sorted = [...values].sort((a, b) => a - b);
    const ranks = [];
    for (let q = 0; q <= 1; q += 1 / 64) ranks.push(q);
    ranks.push(1);
    const got = quantiles(s, ranks);
    ranks.forEach((q, i) => assertWithin(got[i], exactQuantile(sorted, q), 0.01, `q=${q}`));
  });

  it("only negatives, only zeros", () => {
    const neg = new Sketch(0.01);
    for (let v = 1; v <= 1000; v++) neg.add(-v);
    const sorted = Array.from({ length: 1000 }, (_, i) => i - 1000);
    const got = quantiles(neg, RANKS);
    RANKS.forEach((q, i) => assertWithin(got[i], exactQuantile(sorted, q), 0.01, `q=${q}`));
    const zeros = new Sketch();
    for (let i = 0; i < 10; i++) zeros.add(0);
    assert.deepEqual(quantiles(zeros, [0, 0.5, 1]), [0, 0, 0]);
  });

  it("infinities sit at the extremes and do not collapse the finite values", () => {
    const s = new Sketch(0.01);
    s.add(-Infinity);
    for (let v = 1; v <= 98; v++) s.add(v);
    s.add(Infinity);
    assert.equal(s.count, 100);
    const sorted = [-Infinity, ...Array.from({ length: 98 }, (_, i) => i + 1), Infinity];
    const ranks = [0, 0.01, 0.0102, 0.02, 0.5, 0.98, 0.99, 0.9899, 1];
    const got = quantiles(s, ranks);
    ranks.forEach((q, i) => {
      const exact = exactQuantile(sorted, q);
      if (Math.abs(exact) === Infinity) assert.equal(got[i], exact, `q=${q}`);
      else assertWithin(got[i], exact, 0.01, `q=${q}`);
    });
    assert.equal(got[0], -Infinity);
    assert.equal(got[ranks.length - 1], Infinity);
    assert.ok(Number.isFinite(got[2]) && Number.isFinite(got[7]), "finite ranks stay finite");
    // One stray Infinity in a large sketch leaves the bulk untouched.
    const big = new Sketch(0.01);
    const values: number[] = [];
    for (let i = 1; i <= 10_000; i++) values.push(i / 1000);
    for (const v of values) big.add(v);
    big.add(Infinity);
    values.push(Infinity);
    const qs = [0, 0.5, 0.9, 0.999];
    quantiles(big, qs).forEach((v, i) =>
      assertWithin(v, exactQuantile(values, qs[i]), 0.01, `${qs[i]}`)
    );
    assert.deepEqual(bins(big.positive).length <= 1000, true);
    // Only infinities.
    const inf = new Sketch();
    inf.add(-Infinity);
    inf.add(-Infinity);
    assert.deepEqual(quantiles(inf, [0, 1]), [-Infinity, -Infinity]);
    inf.add(Infinity);
    assert.deepEqual(quantiles(inf, [0, 0.5, 1]), [-Infinity, -Infinity, Infinity]);
  });
});

describe("Sketch: bounded memory (collapse lowest)", () => {
  for (const maxBins of [2048, 200, 37]) {
    it(`values spanning 1e-300..1e300 keep each store within ${maxBins} bins`, () => {
      const alpha = 0.01;
      const s = new Sketch(alpha, maxBins);
      const random = mulberry32(maxBins);
      const values: number[] = [];
      for (let i = 0; i < 100_000; i++) {
        const v = Math.pow(10, random() * 600 - 300);
        const signed = i % 4 === 0 ? -v : v;
        values.push(signed);
        s.add(signed);
        if (i % 10_000 === 0) {
          assertBounded(s.positive, maxBins);
          assertBounded(s.negative, maxBins);
        }
      }
      assertBounded(s.positive, maxBins);
      assertBounded(s.negative, maxBins);
      assert.equal(s.count, values.length, "no value is lost by collapsing");
      values.sort((a, b) => a - b);
      // The top of the positive store is never collapsed: the highest ranks hold.
      // Ranks are chosen to fall within the ~maxBins * 2% (log) span below the maximum.
      const n = values.length;
      const span = Math.pow((1 + alpha) / (1 - alpha), maxBins - 2);
      const kept = values.filter((v) => v > values[n - 1] / span).length;
      const high = [1 - kept / n / 2, 1 - kept / n / 4, 1 - 1 / n, 1]; // increasing, as required
      const got = quantiles(s, high);
      high.forEach((q, i) => assertWithin(got[i], exactQuantile(values, q), alpha, `q=${q}`));
      // And the most negative values are the high-magnitude end of the negative store.
      assertWithin(quantiles(s, [0])[0], values[0], alpha, "min");
    });
  }

  it("collapsing happens only past maxBins: 17.6 orders of magnitude fit in 2048 bins at 1%", () => {
    // 2048 bins of ln(gamma) = 0.02 span 40.96 in ln, 17.79 decimal orders.
    const s = new Sketch(0.01, 2048);
    const values: number[] = [];
    for (let e = -8.8; e < 8.8; e += 0.01) values.push(Math.pow(10, e));
    for (const v of values) s.add(v);
    values.sort((a, b) => a - b);
    const got = quantiles(s, RANKS);
    RANKS.forEach((q, i) => assertWithin(got[i], exactQuantile(values, q), 0.01, `q=${q}`));
  });

  it("a value far below a full store lands in its lowest bin", () => {
    const store = new DenseStore(16);
    for (let i = 100; i < 116; i++) store.add(i);
    store.add(-1000);
    assert.equal(store.min, 100);
    assert.equal(store.max, 115);
    assert.deepEqual(bins(store)[0], [100, 2]);
    assert.equal(store.total, 17);
    store.add(200); // and a value far above moves the window up, folding the rest
    assert.equal(store.max, 200);
    assert.equal(store.min, 185);
    assert.deepEqual(bins(store), [[185, 17], [200, 1]]);
    assertBounded(store, 16);
  });

  it("clear empties a store and it can be refilled", () => {
    const store = new DenseStore(32);
    for (let i = 0; i < 50; i++) store.add(i * 3);
    store.clear();
    assert.equal(store.total, 0);
    assert.deepEqual(bins(store), []);
    store.add(-5, 2);
    assert.deepEqual(bins(store), [[-5, 2]]);
  });
});

describe("Sketch: merge", () => {
  function fill(seed: number, n: number, spread: number): number[] {
    const random = mulberry32(seed);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = Math.pow(10, (random() - 0.5) * spread);
      out.push(i % 7 === 0 ? -v : i % 13 === 0 ? 0 : v);
    }
    return out;
  }

  function assertSameSketch(a: Sketch, b: Sketch): void {
    assert.deepEqual(bins(a.positive), bins(b.positive));
    assert.deepEqual(bins(a.negative), bins(b.negative));
    assert.equal(a.zero, b.zero);
    assert.equal(a.count, b.count);
    const ranks = [];
    for (let q = 0; q <= 1; q += 0.001) ranks.push(q);
    assert.deepEqual(quantiles(a, ranks), quantiles(b, ranks));
  }

  for (
    const [label, maxBins, spread] of [["no collapse", 2048, 8], ["with collapse", 64, 40]] as const
  ) {
    it(`merging two sketches equals one sketch fed both inputs (${label})`, () => {
      const xs = fill(1, 20_000, spread);
      const ys = fill(2, 15_000, spread * 0.5).map((v) => v * 1000);
      const a = new Sketch(0.01, maxBins);
      const b = new Sketch(0.01, maxBins);
      const both = new Sketch(0.01, maxBins);
      for (const v of xs) a.add(v);
      for (const v of ys) b.add(v);
      for (const v of [...ys, ...xs]) both.add(v);
      const ab = new Sketch(0.01, maxBins);
      ab.merge(a);
      ab.merge(b);
      assertSameSketch(ab, both);
      a.merge(b); // into a non-empty sketch as well
      assertSameSketch(a, both);
      assertBounded(a.positive, maxBins);
      assertBounded(a.negative, maxBins);
    });
  }

  it("merging an empty sketch changes nothing; merging into an empty one copies", () => {
    const a = new Sketch(0.01);
    for (const v of fill(3, 1000, 6)) a.add(v);
    const before = quantiles(a, RANKS);
    a.merge(new Sketch(0.01));
    assert.deepEqual(quantiles(a, RANKS), before);
    const c = new Sketch(0.01);
    c.merge(a);
    assert.deepEqual(quantiles(c, RANKS), before);
  });

  it("clear empties the sketch for reuse", () => {
    const s = new Sketch(0.01);
    for (const v of fill(4, 1000, 6)) s.add(v);
    s.clear();
    assert.equal(s.count, 0);
    assert.ok(quantiles(s, [0.5]).every(Number.isNaN));
    s.add(5);
    assertWithin(quantiles(s, [0.5])[0], 5, 0.01, "after clear");
  });
});
