/**
 * Native histogram buckets: keys and bounds exactly as client_golang and
 * Prometheus compute them (the fact sheet's examples, and every boundary of
 * every schema with its neighbours, against a frexp written here), the
 * bucket layout Prometheus 2.42 reported for the fact sheet's observations,
 * client_golang's limit rules (halve, widen the zero bucket, reset), exact
 * sums of several histograms (as across workers), and every body through
 * the strict protobuf decoder.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Histogram,
  type MetricFamily,
  type NativeBuckets,
  Registry,
  toOpenMetrics,
  toProtobuf,
  toText,
} from "../../src/mod.ts";
import {
  bucketKey,
  NativeLayout,
  NativeSum,
  pickSchema,
  searchBounds,
  upperBound,
} from "../../src/core/_native.ts";
import { NATIVE_BOUNDS } from "../../src/core/_native_bounds.ts";
import { decodeChecked, nativeBuckets } from "../_support/protobuf.ts";

/** frexp by halving and doubling (slow, obviously right), then client_golang's key rule. */
function referenceKey(a: number, schema: number): number {
  let exp = 0;
  let frac = a;
  while (frac >= 1) {
    frac /= 2;
    exp++;
  }
  while (frac < 0.5) {
    frac *= 2;
    exp--;
  }
  if (schema > 0) return searchBounds(frac, schema) + (exp - 1) * 2 ** schema;
  let key = frac === 0.5 ? exp - 1 : exp;
  key = Math.floor((key + 2 ** -schema - 1) / 2 ** -schema);
  return key;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const nextUp = (x: number) => (f64[0] = x, u64[0] += 1n, f64[0]);
const nextDown = (x: number) => (f64[0] = x, u64[0] -= 1n, f64[0]);

async function family(h: Histogram, registry: Registry): Promise<MetricFamily> {
  return (await registry.collect()).find((f) => f.name === h.name)!;
}

/** `[key, count]` of the non-empty buckets of one side. */
function entries(offset: number, counts: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k < counts.length; k++) if (counts[k] !== 0) out.push([offset + k, counts[k]]);
  return out;
}

/** An unlabelled histogram `x` with `native` options, in a registry of its own. */
function nativeHistogram(native: object): { h: Histogram; registry: Registry } {
  const registry = new Registry();
  return { h: new Histogram({ name: "x", help: "x", native, registry }), registry };
}

function nativeOf(f: MetricFamily, s = 0): NativeBuckets {
  return f.native![s];
}

