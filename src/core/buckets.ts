/**
 * Histogram bucket layouts.
 *
 * @module
 */

/**
 * Prometheus' default buckets (client_golang's `DefBuckets`), in seconds:
 * 5 ms to 10 s.
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

/**
 * `count` buckets `start, start + width, …`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linearBuckets } from "@securetrack/metrics";
 * assert.deepEqual(linearBuckets(0, 10, 4), [0, 10, 20, 30]);
 * ```
 */
export function linearBuckets(start: number, width: number, count: number): number[] {
  if (!Number.isFinite(start) || !(width > 0 && width < Infinity)) {
    throw new RangeError(
      `linearBuckets: start must be finite and width > 0 (got ${start}, ${width})`,
    );
  }
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`linearBuckets: count must be a positive integer, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => start + i * width);
}

/**
 * `count` buckets `start, start × factor, start × factor², …`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exponentialBuckets } from "@securetrack/metrics";
 * assert.deepEqual(exponentialBuckets(0.01, 2, 4), [0.01, 0.02, 0.04, 0.08]);
 * ```
 */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (!(start > 0 && start < Infinity) || !(factor > 1 && factor < Infinity)) {
    throw new RangeError(
      `exponentialBuckets: start must be > 0 and factor > 1 (got ${start}, ${factor})`,
    );
  }
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`exponentialBuckets: count must be a positive integer, got ${count}`);
  }
  const out: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) out.push(b);
  return out;
}

/**
 * Validates bucket upper bounds for metric `metric`: numbers, finite, strictly
 * increasing. A trailing `+Inf` is dropped, since that bucket is implicit.
 */
export function validateBuckets(metric: string, buckets: readonly number[]): number[] {
  if (!Array.isArray(buckets)) {
    throw new TypeError(`Histogram "${metric}": buckets must be an array of numbers`);
  }
  const out = buckets.length > 0 && buckets[buckets.length - 1] === Infinity
    ? buckets.slice(0, -1)
    : [...buckets];
  for (let i = 0; i < out.length; i++) {
    const b = out[i];
    if (typeof b !== "number" || !Number.isFinite(b)) {
      throw new RangeError(`Histogram "${metric}": bucket ${String(b)} is not a finite number`);
    }
    if (i > 0 && b <= out[i - 1]) {
      throw new RangeError(
        `Histogram "${metric}": buckets must be strictly increasing (${out[i - 1]} then ${b})`,
      );
    }
  }
  return out;
}
