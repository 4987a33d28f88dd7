/**
 * The benchmark groups, the names of their benchmarks, how many operations one
 * benchmark iteration performs, and the targets from the benchmark issue.
 * Shared by `core.bench.ts` (which registers the benchmarks under these names)
 * and `report.ts` (which reads them back from `deno bench --json`).
 *
 * @module
 */

/** The peer library measured beside ours, pinned so numbers stay comparable. */
export const PROM_CLIENT = "npm:prom-client@15.1.3";

/**
 * Operations per benchmark iteration. Two reasons to batch:
 *
 * - `deno bench` adds about 9 ns of harness overhead to every call of a
 *   benchmark function (an empty `Float64Array` add reads ~9.5 ns per call
 *   here), more than a bound `inc()` costs.
 * - `deno bench` times a function call by call only when its warm-up calls
 *   took more than 10 µs; faster ones are timed in blocks of 10,000 calls,
 *   and a block's time is an average that keeps any pause another process
 *   caused. Percentiles from the two modes are not comparable, and which mode
 *   a benchmark gets depends on how soon the JIT optimised it. Every batch
 *   here is large enough (>= ~15 µs even for the raw floor) to be timed call
 *   by call.
 */
export const OPS = {
  /**
   * Bound-child increments (and the raw floor) per iteration: rounds over 8
   * series. Eight independent series, because repeated adds to one
   * `Float64Array` slot form a dependency chain whose latency (about 8.6 ns
   * per add on this machine) hides everything else an `inc()` does.
   */
  inc: 10_000,
  /** One-off labelled increments per iteration: 10 passes over the 100 label objects. */
  labelled: 1000,
  /** Histogram and summary observations per iteration: one pass over the values. */
  observe: 4096,
  /** Scrapes per iteration. */
  scrape: 1,
} as const;

/** Distinct label objects the one-off `inc(labels)` benchmark cycles through. */
export const LABEL_SET_COUNT = 100;

/**
 * Environment variable read by `core.bench.ts`: how many small objects to
 * allocate before anything else, which shifts where the benchmark's arrays and
 * children land in memory.
 *
 * The floor comparison needs it. Its loops run at 1–3 ns per operation, where
 * memory layout decides the result: in one experiment here, the same code
 * measured the floor at 1.43–1.87 ns and our bound `inc()` at 2.67–4.07 ns
 * depending only on the padding, a ratio anywhere from 1.47× to 2.8×
 * (probably false store-to-load dependencies when a load's address matches a
 * recent store's modulo 4 KiB). One layout would report that layout's luck,
 * so the report takes the median over several.
 */
export const HEAP_PAD_ENV = "BENCH_HEAP_PAD";

/** The paddings the report measures the floor rows at. */
export const HEAP_PADS: readonly number[] = [0, 1, 2, 3, 5, 8, 13, 21, 34];

/** Benchmark groups and names. */
export const B = {
  inc: {
    group: "bound child inc(), 8 series",
    floor: "floor: Float64Array[i] += 1",
    ours: "ours: child.inc()",
    prom: "prom-client: labels(...).inc()",
    promCached: "prom-client: cached labels() result .inc()",
    floorOne: "floor, 1 slot: Float64Array[i] += 1",
    oursOne: "ours, 1 series: child.inc()",
  },
  labelled: {
    group: "inc(labels), 2 labels, one-off",
    ours: "ours: inc(labels)",
    prom: "prom-client: inc(labels)",
  },
  histogram: {
    group: "Histogram observe, default buckets",
    ours: "ours: child.observe(v)",
    oursLabelled: "ours: observe(labels, v)",
    prom: "prom-client: observe(labels, v)",
    promCached: "prom-client: cached labels() result .observe(v)",
  },
  summary: {
    group: "Summary observe, defaults",
    ours: "ours: child.observe(v)",
    oursLabelled: "ours: observe(labels, v)",
    prom: "prom-client: observe(labels, v)",
    promCached: "prom-client: cached labels() result .observe(v)",
  },
  scrape: {
    group: "registry.metrics(), 10,000 counter series",
    ours: "ours: registry.metrics()",
    prom: "prom-client: registry.metrics()",
  },
} as const;

