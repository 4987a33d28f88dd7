/**
 * The exporter as a `deno serve` module, for running it under
 * `deno serve --parallel` (every worker joins the cluster, so any of them
 * reports the totals of all):
 *
 * ```sh
 * DENO_JOBS=4 deno serve --parallel --port 8000 --no-prompt --allow-net \
 *   --allow-read=/run/secrets \
 *   --allow-env=METRICS_AUTH_TOKEN,METRICS_AUTH_TOKEN_FILE,DEMO,NATIVE_HISTOGRAMS,INGEST_TOKENS,INGEST_TOKENS_FILE,LLM_BASE_URL,LLM_API_KEY,LLM_MODEL,GATEWAY_UPSTREAM_URL,GATEWAY_UPSTREAM_API_KEY,GATEWAY_UPSTREAM_API_KEY_FILE,GATEWAY_KEYS,GATEWAY_KEYS_FILE,GATEWAY_TIMEOUT_MS,GATEWAY_MAX_BODY_BYTES \
 *   app/worker.ts
 * ```
 *
 * Configured as `deno task start` is, by the same code (`workerConfig` in
 * `app/start.ts` is `loadConfig`, which main.ts runs): the same environment
 * variables (`METRICS_AUTH_TOKEN` or `METRICS_AUTH_TOKEN_FILE`, `DEMO`,
 * `NATIVE_HISTOGRAMS`, `INGEST_TOKENS` or `INGEST_TOKENS_FILE`, the gateway's
 * `GATEWAY_*`), with the same defaults and checks; the LLM gateway is served
 * when `GATEWAY_UPSTREAM_URL` is set. Permissions, least privilege:
 * `--allow-net` to listen and to reach the gateway's upstream; `--allow-env`
 * for exactly those variables (and the demo's `LLM_*`); `--allow-read` only
 * for the `*_FILE` settings: `/run/secrets` (Docker and Kubernetes secrets),
 * a file elsewhere needs its own (`--allow-read=/run/secrets,/etc/exporter`).
 *
 * What differs by nature: the address is `deno serve`'s `--port` and `--host`
 * and the workers its `--parallel` and `DENO_JOBS` (`PORT`, `HOSTNAME` and
 * `WORKERS` are not read); the module takes no flags (settings from the
 * environment only). Each worker keeps its own ingestion idempotency keys (no
 * main thread here to share one store), so a retry that lands on another
 * worker is counted again; `deno task start` shares them. Each worker prints
 * the start lines (the gateway's, the ingestion clients), prefixed by Deno
 * with its name.
 *
 * A bad setting, a file it cannot read or a variable it may not read: one
 * line naming it (never a secret), `securetrack-metrics: …`, and `deno serve`
 * exits 2 before listening, as `deno task start` does.
 *
 * @module
 */

import { defaultRegistry } from "../src/mod.ts";
import { customRegistry } from "../src/tracking/mod.ts";
import { ConfigError } from "./config.ts";
import { createExporter } from "./exporter.ts";
import { stderrLog } from "./log.ts";
import { startLines, unreadableVariables, WORKER_VARIABLES, workerConfig } from "./start.ts";

const log = stderrLog;

let loaded;
try {
  loaded = workerConfig(
    Deno.args,
    (name) => Deno.env.get(name),
    Deno.readTextFileSync,
    unreadableVariables(WORKER_VARIABLES),
  );
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // Thrown, it would be Deno's "Uncaught (in promise)" with a stack trace and
  // exit 1; the first worker to get here ends the process.
  log(`securetrack-metrics: ${error.message}`);
  Deno.exit(2);
}
const { config, ingestTokens } = loaded;

const exporter = createExporter({
  registry: defaultRegistry,
  customRegistry,
  authToken: config.authToken,
  demo: config.demo,
  nativeHistograms: config.nativeHistograms,
  gateway: config.gateway,
  ingest: ingestTokens && { tokens: ingestTokens },
  cluster: true,
  log,
});
for (const line of startLines(loaded)) log(line);

/** The fetch handler `deno serve` calls. */
export default { fetch: exporter.fetch } satisfies Deno.ServeDefaultExport;
