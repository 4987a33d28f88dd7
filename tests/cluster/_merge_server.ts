/**
 * A `deno serve --parallel` module for `merge_test.ts`: every worker joins
 * the cluster with one histogram and one gauge per merge mode, and answers
 *
 * - `/observe?v=N`: observes N in `merged_values` (with `&trace=T`, with
 *   the exemplar `{ trace_id: T }`);
 * - `/set?mode=M&v=N`: sets the gauge `merged_M` (M: sum, max, min, last, worker) to N;
 * - `/metrics`: the registry in the text format (`?om` OpenMetrics);
 * - `/cluster`: this worker's membership as JSON.
 *
 * Every response names the worker that answered in an `X-Worker` header.
 *
 * @module
 */

import { Gauge, type GaugeAggregation, Histogram, Registry } from "../../src/mod.ts";
import { joinCluster } from "../../src/cluster/mod.ts";
import { BUCKETS, MERGE_CHANNEL, MODES } from "./_merge_options.ts";

const registry = new Registry();
const histogram = new Histogram({
  name: "merged_values",
  help: "Values observed at /observe?v=.",
  buckets: BUCKETS,
  registry,
});
const gauges = new Map(MODES.map((mode) => [
  mode,
  new Gauge({
    name: `merged_${mode}`,
    help: `A gauge merged by ${mode}.`,
    aggregate: mode,
    registry,
  }),
]));
const cluster = joinCluster({ registries: { default: registry }, channel: MERGE_CHANNEL });

async function fetch(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const headers = { "x-worker": cluster.worker };
  const v = Number(url.searchParams.get("v"));
  switch (url.pathname) {
    case "/observe":
      if (!Number.isFinite(v)) return new Response("bad v\n", { status: 400, headers });
      if (url.searchParams.has("trace")) {
        const trace_id = url.searchParams.get("trace")!;
        histogram.observeWithExemplar({ value: v, exemplarLabels: { trace_id } });
      } else histogram.observe(v);
      return new Response("ok\n", { headers });
    case "/set": {
      const gauge = gauges.get(url.searchParams.get("mode") as GaugeAggregation);
      if (gauge === undefined || !Number.isFinite(v)) {
        return new Response("bad mode or v\n", { status: 400, headers });
      }
      gauge.set(v);
      return new Response("ok\n", { headers });
    }
    case "/metrics":
      return new Response(
        await registry.metrics(url.searchParams.has("om") ? "openmetrics" : "text"),
        { headers },
      );
    case "/cluster":
      return Response.json(
        { worker: cluster.worker, shared: cluster.shared, peers: cluster.peers },
        { headers },
      );
  }
  return new Response("Not Found\n", { status: 404, headers });
}

/** The fetch handler `deno serve` calls. */
export default { fetch } satisfies Deno.ServeDefaultExport;