/** One row of the report table. */
export interface Row {
  /** What is measured, as the table shows it. */
  operation: string;
  /** Group in `deno bench --json` output. */
  group: string;
  /** Benchmark name of our side. */
  ours: string;
  /** Benchmark name of the other side (prom-client, or the raw floor). */
  other: string;
  /** Operations per iteration, to turn iteration times into per-operation times. */
  ops: number;
  /**
   * `speedup`: ratio = other / ours (how many times faster we are), met when
   * >= target. `slowdown`: ratio = ours / other (how many times slower than
   * the floor), met when <= target.
   */
  kind: "speedup" | "slowdown";
  /** The target ratio; `undefined` for a reference row, which has none. */
  target?: number;
}

/** The timing rows, in the order, with reference rows after the ones they qualify. */
export const ROWS: readonly Row[] = [
  {
    operation: "bound child `inc()` vs raw `Float64Array` increment (floor)",
    group: B.inc.group,
    ours: B.inc.ours,
    other: B.inc.floor,
    ops: OPS.inc,
    kind: "slowdown",
    target: 2,
  },
  {
    operation: "bound child `inc()` vs prom-client `labels(...).inc()`",
    group: B.inc.group,
    ours: B.inc.ours,
    other: B.inc.prom,
    ops: OPS.inc,
    kind: "speedup",
    target: 15,
  },
  {
    operation: "↳ reference: prom-client with its `labels()` result cached",
    group: B.inc.group,
    ours: B.inc.ours,
    other: B.inc.promCached,
    ops: OPS.inc,
    kind: "speedup",
  },
  {
    operation: "↳ reference: one series, dependent adds (latency-bound)",
    group: B.inc.group,
    ours: B.inc.oursOne,
    other: B.inc.floorOne,
    ops: OPS.inc,
    kind: "slowdown",
  },
  {
    operation: "`inc(labelsObject)` one-off, 2 labels (100 label sets)",
    group: B.labelled.group,
    ours: B.labelled.ours,
    other: B.labelled.prom,
    ops: OPS.labelled,
    kind: "speedup",
    target: 3,
  },
  {
    operation: "`Histogram` child `observe` (default buckets) vs prom-client `observe(labels, v)`",
    group: B.histogram.group,
    ours: B.histogram.ours,
    other: B.histogram.prom,
    ops: OPS.observe,
    kind: "speedup",
    target: 8,
  },
  {
    operation: "↳ reference: both children (prom-client `labels()` result cached)",
    group: B.histogram.group,
    ours: B.histogram.ours,
    other: B.histogram.promCached,
    ops: OPS.observe,
    kind: "speedup",
  },
  {
    operation: "↳ reference: both `observe(labels, v)`",
    group: B.histogram.group,
    ours: B.histogram.oursLabelled,
    other: B.histogram.prom,
    ops: OPS.observe,
    kind: "speedup",
  },
  {
    operation: "`Summary` child `observe` (defaults) vs prom-client `observe(labels, v)`",
    group: B.summary.group,
    ours: B.summary.ours,
    other: B.summary.prom,
    ops: OPS.observe,
    kind: "speedup",
    target: 15,
  },
  {
    operation: "↳ reference: both children (prom-client `labels()` result cached)",
    group: B.summary.group,
    ours: B.summary.ours,
    other: B.summary.promCached,
    ops: OPS.observe,
    kind: "speedup",
  },
  {
    operation: "↳ reference: both `observe(labels, v)`",
    group: B.summary.group,
    ours: B.summary.oursLabelled,
    other: B.summary.prom,
    ops: OPS.observe,
    kind: "speedup",
  },
  {
    operation: "`registry.metrics()`, 10,000 labelled counter series",
    group: B.scrape.group,
    ours: B.scrape.ours,
    other: B.scrape.prom,
    ops: OPS.scrape,
    kind: "speedup",
    target: 5,
  },
];

/** The memory rows' target: our bytes per series at most this fraction of prom-client's. */
export const MEMORY_TARGET = 0.5;

/** The memory rows' second target: our bytes per series at most this, in every shape. */
export const MEMORY_MAX_BYTES = 100;

/** Deterministic values (mulberry32, seed 42), so every side observes exactly the same numbers. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(42);
/** Log-uniform from 1 ms to 20 s: lands in every default bucket, including `+Inf`. */
export const VALUES: Float64Array = Float64Array.from(
  { length: OPS.observe },
  () => 0.001 * Math.pow(20_000, random()),
);
