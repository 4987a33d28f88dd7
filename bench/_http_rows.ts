/**
 * The groups and names of `http_router.bench.ts` (route matching), how
 * many operations one iteration performs, and the rows and targets of the
 * table `http_report.ts` prints from `deno bench --json`.
 *
 * @module
 */

/**
 * Operations per iteration of `http_router.bench.ts`: enough for each
 * iteration to take well over 10 µs, so `deno bench` times it call by call
 * (faster ones are timed in blocks whose percentiles are not per call; see
 * `OPS` in `_rows.ts`).
 */
export const HTTP_OPS = {
  /** Passes over the hit (50) or miss (49) paths per iteration (URLPattern: one). */
  routeRounds: 10,
  /** Hit paths: one per template of the 50-template table. */
  hits: 50,
  /** Miss paths. */
  misses: 49,
} as const;

/** Groups and names of `http_router.bench.ts`. */
export const HTTP_BENCH = {
  hits: "route match, 50 templates: hits",
  misses: "route match, 50 templates: misses",
  mixedHits: "route match, 50 templates, 2 of them URLPattern-only: hits",
  mixedMisses: "route match, 50 templates, 2 of them URLPattern-only: misses",
  requestHits: "route match, 50 templates: hits, path cut out of the request URL",
  ours: "ours: RouteTable.match (compiled)",
  urlpattern: "URLPattern.test in order (the table before), same paths",
} as const;

/** One row of the HTTP table: `ours` and `other` per operation. */
export interface HttpRow {
  /** What is measured, as the table shows it. */
  operation: string;
  /** Group in `deno bench --json` output. */
  group: string;
  /** Our side. */
  ours: string;
  /** The side it is compared with. */
  other: string;
  /** Operations per iteration of `ours`. */
  ops: number;
  /** Operations per iteration of `other`, when not `ops`. */
  otherOps?: number;
  /** At most this many ns per operation for our side; `undefined` for a reference row. */
  targetNs?: number;
}

/** The rows of the HTTP table. */
export const HTTP_ROWS: readonly HttpRow[] = [
  {
    operation: "route match, hit (50 templates, one path per template)",
    group: HTTP_BENCH.hits,
    ours: HTTP_BENCH.ours,
    other: HTTP_BENCH.urlpattern,
    ops: HTTP_OPS.routeRounds * HTTP_OPS.hits,
    otherOps: HTTP_OPS.hits,
    targetNs: 100,
  },
  {
    operation: "route match, miss (49 scanner and late-failing paths)",
    group: HTTP_BENCH.misses,
    ours: HTTP_BENCH.ours,
    other: HTTP_BENCH.urlpattern,
    ops: HTTP_OPS.routeRounds * HTTP_OPS.misses,
    otherOps: HTTP_OPS.misses,
    targetNs: 100,
  },
  {
    operation: "↳ reference: hit, 2 of the 50 templates in URLPattern-only syntax " +
      "(`:id(\\d+)`, `{/:tag}?`)",
    group: HTTP_BENCH.mixedHits,
    ours: HTTP_BENCH.ours,
    other: HTTP_BENCH.urlpattern,
    ops: HTTP_OPS.routeRounds * HTTP_OPS.hits,
    otherOps: HTTP_OPS.hits,
  },
  {
    operation: "↳ reference: miss, same table",
    group: HTTP_BENCH.mixedMisses,
    ours: HTTP_BENCH.ours,
    other: HTTP_BENCH.urlpattern,
    ops: HTTP_OPS.routeRounds * HTTP_OPS.misses,
    otherOps: HTTP_OPS.misses,
  },
  {
    operation: "↳ reference: hit, from the request's URL (`matchUrl`), as `instrument()` " +
      "does",
    group: HTTP_BENCH.requestHits,
    ours: HTTP_BENCH.ours,
    other: HTTP_BENCH.urlpattern,
    ops: HTTP_OPS.routeRounds * HTTP_OPS.hits,
    otherOps: HTTP_OPS.hits,
  },
];
