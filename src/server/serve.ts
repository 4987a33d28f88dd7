/**
 * Running the exporter on `Deno.serve`, with graceful shutdown on SIGTERM
 * and SIGINT.
 *
 * @module
 */

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

/** Starts `handler` on `Deno.serve` and logs where it listens. */
export function startServer(
  options: { hostname: string; port: number },
  handler: (request: Request) => Response | Promise<Response>,
): Promise<RunningServer> {
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
        console.log(
          `securetrack-metrics listening on http://${host}:${port}/ ` +
            `(/metrics, /custom_metrics, /healthz)`,
        );
        addr = { hostname, port };
        ready();
      },
      onError(error) {
        console.error("[server] unhandled error while serving a request:", error);
        return new Response("Internal Server Error\n", { status: 500 });
      },
    }, handler);
    ready();
  });
}

/**
 * On the first SIGTERM or SIGINT: stop accepting, let in-flight requests
 * finish (at most `timeoutMs`), then exit 0. A second signal exits at once.
 */
export function exitOnSignals(server: RunningServer, timeoutMs = 10_000): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) Deno.exit(0);
    stopping = true;
    console.log(`${signal} received: draining in-flight requests (at most ${timeoutMs} ms)`);
    const drained = await server.shutdown(timeoutMs);
    console.log(drained ? "stopped" : "stopped with requests still in flight");
    Deno.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => void stop(signal));
  }
}
