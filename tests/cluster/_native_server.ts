/**
 * A `deno serve --parallel` module for `native_test.ts`: every worker joins
 * the cluster with one histogram with native buckets, and answers
 *
 * - `/observe?v=N` (repeatable: `?v=1&v=2`): observes each N in `native_values`;
 * - `/metrics`: the registry, in the format `Accept` asks for (protobuf for
 *   Prometheus' native-histograms header);
 * - `/cluster`: this worker's membership as JSON.
 *
 * Every response names the worker that answered in an `X-Worker` header.
 *
 * @module
 */

import { Histogram, metricsHandler, Registry } from "../../src/mod.ts";
import { joinCluster } from "../../src/cluster/mod.ts";
import { NATIVE_CHANNEL, NATIVE_OPTIONS } from "./_native_options.ts";

const registry = new Registry();
const histogram = new Histogram({
  name: "native_values",
  help: "Values observed at /observe?v=.",
  buckets: [1, 10],
  native: NATIVE_OPTIONS,
  registry,
});
const cluster = joinCluster({ registries: { default: registry }, channel: NATIVE_CHANNEL });
const metrics = metricsHandler(registry, { gzip: false });

async function fetch(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const headers = { "x-worker": cluster.worker };
  switch (url.pathname) {
    case "/observe": {
      const values = url.searchParams.getAll("v").map(Number);
      if (values.some((v) => Number.isNaN(v))) {
        return new Response("bad v\n", { status: 400, headers });
      }
      for (const v of values) histogram.observe(v);
      return new Response("ok\n", { headers });
    }
    case "/metrics": {
      const r = await metrics(request);
      const out = new Headers(r.headers);
      out.set("x-worker", cluster.worker);
      return new Response(r.body, { status: r.status, headers: out });
    }
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
