/**
 * Seeded randomness for property-style tests: a failure prints its seed and
 * replays exactly.
 *
 * @module
 */

/** A random source returning floats in [0, 1). */
export type Random = () => number;

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; plenty for test inputs. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function int(rand: Random, n: number): number {
  return Math.floor(rand() * n);
}

/** One element of `items`. */
export function pick<T>(rand: Random, items: readonly T[]): T {
  return items[int(rand, items.length)];
}

const view = new DataView(new ArrayBuffer(8));

/**
 * A double from 64 random bits: every exponent equally likely, so tiny,
 * huge and subnormal values are common; NaN and the infinities turn up
 * rarely (check with `Number.isFinite` where they are not wanted).
 */
export function randomDouble(rand: Random): number {
  view.setUint32(0, Math.floor(rand() * 4294967296));
  view.setUint32(4, Math.floor(rand() * 4294967296));
  return view.getFloat64(0);
}
