/**
 * The scrape endpoint: a web-standard fetch handler that renders a registry.
 *
 * @module
 */

import { defaultRegistry, type Registry } from "../core/registry.ts";
import { acceptsGzip, negotiateFormat } from "../exposition/negotiation.ts";
import { toProtobuf } from "../exposition/protobuf.ts";

/** Options for {@linkcode metricsHandler}. */
export interface MetricsHandlerOptions {
  /** Compress with gzip when the scraper accepts it (default `true`). */
  gzip?: boolean;
  /**
   * Longest wait for asynchronous collectors, in milliseconds, when the
   * scraper does not say (`X-Prometheus-Scrape-Timeout-Seconds`). Default
   * 10,000 (Prometheus' default scrape timeout).
   */
  timeoutMs?: number;
  /** OpenMetrics only: emit `_created` samples (default `true`). */
  created?: boolean;
}

const ALLOW = "GET, HEAD";
const encoder = new TextEncoder();

/**
 * Returns a fetch handler that serves `registry` (default:
 * {@linkcode defaultRegistry}) to scrapers, for `Deno.serve`, `Bun.serve` or
 * any framework that speaks `Request` and `Response`.
 *
 * - The format follows `Accept`: protobuf when asked for by name (Prometheus
 *   with `--enable-feature=native-histograms`; the only format that carries
 *   native histograms), OpenMetrics 1.0.0 when preferred, else Prometheus
 *   text 0.0.4; never 406.
 * - gzip when `Accept-Encoding` allows it, with `Vary: Accept-Encoding`.
 * - `HEAD` answers the headers only; other methods get 405 with `Allow`.
 * - Collection waits for slow collectors no longer than Prometheus' scrape
 *   timeout (from `X-Prometheus-Scrape-Timeout-Seconds`, less a safety
 *   margin); a collector that fails or is late is left out and counted.
 *
 * @example
 * ```ts ignore
 * import { metricsHandler, Registry } from "@securetrack/metrics";
 * const registry = new Registry();
 * Deno.serve({ port: 9464 }, metricsHandler(registry));
 * ```
 */
export function metricsHandler(
  registry: Registry = defaultRegistry,
  options: MetricsHandlerOptions = {},
): (request: Request) => Promise<Response> {
  const gzip = options.gzip ?? true;
  const defaultTimeout = options.timeoutMs ?? 10_000;
  const created = options.created ?? true;
  return async (request: Request): Promise<Response> => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", {
        status: 405,
        headers: { "Allow": ALLOW, "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    const { format, contentType } = negotiateFormat(request.headers.get("accept"));
    const headers = new Headers({ "Content-Type": contentType, "Vary": "Accept-Encoding" });
    const scrapeTimeout = Number(request.headers.get("x-prometheus-scrape-timeout-seconds"));
    const timeoutMs = scrapeTimeout > 0
      ? Math.max(1, scrapeTimeout * 1000 * 0.9 - 50)
      : defaultTimeout;
    let body: string | Uint8Array<ArrayBuffer>;
    try {
      body = format === "protobuf"
        ? toProtobuf(await registry.collect({ timeoutMs }))
        : await registry.metrics(format, { timeoutMs, created });
    } catch (error) {
      const kind = error instanceof Error ? error.name : typeof error;
      registry.logOnce(`render\u0000${kind}`, `rendering a scrape failed (${kind})`);
      return new Response(`Internal Server Error: rendering metrics failed (${kind})\n`, {
        status: 500,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    const head = request.method === "HEAD";
    if (gzip && acceptsGzip(request.headers.get("accept-encoding"))) {
      headers.set("Content-Encoding", "gzip");
      if (head) return new Response(null, { status: 200, headers });
      const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
      return new Response(stream, { status: 200, headers });
    }
    // An explicit Content-Length lets instrumentation (http_response_size_bytes)
    // and proxies see the size; the runtime would encode the string anyway.
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    headers.set("Content-Length", String(bytes.byteLength));
    return new Response(head ? null : bytes, { status: 200, headers });
  };
}
