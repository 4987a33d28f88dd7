/**
 * Running the exporter on several cores from one process: the main thread
 * starts server threads (Web Workers, see `thread.ts`) that share one port
 * with `reusePort` and merge their metrics through the cluster module.
 * Needs `--unstable-net` (Deno 2.9 gates `reusePort` behind it) and read
 * access to `app/` and `src/` (a worker loads its module, `app/thread.ts`,
 * and what it imports from disk).
 *
 * @module
 */

import { type Log, stderrLog } from "./log.ts";
import type { RunningServer } from "./serve.ts";
import type { ThreadConfig } from "./thread.ts";

/**
 * Starts `count` server threads on `config.hostname:config.port` (port 0: the
 * first thread picks a free port and the others join it) and logs where
 * they listen (`log`, default stderr). Resolves when all listen; rejects
 * (with the threads stopped) when one cannot, e.g. the port is taken. Only the
 * first thread prints its notices about the runtime (the others' would be
 * the same); each thread logs its own errors to stderr.
 */
export async function startThreads(
  options: Omit<ThreadConfig, "quiet"> & { log?: Log },
  count: number,
): Promise<RunningServer> {
  const { log = stderrLog, ...config } = options;
  const threads: Worker[] = [];
  const start = (port: number): Promise<number> => {
    const worker = new Worker(new URL("./thread.ts", import.meta.url), { type: "module" });
    threads.push(worker);
    return new Promise((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ listening?: number; failed?: string }>) => {
        if (e.data.listening !== undefined) resolve(e.data.listening);
        if (e.data.failed !== undefined) {
          reject(new Error(`server thread failed to start: ${e.data.failed}`));
        }
      };
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`server thread failed to start: ${e.message}`));
      };
      const thread: ThreadConfig = { ...config, port, quiet: threads.length > 1 };
      worker.postMessage({ start: thread });
    });
  };
  let port: number;
  try {
    port = await start(config.port);
    await Promise.all(Array.from({ length: count - 1 }, () => start(port)));
  } catch (error) {
    for (const worker of threads) worker.terminate();
    throw error;
  }
  // Say "listening" only once every thread merges with all the others, so the
  // first scrapes already report everyone's metrics.
  const met = await Promise.all(threads.map((worker) =>
    new Promise<number>((resolve) => {
      worker.onmessage = (e: MessageEvent<{ met?: number }>) => {
        if (e.data.met !== undefined) resolve(e.data.met);
      };
      worker.postMessage({ meet: count - 1 });
    })
  ));
  if (met.some((peers) => peers < count - 1)) {
    log(
      `[metrics] some server threads did not meet all peers within 5 s (${met.join(", ")} of ` +
        `${count - 1}); their metrics merge once they do`,
    );
  }
  const host = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;
  log(
    `securetrack-metrics listening on http://${host}:${port}/ ` +
      `(/metrics, /custom_metrics, /healthz) with ${count} threads`,
  );
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => resolveFinished = resolve);
  return {
    addr: { hostname: config.hostname, port },
    finished,
    async shutdown(timeoutMs = 10_000): Promise<boolean> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopped = Promise.all(threads.map((worker) =>
        new Promise<void>((resolve) => {
          worker.onmessage = (e: MessageEvent<{ stopped?: boolean }>) => {
            if (e.data.stopped) resolve();
          };
          worker.postMessage("stop");
        })
      ));
      const drained = await Promise.race([
        stopped.then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), timeoutMs)),
      ]);
      clearTimeout(timer);
      for (const worker of threads) worker.terminate();
      resolveFinished();
      return drained;
    },
  };
}