describe("native buckets: keys and bounds", () => {
  it("pickSchema as client_golang: 1.1 → 3, 2 → 0, 1.005 → 8, 65536 → -4, 1.0001 → 8", () => {
    assert.deepEqual(
      [1.1, 2, 1.005, 65536, 1.0001, 4, 1.5].map(pickSchema),
      [3, 0, 8, -4, 8, -1, 1],
    );
  });

  it("the fact sheet's keys: schema 3: 1 → 0, 2 → 8, 1.5 → 5, 0.5 → -8, 100 → 54, 0.001 → -79; schema 0: 3 → 2", () => {
    assert.deepEqual(
      [1, 2, 1.5, 0.5, 100, 0.001].map((v) => bucketKey(v, 3)),
      [0, 8, 5, -8, 54, -79],
    );
    assert.equal(bucketKey(3, 0), 2);
  });

  it("every schema: every boundary, one ulp either side, subnormals and the largest numbers", () => {
    let checked = 0;
    const wrong: string[] = [];
    for (let schema = -4; schema <= 8; schema++) {
      const fracs = schema > 0 ? NATIVE_BOUNDS[schema] : [0.5];
      const probes: number[] = [
        Number.MIN_VALUE,
        2 ** -1022,
        nextDown(2 ** -1022),
        Number.MAX_VALUE,
      ];
      for (let e = -1073; e <= 1024; e += 11) {
        for (const b of fracs) {
          const x = b * 2 ** e;
          if (x > 0 && x < Infinity) probes.push(x, nextUp(x), nextDown(x));
        }
      }
      for (const x of probes) {
        if (!(x > 0 && x < Infinity)) continue;
        checked++;
        const got = bucketKey(x, schema);
        const want = referenceKey(x, schema);
        if (got !== want) wrong.push(`schema ${schema}: ${x} → ${got}, expected ${want}`);
      }
    }
    assert.deepEqual(wrong.slice(0, 10), []);
    assert.ok(checked > 30_000, `${checked} probes`);
  });

  it("observe counts every probe in its key, on either side, whether it moves the window or not", () => {
    // The layout's observe computes keys on a path of its own when the bucket
    // is already in the window: observed twice (the first places the window
    // on the key, the second takes that path), each probe must be counted
    // twice in the reference's bucket, on the positive and negative sides.
    const wrong: string[] = [];
    let checked = 0;
    for (let schema = -4; schema <= 8; schema++) {
      const layout = new NativeLayout({
        schema,
        zeroThreshold: 0,
        maxBuckets: 160,
        maxZeroThreshold: 0,
        minResetMs: 0,
        now: () => 0,
      });
      const a = new Float64Array(layout.stride);
      const fracs = schema > 0 ? NATIVE_BOUNDS[schema] : [0.5];
      const probes: number[] = [Number.MIN_VALUE, nextDown(2 ** -1022), Number.MAX_VALUE];
      for (let e = -1073; e <= 1024; e += 37) {
        for (const b of fracs) {
          const x = b * 2 ** e;
          if (x > 0 && x < Infinity) probes.push(x, nextUp(x), nextDown(x));
        }
      }
      for (const x of probes) {
        if (!(x > 0 && x < Infinity)) continue;
        const want = referenceKey(x, schema);
        for (const v of [x, -x]) {
          checked++;
          layout.init(a, 0);
          layout.observe(a, 0, v);
          layout.observe(a, 0, v);
          const b = layout.read(a, 0)!;
          const got = v > 0
            ? entries(b.positiveOffset, b.positive)
            : entries(b.negativeOffset, b.negative);
          if (b.schema !== schema || got.length !== 1 || got[0][0] !== want || got[0][1] !== 2) {
            wrong.push(`schema ${schema}: ${v} → ${JSON.stringify(got)}, expected [[${want},2]]`);
          }
        }
      }
    }
    assert.deepEqual(wrong.slice(0, 10), []);
    assert.ok(checked > 20_000, `${checked} probes`);
  });

  it("a value on a boundary is in the bucket that boundary ends; one ulp above, in the next", () => {
    for (let schema = -4; schema <= 8; schema++) {
      for (const key of [-100, -9, -1, 0, 1, 7, 8, 9, 54, 100]) {
        const bound = upperBound(key, schema);
        if (!(bound > 0 && bound < Number.MAX_VALUE)) continue;
        assert.equal(bucketKey(bound, schema), key, `schema ${schema} bound of ${key}`);
        assert.equal(bucketKey(nextUp(bound), schema), key + 1, `schema ${schema} above ${key}`);
      }
    }
  });

  it("bounds print as Prometheus 2.42 printed them (the fact sheet's bucket list)", () => {
    const bounds = [-79, -8, 0, 5, 8, 13, 54].map((k) => [
      String(upperBound(k - 1, 3)),
      String(upperBound(k, 3)),
    ]);
    assert.deepEqual(bounds, [
      ["0.0009765625", "0.0010649489576809157"],
      ["0.45850202160233555", "0.5"],
      ["0.9170040432046711", "1"],
      ["1.414213562373095", "1.5422108254079407"],
      ["1.8340080864093422", "2"],
      ["2.82842712474619", "3.0844216508158815"],
      ["98.70149282610821", "107.63474115247544"],
    ]);
  });

  it("the last finite bucket ends at Number.MAX_VALUE; Infinity goes one past it", () => {
    for (let schema = -4; schema <= 8; schema++) {
      const last = bucketKey(Number.MAX_VALUE, schema);
      assert.equal(upperBound(last, schema), Number.MAX_VALUE, `schema ${schema}`);
      assert.equal(bucketKey(Infinity, schema), last + 1, `schema ${schema}`);
    }
  });
});

