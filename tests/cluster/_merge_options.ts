/**
 * What `_merge_server.ts` (under `deno serve --parallel`) defines and the
 * test checks against.
 *
 * @module
 */

import type { GaugeAggregation } from "../../src/mod.ts";

/** The bucket bounds of the histogram `merged_values`. */
export const BUCKETS: readonly number[] = [0.1, 1, 10];
/** The merge modes: one gauge `merged_<mode>` each. */
export const MODES: readonly GaugeAggregation[] = ["sum", "max", "min", "last", "worker"];
/** The channel the test servers' workers meet on (not the exporter's). */
export const MERGE_CHANNEL = "securetrack-metrics-merge-test";
