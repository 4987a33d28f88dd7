/**
 * The cluster benchmarks' groups and names (`cluster.bench.ts` registers them,
 * `report.ts` reads them back from `deno bench --json`) and the report rows
 * built from them, with the targets from the cluster issue.
 *
 * @module
 */

/** Workers simulated in one isolate by `cluster.bench.ts`. */
export const CLUSTER_WORKERS = 4;

/** Benchmark groups and names. */
export const CLUSTER = {
  inc: {
    group: "cluster: bound child inc(), 8 series",
    local: "local: child.inc()",
    shared: "shared (4 workers): child.inc()",
  },
  histogram: {
    group: "cluster: Histogram child observe, default buckets",
    local: "local: child.observe(v)",
    shared: "shared (4 workers): child.observe(v)",
  },
  summary: {
    group: "cluster: Summary child observe, defaults",
    local: "local: child.observe(v)",
    shared: "shared (4 workers): child.observe(v)",
  },
  scrape: {
    group: "cluster: registry.metrics(), 10,000 counter series",
    local: "one registry, 10,000 series",
    distinct: "4 workers × 2,500 series of their own",
    overlapping: "4 workers × the same 10,000 series",
  },
} as const;

/** One row of the cluster table: `ours` over `base`, both per operation. */
export interface ClusterRow {
  /** What is measured, as the table shows it. */
  operation: string;
  /** Group in `deno bench --json` output. */
  group: string;
  /** The shared (cluster) side. */
  ours: string;
  /** The single-process side it is compared with. */
  base: string;
  /** Operations per benchmark iteration. */
  ops: number;
  /** At most this many times the single-process time; `undefined` for a reference row. */
  target?: number;
}

/** The rows, in the order. `ops` must match `OPS` in `_rows.ts`. */
export function clusterRows(ops: { inc: number; observe: number; scrape: number }): ClusterRow[] {
  return [
    {
      operation: "shared-storage bound child `inc()` vs single-process",
      group: CLUSTER.inc.group,
      ours: CLUSTER.inc.shared,
      base: CLUSTER.inc.local,
      ops: ops.inc,
      target: 3,
    },
    {
      operation: "shared-storage `Histogram` child `observe()` vs single-process",
      group: CLUSTER.histogram.group,
      ours: CLUSTER.histogram.shared,
      base: CLUSTER.histogram.local,
      ops: ops.observe,
      target: 3,
    },
    {
      operation: "↳ reference: shared-storage `Summary` child `observe()` vs single-process",
      group: CLUSTER.summary.group,
      ours: CLUSTER.summary.shared,
      base: CLUSTER.summary.local,
      ops: ops.observe,
    },
    {
      operation: "`registry.metrics()`, 10,000 series over 4 workers (2,500 each) vs one registry",
      group: CLUSTER.scrape.group,
      ours: CLUSTER.scrape.distinct,
      base: CLUSTER.scrape.local,
      ops: ops.scrape,
    },
    {
      operation: "↳ every worker has all 10,000 series (40,000 merged into 10,000)",
      group: CLUSTER.scrape.group,
      ours: CLUSTER.scrape.overlapping,
      base: CLUSTER.scrape.local,
      ops: ops.scrape,
    },
  ];
}
