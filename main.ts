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
  createIngestStore,
  exitOnSignals,
  loadConfig,
  notDenoMessage,
  planStart,
  probeStart,
  type RunningServer,
  startFailure,
  startLines,
  startServer,
  startThreads,
  stderrLog,
  unreadableVariables,
  USAGE,
} from "./app/mod.ts";

const log = stderrLog;

// `bun main.ts` (or another runtime): one line naming the command that works.
if (!("Deno" in globalThis)) {
  const runtime = "Bun" in globalThis ? "Bun" : "this runtime";
  log(notDenoMessage(runtime));
  // Deno.exit is not there; Bun (and Node) exit through `process`.
  (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(2);
}

// Settings it may not read count as unset here: planStart reports them below,
// after --help and the flags' own mistakes (which need no permission).
// app/worker.ts (deno serve) loads its configuration the same way (workerConfig).
const unreadable = unreadableVariables();
let loaded;
try {
  loaded = loadConfig(
    Deno.args,
    (name) => unreadable.includes(name) ? undefined : Deno.env.get(name),
    Deno.readTextFileSync,
  );
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  log(`securetrack-metrics: ${error.message} (see --help)`);
  Deno.exit(2);
}
const { config, ingestTokens: tokens } = loaded;
if (config.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const plan = planStart(config, probeStart(config, unreadable));
if (!plan.ok) {
  log(plan.message);
  Deno.exit(2);
}
if (plan.notice !== undefined) log(plan.notice);

let server: RunningServer;
try {
  if (plan.threads > 1) {
    server = await startThreads({
      hostname: config.hostname,
      port: config.port,
      authToken: config.authToken,
      demo: config.demo,
      nativeHistograms: config.nativeHistograms,
      gateway: config.gateway,
      // One idempotency store for all threads: a retry is known whichever answers.
      ingest: tokens && { tokens, store: createIngestStore().buffer },
      log,
    }, plan.threads);
  } else {
    const exporter = createExporter({
      registry: defaultRegistry,
      customRegistry,
      authToken: config.authToken,
      demo: config.demo,
      nativeHistograms: config.nativeHistograms,
      gateway: config.gateway,
      ingest: tokens && { tokens },
      log,
    });
    server = await startServer(
      { hostname: config.hostname, port: config.port, log },
      exporter.fetch,
    );
  }
} catch (error) {
  // The address is taken, not this machine's, or does not resolve: one line.
  log(startFailure(config, error));
  Deno.exit(1);
}
for (const line of startLines(loaded)) log(line);
exitOnSignals(server, { log });
