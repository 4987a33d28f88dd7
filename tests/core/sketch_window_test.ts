import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Sketch } from "../../src/core/sketch.ts";
import { SketchWindows } from "../../src/core/sketch_window.ts";

/** Deterministic xorshift32 in [0, 1). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const QS = [0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1];

function quantiles(s: Sketch): number[] {
  const out: number[] = [];
  s.quantiles(QS, out);
  return out;
}

describe("fixed-layout window sketches (shared summaries)", () => {
  it("equal the growable sketch bin for bin while values fit the bins", () => {
    const layout = new SketchWindows(3, 0.01, 512, 64);
    const a = new Float64Array(2 * layout.seriesSize);
    layout.clear(a, 0);
    layout.clear(a, 1);
    const reference = new Sketch(0.01);
    const next = random(7);
    for (let i = 0; i < 20_000; i++) {
      // 1 to 1,000 (about 350 bins), some zeros, negatives and infinities, in random order
      const r = next();
      const v = r < 0.01 ? 0 : r < 0.02 ? -1 - next() * 5 : r < 0.021 ? Infinity : 1 + next() * 999;
      layout.add(a, 1, 42, v);
      reference.add(v);
    }
    const merged = new Sketch(0.01);
    layout.mergeInto(a, 1, 40, merged);
    assert.equal(merged.count, reference.count);
    assert.deepEqual(quantiles(merged), quantiles(reference));
    // series 0 untouched
    const empty = new Sketch(0.01);
    layout.mergeInto(a, 0, 40, empty);
    assert.equal(empty.count, 0);
  });

  it("collapses the lowest bins when values span more than the bins; high quantiles stay within 1%", () => {
    const layout = new SketchWindows(1, 0.01, 64, 8);
    const a = new Float64Array(layout.seriesSize);
    layout.clear(a, 0);
    const values: number[] = [];
    const next = random(3);
    for (let i = 0; i < 5_000; i++) values.push(Math.exp(next() * 20)); // 1 .. 5e8: ~1000 bins
    for (const v of values) layout.add(a, 0, 1, v);
    const merged = new Sketch(0.01);
    layout.mergeInto(a, 0, 1, merged);
    assert.equal(merged.count, values.length);
    assert.ok(merged.positive.max - merged.positive.min < 64, "at most 64 bins kept");
    values.sort((x, y) => x - y);
    for (const q of [0.99, 0.999, 1]) {
      const exact = values[Math.floor(q * (values.length - 1))];
      const out: number[] = [];
      merged.quantiles([q], out);
      assert.ok(Math.abs(out[0] - exact) / exact <= 0.01 + 1e-9, `q${q}: ${out[0]} vs ${exact}`);
    }
  });

  it("keeps age buckets apart and drops those older than the window", () => {
    const layout = new SketchWindows(2, 0.01);
    const a = new Float64Array(layout.seriesSize);
    layout.clear(a, 0);
    layout.add(a, 0, 10, 5); // bucket 0
    layout.add(a, 0, 11, 7); // bucket 1
    layout.add(a, 0, 12, 9); // bucket 0 again: epoch 10 is overwritten
    const inWindow = new Sketch(0.01);
    layout.mergeInto(a, 0, 11, inWindow);
    assert.equal(inWindow.count, 2);
    const newest = new Sketch(0.01);
    layout.mergeInto(a, 0, 12, newest);
    assert.equal(newest.count, 1);
  });

  it("loads a growable sketch's content exactly", () => {
    const layout = new SketchWindows(1, 0.01);
    const a = new Float64Array(layout.seriesSize);
    layout.clear(a, 0);
    const source = new Sketch(0.01);
    for (let i = 1; i <= 1000; i++) source.add(i);
    source.add(0);
    source.add(-3);
    layout.load(a, 0, 5, source);
    const merged = new Sketch(0.01);
    layout.mergeInto(a, 0, 5, merged);
    assert.deepEqual(quantiles(merged), quantiles(source));
  });
});
