/**
 * A minimal `deno serve --parallel` module for the cluster tests: every
 * worker joins the cluster with one Summary and answers
 *
 * - `/observe?v=N`: observes N;
 * - `/metrics`: the registry in the text format;
 * - `/cluster`: this worker's membership as JSON.
 *
 * Every response names the worker that answered in an `X-Worker` header, so
 * the test can tell which worker holds which connection.
 *
 * @module
 */

import { Registry, Summary } from "../../src/mod.ts";
import { joinCluster } from "../../src/cluster/mod.ts";
import { CHANNEL, SUMMARY } from "./_observe_options.ts";

const registry = new Registry();
const summary = new Summary({ ...SUMMARY, registry });
const cluster = joinCluster({ registries: { default: registry }, channel: CHANNEL });

async function fetch(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const headers = { "x-worker": cluster.worker };
  switch (url.pathname) {
    case "/observe": {
      const v = Number(url.searchParams.get("v"));
      if (!Number.isFinite(v)) return new Response("bad v\n", { status: 400, headers });
      summary.observe(v);
      return new Response("ok\n", { headers });
    }
    case "/metrics":
      return new Response(await registry.metrics(), { headers });
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
