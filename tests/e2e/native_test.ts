// Native histograms proven on the real Prometheus 2.42 with
// --enable-feature=native-histograms: it asks for protobuf, we answer it
// (every body checked by the strict decoder in tests/_support/protobuf.ts),
// and it stores what we sent:
// - the fact sheet's observations {0, 0.001, 0.5, 1, 1.5, 2, 3, 100} at
//   factor 1.1 give exactly the bucket list, count, sum, quantiles and
//   fraction the fact sheet recorded from 2.42;
// - on a seeded lognormal sample, histogram_count and histogram_sum are exact
//   and histogram_quantile(0.5 | 0.9 | 0.99, rate(...)) is within the
//   schema's bucket width (2^(1/8) - 1, 9.05%) of the exact quantile;
// - the classic families of the same scrape read as before;
// - a Prometheus without the flag still scrapes the text formats (the
//   classic buckets), with the target up.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Histogram, metricsHandler, Registry } from "../../src/mod.ts";
import { isDeno } from "../app/_support.ts";
import { skipWithout } from "../_support/tools.ts";
import { mulberry32 } from "../_support/random.ts";
import { checkFamilies, decodeFamilies } from "../_support/protobuf.ts";
import {
  oneJobConfig,
  prometheusMissing,
  query,
  scalarOf,
  sleep,
  targets,
  withPrometheus,
} from "./_prometheus.ts";

const skip = !isDeno
  ? "starts prometheus with Deno.Command; run this file with deno test"
  : skipWithout(prometheusMissing);

const PROTOBUF_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
/** What 2.42 sends with the flag (the fact sheet, section 3). */
const ACCEPT_WITH_FLAG =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited," +
  "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;" +
  "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const KNOWN = [0, 0.001, 0.5, 1, 1.5, 2, 3, 100];
const SAMPLE_SIZE = 5000;

/** A seeded lognormal sample: exp(N(ln 0.3, 0.8)), seconds. */
function lognormal(n: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = rand() || 1e-12;
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
    out.push(Math.exp(Math.log(0.3) + 0.8 * z));
  }
  return out;
}

/** The q-quantile of `sorted` (the smallest value with at least q of the sample at or below it). */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/** A scrape target on loopback that records what it was asked and checks every protobuf body. */
function serve(registry: Registry) {
  const seen: { accept: string; type: string; problems: string[] }[] = [];
  const handler = metricsHandler(registry, { gzip: false });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const response = await handler(request);
    const type = response.headers.get("content-type") ?? "";
    const body = new Uint8Array(await response.arrayBuffer());
    let problems: string[] = [];
    if (type === PROTOBUF_TYPE) {
      try {
        problems = checkFamilies(decodeFamilies(body));
      } catch (error) {
        problems = [(error as Error).message];
      }
    }
    seen.push({ accept: request.headers.get("accept") ?? "", type, problems });
    return new Response(body, { status: response.status, headers: response.headers });
  });
  return { server, seen, target: `127.0.0.1:${server.addr.port}` };
}

/** Polls `check` every 250 ms until it returns undefined or `ms` pass; returns its last complaint. */
async function until(ms: number, check: () => Promise<string | undefined>) {
  const end = Date.now() + ms;
  for (;;) {
    const complaint = await check().catch((e: Error) => e.message);
    if (complaint === undefined || Date.now() > end) return complaint;
    await sleep(250);
  }
}

