/**
 * Options of a histogram's native (sparse, exponential) buckets, as
 * client_golang's `HistogramOpts.NativeHistogram*` fields, and their
 * validation.
 *
 * @module
 */

import { checkOptionKeys } from "./options.ts";
import { DEFAULT_ZERO_THRESHOLD, type NativeConfig, pickSchema } from "./_native.ts";

/**
 * Options of native buckets (`native` in `HistogramOptions`). Every field
 * may be left out.
 *
 * Native buckets are exponential: at the default factor 1.1 (schema 3) there
 * are 8 buckets per power of two, each about 9% wider than the last, and
 * only buckets that hold observations cost anything. Prometheus stores them
 * as one series per histogram (not one per bucket), reads them from the
 * protobuf format only, and needs `--enable-feature=native-histograms`
 * (2.40 to 2.x).
 *
 * @example
 * ```ts
 * import { Histogram, type NativeHistogramOptions, Registry } from "@securetrack/metrics";
 * const native: NativeHistogramOptions = { bucketFactor: 1.1, maxBuckets: 100, minResetSeconds: 3600 };
 * const h = new Histogram({ name: "rpc_seconds", help: "RPC time", native, registry: new Registry() });
 * h.observe(0.042);
 * ```
 */
export interface NativeHistogramOptions {
  /**
   * Largest ratio between the bounds of one bucket, > 1 (default 1.1). The
   * schema chosen is the coarsest whose ratio 2^(2^-schema) is at most this,
   * within [-4, 8], as client_golang picks it: 1.1 gives schema 3, 2 gives 0.
   */
  bucketFactor?: number;
  /**
   * Observations with `|v| <= zeroThreshold` go to the zero bucket (default
   * 2^-128, client_golang's). 0 keeps only exact zeros there; a histogram
   * with a zero threshold of 0 and no observation reads as classic in
   * Prometheus 2.42 (2.47+ reads it as native).
   */
  zeroThreshold?: number;
  /**
   * Most buckets a series holds, positive and negative together (default
   * 160). Past it, client_golang's rules reduce them: a reset if
   * `minResetSeconds` have passed since the last one, else a wider zero
   * bucket if `maxZeroThreshold` allows, else half the resolution (schema
   * minus one, down to -4). Memory per series is fixed by it: about
   * `16 × max(2 × maxBuckets, 136)` bytes (5 KiB at the default).
   */
  maxBuckets?: number;
  /**
   * Widest the zero bucket may become when buckets are reduced (default 0:
   * the zero bucket is never widened).
   */
  maxZeroThreshold?: number;
  /**
   * Shortest time between two resets of a series, in seconds (default 0:
   * never reset). With it set, a series over `maxBuckets` starts again
   * (classic and native buckets, sum, count) once this long has passed since
   * its last reset, and a series whose resolution was reduced is reset at
   * its first observation after that time, regaining the full resolution.
   * Prometheus reads a reset as a counter reset.
   */
  minResetSeconds?: number;
  /** Clock in milliseconds since the epoch, for tests (default `Date.now`). */
  now?: () => number;
}

const KEYS = [
  "bucketFactor",
  "zeroThreshold",
  "maxBuckets",
  "maxZeroThreshold",
  "minResetSeconds",
  "now",
];

/**
 * The validated configuration for `native` (`undefined`: classic only) and
 * its signature (two histograms share a name only with equal ones). Throws a
 * `TypeError` for a wrong type or unknown key, a `RangeError` for a value
 * out of range, naming the metric and the option.
 */
export function nativeConfig(
  metric: string,
  native: boolean | NativeHistogramOptions | undefined,
): { config: NativeConfig; signature: string } | undefined {
  if (native === undefined || native === false) return undefined;
  const owner = `Histogram "${metric}"`;
  if (native !== true && (native === null || typeof native !== "object")) {
    throw new TypeError(`${owner}: native must be true, false or an options object`);
  }
  const o: NativeHistogramOptions = native === true ? {} : native;
  checkOptionKeys(`${owner} native`, o, KEYS);
  const number = (key: keyof NativeHistogramOptions, value: unknown, fallback: number) => {
    if (value === undefined) return fallback;
    if (typeof value !== "number") {
      throw new TypeError(`${owner}: native.${key} must be a number, got ${typeof value}`);
    }
    return value;
  };
  const factor = number("bucketFactor", o.bucketFactor, 1.1);
  if (!(factor > 1 && factor < Infinity)) {
    throw new RangeError(`${owner}: native.bucketFactor must be > 1, got ${factor}`);
  }
  const zeroThreshold = number("zeroThreshold", o.zeroThreshold, DEFAULT_ZERO_THRESHOLD);
  if (!(zeroThreshold >= 0 && zeroThreshold < Infinity)) {
    throw new RangeError(`${owner}: native.zeroThreshold must be >= 0, got ${zeroThreshold}`);
  }
  const maxBuckets = number("maxBuckets", o.maxBuckets, 160);
  if (!Number.isSafeInteger(maxBuckets) || maxBuckets < 1 || maxBuckets > 65536) {
    throw new RangeError(
      `${owner}: native.maxBuckets must be an integer in [1, 65536], got ${maxBuckets}`,
    );
  }
  const maxZeroThreshold = number("maxZeroThreshold", o.maxZeroThreshold, 0);
  if (!(maxZeroThreshold >= 0 && maxZeroThreshold < Infinity)) {
    throw new RangeError(
      `${owner}: native.maxZeroThreshold must be >= 0, got ${maxZeroThreshold}`,
    );
  }
  const minReset = number("minResetSeconds", o.minResetSeconds, 0);
  if (!(minReset >= 0 && minReset < Infinity)) {
    throw new RangeError(`${owner}: native.minResetSeconds must be >= 0, got ${minReset}`);
  }
  if (o.now !== undefined && typeof o.now !== "function") {
    throw new TypeError(`${owner}: native.now must be a function returning milliseconds`);
  }
  const schema = pickSchema(factor);
  return {
    config: {
      schema,
      zeroThreshold,
      maxBuckets,
      maxZeroThreshold,
      minResetMs: minReset * 1000,
      now: o.now ?? Date.now,
    },
    signature: `${schema}/${zeroThreshold}/${maxBuckets}/${maxZeroThreshold}/${minReset}`,
  };
}
