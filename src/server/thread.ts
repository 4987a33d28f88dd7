/**
 * One server thread of `deno task start` on several cores: a Web Worker that
 * builds the exporter, joins the cluster, and serves on the shared port
 * (`reusePort`, so the kernel spreads connections over the threads).
 *
 * Messages from the main thread: `{ start: ThreadConfig }` once, then
 * `{ meet: n }` (answer once this thread's metrics merge with `n` peers, or
 * after 5 s), then `"stop"` to drain and exit. Messages to it:
 * `{ listening: port }`, `{ met: peers }`, `{ stopped: true }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { createExporter } from "./exporter.ts";

/** What the main thread tells a server thread. */
export interface ThreadConfig {
  hostname: string;
  port: number;
  authToken: string | undefined;
  demo: boolean;
  /** Skip start-up notices (every thread but the first). */
  quiet?: boolean;
}

self.onmessage = (event: MessageEvent<{ start: ThreadConfig }>) => {
  const config = event.data.start;
  const exporter = createExporter({
    authToken: config.authToken,
    demo: config.demo,
    cluster: true,
    quiet: config.quiet,
  });
  const server = Deno.serve({
    hostname: config.hostname,
    port: config.port,
    reusePort: true,
    onListen: ({ port }) => self.postMessage({ listening: port }),
    onError(error) {
      console.error("[server] unhandled error while serving a request:", error);
      return new Response("Internal Server Error\n", { status: 500 });
    },
  }, exporter.fetch);
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
