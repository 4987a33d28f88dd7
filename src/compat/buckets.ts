/**
 * prom-client's bucket generators, with its errors.
 *
 * @module
 */

import {
  exponentialBuckets as coreExponential,
  linearBuckets as coreLinear,
} from "../core/buckets.ts";

/**
 * `count` buckets `start, start + width, …`. Throws prom-client's `Error`
 * for a count below 1 (and a `RangeError` for a width that is not > 0).
 *
 * @example
 * ```ts
 * import { linearBuckets } from "@securetrack/metrics/prom-client";
 * console.log(linearBuckets(0, 50, 4)); // [0, 50, 100, 150]
 * ```
 */
export function linearBuckets(start: number, width: number, count: number): number[] {
  if (count < 1) throw new Error("Linear buckets needs a positive count");
  return coreLinear(start, width, count);
}

/**
 * `count` buckets `start, start × factor, …`. Throws prom-client's `Error`
 * for a start <= 0, a count below 1 or a factor <= 1.
 *
 * @example
 * ```ts
 * import { exponentialBuckets } from "@securetrack/metrics/prom-client";
 * console.log(exponentialBuckets(1, 2, 4)); // [1, 2, 4, 8]
 * ```
 */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (start <= 0) throw new Error("Exponential buckets needs a positive start");
  if (count < 1) throw new Error("Exponential buckets needs a positive count");
  if (factor <= 1) throw new Error("Exponential buckets needs a factor greater than 1");
  return coreExponential(start, factor, count);
}
