/**
 * Summary quantiles merged across `deno serve --parallel` workers against a
 * single-process Summary fed the same values. The server is
 * `_observe_server.ts`; each worker gets a disjoint range of values (a
 * kept-alive connection stays with one worker), so quantiles averaged or
 * summed over workers would be far off, and only merged sketches match.
 *
 * Deno only.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry, Summary } from "../../src/mod.ts";
import { parseText } from "../_support/parse.ts";
import { seeded, valueIn } from "../app/_support.ts";
import { PERCENTILES, SUMMARY } from "./_observe_options.ts";
import {
  DENO_ONLY,
  getVia as get,
  isDeno,
  pinEveryWorker,
  startServe,
  untilJoined,
} from "./_support.ts";

const WORKERS = 4;
const PER_WORKER = 500;

describe("summary quantiles across deno serve --parallel workers", { skip: DENO_ONLY }, () => {
  it(`${WORKERS} workers, ${PER_WORKER} values each from disjoint ranges: every worker's scrape matches one process within 2%`, async () => {
    const server = await startServe("tests/cluster/_observe_server.ts", ["--no-prompt"], WORKERS);
    const clients: Deno.HttpClient[] = [];
    try {
      const pinned = await pinEveryWorker(server, WORKERS, clients);
      await untilJoined(server, pinned);

      const reference = new Summary({ ...SUMMARY, registry: new Registry() });
      const random = seeded(6);
      const perWorker: number[][] = [];
      for (const [k, p] of pinned.entries()) {
        // Worker k: log-uniform over [10^k, 10^(k+1)), so the ranges never overlap.
        const values = Array.from(
          { length: PER_WORKER },
          () => Number((10 ** (k + random())).toPrecision(6)),
        );
        perWorker.push(values);
        for (const v of values) {
          const r = await get(server, `/observe?v=${v}`, p.client);
          assert.equal(r.worker, p.worker, "a pinned connection moved to another worker");
          reference.observe(v);
        }
      }
      const want = reference.get()!;
      assert.equal(want.count, WORKERS * PER_WORKER);
      // The reference itself against the exact quantiles (nearest rank) of the values.
      const sorted = perWorker.flat().sort((a, b) => a - b);
      for (const [i, q] of PERCENTILES.entries()) {
        const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
        const ref = want.quantiles[i];
        assert.ok(Math.abs(ref - exact) <= 0.02 * exact, `reference q${q}: ${ref}, exact ${exact}`);
      }

      // What a sum or an average of per-worker quantiles would report for the
      // median, to show that this test tells them apart from a merge.
      const medians = perWorker.map((vs) => [...vs].sort((a, b) => a - b)[vs.length >> 1]);
      const averaged = medians.reduce((a, b) => a + b, 0) / medians.length;
      const median = want.quantiles[PERCENTILES.indexOf(0.5)];
      assert.ok(
        Math.abs(averaged - median) / median > 0.5,
        `averaged ${averaged}, merged ${median}`,
      );

      for (const p of pinned) {
        const r = await get(server, "/metrics", p.client);
        assert.equal(r.worker, p.worker, "each worker answers one scrape");
        const families = parseText(r.body);
        assert.equal(
          valueIn(families, `${SUMMARY.name}_count`),
          want.count,
          `count via ${p.worker}`,
        );
        const sum = valueIn(families, `${SUMMARY.name}_sum`)!;
        assert.ok(Math.abs(sum - want.sum) <= 1e-9 * want.sum, `sum ${sum} vs ${want.sum}`);
        for (const [i, q] of PERCENTILES.entries()) {
          const got = valueIn(families, SUMMARY.name, { quantile: String(q) });
          const expected = want.quantiles[i];
          assert.ok(got !== undefined, `quantile ${q} missing from ${p.worker}'s scrape`);
          assert.ok(
            Math.abs(got - expected) <= 0.02 * expected,
            `quantile ${q} via worker ${p.worker}: ${got}, one process: ${expected}`,
          );
        }
      }
    } finally {
      for (const c of clients) c.close();
      await server.kill();
    }
  });
});

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`cluster summary test skipped: ${DENO_ONLY}`, { skip: true }, () => {});
