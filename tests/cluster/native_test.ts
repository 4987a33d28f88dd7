/**
 * Native histograms merged exactly across real workers: three workers under
 * `deno serve --parallel`, one connection pinned to each, each observing its
 * own values (one of them enough spread values to reduce its resolution). Every worker's protobuf scrape (decoded and checked by
 * tests/_support/protobuf.ts) must report the exact sum: count, sum, zero
 * bucket, and the buckets of all three at the lowest schema, equal to the
 * same observations replayed here into three local histograms and added up
 * as Prometheus adds native histograms; and, since the reduced worker's
 * schema is the merged one, equal to one histogram of every value at that
 * schema.
 *
 * Deno only.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Histogram, Registry } from "../../src/mod.ts";
import { NativeSum } from "../../src/core/_native.ts";
import { decodeChecked, nativeBuckets } from "../_support/protobuf.ts";
import { NATIVE_OPTIONS } from "./_native_options.ts";
import { DENO_ONLY, isDeno, pinEveryWorker, startServe, untilJoined } from "./_support.ts";

const WORKERS = 3;
const PROTOBUF_ACCEPT =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

/** Dyadic values, so every sum is exact whatever the order of addition. */
const PLAN: number[][] = [
  [0, 0.0625, 0.5, 3, -2, 0.5],
  Array.from({ length: 60 }, (_, i) => 2 ** (i / 4 - 8) * (i % 2 === 0 ? 1 : 1.5)),
  [0.125, 8, 0.75, 1024, -0.25],
];

/** The native buckets of `values` observed by one local histogram with the server's options. */
async function localNative(values: readonly number[], native = NATIVE_OPTIONS) {
  const registry = new Registry();
  const h = new Histogram({ name: "x", help: "x", buckets: [1, 10], native, registry });
  for (const v of values) h.observe(v);
  return (await registry.collect())[0].native![0];
}

function sorted(m: Map<number, number>): [number, number][] {
  return [...m].sort((a, b) => a[0] - b[0]);
}

function dense(offset: number, counts: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k < counts.length; k++) if (counts[k] !== 0) out.push([offset + k, counts[k]]);
  return out;
}

describe(
  "native histograms merged across deno serve --parallel workers",
  { skip: DENO_ONLY },
  () => {
    it(`${WORKERS} workers at different schemas: every worker's protobuf scrape reports the exact sum`, async () => {
      const server = await startServe("tests/cluster/_native_server.ts", ["--no-prompt"], WORKERS);
      const clients: Deno.HttpClient[] = [];
      try {
        const pinned = await pinEveryWorker(server, WORKERS, clients);
        await untilJoined(server, pinned);
        for (const [k, p] of pinned.entries()) {
          const query = PLAN[k].map((v) => `v=${v}`).join("&");
          const r = await fetch(`${server.origin}/observe?${query}`, { client: p.client });
          assert.equal(await r.text(), "ok\n");
          assert.equal(r.headers.get("x-worker"), p.worker);
        }

        const parts = await Promise.all(PLAN.map((values) => localNative(values)));
        assert.ok(parts[1].schema < parts[0].schema, `worker 1 reduced: ${parts[1].schema}`);
        const sum = new NativeSum();
        for (const part of parts) sum.add(part);
        const want = sum.finish();
        const all = PLAN.flat();
        // One histogram of every value at the merged schema gives the same buckets.
        const single = await localNative(all, {
          bucketFactor: 2 ** (2 ** -want.schema),
          maxBuckets: 1000,
        });
        assert.equal(single.schema, want.schema);
        assert.deepEqual(
          dense(want.positiveOffset, want.positive),
          dense(single.positiveOffset, single.positive),
        );

        for (const p of pinned) {
          const r = await fetch(`${server.origin}/metrics`, {
            client: p.client,
            headers: { accept: PROTOBUF_ACCEPT },
          });
          assert.equal(r.headers.get("x-worker"), p.worker);
          const body = new Uint8Array(await r.arrayBuffer());
          const [family] = decodeChecked(body);
          const h = family.metrics[0].histogram!;
          const what = `scrape via worker ${p.worker}`;
          assert.equal(h.sampleCount, all.length, what);
          assert.equal(h.sampleSum, all.reduce((a, b) => a + b, 0), what);
          assert.equal(h.schema, want.schema, what);
          assert.equal(h.zeroThreshold, want.zeroThreshold, what);
          assert.equal(h.zeroCount, want.zeroCount, what);
          assert.deepEqual(
            sorted(nativeBuckets(h.positiveSpans, h.positiveDeltas)),
            dense(want.positiveOffset, want.positive),
            what,
          );
          assert.deepEqual(
            sorted(nativeBuckets(h.negativeSpans, h.negativeDeltas)),
            dense(want.negativeOffset, want.negative),
            what,
          );
          assert.deepEqual(
            h.buckets.map((b) => b.cumulativeCount),
            [all.filter((v) => v <= 1).length, all.filter((v) => v <= 10).length],
            what,
          );
        }
      } finally {
        for (const c of clients) c.close();
        await server.kill();
      }
    });
  },
);

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`native cluster tests skipped: ${DENO_ONLY}`, { skip: true }, () => {});
