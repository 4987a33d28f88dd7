/**
 * Test helpers: the seeded PRNG (from `tests/_support/random.ts`) and the
 * distributions the accuracy tests draw from, so every run sees the same samples.
 *
 * @module
 */

export { mulberry32 } from "../_support/random.ts";

/** Standard normal draws by Box-Muller, from a uniform source. */
export function normals(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** The element of rank `q` as the sketch defines it: `sorted[floor(q * (n - 1))]`. */
export function exactQuantile(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

/** Relative error of `estimate` against `exact` (absolute error when `exact` is 0). */
export function relativeError(estimate: number, exact: number): number {
  return exact === 0 ? Math.abs(estimate) : Math.abs(estimate - exact) / Math.abs(exact);
}
