/**
 * Running the exporter on `Deno.serve`, with graceful shutdown on SIGTERM
 * and SIGINT.
 *
 * @module
 */

import { errorType, type Log, onceEach, stderrLog } from "./log.ts";

/** A server started by {@linkcode startServer}. */
export interface RunningServer {
  /** The address actually bound (the port is real even when 0 was asked for). */
  readonly addr: { hostname: string; port: number };
  /** Settles when the server has stopped. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting connections and waits for in-flight requests, at most
   * `timeoutMs` (default 10,000); resolves `true` if they all finished.
   */
  shutdown(timeoutMs?: number): Promise<boolean>;
}

/**
 * `Deno.serve`'s `onError`: a 500, and one line in `log` per error type
 * (never once per request). Reached only by an error outside the exporter's
 * own handling (`instrument` turns a throwing route into a 500 itself).
 */
export function unhandledError(log: Log): (error: unknown) => Response {
  const report = onceEach(log);
  return (error) => {
    const type = errorType(error);
    const detail = error instanceof Error ? `: ${error.message.split("\n")[0]}` : "";
    report(
      type,
      `[server] unhandled error while serving a request: ${type}${detail} ` +
        `(reported once per error type)`,
    );
    return new Response("Internal Server Error\n", { status: 500 });
  };
}

/** Starts `handler` on `Deno.serve` and logs where it listens (`log`, default stderr). */
export function startServer(
  options: { hostname: string; port: number; log?: Log },
  handler: (request: Request) => Response | Promise<Response>,
): Promise<RunningServer> {
  const log = options.log ?? stderrLog;
  return new Promise((resolve) => {
    // Deno calls onListen from inside Deno.serve(), before `server` is
    // assigned: resolve once both the address and the server are known.
    let addr: { hostname: string; port: number } | undefined;
    const started: { server?: Deno.HttpServer<Deno.NetAddr> } = {};
    const ready = () => {
      const listening = started.server;
      if (addr === undefined || listening === undefined) return;
      resolve({
        addr,
        finished: listening.finished,
        async shutdown(timeoutMs = 10_000): Promise<boolean> {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const drained = await Promise.race([
            listening.shutdown().then(() => true),
            new Promise<false>((r) => timer = setTimeout(() => r(false), timeoutMs)),
          ]);
          clearTimeout(timer);
          return drained;
        },
      });
    };
    started.server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen({ hostname, port }) {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        log(
          `securetrack-metrics listening on http://${host}:${port}/ ` +
            `(/metrics, /custom_metrics, /healthz)`,
        );
        addr = { hostname, port };
        ready();
      },
      onError: unhandledError(log),
    }, handler);
    ready();
  });
}

/**
 * How long after the first signal a repeat is taken as the same stop, not as
 * "exit now". One stop often arrives more than once: `deno task` (2.9.6)
 * passes SIGINT on twice, a terminal's Ctrl-C reaches the whole process group
 * (main.ts and the `deno task` that passes it on again), and systemd's default
 * `KillMode=control-group` signals every process of the service. Those
 * copies come microseconds apart; a person's second Ctrl-C or an
 * orchestrator's second signal comes later.
 */
export const SAME_STOP_MS = 1_000;

/**
 * On the first SIGTERM or SIGINT: stop accepting, let in-flight requests
 * finish (at most `timeoutMs`, default 10,000), then exit 0. A signal
 * {@linkcode SAME_STOP_MS} or more after the first exits at once; one sooner
 * is a copy of the first (see there) and changes nothing. Says so in `log`
 * (default stderr).
 */
export function exitOnSignals(
  server: RunningServer,
  options: { log?: Log; timeoutMs?: number } = {},
): void {
  const log = options.log ?? stderrLog;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let firstAt: number | undefined;
  const stop = async (signal: string) => {
    if (firstAt !== undefined) {
      if (performance.now() - firstAt >= SAME_STOP_MS) Deno.exit(0);
      return;
    }
    firstAt = performance.now();
    log(`${signal} received: draining in-flight requests (at most ${timeoutMs} ms)`);
    const drained = await server.shutdown(timeoutMs);
    log(drained ? "stopped" : "stopped with requests still in flight");
    Deno.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => void stop(signal));
  }
}
