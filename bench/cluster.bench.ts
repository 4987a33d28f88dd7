/**
 * What sharing metrics across workers costs, in one `deno bench` run:
 *
 * - the hot path: a bound child's `inc()`, a histogram child's and a summary
 *   child's `observe()`, on a metric moved into shared memory (and attached to
 *   three peers, as `joinCluster` leaves it) against the same on a local,
 *   single-process metric. Target from the cluster issue: shared no worse
 *   than 3× local.
 * - the scrape: `registry.metrics()` for 10,000 counter series spread over 4
 *   workers, simulated in one isolate (4 registries with the same counter,
 *   each shared and attached to the other three, as `tests/core/shared_test.ts`
 *   does), against the same 10,000 series in one local registry. Two spreads:
 *   each worker 2,500 series of its own, and every worker all 10,000 (the
 *   merge adds 40,000 series into 10,000).
 *
 * Batching and value choices follow `core.bench.ts` (see `OPS` in
 * `_rows.ts`): every iteration is long enough for `deno bench` to time it
 * call by call. Each side gets its own metric, so no side inherits state an
 * earlier one built.
 *
 * Run: `deno bench --v8-flags=--expose-gc bench/cluster.bench.ts`, or
 * `deno task bench:report` for the README table (its cluster rows).
 *
 * @module
 */

import { Counter, Histogram, Registry, Summary } from "../src/mod.ts";
import { attachSegment, shareCollector } from "../src/core/collector.ts";
import { CLUSTER, CLUSTER_WORKERS } from "./_cluster_rows.ts";
import { OPS, VALUES } from "./_rows.ts";

/**
 * Links the same-named metrics of `registries` as `joinCluster` would: each
 * shares its storage as worker `w<k>` and attaches every other's.
 */
function link(registries: readonly Registry[]): void {
  for (const m of registries[0].getAll()) {
    const all = registries.map((r) => r.get(m.name)!);
    const segments = all.map((metric, k) => shareCollector(metric, `w${k}`)!);
    all.forEach((metric, k) => {
      segments.forEach((segment, j) => {
        if (j !== k) attachSegment(metric, segment);
      });
    });
  }
}

/** `CLUSTER_WORKERS` registries with `define(registry)` in each, linked. */
function cluster<T>(define: (registry: Registry) => T): T {
  const registries = Array.from({ length: CLUSTER_WORKERS }, () => new Registry());
  const metrics = registries.map(define);
  link(registries);
  return metrics[0];
}

// ---------------------------------------------------------------- bound child inc()

const LABEL_NAMES = ["model", "endpoint"] as const;
const ROUNDS = OPS.inc / 8;
const EIGHT = Array.from({ length: 8 }, (_, k) => ({ model: "gpt-4o", endpoint: `chat-${k}` }));

function counter(registry: Registry): Counter<"model" | "endpoint"> {
  const c = new Counter({
    name: "bench_cluster_child_total",
    help: "Bound child increments",
    labelNames: LABEL_NAMES,
    registry,
  });
  // More series after the first ones, so the storage has grown (and, once
  // shared, is a view the children were re-pointed to), as in an application.
  for (let k = 0; k < 16; k++) c.inc({ model: "other", endpoint: `e-${k}` });
  return c;
}

const localChildren = EIGHT.map((l) => counter(new Registry()).labels(l));
const sharedCounter = cluster(counter);
const sharedChildren = EIGHT.map((l) => sharedCounter.labels(l));
if (!(sharedChildren[0].v.buffer instanceof SharedArrayBuffer)) {
  throw new Error("set-up: the shared counter's children do not write to shared memory");
}

function incEight(children: readonly { inc(): void }[]): void {
  const [c0, c1, c2, c3, c4, c5, c6, c7] = children;
  for (let r = 0; r < ROUNDS; r++) {
    c0.inc(), c1.inc(), c2.inc(), c3.inc(), c4.inc(), c5.inc(), c6.inc(), c7.inc();
  }
}

Deno.bench({
  name: CLUSTER.inc.local,
  group: CLUSTER.inc.group,
  baseline: true,
  fn() {
    incEight(localChildren);
  },
});

Deno.bench({
  name: CLUSTER.inc.shared,
  group: CLUSTER.inc.group,
  fn() {
    incEight(sharedChildren);
  },
});

// ------------------------------------------------------------------ observe

const CHILD = { model: "gpt-4o", endpoint: "child" } as const;

const histogram = (registry: Registry) =>
  new Histogram({
    name: "bench_cluster_histogram_seconds",
    help: "Histogram observations",
    labelNames: LABEL_NAMES,
    registry,
  });
