/**
 * The prom-client drop-in (`./prom-client`) beside prom-client 15.1.3 itself,
 * in the same run: the calls a prom-client program makes most, written
 * the same way on both sides (the drop-in is called exactly as prom-client
 * is). The target: the drop-in at least 5× faster in every row.
 *
 * Each iteration runs a batch (see `OPS` in `_rows.ts`, whose reasons hold
 * here too); divide by the batch size for per-call times, or read the
 * ratios `deno bench` prints per group. `bench/compat_report.ts` prints the
 * table the README shows.
 *
 * Run: `deno bench --allow-read --allow-env --allow-sys bench/compat.bench.ts`.
 *
 * @module
 */

import client from "npm:prom-client@15.1.3";
import * as dropIn from "../src/compat/mod.ts";
import { OPS } from "./_rows.ts";

/** Groups and names, shared with `compat_report.ts`. */
export const COMPAT = {
  inc: {
    group: "drop-in: inc(), 8 unlabelled counters",
    ours: "drop-in: inc()",
    prom: "prom-client: inc()",
  },
  labels: {
    group: "drop-in: labels(a, b).inc()",
    ours: "drop-in: labels(a, b).inc()",
    prom: "prom-client: labels(a, b).inc()",
  },
  gaugeLabels: {
    group: "drop-in: gauge labels(a, b).set(v)",
    ours: "drop-in: labels(a, b).set(v)",
    prom: "prom-client: labels(a, b).set(v)",
  },
  observe: {
    group: "drop-in: histogram observe(v)",
    ours: "drop-in: observe(v)",
    prom: "prom-client: observe(v)",
  },
  metrics: {
    group: "drop-in: register.metrics(), 2 metrics x 100 series",
    ours: "drop-in: metrics()",
    prom: "prom-client: metrics()",
  },
} as const;

/** Operations per iteration of each group. */
export const COMPAT_OPS = {
  inc: OPS.inc,
  labels: OPS.labelled,
  gaugeLabels: OPS.labelled,
  observe: OPS.observe,
  metrics: OPS.scrape,
} as const;

type Lib = typeof dropIn | typeof client;
const libs: [string, Lib][] = [["ours", dropIn], ["prom", client]];

/** The same program on both libraries: the metrics each benchmark uses. */
function setUp(lib: Lib) {
  const registry = new lib.Registry();
  const registers = [registry] as never[];
  // Eight counters in turn, as core.bench.ts's eight series: repeated adds to
  // one slot form a dependency chain (about 7 ns per add here) that would
  // hide what either library does.
  const counters = Array.from(
    { length: 8 },
    (_, k) => new lib.Counter({ name: `jobs_${k}_total`, help: "Jobs", registers }),
  );
  const labelled = new lib.Counter({
    name: "requests_total",
    help: "Requests",
    labelNames: ["method", "code"],
    registers,
  });
  const gauge = new lib.Gauge({
    name: "in_flight",
    help: "In flight",
    labelNames: ["method", "code"],
    registers,
  });
  const histogram = new lib.Histogram({ name: "work_seconds", help: "Work", registers });
  const scraped = new lib.Registry();
  const scrapedCounter = new lib.Counter({
    name: "scraped_total",
    help: "Scraped",
    labelNames: ["model", "endpoint"],
    registers: [scraped] as never[],
  });
  const scrapedHistogram = new lib.Histogram({
    name: "scraped_seconds",
    help: "Scraped",
    labelNames: ["model", "endpoint"],
    registers: [scraped] as never[],
  });
  for (let k = 0; k < 100; k++) {
    const labels = { model: `model-${k % 10}`, endpoint: `endpoint-${Math.floor(k / 10)}` };
    scrapedCounter.inc(labels, k);
    scrapedHistogram.observe(labels, k / 50);
  }
  return { counters, labelled, gauge, histogram, scraped };
}

const METHODS = ["GET", "POST", "PUT", "DELETE"];
const CODES = ["200", "404"];
const VALUES = Array.from({ length: OPS.observe }, (_, i) => ((i * 7919) % 1000) / 100);

for (const [side, lib] of libs) {
  const m = setUp(lib);
  const name = (row: { ours: string; prom: string }) => side === "ours" ? row.ours : row.prom;
  Deno.bench({
    name: name(COMPAT.inc),
    group: COMPAT.inc.group,
    baseline: side === "ours",
    fn() {
      const [c0, c1, c2, c3, c4, c5, c6, c7] = m.counters;
      for (let r = 0; r < COMPAT_OPS.inc / 8; r++) {
        c0.inc(), c1.inc(), c2.inc(), c3.inc(), c4.inc(), c5.inc(), c6.inc(), c7.inc();
      }
    },
  });
  Deno.bench({
    name: name(COMPAT.labels),
    group: COMPAT.labels.group,
    baseline: side === "ours",
    fn() {
      const c = m.labelled;
      for (let k = 0; k < COMPAT_OPS.labels; k++) {
        c.labels(METHODS[k & 3], CODES[(k >> 2) & 1]).inc();
      }
    },
  });
  Deno.bench({
    name: name(COMPAT.gaugeLabels),
    group: COMPAT.gaugeLabels.group,
    baseline: side === "ours",
    fn() {
      const g = m.gauge;
      for (let k = 0; k < COMPAT_OPS.gaugeLabels; k++) {
        g.labels(METHODS[k & 3], CODES[(k >> 2) & 1]).set(k);
      }
    },
  });
  Deno.bench({
    name: name(COMPAT.observe),
    group: COMPAT.observe.group,
    baseline: side === "ours",
    fn() {
      const h = m.histogram;
      for (let k = 0; k < COMPAT_OPS.observe; k++) h.observe(VALUES[k]);
    },
  });
  Deno.bench({
    name: name(COMPAT.metrics),
    group: COMPAT.metrics.group,
    baseline: side === "ours",
    async fn() {
      await m.scraped.metrics();
    },
  });
}
