/**
 * Exact values across real workers (README, On every core): "Counters,
 * histogram buckets, sums and counts are exact", and gauges combine as their
 * `aggregate` option says (sum, max, min, last, worker).
 *
 * - `_merge_server.ts` under `deno serve --parallel`, one connection pinned
 *   to each worker, so the test knows which worker observed or set what:
 *   every worker's scrape must report the exact merged histogram and each
 *   gauge mode's value.
 * - `deno task start --workers 2`: the exporter's own histogram
 *   (`analysis_complexity`, fed exact scores by the demo route) and its
 *   `sum` gauge (`app_active_sessions`), over new connections, in every one
 *   of 10 scrapes.
 *
 * Deno only.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Family } from "../_support/parse.ts";
import { parseOpenMetrics, parseText } from "../_support/parse.ts";
import { samplesNamed, startMain, valueIn } from "../app/_support.ts";
import { BUCKETS, MODES } from "./_merge_options.ts";
import {
  DENO_ONLY,
  fetchFresh,
  getVia,
  isDeno,
  pinEveryWorker,
  scrapeFresh,
  startServe,
  untilJoined,
  waitForCluster,
} from "./_support.ts";

const WORKERS = 3;

/**
 * What each worker observes and sets. Dyadic values, so every sum is exact
 * whatever the order of addition. No worker holds both the largest and the
 * smallest value of a gauge, and the last write is neither.
 */
const PLAN = [
  { observe: [0.0625, 0.5, 3], sum: 3, max: -2, min: 5, worker: 100 },
  { observe: [0.25, 2, 4, 16, 64], sum: 5, max: 7.5, min: -3.25, worker: 200 },
  { observe: [0.125, 8, 0.75], sum: 11, max: 4, min: 1, worker: 300 },
] as const;
/** `last`: written by worker 0, 1, 2, then 1 again; the merged value is that last write. */
const LAST_WRITES: [worker: number, value: number][] = [[0, 10], [1, 20], [2, 30], [1, 25]];

/** Cumulative bucket counts of `values` for BUCKETS and +Inf. */
function cumulative(values: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const le of BUCKETS) out[String(le)] = values.filter((v) => v <= le).length;
  out["+Inf"] = values.length;
  return out;
}

/** The histogram series of `name` (no labels): bucket counts by `le`, sum and count. */
function histogramIn(families: Family[], name: string) {
  const buckets: Record<string, number> = {};
  for (const s of samplesNamed(families, `${name}_bucket`)) buckets[s.labels.le] = s.value;
  return {
    buckets,
    sum: valueIn(families, `${name}_sum`),
    count: valueIn(families, `${name}_count`),
  };
}

describe("exact merges across deno serve --parallel workers", { skip: DENO_ONLY }, () => {
  it(`${WORKERS} workers, each observing and setting its own values: every worker's scrape reports the exact histogram and each gauge mode`, async () => {
    const server = await startServe("tests/cluster/_merge_server.ts", ["--no-prompt"], WORKERS);
    const clients: Deno.HttpClient[] = [];
    try {
      const pinned = await pinEveryWorker(server, WORKERS, clients);
      await untilJoined(server, pinned);
      for (const [k, p] of pinned.entries()) {
        const plan = PLAN[k];
        const via = async (path: string) => {
          const r = await getVia(server, path, p.client);
          assert.equal(r.worker, p.worker, "a pinned connection moved to another worker");
        };
        for (const v of plan.observe) await via(`/observe?v=${v}`);
        for (const mode of ["sum", "max", "min", "worker"] as const) {
          await via(`/set?mode=${mode}&v=${plan[mode]}`);
        }
      }
      // Sequential: each write is answered before the next is sent.
      for (const [k, v] of LAST_WRITES) {
        const r = await getVia(server, `/set?mode=last&v=${v}`, pinned[k].client);
        assert.equal(r.worker, pinned[k].worker);
      }

      const all = PLAN.flatMap((p) => p.observe);
      const want = {
        histogram: {
          buckets: cumulative(all),
          sum: all.reduce((a, b) => a + b, 0),
          count: all.length,
        },
        sum: PLAN.reduce((a, p) => a + p.sum, 0),
        max: Math.max(...PLAN.map((p) => p.max)),
        min: Math.min(...PLAN.map((p) => p.min)),
        last: LAST_WRITES.at(-1)![1],
        worker: Object.fromEntries(pinned.map((p, k) => [p.worker, PLAN[k].worker])),
      };
      // The expected values are not what a wrong merge would give.
      assert.deepEqual([want.sum, want.max, want.min, want.last], [19, 7.5, -3.25, 25]);

      for (const p of pinned) {
        const r = await getVia(server, "/metrics", p.client);
        assert.equal(r.worker, p.worker, "each worker answers one scrape");
        const families = parseText(r.body);
        const what = `scrape via worker ${p.worker}`;
        assert.deepEqual(histogramIn(families, "merged_values"), want.histogram, what);
        for (const mode of ["sum", "max", "min", "last"] as const) {
          assert.equal(valueIn(families, `merged_${mode}`), want[mode], `${what}: ${mode}`);
          assert.equal(samplesNamed(families, `merged_${mode}`).length, 1, `${what}: ${mode}`);
        }
        const perWorker = Object.fromEntries(
          samplesNamed(families, "merged_worker").map((s) => [s.labels.worker, s.value]),
        );
        assert.deepEqual(perWorker, want.worker, `${what}: worker`);
      }
      assert.equal(MODES.length, 5, "every mode is checked above");
    } finally {
      for (const c of clients) c.close();
      await server.kill();
    }
  });
});