describe("Histogram with native buckets", () => {
  it("the fact sheet's observations at factor 1.1: the bucket list, count and sum Prometheus 2.42 reported", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "x", help: "x", native: true, registry });
    for (const v of [0, 0.001, 0.5, 1, 1.5, 2, 3, 100]) h.observe(v);
    const f = await family(h, registry);
    const b = nativeOf(f);
    assert.equal(b.schema, 3);
    assert.equal(b.zeroThreshold, 2 ** -128);
    assert.equal(b.zeroCount, 1);
    assert.deepEqual(entries(b.positiveOffset, b.positive), [
      [-79, 1],
      [-8, 1],
      [0, 1],
      [5, 1],
      [8, 1],
      [13, 1],
      [54, 1],
    ]);
    assert.deepEqual(entries(b.negativeOffset, b.negative), []);
    const decoded = decodeChecked(toProtobuf([f]))[0].metrics[0].histogram!;
    assert.equal(decoded.sampleCount, 8);
    assert.equal(decoded.sampleSum, 108.001);
    assert.deepEqual(
      [...nativeBuckets(decoded.positiveSpans, decoded.positiveDeltas)],
      [[-79, 1], [-8, 1], [0, 1], [5, 1], [8, 1], [13, 1], [54, 1]],
    );
    // The classic buckets are served beside them.
    assert.equal(decoded.buckets.length, 11);
    assert.equal(decoded.buckets.at(-1)!.cumulativeCount, 7);
  });

  it("negative values, ±Infinity and a zero threshold of 0 (schema 0)", async () => {
    const { h, registry } = nativeHistogram({ bucketFactor: 2, zeroThreshold: 0 });
    for (const v of [-1, -3, -0.25, 5, 0, Infinity, -Infinity, 2 ** -100]) h.observe(v);
    const b = nativeOf(await family(h, registry));
    assert.equal(b.schema, 0);
    assert.equal(b.zeroThreshold, 0);
    assert.equal(b.zeroCount, 1);
    const inf = bucketKey(Number.MAX_VALUE, 0) + 1;
    assert.deepEqual(entries(b.negativeOffset, b.negative), [[-2, 1], [0, 1], [2, 1], [inf, 1]]);
    assert.deepEqual(entries(b.positiveOffset, b.positive), [
      [-100, 1],
      [3, 1],
      [inf, 1],
    ]);
    const decoded = decodeChecked(toProtobuf(await registry.collect()))[0];
    assert.equal(decoded.metrics[0].histogram!.sampleCount, 8);
    assert.ok(Number.isNaN(decoded.metrics[0].histogram!.sampleSum));
  });

  it("an empty native histogram keeps the default zero threshold (2.42 reads it as native)", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "x", help: "x", labelNames: ["k"], native: true, registry });
    h.labels({ k: "a" });
    const decoded = decodeChecked(toProtobuf(await registry.collect()))[0];
    const m = decoded.metrics[0].histogram!;
    assert.equal(m.sampleCount, 0);
    assert.equal(m.zeroThreshold, 2 ** -128);
    assert.equal(m.schema, 3);
  });

  it("text and OpenMetrics serve the classic buckets, exactly as without native ones", async () => {
    const a = new Registry();
    const b = new Registry();
    const labelNames = ["route"] as const;
    const native = new Histogram({ name: "x", help: "x", labelNames, native: true, registry: a });
    const classic = new Histogram({ name: "x", help: "x", labelNames, registry: b });
    for (const v of [0.003, 0.2, 0.2, 7, 42]) {
      native.observe({ route: "/" }, v);
      classic.observe({ route: "/" }, v);
    }
    const [fa, fb] = [await a.collect(), await b.collect()];
    assert.equal(toText(fa), toText(fb));
    assert.equal(
      toOpenMetrics(fa, { created: false }),
      toOpenMetrics(fb, { created: false }),
    );
    assert.equal(fb[0].native, undefined);
  });

  it("timers and labelled children record native buckets too", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "x", help: "x", labelNames: ["k"], native: true, registry });
    h.labels({ k: "a" }).observe(1);
    h.observe({ k: "a" }, 2);
    h.startTimer({ k: "b" })();
    const f = await family(h, registry);
    assert.deepEqual(entries(f.native![0].positiveOffset, f.native![0].positive), [[0, 1], [8, 1]]);
    assert.equal(f.counts![1], 1);
    const b = f.native![1];
    assert.equal(b.zeroCount + Array.from(b.positive).reduce((x, y) => x + y, 0), 1);
  });
});

