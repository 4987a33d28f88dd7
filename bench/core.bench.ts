/**
 * Hot-path and scrape benchmarks, ours beside prom-client 15.1.3 in the same
 * run, and beside a raw `Float64Array` increment as the floor.
 *
 * Each benchmark iteration runs a batch of operations (see `OPS` in
 * `_rows.ts`) so the harness's per-call overhead does not drown the
 * nanosecond ones; `report.ts` divides by the batch size. Both libraries get
 * the same label objects (created up front), the same values (precomputed)
 * and their own non-default registries. Every operation writes into metric
 * state that a scrape could read, so none of it can be optimised away.
 *
 * Run: `deno task bench` (all of `bench/`), or `deno task bench:report` for
 * the ratio table.
 *
 * @module
 */

import client from "npm:prom-client@15.1.3";
import { Counter, Histogram, Registry, Summary } from "../src/mod.ts";
import { B, HEAP_PAD_ENV, LABEL_SET_COUNT, OPS, VALUES } from "./_rows.ts";

// Shifts where everything below lands in the heap (see `HEAP_PAD_ENV`): the
// report repeats the floor comparison over several shifts.
const mayRead = Deno.permissions.querySync({ name: "env", variable: HEAP_PAD_ENV });
const padBy = mayRead.state === "granted" ? Number(Deno.env.get(HEAP_PAD_ENV) ?? 0) : 0;
const padding = Array.from({ length: padBy }, (_, i) => ({ i }));

const ours = new Registry();
const peer = new client.Registry();
const LABEL_NAMES = ["model", "endpoint"] as const;
// Histogram and summary: the bound children observe one series, the
// `observe(labels, v)` variants another, so no benchmark inherits a sketch or
// t-digest that an earlier one filled.
const CHILD = { model: "gpt-4o", endpoint: "child" } as const;
const ONE_OFF = { model: "gpt-4o", endpoint: "one-off" } as const;

/** 10 models × 10 endpoints, created once and shared by both libraries. */
const LABEL_SETS = Array.from({ length: LABEL_SET_COUNT }, (_, k) => ({
  model: `model-${k % 10}`,
  endpoint: `endpoint-${Math.floor(k / 10)}`,
}));

// ---------------------------------------------------------------- bound child inc()

const ROUNDS = OPS.inc / 8;
const EIGHT = Array.from({ length: 8 }, (_, k) => ({ model: "gpt-4o", endpoint: `chat-${k}` }));

// The floor: the array reached through a holder, as a child reaches its own,
// so neither side gets an array the compiler can treat as a constant.
const floor = { values: new Float64Array(64) };

const oursCounter = new Counter({
  name: "bench_child_total",
  help: "Bound child increments",
  labelNames: LABEL_NAMES,
  registry: ours,
});
const oursChildren = EIGHT.map((labels) => oursCounter.labels(labels));
// More series after the children exist: the storage grows and re-points them,
// as it does in an application, so their fields are not compile-time constants.
for (let k = 0; k < 16; k++) oursCounter.inc({ model: "other", endpoint: `e-${k}` });

const peerCounter = new client.Counter({
  name: "bench_child_total",
  help: "Bound child increments",
  labelNames: LABEL_NAMES,
  registers: [peer],
});
const peerChildren = EIGHT.map((labels) => peerCounter.labels(labels));

Deno.bench({
  name: B.inc.floor,
  group: B.inc.group,
  baseline: true,
  fn() {
    const a = floor.values;
    for (let r = 0; r < ROUNDS; r++) {
      a[0] += 1, a[1] += 1, a[2] += 1, a[3] += 1, a[4] += 1, a[5] += 1, a[6] += 1, a[7] += 1;
    }
  },
});

Deno.bench({
  name: B.inc.ours,
  group: B.inc.group,
  fn() {
    const [c0, c1, c2, c3, c4, c5, c6, c7] = oursChildren;
    for (let r = 0; r < ROUNDS; r++) {
      c0.inc(), c1.inc(), c2.inc(), c3.inc(), c4.inc(), c5.inc(), c6.inc(), c7.inc();
    }
  },
});

