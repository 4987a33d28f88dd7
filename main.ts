/**
 * `deno task start`: the SecureTrack metrics exporter.
 *
 * Wiring and configuration only; everything it calls lives in `src/` and is
 * tested there. See `USAGE` in `src/server/config.ts` for the flags.
 *
 * @module
 */

import { defaultRegistry, registerProcessMetrics, registerRuntimeMetrics } from "./src/mod.ts";
import { customRegistry, trackAppError, trackAppRequest } from "./src/tracking/mod.ts";
import {
  ConfigError,
  createApp,
  exitOnSignals,
  parseConfig,
  startServer,
  USAGE,
} from "./src/server/mod.ts";
import { demoRoutes } from "./src/server/demo.ts";

let config;
try {
  config = parseConfig(Deno.args, (name) => Deno.env.get(name));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`securetrack-metrics: ${error.message} (see --help)`);
  Deno.exit(2);
}
if (config.help) {
  console.log(USAGE);
  Deno.exit(0);
}

registerProcessMetrics(defaultRegistry);
registerRuntimeMetrics(defaultRegistry);

const app = createApp({
  registry: defaultRegistry,
  customRegistry,
  authToken: config.authToken,
  routes: config.demo ? demoRoutes() : undefined,
  onRequest: ({ handler, method, status, seconds }) =>
    trackAppRequest({ endpoint: handler, method, statusCode: status, seconds }),
  onError: ({ handler, error }) => {
    const errorType = error instanceof Error ? error.constructor.name || error.name : typeof error;
    trackAppError({ endpoint: handler, errorType });
    console.error(`[server] ${handler} failed with ${errorType}`);
  },
});

const server = await startServer(config, app);
if (config.authToken !== undefined) console.log("metrics endpoints require a bearer token");
if (config.demo) console.log("demo application routes enabled under /api/");
exitOnSignals(server);
