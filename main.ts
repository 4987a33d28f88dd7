/**
 * `deno task start`: the SecureTrack metrics exporter.
 *
 * Wiring and configuration only; everything it calls lives in `src/` and is
 * tested there. See `USAGE` in `src/server/config.ts` for the flags.
 *
 * @module
 */

import {
  ConfigError,
  createExporter,
  exitOnSignals,
  parseConfig,
  type RunningServer,
  startServer,
  startThreads,
  USAGE,
} from "./src/server/mod.ts";

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

const workers = config.workers ?? navigator.hardwareConcurrency ?? 1;
let server: RunningServer;
if (workers > 1) {
  server = await startThreads({
    hostname: config.hostname,
    port: config.port,
    authToken: config.authToken,
    demo: config.demo,
  }, workers);
} else {
  const exporter = createExporter({ authToken: config.authToken, demo: config.demo });
  server = await startServer(config, exporter.fetch);
}
if (config.authToken !== undefined) console.log("metrics endpoints require a bearer token");
if (config.demo) console.log("demo application routes enabled under /api/");
exitOnSignals(server);
