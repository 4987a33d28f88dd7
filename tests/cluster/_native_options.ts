/**
 * What `_native_server.ts` (under `deno serve --parallel`) defines and
 * `native_test.ts` replays locally.
 *
 * @module
 */

import type { NativeHistogramOptions } from "../../src/mod.ts";

/** Native options of `native_values`: few buckets, so a worker with spread values reduces its resolution. */
export const NATIVE_OPTIONS: NativeHistogramOptions = { bucketFactor: 1.1, maxBuckets: 24 };
/** The channel the test servers' workers meet on. */
export const NATIVE_CHANNEL = "securetrack-metrics-native-test";
