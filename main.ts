/**
 * `deno task start`: serves the default registry on /metrics.
 *
 * Wiring only; the server issue grows this into the full SecureTrack
 * exporter (both endpoints, configuration, auth, graceful shutdown).
 */

import { defaultRegistry, metricsHandler } from "./src/mod.ts";

const port = Number(Deno.env.get("PORT") ?? 8000);
const hostname = Deno.env.get("HOSTNAME") ?? "0.0.0.0";
const serveMetrics = metricsHandler(defaultRegistry);

Deno.serve({ port, hostname }, (request: Request): Response | Promise<Response> => {
  const { pathname } = new URL(request.url);
  if (pathname === "/metrics") return serveMetrics(request);
  return new Response("Not Found\n", { status: 404 });
});