Deno.bench({
  name: B.inc.prom,
  group: B.inc.group,
  fn() {
    // prom-client's labels() returns a fresh object each call: this is its idiom.
    const [l0, l1, l2, l3, l4, l5, l6, l7] = EIGHT;
    const c = peerCounter;
    for (let r = 0; r < ROUNDS; r++) {
      c.labels(l0).inc(), c.labels(l1).inc(), c.labels(l2).inc(), c.labels(l3).inc();
      c.labels(l4).inc(), c.labels(l5).inc(), c.labels(l6).inc(), c.labels(l7).inc();
    }
  },
});

Deno.bench({
  name: B.inc.promCached,
  group: B.inc.group,
  fn() {
    const [c0, c1, c2, c3, c4, c5, c6, c7] = peerChildren;
    for (let r = 0; r < ROUNDS; r++) {
      c0.inc(), c1.inc(), c2.inc(), c3.inc(), c4.inc(), c5.inc(), c6.inc(), c7.inc();
    }
  },
});

Deno.bench({
  name: B.inc.floorOne,
  group: B.inc.group,
  fn() {
    const a = floor.values;
    for (let k = 0; k < OPS.inc; k++) a[8] += 1;
  },
});

Deno.bench({
  name: B.inc.oursOne,
  group: B.inc.group,
  fn() {
    const c = oursChildren[0];
    for (let k = 0; k < OPS.inc; k++) c.inc();
  },
});

// ------------------------------------------------------------ one-off inc(labels)

const oursLabelled = new Counter({
  name: "bench_labelled_total",
  help: "One-off labelled increments",
  labelNames: LABEL_NAMES,
  registry: ours,
});
const peerLabelled = new client.Counter({
  name: "bench_labelled_total",
  help: "One-off labelled increments",
  labelNames: LABEL_NAMES,
  registers: [peer],
});
const PASSES = OPS.labelled / LABEL_SET_COUNT;
// Create every series first, so both sides measure lookups, not creation.
for (const labels of LABEL_SETS) {
  oursLabelled.inc(labels);
  peerLabelled.inc(labels);
}

Deno.bench({
  name: B.labelled.ours,
  group: B.labelled.group,
  baseline: true,
  fn() {
    for (let pass = 0; pass < PASSES; pass++) {
      for (let k = 0; k < LABEL_SET_COUNT; k++) oursLabelled.inc(LABEL_SETS[k]);
    }
  },
});

Deno.bench({
  name: B.labelled.prom,
  group: B.labelled.group,
  fn() {
    for (let pass = 0; pass < PASSES; pass++) {
      for (let k = 0; k < LABEL_SET_COUNT; k++) peerLabelled.inc(LABEL_SETS[k]);
    }
  },
});

// ------------------------------------------------------------------ histogram observe

const oursHistogram = new Histogram({
  name: "bench_histogram_seconds",
  help: "Histogram observations",
  labelNames: LABEL_NAMES,
  registry: ours,
});
const oursHistogramChild = oursHistogram.labels(CHILD);
const peerHistogram = new client.Histogram({
  name: "bench_histogram_seconds",
  help: "Histogram observations",
  labelNames: LABEL_NAMES,
  registers: [peer],
});
const peerHistogramChild = peerHistogram.labels(CHILD);