describe("native buckets: client_golang's limit rules", () => {
  it("over maxBuckets, without reset or zero-bucket room: the resolution halves", async () => {
    const { h, registry } = nativeHistogram({ bucketFactor: 2, maxBuckets: 4 });
    const values = [1, 2, 4, 8, 16];
    for (const v of values) h.observe(v);
    const b = nativeOf(await family(h, registry));
    assert.equal(b.schema, -1);
    // Each key k of schema 0 went to ceil(k / 2): the keys schema -1 gives directly.
    const want = new Map<number, number>();
    for (const v of values) want.set(bucketKey(v, -1), (want.get(bucketKey(v, -1)) ?? 0) + 1);
    assert.deepEqual(entries(b.positiveOffset, b.positive), [...want].sort((x, y) => x[0] - y[0]));
    assert.deepEqual(entries(b.positiveOffset, b.positive), [[0, 1], [1, 2], [2, 2]]);
    decodeChecked(toProtobuf(await registry.collect()));
  });

  it("the resolution never goes below schema -4, and the span of keys alone also halves it (Infinity aside)", async () => {
    const { h, registry } = nativeHistogram({ maxBuckets: 1000, zeroThreshold: 0 });
    for (const v of [Number.MIN_VALUE, 1e-300, 1, 1e300, Number.MAX_VALUE, Infinity]) h.observe(v);
    const b = nativeOf(await family(h, registry));
    assert.ok(b.schema >= -4 && b.schema < 3, `schema ${b.schema}`);
    assert.equal(Array.from(b.positive).reduce((x, y) => x + y, 0), 6);
    for (const v of [Number.MIN_VALUE, 1, Number.MAX_VALUE]) {
      const k = bucketKey(v, b.schema) - b.positiveOffset;
      assert.ok(b.positive[k] >= 1, `${v} in its bucket at schema ${b.schema}`);
    }
  });

  it("with maxZeroThreshold: the zero bucket widens to the closest bucket's bound first", async () => {
    const { h, registry } = nativeHistogram({
      bucketFactor: 2,
      maxBuckets: 2,
      maxZeroThreshold: 1,
    });
    for (const v of [0.5, 1, 4]) h.observe(v);
    let b = nativeOf(await family(h, registry));
    assert.equal(b.schema, 0);
    assert.equal(b.zeroThreshold, 0.5);
    assert.equal(b.zeroCount, 1);
    assert.deepEqual(entries(b.positiveOffset, b.positive), [[0, 1], [2, 1]]);
    h.observe(0.3); // now in the wider zero bucket
    h.observe(16); // 3 buckets again: widening to 1 is allowed (<= 1)
    b = nativeOf(await family(h, registry));
    assert.equal(b.zeroThreshold, 1);
    assert.equal(b.zeroCount, 3);
    h.observe(64); // widening to 4 is not: halve
    b = nativeOf(await family(h, registry));
    assert.equal(b.zeroThreshold, 1);
    assert.equal(b.schema, -1);
    decodeChecked(toProtobuf(await registry.collect()));
  });

  it("with minResetSeconds: a reset once that long has passed, else a scheduled one", async () => {
    let now = 1_000_000;
    const registry = new Registry();
    const h = new Histogram({
      name: "x",
      help: "x",
      buckets: [1, 10],
      native: { bucketFactor: 2, maxBuckets: 2, minResetSeconds: 10, now: () => now },
      registry,
    });
    now += 5_000;
    for (const v of [1, 2, 4]) h.observe(v); // 3 buckets at 5 s: halved, reset scheduled for 10 s
    let f = await family(h, registry);
    assert.equal(f.native![0].schema, -1);
    assert.equal(f.counts![0], 3);
    now += 4_000; // 9 s
    h.observe(3);
    assert.equal((await family(h, registry)).counts![0], 4, "not yet due");
    now += 2_000; // 11 s: the scheduled reset happens before this observation
    h.observe(8);
    f = await family(h, registry);
    assert.equal(f.native![0].schema, 0, "full resolution again");
    assert.equal(f.counts![0], 1);
    assert.equal(f.sums![0], 8);
    assert.deepEqual(Array.from(f.values), [0, 1, 1], "classic buckets reset too");
    assert.deepEqual(entries(f.native![0].positiveOffset, f.native![0].positive), [[3, 1]]);

    now += 20_000; // 31 s: over the limit (8, 1, then 2) more than 10 s after the reset
    for (const v of [1, 2, 4]) h.observe(v);
    f = await family(h, registry);
    assert.equal(f.counts![0], 2, "reset at the observation that went over the limit, kept");
    assert.equal(f.sums![0], 6);
    assert.equal(f.native![0].schema, 0);
    decodeChecked(toProtobuf(await registry.collect()));
  });
});