describe("exemplars across deno serve --parallel workers", { skip: DENO_ONLY }, () => {
  it("every worker's OpenMetrics scrape shows every worker's bucket exemplars, the newest per bucket", async () => {
    const server = await startServe("tests/cluster/_merge_server.ts", ["--no-prompt"], 2);
    const clients: Deno.HttpClient[] = [];
    try {
      const pinned = await pinEveryWorker(server, 2, clients);
      await untilJoined(server, pinned);
      const via = async (k: number, path: string) => {
        const r = await getVia(server, path, pinned[k].client);
        assert.equal(r.worker, pinned[k].worker, "a pinned connection moved to another worker");
        return r;
      };
      assert.deepEqual(BUCKETS, [0.1, 1, 10]);
      // Worker 0: the first bucket and +Inf; worker 1, later: the first bucket again
      // (newer, so it wins) and the 1 bucket.
      await via(0, `/observe?v=${BUCKETS[0]}&trace=w0-first`);
      await via(0, "/observe?v=1000&trace=w0-inf");
      await new Promise((resolve) => setTimeout(resolve, 5));
      await via(1, `/observe?v=${BUCKETS[0]}&trace=w1-first`);
      await via(1, "/observe?v=1&trace=w1-one");
      for (const k of [0, 1]) {
        const families = parseOpenMetrics((await via(k, "/metrics?om")).body);
        const exemplars = Object.fromEntries(
          families.flatMap((f) => f.samples)
            .filter((s) => s.name === "merged_values_bucket" && s.exemplar)
            .map((s) => [s.labels.le, s.exemplar!.labels.trace_id]),
        );
        assert.deepEqual(
          exemplars,
          { "0.1": "w1-first", "1.0": "w1-one", "+Inf": "w0-inf" },
          `scrape via worker ${pinned[k].worker}`,
        );
      }
    } finally {
      for (const c of clients) c.close();
      await server.kill();
    }
  });
});

describe("exact merges across deno task start threads", { skip: DENO_ONLY }, () => {
  it("--workers 2: analysis_complexity (histogram) and app_active_sessions (sum gauge) exact in every scrape", async () => {
    const main = await startMain(["--demo", "--workers", "2"], {});
    try {
      assert.match(main.stderr(), /with 2 threads$/m);
      await waitForCluster(main.origin, 2, 3);
      // New connections: the kernel spreads them over both threads.
      const scores = [0, 5, 10, 15, 35, 50, 50, 99, 100, 150, 7, 23];
      for (const score of scores) {
        const res = await fetchFresh(`${main.origin}/api/features/scored?complexity=${score}`);
        assert.equal(res.status, 200, res.body);
      }
      const LOGINS = 9;
      const LOGOUTS = 4;
      for (let i = 0; i < LOGINS; i++) {
        assert.equal(
          (await fetchFresh(`${main.origin}/api/login`, { method: "POST" })).status,
          200,
        );
      }
      for (let i = 0; i < LOGOUTS; i++) {
        assert.equal(
          (await fetchFresh(`${main.origin}/api/logout`, { method: "POST" })).status,
          200,
        );
      }
      const labels = { analysis_type: "scored" };
      for (let k = 0; k < 10; k++) {
        const custom = await scrapeFresh(main.origin, "/custom_metrics");
        const what = `scrape ${k + 1}`;
        for (let le = 10; le <= 100; le += 10) {
          assert.equal(
            valueIn(custom, "analysis_complexity_bucket", { ...labels, le: String(le) }),
            scores.filter((s) => s <= le).length,
            `${what}: analysis_complexity_bucket le=${le}`,
          );
        }
        assert.equal(
          valueIn(custom, "analysis_complexity_bucket", { ...labels, le: "+Inf" }),
          scores.length,
        );
        assert.equal(
          valueIn(custom, "analysis_complexity_sum", labels),
          scores.reduce((a, b) => a + b, 0),
          `${what}: _sum`,
        );
        assert.equal(valueIn(custom, "analysis_complexity_count", labels), scores.length);
        assert.equal(valueIn(custom, "app_active_sessions"), LOGINS - LOGOUTS, `${what}: sessions`);
      }
    } finally {
      await main.kill();
    }
  });
});

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`cluster merge tests skipped: ${DENO_ONLY}`, { skip: true }, () => {});
