/**
 * One server thread of `deno task start` on several cores: a Web Worker that
 * builds the exporter, joins the cluster, and serves on the shared port
 * (`reusePort`, so the kernel spreads connections over the threads).
 *
 * Messages from the main thread: `{ start: ThreadConfig }` once, then
 * `{ meet: n }` (answer once this thread's metrics merge with `n` peers, or
 * after 5 s), then `"stop"` to drain and exit. Messages to it:
 * `{ listening: port }` (or `{ failed: reason }`, one line, when it cannot
 * listen), `{ met: peers }`, `{ stopped: true }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { defaultRegistry } from "../src/mod.ts";
import { customRegistry } from "../src/tracking/mod.ts";
import { createExporter } from "./exporter.ts";
import type { ClientKey } from "./keys.ts";
import { IdempotencyStore } from "./ingest_store.ts";
import { silentLog, stderrLog } from "./log.ts";
import { unhandledError } from "./serve.ts";
import type { GatewaySettings } from "./gateway/settings.ts";

/** What the main thread tells a server thread. */
export interface ThreadConfig {
  hostname: string;
  port: number;
  authToken: string | undefined;
  demo: boolean;
  /** Serve the catalogue's duration histograms as native histograms too. */
  nativeHistograms?: boolean;
  /** The LLM gateway's settings, key files read; absent: no gateway. */
  gateway?: GatewaySettings;
  /**
   * The ingestion API's clients and the idempotency store every thread
   * shares (`createIngestStore().buffer`, made once by the main thread).
   */
  ingest?: { tokens: readonly ClientKey[]; store: SharedArrayBuffer };
  /**
   * Drop this thread's notices about the runtime (every thread would print
   * the same ones: only the first does). Errors are logged by every thread.
   */
  quiet?: boolean;
}

self.onmessage = (event: MessageEvent<{ start: ThreadConfig }>) => {
  const config = event.data.start;
  // A function cannot cross postMessage: a thread logs to its own stderr.
  const log = stderrLog;
  const exporter = createExporter({
    registry: defaultRegistry,
    customRegistry,
    authToken: config.authToken,
    demo: config.demo,
    nativeHistograms: config.nativeHistograms,
    gateway: config.gateway,
    ingest: config.ingest && {
      tokens: config.ingest.tokens,
      store: IdempotencyStore.attach(config.ingest.store),
    },
    cluster: true,
    log,
    notices: config.quiet ? silentLog : log,
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.hostname,
      port: config.port,
      reusePort: true,
      onListen: ({ port }) => self.postMessage({ listening: port }),
      onError: unhandledError(log),
    }, exporter.fetch);
  } catch (error) {
    // The address is taken or not this machine's: the main thread says so in
    // one line (uncaught here, it would be a stack trace).
    const reason = error instanceof Error
      ? `${error.name}: ${error.message.split("\n")[0]}`
      : String(error);
    self.postMessage({ failed: reason });
    return;
  }
  self.onmessage = async (e: MessageEvent<{ meet?: number } | "stop">) => {
    if (typeof e.data === "object" && e.data.meet !== undefined) {
      const deadline = Date.now() + 5_000;
      while ((exporter.cluster?.peers ?? 0) < e.data.meet && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      self.postMessage({ met: exporter.cluster?.peers ?? 0 });
      return;
    }
    await server.shutdown();
    exporter.cluster?.close();
    self.postMessage({ stopped: true });
    self.close();
  };
};