/** Both sides of `got` and `want` hold the same non-empty buckets. */
function assertSameBuckets(got: NativeBuckets, want: NativeBuckets): void {
  assert.deepEqual(
    entries(got.positiveOffset, got.positive),
    entries(want.positiveOffset, want.positive),
  );
  assert.deepEqual(
    entries(got.negativeOffset, got.negative),
    entries(want.negativeOffset, want.negative),
  );
}

describe("native buckets: observe's common path follows every change of the series", () => {
  // Observations whose bucket is already in the window take a shorter path
  // (schema > 0, above the zero threshold, no reset scheduled): each change
  // below must take it out of that path, or the observation after it lands
  // in a bucket of the old state.
  it("a scheduled reset (schema 3) happens at the first observation once due", async () => {
    let now = 1_000_000;
    const { h, registry } = nativeHistogram({ maxBuckets: 2, minResetSeconds: 10, now: () => now });
    now += 5_000;
    for (const v of [1, 1.1, 1.2]) h.observe(v); // 3 buckets at 5 s: halved, reset scheduled for 10 s
    let b = nativeOf(await family(h, registry));
    assert.equal(b.schema, 2);
    now += 6_000; // 11 s
    h.observe(1); // its bucket is in the window
    const f = await family(h, registry);
    b = nativeOf(f);
    assert.equal(f.counts![0], 1, "reset before this observation");
    assert.equal(b.schema, 3, "full resolution again");
    assert.deepEqual(entries(b.positiveOffset, b.positive), [[0, 1]]);
  });

  it("a widened zero bucket (schema 3) takes the values below its new threshold", async () => {
    const { h, registry } = nativeHistogram({ maxBuckets: 2, maxZeroThreshold: 1 });
    for (const v of [0.5, 1, 4]) h.observe(v);
    let b = nativeOf(await family(h, registry));
    assert.equal(b.schema, 3);
    assert.equal(b.zeroThreshold, 0.5);
    assert.equal(b.zeroCount, 1);
    h.observe(0.45); // bucket -9 at schema 3, in the window, but below the zero threshold
    b = nativeOf(await family(h, registry));
    assert.equal(b.zeroThreshold, 0.5);
    assert.equal(b.zeroCount, 2);
    assert.deepEqual(entries(b.positiveOffset, b.positive), [[0, 1], [16, 1]]);
  });

  it("halving from schema 1 to 0 keys the next values at schema 0", async () => {
    const { h, registry } = nativeHistogram({ bucketFactor: 1.5, maxBuckets: 2 });
    for (const v of [1, 1.5, 3]) h.observe(v); // keys 0, 2, 4 at schema 1: halved
    let b = nativeOf(await family(h, registry));
    assert.equal(b.schema, 0);
    assert.deepEqual(entries(b.positiveOffset, b.positive), [[0, 1], [1, 1], [2, 1]]);
    h.observe(2); // bucket 1 at schema 0 (a power of two ends its bucket), in the window
    b = nativeOf(await family(h, registry));
    assert.deepEqual(entries(b.positiveOffset, b.positive), [[0, 1], [1, 2], [2, 1]]);
  });
});

