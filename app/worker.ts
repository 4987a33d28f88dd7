/**
 * The exporter as a `deno serve` module, for running it under
 * `deno serve --parallel` (every worker joins the cluster, so any of them
 * reports the totals of all):
 *
 * ```sh
 * DENO_JOBS=4 deno serve --parallel --port 8000 --no-prompt --allow-net \
 *   --allow-env=METRICS_AUTH_TOKEN,DEMO,NATIVE_HISTOGRAMS,INGEST_TOKENS,LLM_BASE_URL,LLM_API_KEY,LLM_MODEL app/worker.ts
 * ```
 *
 * Configuration comes from the environment (`METRICS_AUTH_TOKEN`, `DEMO`,
 * `INGEST_TOKENS`);
 * the address from `deno serve`'s own `--port` and `--host`.
 *
 * @module
 */

import { defaultRegistry } from "../src/mod.ts";
import { customRegistry } from "../src/tracking/mod.ts";
import { createExporter } from "./exporter.ts";
import { ingestTokenList } from "./config.ts";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // not granted: treated as unset
  }
}

const token = env("METRICS_AUTH_TOKEN");
const demo = env("DEMO");
// Ingestion under `deno serve --parallel`: each worker keeps its own
// idempotency keys (no main thread here to share one store), so a retry
// that lands on another worker is counted again. `deno task start` shares them.
const ingest = env("INGEST_TOKENS");
const exporter = createExporter({
  registry: defaultRegistry,
  customRegistry,
  authToken: token === "" ? undefined : token,
  demo: demo === "1" || demo === "true",
  nativeHistograms: ["1", "true"].includes(env("NATIVE_HISTOGRAMS") ?? ""),
  ingest: ingest ? { tokens: ingestTokenList(ingest, "INGEST_TOKENS") } : undefined,
  cluster: true,
});

/** The fetch handler `deno serve` calls. */
export default { fetch: exporter.fetch } satisfies Deno.ServeDefaultExport;
