/**
 * The summary that `_observe_server.ts` (under `deno serve --parallel`) and
 * the test's single-process reference both build, so they differ only in
 * where the observations land.
 *
 * @module
 */

/** Quantile ranks exposed, from the tails to the middle. */
export const PERCENTILES: readonly number[] = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

/** Name and help of the observed summary. */
export const SUMMARY = {
  name: "observed_value",
  help: "Values observed at /observe?v=.",
  percentiles: PERCENTILES,
} as const;

/** The channel the test servers' workers meet on (not the exporter's). */
export const CHANNEL = "securetrack-metrics-cluster-test";