interface NativeSample {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

async function nativeSample(base: string, expr: string): Promise<NativeSample | undefined> {
  const r = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = await r.json() as {
    data: { result: { histogram?: [number, NativeSample] }[] };
  };
  return body.data.result[0]?.histogram?.[1];
}

describe("native histograms on a real Prometheus 2.42", { skip }, () => {
  it("--enable-feature=native-histograms: protobuf asked and served; buckets, count, sum and quantiles as Prometheus computes them", async () => {
    const registry = new Registry();
    const known = new Histogram({ name: "nh_known", help: "Known values", native: true, registry });
    for (const v of KNOWN) known.observe(v);
    const latency = new Histogram({
      name: "nh_latency_seconds",
      help: "A seeded lognormal sample",
      labelNames: ["route"],
      native: true,
      registry,
    });
    // A labelled family whose first series stays empty, and a classic counter beside them.
    latency.labels({ route: "/empty" });
    // Created (empty) before the first scrape, so rate() sees the sample arrive.
    const lat = latency.labels({ route: "/api" });
    const requests = new Counter({ name: "nh_requests_total", help: "Requests", registry });
    requests.inc(5);
    // Edge cases that must not fail the scrape: the finest and coarsest schemas,
    // negative values and both infinities.
    const edges: [string, number, number[]][] = [
      ["nh_schema8", 1.001, [0.001, 1, 1.0001, 1e6]],
      ["nh_schema_minus4", 65536, [1e-9, 1, 3, 1e100]],
      ["nh_signed", 2, [-1, -3, -0.25, 5, Infinity, -Infinity]],
    ];
    for (const [name, bucketFactor, values] of edges) {
      const h = new Histogram({ name, help: name, native: { bucketFactor }, registry });
      for (const v of values) h.observe(v);
    }
    const { server, seen, target } = serve(registry);
    try {
      await withPrometheus(
        oneJobConfig("native", target),
        ["--enable-feature=native-histograms"],
        async (p) => {
          const base = p.url;
          // The sample arrives after the first scrapes, so rate() sees all of it.
          const first = await until(30_000, async () => {
            const s = await nativeSample(base, 'nh_latency_seconds{route="/api"}');
            return s?.count === "0"
              ? undefined
              : `empty series not stored yet: ${JSON.stringify(s)}`;
          });
          assert.equal(first, undefined, p.output().slice(-2000));
          assert.equal(
            (await nativeSample(base, 'nh_latency_seconds{route="/empty"}'))?.count,
            "0",
          );
          const sample = lognormal(SAMPLE_SIZE, 12);
          for (const v of sample) lat.observe(v);
          const total = sample.reduce((a, b) => a + b, 0);

          // The known histogram: exactly the fact sheet's bucket list from 2.42.
          const k = await nativeSample(base, "nh_known");
          assert.ok(k !== undefined, "nh_known stored as a native histogram");
          assert.equal(k.count, "8");
          assert.equal(Number(k.sum), 108.001);
          assert.deepEqual(k.buckets, [
            [3, "-2.938735877055719e-39", "2.938735877055719e-39", "1"],
            [0, "0.0009765625", "0.0010649489576809157", "1"],
            [0, "0.45850202160233555", "0.5", "1"],
            [0, "0.9170040432046711", "1", "1"],
            [0, "1.414213562373095", "1.5422108254079407", "1"],
            [0, "1.8340080864093422", "2", "1"],
            [0, "2.82842712474619", "3.0844216508158815", "1"],
            [0, "98.70149282610821", "107.63474115247544", "1"],
          ]);
          assert.equal(await scalarOf(base, "histogram_count(nh_known)"), 8);
          assert.equal(await scalarOf(base, "histogram_sum(nh_known)"), 108.001);
          assert.equal(await scalarOf(base, "histogram_quantile(0.5, nh_known)"), 1);
          assert.equal(
            await scalarOf(base, "histogram_quantile(0.99, nh_known)"),
            106.92008128636607,
          );
          assert.equal(await scalarOf(base, "histogram_fraction(0, 1, nh_known)"), 0.5);
          // No classic series for native families: Prometheus 2.42 keeps the native one only.
          assert.deepEqual(await query(base, "nh_known_bucket"), []);
          assert.deepEqual(await query(base, "nh_known_count"), []);

          // The lognormal sample: count and sum exact, quantiles within the bucket width.
          const api = 'nh_latency_seconds{route="/api"}';
          const stored = await until(30_000, async () => {
            const s = await nativeSample(base, api);
            return s?.count === String(SAMPLE_SIZE)
              ? undefined
              : `stored ${JSON.stringify(s?.count)}`;
          });
          assert.equal(stored, undefined);
          assert.equal(await scalarOf(base, `histogram_count(${api})`), SAMPLE_SIZE);
          const sum = await scalarOf(base, `histogram_sum(${api})`);
          assert.ok(Math.abs(sum - total) <= 1e-9 * total, `sum ${sum}, sent ${total}`);
          const sorted = [...sample].sort((a, b) => a - b);
          const width = 2 ** (1 / 8) - 1;
          for (const q of [0.5, 0.9, 0.99]) {
            const exact = exactQuantile(sorted, q);
            let got = NaN;
            const ok = await until(20_000, async () => {
              got = await scalarOf(base, `histogram_quantile(${q}, rate(${api}[1m]))`);
              return Math.abs(got - exact) / exact <= width ? undefined : `q${q}: ${got}`;
            });
            assert.equal(ok, undefined, `q=${q}: Prometheus ${got}, exact ${exact}`);
          }
          assert.ok(
            Math.abs(await scalarOf(base, `histogram_count(rate(${api}[1m]))`)) > 0,
            "rate() sees the observations",
          );

          // The edge cases: stored with their counts; negative buckets as 2.42 reports them.
          for (const [name, , values] of edges) {
            assert.equal(await scalarOf(base, `histogram_count(${name})`), values.length, name);
          }
          assert.ok(Number.isNaN(await scalarOf(base, "histogram_sum(nh_signed)")));
          const signed = (await nativeSample(base, "nh_signed"))!.buckets!;
          for (
            const b of [[1, "-4", "-2", "1"], [1, "-1", "-0.5", "1"], [1, "-0.25", "-0.125", "1"]]
          ) {
            assert.ok(
              signed.some((x) => JSON.stringify(x) === JSON.stringify(b)),
              JSON.stringify(signed),
            );
          }
          assert.ok(signed.some((x) => x[0] === 0 && x[1] === "4" && x[2] === "8"), "5 in (4, 8]");
          const s8 = (await nativeSample(base, "nh_schema8"))!.buckets!;
          assert.equal(s8.length, 4, JSON.stringify(s8));

          // The classic counter of the same protobuf scrape.
          assert.equal(await scalarOf(base, "nh_requests_total"), 5);
          const [t] = await targets(base);
          assert.equal(t.health, "up", t.lastError);
          assert.equal(t.lastError, "");
          assert.equal(await scalarOf(base, "min_over_time(up[1m])"), 1);
        },
      );
      assert.ok(seen.length >= 2, `${seen.length} scrapes`);
      for (const s of seen) {
        assert.equal(s.accept, ACCEPT_WITH_FLAG);
        assert.equal(s.type, PROTOBUF_TYPE);
        assert.deepEqual(s.problems, []);
      }
    } finally {
      await server.shutdown();
    }
  });

  it("without the flag: the same registry is scraped as OpenMetrics, classic buckets, target up", async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: "nh_known",
      help: "Known values",
      buckets: [0.5, 2],
      native: true,
      registry,
    });
    for (const v of KNOWN) h.observe(v);
    const { server, seen, target } = serve(registry);
    try {
      await withPrometheus(oneJobConfig("native", target), [], async (p) => {
        const base = p.url;
        const done = await until(30_000, async () => {
          const r = await query(base, 'nh_known_bucket{le="+Inf"}');
          return r.length === 1 ? undefined : "no classic series yet";
        });
        assert.equal(done, undefined, p.output().slice(-2000));
        assert.equal(await scalarOf(base, 'nh_known_bucket{le="0.5"}'), 3);
        assert.equal(await scalarOf(base, 'nh_known_bucket{le="2.0"}'), 6);
        assert.equal(await scalarOf(base, "nh_known_count"), 8);
        assert.equal(await scalarOf(base, "nh_known_sum"), 108.001);
        assert.deepEqual(await query(base, "histogram_count(nh_known)"), []);
        const [t] = await targets(base);
        assert.equal(t.health, "up", t.lastError);
        assert.equal(t.lastError, "");
      });
      assert.ok(seen.length >= 1);
      for (const s of seen) {
        assert.match(s.accept, /^application\/openmetrics-text;version=1\.0\.0,/);
        assert.equal(s.type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
      }
    } finally {
      await server.shutdown();
    }
  });
});

// Bun prints a skipped test's name but not its reason: this line names it.
if (skip) it(`native histogram end-to-end tests skipped: ${skip}`, { skip: true }, () => {});