Deno.bench({
  name: B.histogram.ours,
  group: B.histogram.group,
  baseline: true,
  fn() {
    const c = oursHistogramChild;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

Deno.bench({
  name: B.histogram.oursLabelled,
  group: B.histogram.group,
  fn() {
    for (let k = 0; k < VALUES.length; k++) oursHistogram.observe(ONE_OFF, VALUES[k]);
  },
});

Deno.bench({
  name: B.histogram.prom,
  group: B.histogram.group,
  fn() {
    for (let k = 0; k < VALUES.length; k++) peerHistogram.observe(ONE_OFF, VALUES[k]);
  },
});

Deno.bench({
  name: B.histogram.promCached,
  group: B.histogram.group,
  fn() {
    const c = peerHistogramChild;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

// -------------------------------------------------------------------- summary observe

// Both with their defaults: ours a 10-minute sliding window of 5 sketches,
// prom-client one t-digest (no window unless maxAgeSeconds is set).
const oursSummary = new Summary({
  name: "bench_summary_seconds",
  help: "Summary observations",
  labelNames: LABEL_NAMES,
  registry: ours,
});
const oursSummaryChild = oursSummary.labels(CHILD);
const peerSummary = new client.Summary({
  name: "bench_summary_seconds",
  help: "Summary observations",
  labelNames: LABEL_NAMES,
  registers: [peer],
});
const peerSummaryChild = peerSummary.labels(CHILD);

Deno.bench({
  name: B.summary.ours,
  group: B.summary.group,
  baseline: true,
  fn() {
    const c = oursSummaryChild;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

Deno.bench({
  name: B.summary.oursLabelled,
  group: B.summary.group,
  fn() {
    for (let k = 0; k < VALUES.length; k++) oursSummary.observe(ONE_OFF, VALUES[k]);
  },
});

Deno.bench({
  name: B.summary.prom,
  group: B.summary.group,
  fn() {
    for (let k = 0; k < VALUES.length; k++) peerSummary.observe(ONE_OFF, VALUES[k]);
  },
});

Deno.bench({
  name: B.summary.promCached,
  group: B.summary.group,
  fn() {
    const c = peerSummaryChild;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

// ---------------------------------------------------------------- registry.metrics()

const SCRAPE_SIDE = 100; // 100 models × 100 endpoints = 10,000 series
const oursScrape = new Registry();
const peerScrape = new client.Registry();
const oursScraped = new Counter({
  name: "bench_scrape_total",
  help: "Scraped counter",
  labelNames: LABEL_NAMES,
  registry: oursScrape,
});
const peerScraped = new client.Counter({
  name: "bench_scrape_total",
  help: "Scraped counter",
  labelNames: LABEL_NAMES,
  registers: [peerScrape],
});
for (let m = 0; m < SCRAPE_SIDE; m++) {
  for (let e = 0; e < SCRAPE_SIDE; e++) {
    const labels = { model: `model-${m}`, endpoint: `endpoint-${e}` };
    // Integers and fractions, so value formatting is not all one case.
    const by = 1 + ((m * SCRAPE_SIDE + e) % 7) * 0.25;
    oursScraped.inc(labels, by);
    peerScraped.inc(labels, by);
  }
}

// Both must render the same 10,000 samples, or the comparison means nothing.
{
  const count = (text: string) => text.split("\n").filter((l) => l.startsWith("bench_")).length;
  const a = await oursScrape.metrics();
  const b = await peerScrape.metrics();
  const series = SCRAPE_SIDE * SCRAPE_SIDE;
  if (count(a) !== series || count(b) !== series || a.includes("__overflow__")) {
    throw new Error(`scrape set-up: ours ${count(a)} samples, prom-client ${count(b)}`);
  }
  const sorted = (text: string) => text.split("\n").filter((l) => l.startsWith("bench_")).sort();
  if (sorted(a).join("\n") !== sorted(b).join("\n")) {
    throw new Error("scrape set-up: ours and prom-client render different samples");
  }
}

let sink = 0;

Deno.bench({
  name: B.scrape.ours,
  group: B.scrape.group,
  baseline: true,
  async fn() {
    sink += (await oursScrape.metrics()).length;
  },
});

Deno.bench({
  name: B.scrape.prom,
  group: B.scrape.group,
  async fn() {
    sink += (await peerScrape.metrics()).length;
  },
});

// Keeps `sink` observable (and the scrape results with it) for the optimiser,
// and the padding alive to the end.
globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink, padding.length);
});
