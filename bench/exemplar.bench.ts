/**
 * Exemplars' cost, in one run: a bound child's `incWithExemplar` and
 * `observeWithExemplar` beside its plain `inc` and `observe` (the baseline
 * of each group), and beside prom-client 15.1.3's exemplar calls
 * (`inc({ labels, value, exemplarLabels })` on a counter with
 * `enableExemplars`, in an OpenMetrics registry: its only way).
 *
 * Plain calls must not have become slower for exemplars to exist. With
 * `BENCH_BEFORE_SRC` set to the `src/mod.ts` of a checkout from before
 * exemplars (e.g. `git archive 07f060a src | tar -x -C /tmp/before`), each group also
 * runs that version's plain call in the same process, so the two plain
 * rows compare old and new code under the same conditions.
 *
 * Each iteration is a batch (`OPS` of `_rows.ts`): 10,000 increments over 8
 * children, or 4,096 observations. Exemplar labels are one `trace_id` of 32
 * hex digits, a different one per call (as from requests), prepared up front.
 *
 * Run: `deno bench --allow-read --allow-env bench/exemplar.bench.ts`.
 *
 * @module
 */

import client from "npm:prom-client@15.1.3";
import { Counter, Histogram, Registry } from "../src/mod.ts";
import { OPS, VALUES } from "./_rows.ts";

type Mod = typeof import("../src/mod.ts");

const beforePath = Deno.permissions.querySync({ name: "env", variable: "BENCH_BEFORE_SRC" })
    .state === "granted"
  ? Deno.env.get("BENCH_BEFORE_SRC")
  : undefined;
const before: Mod | undefined = beforePath === undefined
  ? undefined
  : await import(new URL(beforePath, `file://${Deno.cwd()}/`).href);

const LABEL_NAMES = ["model", "endpoint"] as const;
const EIGHT = Array.from({ length: 8 }, (_, k) => ({ model: "gpt-4o", endpoint: `chat-${k}` }));
const ROUNDS = OPS.inc / 8;
/** 64 distinct trace ids, reused in turn. */
const TRACES = Array.from({ length: 64 }, (_, k) => ({
  trace_id: (k.toString(16).padStart(2, "0") + "4bf92f3577b34da6a3ce929d0e0e47").slice(0, 32),
}));

function counters(mod: Pick<Mod, "Counter" | "Registry">) {
  const counter = new mod.Counter({
    name: "bench_exemplar_total",
    help: "Increments",
    labelNames: LABEL_NAMES,
    registry: new mod.Registry(),
  });
  return EIGHT.map((labels) => counter.labels(labels));
}

function histogram(mod: Pick<Mod, "Histogram" | "Registry">) {
  return new mod.Histogram({
    name: "bench_exemplar_seconds",
    help: "Observations",
    labelNames: LABEL_NAMES,
    registry: new mod.Registry(),
  }).labels(EIGHT[0]);
}

// ---------------------------------------------------------------- counters

const INC = "exemplar: bound child inc, 8 series";
const plainChildren = counters({ Counter, Registry });
const exemplarChildren = counters({ Counter, Registry });

Deno.bench({
  name: "ours: child.inc()",
  group: INC,
  baseline: true,
  fn() {
    const [c0, c1, c2, c3, c4, c5, c6, c7] = plainChildren;
    for (let r = 0; r < ROUNDS; r++) {
      c0.inc(), c1.inc(), c2.inc(), c3.inc(), c4.inc(), c5.inc(), c6.inc(), c7.inc();
    }
  },
});

if (before !== undefined) {
  const beforeChildren = counters(before);
  Deno.bench({
    name: "before exemplars: child.inc()",
    group: INC,
    fn() {
      const [c0, c1, c2, c3, c4, c5, c6, c7] = beforeChildren;
      for (let r = 0; r < ROUNDS; r++) {
        c0.inc(), c1.inc(), c2.inc(), c3.inc(), c4.inc(), c5.inc(), c6.inc(), c7.inc();
      }
    },
  });
}

Deno.bench({
  name: "ours: child.incWithExemplar({ exemplarLabels })",
  group: INC,
  fn() {
    const c = exemplarChildren;
    for (let k = 0; k < OPS.inc; k++) {
      c[k & 7].incWithExemplar({ exemplarLabels: TRACES[k & 63] });
    }
  },
});

const peerRegistry = new client.Registry();
peerRegistry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE as never);
const peerCounter = new client.Counter({
  name: "bench_exemplar_total",
  help: "Increments",
  labelNames: LABEL_NAMES,
  registers: [peerRegistry],
  enableExemplars: true,
});

Deno.bench({
  name: "prom-client: inc({ labels, value, exemplarLabels })",
  group: INC,
  fn() {
    for (let k = 0; k < OPS.inc; k++) {
      peerCounter.inc({ labels: EIGHT[k & 7], value: 1, exemplarLabels: TRACES[k & 63] as never });
    }
  },
});

// ---------------------------------------------------------------- histograms

const OBSERVE = "exemplar: histogram child observe, default buckets";
const plainHistogram = histogram({ Histogram, Registry });
const exemplarHistogram = histogram({ Histogram, Registry });

Deno.bench({
  name: "ours: child.observe(v)",
  group: OBSERVE,
  baseline: true,
  fn() {
    const c = plainHistogram;
    for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
  },
});

if (before !== undefined) {
  const beforeHistogram = histogram(before);
  Deno.bench({
    name: "before exemplars: child.observe(v)",
    group: OBSERVE,
    fn() {
      const c = beforeHistogram;
      for (let k = 0; k < VALUES.length; k++) c.observe(VALUES[k]);
    },
  });
}

Deno.bench({
  name: "ours: child.observeWithExemplar({ value, exemplarLabels })",
  group: OBSERVE,
  fn() {
    const c = exemplarHistogram;
    for (let k = 0; k < VALUES.length; k++) {
      c.observeWithExemplar({ value: VALUES[k], exemplarLabels: TRACES[k & 63] });
    }
  },
});

const peerHistogram = new client.Histogram({
  name: "bench_exemplar_seconds",
  help: "Observations",
  labelNames: LABEL_NAMES,
  registers: [peerRegistry],
  enableExemplars: true,
});

Deno.bench({
  name: "prom-client: observe({ labels, value, exemplarLabels })",
  group: OBSERVE,
  fn() {
    for (let k = 0; k < VALUES.length; k++) {
      peerHistogram.observe({
        labels: EIGHT[0],
        value: VALUES[k],
        exemplarLabels: TRACES[k & 63] as never,
      });
    }
  },
});
