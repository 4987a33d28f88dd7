/**
 * `deno task start`: the SecureTrack metrics exporter.
 *
 * Wiring and configuration only; everything it calls lives in `app/` (the
 * application) and `src/` (the library), and is tested there. See `USAGE` in
 * `app/config.ts` for the flags. Every message goes to one log, one line to
 * stderr each; stdout carries only `--help`.
 *
 * @module
 */

import { defaultRegistry } from "./src/mod.ts";
import { customRegistry } from "./src/tracking/mod.ts";
import {
  ConfigError,
  createExporter,
  exitOnSignals,
  parseConfig,
  type RunningServer,
  startServer,
  startThreads,
  stderrLog,
  USAGE,
} from "./app/mod.ts";

const log = stderrLog;

let config;
try {
  config = parseConfig(Deno.args, (name) => Deno.env.get(name));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  log(`securetrack-metrics: ${error.message} (see --help)`);
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
    log,
  }, workers);
} else {
  const exporter = createExporter({
    registry: defaultRegistry,
    customRegistry,
    authToken: config.authToken,
    demo: config.demo,
    log,
  });
  server = await startServer({ hostname: config.hostname, port: config.port, log }, exporter.fetch);
}
if (config.authToken !== undefined) log("metrics endpoints require a bearer token");
if (config.demo) log("demo application routes enabled under /api/");
exitOnSignals(server, { log });
