/**
 * Native histograms and the protobuf exposition, each beside its peer in the
 * same run (issue 12's targets):
 *
 * - a bound child's `observe` with native buckets (classic ones kept) against
 *   the same child classic only: target at most 2x;
 * - a protobuf scrape of 10,000 series against a text scrape of the same
 *   registry: `metricsHandler` answering the Accept header of Prometheus
 *   with and without native histograms, body read to the last byte (collect,
 *   render and encoding included in both), no gzip.
 *
 * Each iteration observes a batch of `OPS` precomputed latencies (lognormal,
 * median 0.2 s), so the harness's own overhead per call does not dominate.
 *
 * Run: `deno bench bench/native.bench.ts` (the group summaries print the ratios).
 *
 * @module
 */

import { Counter, Histogram, metricsHandler, Registry } from "../src/mod.ts";
import { LLM_DURATION_BUCKETS } from "../src/tracking/mod.ts";

const OPS = 1024;

/** Seeded lognormal latencies: exp(N(ln 0.2, 1)). */
function latencies(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = next() || 1e-12;
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    out[i] = Math.exp(Math.log(0.2) + z);
  }
  return out;
}

const VALUES = latencies(OPS, 42);
const registry = new Registry();
const labelNames = ["model", "endpoint"] as const;
const labels = { model: "gpt-4o", endpoint: "chat" };

const classic = new Histogram({
  name: "bench_classic_seconds",
  help: "Classic only",
  labelNames,
  buckets: LLM_DURATION_BUCKETS,
  registry,
}).labels(labels);
const native = new Histogram({
  name: "bench_native_seconds",
  help: "Native and classic",
  labelNames,
  buckets: LLM_DURATION_BUCKETS,
  native: true,
  registry,
}).labels(labels);

Deno.bench({
  name: `classic child observe x${OPS}`,
  group: "native observe",
  baseline: true,
  fn() {
    for (let i = 0; i < OPS; i++) classic.observe(VALUES[i]);
  },
});

Deno.bench({
  name: `native child observe x${OPS} (classic buckets kept)`,
  group: "native observe",
  fn() {
    for (let i = 0; i < OPS; i++) native.observe(VALUES[i]);
  },
});

// ---------------------------------------------------------------- scrape of 10,000 series

const scrapeRegistry = new Registry();
const requests = new Counter({
  name: "bench_requests_total",
  help: "Requests",
  labelNames,
  registry: scrapeRegistry,
});
for (let k = 0; k < 10_000; k++) {
  requests.inc({ model: `model-${k % 100}`, endpoint: `endpoint-${Math.floor(k / 100)}` }, k);
}

const handler = metricsHandler(scrapeRegistry, { gzip: false });
const TEXT_ACCEPT = "text/plain;version=0.0.4";
const PROTOBUF_ACCEPT =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

async function scrape(accept: string): Promise<number> {
  const r = await handler(new Request("http://bench/metrics", { headers: { accept } }));
  return (await r.arrayBuffer()).byteLength;
}

Deno.bench({
  name: "text scrape, 10,000 counter series",
  group: "protobuf scrape",
  baseline: true,
  async fn() {
    await scrape(TEXT_ACCEPT);
  },
});

Deno.bench({
  name: "protobuf scrape, 10,000 counter series",
  group: "protobuf scrape",
  async fn() {
    await scrape(PROTOBUF_ACCEPT);
  },
});