describe("native buckets: exact sums of several histograms (as across workers)", () => {
  async function nativeAfter(values: readonly number[], native: object) {
    const registry = new Registry();
    const h = new Histogram({ name: "x", help: "x", native, registry });
    for (const v of values) h.observe(v);
    return nativeOf(await family(h, registry));
  }

  const A = [0.001, 0.2, 0.2, 3, -4, 0];
  const B = [0.2, 5, 100, -4, -0.5];

  it("same schema and zero threshold: the sum equals one histogram of every value", async () => {
    const sum = new NativeSum();
    sum.add(await nativeAfter(A, {}));
    sum.add(await nativeAfter(B, {}));
    const got = sum.finish();
    const want = await nativeAfter([...A, ...B], {});
    assert.deepEqual(
      {
        schema: got.schema,
        zt: got.zeroThreshold,
        zero: got.zeroCount,
        pos: entries(got.positiveOffset, got.positive),
        neg: entries(got.negativeOffset, got.negative),
      },
      {
        schema: want.schema,
        zt: want.zeroThreshold,
        zero: want.zeroCount,
        pos: entries(want.positiveOffset, want.positive),
        neg: entries(want.negativeOffset, want.negative),
      },
    );
  });

  it("different schemas: the sum is at the lower one, equal to one histogram there", async () => {
    const wide = Array.from({ length: 40 }, (_, i) => 2 ** (i / 3 - 6));
    const a = await nativeAfter([...A, ...wide], { bucketFactor: 1.1, maxBuckets: 30 });
    const b = await nativeAfter(B, { bucketFactor: 1.1, maxBuckets: 30 });
    assert.ok(a.schema < b.schema, `${a.schema} < ${b.schema}`);
    const sum = new NativeSum();
    sum.add(b);
    sum.add(a);
    const got = sum.finish();
    assert.equal(got.schema, a.schema);
    const factor = 2 ** (2 ** -a.schema);
    const want = await nativeAfter([...A, ...wide, ...B], { bucketFactor: factor });
    assert.equal(want.schema, a.schema);
    assertSameBuckets(got, want);
    assert.equal(got.zeroCount, want.zeroCount);
  });

  it("different zero thresholds: the wider one takes in the other's buckets below it", async () => {
    const sum = new NativeSum();
    sum.add(await nativeAfter(A, { bucketFactor: 2 }));
    sum.add(await nativeAfter(B, { bucketFactor: 2, zeroThreshold: 0.25 }));
    const got = sum.finish();
    assert.equal(got.zeroThreshold, 0.25);
    // Zeros: A's 0, and every |v| <= 0.25 (A's 0.001 and 0.2 x2, B's 0.2).
    assert.equal(got.zeroCount, 5);
    const want = await nativeAfter([...A, ...B], { bucketFactor: 2, zeroThreshold: 0.25 });
    assertSameBuckets(got, want);
  });
});

describe("native options: bad input", () => {
  const make = (native: unknown, name = "x") =>
    new Histogram({ name, help: "x", native: native as boolean, registry: new Registry() });

  it("clear errors naming the metric and the option", () => {
    assert.throws(() => make({ bucketFactor: 1 }), {
      name: "RangeError",
      message: 'Histogram "x": native.bucketFactor must be > 1, got 1',
    });
    assert.throws(() => make({ bucketFactor: "1.1" }), /native\.bucketFactor must be a number/);
    assert.throws(() => make({ zeroThreshold: -1 }), /native\.zeroThreshold must be >= 0/);
    assert.throws(
      () => make({ maxBuckets: 0 }),
      /native\.maxBuckets must be an integer in \[1, 65536\]/,
    );
    assert.throws(() => make({ maxBuckets: 1.5 }), RangeError);
    assert.throws(() => make({ minResetSeconds: -1 }), /native\.minResetSeconds must be >= 0/);
    assert.throws(() => make({ maxZeroThreshold: NaN }), /native\.maxZeroThreshold/);
    assert.throws(() => make({ buckteFactor: 2 }), {
      name: "TypeError",
      message: /unknown option "buckteFactor" \(did you mean "bucketFactor"\?\)/,
    });
    assert.throws(() => make("yes"), /native must be true, false or an options object/);
    assert.throws(() => make({ now: 5 }), /native\.now must be a function/);
  });

  it("two histograms of one name must agree on native options", () => {
    const registry = new Registry();
    new Histogram({ name: "x", help: "x", native: true, registry });
    assert.throws(
      () => new Histogram({ name: "x", help: "x", registry }),
      /already registered with different help, labels or layout/,
    );
    assert.throws(
      () => new Histogram({ name: "x", help: "x", native: { bucketFactor: 2 }, registry }),
      TypeError,
    );
    new Histogram({ name: "x", help: "x", native: {}, registry }).observe(1);
  });

  it("native: false is classic", () => {
    const registry = new Registry();
    new Histogram({ name: "x", help: "x", native: false, registry }).observe(1);
    return registry.collect().then((f) => assert.equal(f[0].native, undefined));
  });
});
