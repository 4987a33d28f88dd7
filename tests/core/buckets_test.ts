import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_BUCKETS,
  exponentialBuckets,
  linearBuckets,
  validateBuckets,
} from "../../src/core/buckets.ts";

describe("DEFAULT_BUCKETS", () => {
  it("are client_golang's DefBuckets (.005 s to 10 s)", () => {
    assert.deepEqual(
      [...DEFAULT_BUCKETS],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
  });

  it("cannot be modified by a caller", () => {
    assert.ok(Object.isFrozen(DEFAULT_BUCKETS));
  });
});

describe("linearBuckets", () => {
  it("makes count buckets start, start + width, ...", () => {
    assert.deepEqual(linearBuckets(0, 10, 4), [0, 10, 20, 30]);
    assert.deepEqual(linearBuckets(-1, 0.5, 5), [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(linearBuckets(7, 1, 1), [7]);
  });

  it("rejects a non-positive or non-finite width, a non-finite start and a bad count", () => {
    assert.throws(() => linearBuckets(0, 0, 3), RangeError);
    assert.throws(() => linearBuckets(0, -1, 3), RangeError);
    assert.throws(() => linearBuckets(0, Infinity, 3), RangeError);
    assert.throws(() => linearBuckets(0, NaN, 3), RangeError);
    assert.throws(() => linearBuckets(NaN, 1, 3), RangeError);
    assert.throws(() => linearBuckets(-Infinity, 1, 3), RangeError);
    assert.throws(() => linearBuckets(0, 1, 0), RangeError);
    assert.throws(() => linearBuckets(0, 1, 2.5), RangeError);
    assert.throws(() => linearBuckets(0, 1, -3), RangeError);
  });

  it("produces bounds a histogram accepts", () => {
    assert.deepEqual(
      validateBuckets("m", linearBuckets(0.1, 0.1, 10)),
      linearBuckets(0.1, 0.1, 10),
    );
  });
});

describe("exponentialBuckets", () => {
  it("makes count buckets start, start * factor, start * factor^2, ...", () => {
    assert.deepEqual(exponentialBuckets(1, 10, 4), [1, 10, 100, 1000]);
    assert.deepEqual(exponentialBuckets(0.01, 2, 4), [0.01, 0.02, 0.04, 0.08]);
    assert.deepEqual(exponentialBuckets(3, 1.5, 1), [3]);
  });

  it("rejects start <= 0, factor <= 1, non-finite values and a bad count", () => {
    assert.throws(() => exponentialBuckets(0, 2, 3), RangeError);
    assert.throws(() => exponentialBuckets(-1, 2, 3), RangeError);
    assert.throws(() => exponentialBuckets(1, 1, 3), RangeError);
    assert.throws(() => exponentialBuckets(1, 0.5, 3), RangeError);
    assert.throws(() => exponentialBuckets(1, Infinity, 3), RangeError);
    assert.throws(() => exponentialBuckets(Infinity, 2, 3), RangeError);
    assert.throws(() => exponentialBuckets(NaN, 2, 3), RangeError);
    assert.throws(() => exponentialBuckets(1, 2, 0), RangeError);
    assert.throws(() => exponentialBuckets(1, 2, 1.5), RangeError);
  });
});

describe("validateBuckets", () => {
  it("returns a copy of sorted, finite, unique bounds", () => {
    const input = [0.1, 1, 10];
    const out = validateBuckets("m", input);
    assert.deepEqual(out, [0.1, 1, 10]);
    assert.notEqual(out, input);
  });

  it("drops a trailing +Inf (that bucket is implicit)", () => {
    assert.deepEqual(validateBuckets("m", [1, 2, Infinity]), [1, 2]);
    assert.deepEqual(validateBuckets("m", [Infinity]), []);
  });

  it("accepts no buckets at all and negative bounds", () => {
    assert.deepEqual(validateBuckets("m", []), []);
    assert.deepEqual(validateBuckets("m", [-5, -1, 0, 3]), [-5, -1, 0, 3]);
  });

  it("rejects unsorted and duplicate bounds with a RangeError naming the metric", () => {
    assert.throws(() => validateBuckets("lat_seconds", [1, 0.5]), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /lat_seconds/);
      assert.match(e.message, /increasing/);
      return true;
    });
    assert.throws(() => validateBuckets("m", [1, 2, 2, 3]), RangeError);
  });

  it("rejects NaN, -Inf and an +Inf that is not last", () => {
    assert.throws(() => validateBuckets("m", [1, NaN, 3]), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /NaN/);
      return true;
    });
    assert.throws(() => validateBuckets("m", [-Infinity, 0]), RangeError);
    assert.throws(() => validateBuckets("m", [1, Infinity, 5]), RangeError);
    assert.throws(() => validateBuckets("m", [1, Infinity, Infinity]), RangeError);
  });

  it("rejects non-numbers and a non-array", () => {
    assert.throws(() => validateBuckets("m", [1, "2" as unknown as number]), RangeError);
    assert.throws(() => validateBuckets("m", "1,2" as unknown as number[]), TypeError);
    assert.throws(() => validateBuckets("m", null as unknown as number[]), TypeError);
  });
});
