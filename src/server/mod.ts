/**
 * The SecureTrack exporter server: configuration, the fetch handler with its
 * endpoints and auth, and running it on `Deno.serve`. Used by `main.ts`.
 *
 * @module
 */

export { type AppOptions, createApp, type RouteHandler } from "./app.ts";
export { bearerAuth } from "./auth.ts";
export { ConfigError, parseConfig, type ServerConfig, USAGE } from "./config.ts";
export { exitOnSignals, type RunningServer, startServer } from "./serve.ts";
export { createExporter, type Exporter, type ExporterOptions } from "./exporter.ts";
export { startThreads } from "./threads.ts";
