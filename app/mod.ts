/**
 * The SecureTrack exporter application (not part of the published package):
 * configuration, the fetch handler with its endpoints and auth, running it
 * on `Deno.serve`, and how it reports. Used by `main.ts`.
 *
 * @module
 */

export { type AppOptions, createApp, type RouteHandler } from "./app.ts";
export { bearerAuth } from "./auth.ts";
export { ConfigError, loadAuthTokenFile, parseConfig, type ServerConfig, USAGE } from "./config.ts";
export { exitOnSignals, type RunningServer, startServer, unhandledError } from "./serve.ts";
export { createExporter, type Exporter, type ExporterOptions } from "./exporter.ts";
export { type Log, silentLog, stderrLog } from "./log.ts";
export { type GatewayOptions, gatewayRoutes } from "./gateway/gateway.ts";
export { type GatewaySettings, gatewayStartLine, loadGatewayFiles } from "./gateway/settings.ts";
export {
  createIngestStore,
  INGEST_DEFAULTS,
  INGEST_PATH,
  ingestHandler,
  type IngestOptions,
  ingestTokens,
} from "./ingest.ts";
export { EVENT_KINDS, type EventKind } from "./ingest_events.ts";
export { IdempotencyStore } from "./ingest_store.ts";
export {
  CONFIG_VARIABLES,
  loadConfig,
  type LoadedConfig,
  notDenoMessage,
  planStart,
  probeStart,
  START_COMMAND,
  START_TASK,
  type StartFacts,
  startFailure,
  startLines,
  type StartPlan,
  unreadableVariables,
  WORKER_COMMAND,
  WORKER_VARIABLES,
  workerConfig,
} from "./start.ts";
export { startThreads } from "./threads.ts";