const localHistogramChild = histogram(new Registry()).labels(CHILD);
const sharedHistogramChild = cluster(histogram).labels(CHILD);

Deno.bench({
  name: CLUSTER.histogram.local,
  group: CLUSTER.histogram.group,
  baseline: true,
  fn() {
    const c = localHistogramChild;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

Deno.bench({
  name: CLUSTER.histogram.shared,
  group: CLUSTER.histogram.group,
  fn() {
    const c = sharedHistogramChild;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

const summary = (registry: Registry) =>
  new Summary({
    name: "bench_cluster_summary_seconds",
    help: "Summary observations",
    labelNames: LABEL_NAMES,
    registry,
  });
const localSummaryChild = summary(new Registry()).labels(CHILD);
const sharedSummaryChild = cluster(summary).labels(CHILD);

Deno.bench({
  name: CLUSTER.summary.local,
  group: CLUSTER.summary.group,
  baseline: true,
  fn() {
    const c = localSummaryChild;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

Deno.bench({
  name: CLUSTER.summary.shared,
  group: CLUSTER.summary.group,
  fn() {
    const c = sharedSummaryChild;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

// ---------------------------------------------------------------- registry.metrics()

const SIDE = 100; // 100 models × 100 endpoints = 10,000 series
const SERIES = SIDE * SIDE;

function scraped(registry: Registry): Counter<"model" | "endpoint"> {
  return new Counter({
    name: "bench_cluster_scrape_total",
    help: "Scraped counter",
    labelNames: LABEL_NAMES,
    maxSeries: 2 * SERIES,
    registry,
  });
}

/** Series `s` of the 10,000: its labels and the amount it is increased by. */
function seriesAt(s: number): { labels: { model: string; endpoint: string }; by: number } {
  const m = Math.floor(s / SIDE);
  const e = s % SIDE;
  // Integers and fractions, so value formatting is not all one case.
  return { labels: { model: `model-${m}`, endpoint: `endpoint-${e}` }, by: 1 + (s % 7) * 0.25 };
}

const localScrape = new Registry();
{
  const c = scraped(localScrape);
  for (let s = 0; s < SERIES; s++) c.inc(seriesAt(s).labels, CLUSTER_WORKERS * seriesAt(s).by);
}

/** Four linked registries; `owns(worker, series)` says which worker increments which series. */
function clusterScrape(owns: (worker: number, series: number) => boolean): Registry {
  const registries = Array.from({ length: CLUSTER_WORKERS }, () => new Registry());
  const counters = registries.map(scraped);
  link(registries);
  counters.forEach((c, w) => {
    for (let s = 0; s < SERIES; s++) {
      if (owns(w, s)) c.inc(seriesAt(s).labels, seriesAt(s).by * (CLUSTER_WORKERS / owners(s)));
    }
  });
  return registries[0];

  function owners(s: number): number {
    let n = 0;
    for (let w = 0; w < CLUSTER_WORKERS; w++) if (owns(w, s)) n++;
    return n;
  }
}

const distinctScrape = clusterScrape((w, s) => s % CLUSTER_WORKERS === w);
const overlappingScrape = clusterScrape(() => true);

// All three must render the same 10,000 samples (same values: every series
// adds up to 4 × its amount), or the comparison means nothing.
{
  const samples = (text: string) =>
    text.split("\n").filter((l) => l.startsWith("bench_")).sort().join("\n");
  const want = samples(await localScrape.metrics());
  if (want.split("\n").length !== SERIES) throw new Error("scrape set-up: local series count");
  for (const [name, r] of [["distinct", distinctScrape], ["overlapping", overlappingScrape]]) {
    const got = samples(await (r as Registry).metrics());
    if (got !== want) throw new Error(`scrape set-up: ${name} renders other samples than local`);
  }
}

let sink = 0;

Deno.bench({
  name: CLUSTER.scrape.local,
  group: CLUSTER.scrape.group,
  baseline: true,
  async fn() {
    sink += (await localScrape.metrics()).length;
  },
});

Deno.bench({
  name: CLUSTER.scrape.distinct,
  group: CLUSTER.scrape.group,
  async fn() {
    sink += (await distinctScrape.metrics()).length;
  },
});

Deno.bench({
  name: CLUSTER.scrape.overlapping,
  group: CLUSTER.scrape.group,
  async fn() {
    sink += (await overlappingScrape.metrics()).length;
  },
});

// Keeps `sink` observable (and the scrape results with it) for the optimiser.
globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
