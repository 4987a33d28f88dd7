/**
 * The scrape endpoint: a web-standard fetch handler that renders a registry.
 *
 * @module
 */

import { defaultRegistry, type Registry } from "../core/registry.ts";
import { acceptsGzip, negotiateFormat } from "../exposition/negotiation.ts";
import { openMetricsParts } from "../exposition/openmetrics.ts";
import { toProtobuf } from "../exposition/protobuf.ts";
import { textParts } from "../exposition/text.ts";

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
    const head = request.method === "HEAD";
    const gzipped = gzip && acceptsGzip(request.headers.get("accept-encoding"));
    const failed = (error: unknown): string => {
      const kind = error instanceof Error ? error.name : typeof error;
      registry.logOnce(`render\u0000${kind}`, `rendering a scrape failed (${kind})`);
      return kind;
    };
    let body: string | Uint8Array<ArrayBuffer> = "";
    let parts: Iterator<string> | undefined;
    try {
      if (format === "protobuf") body = toProtobuf(await registry.collect({ timeoutMs }));
      else if (!gzipped) body = await registry.metrics(format, { timeoutMs, created });
      else {
        // Compressed part by part as the server sends it: a big scrape never
        // exists whole as one string, nor as its UTF-8 bytes (see PART in
        // exposition/text.ts).
        const families = await registry.collect({ timeoutMs, created });
        parts = format === "openmetrics"
          ? openMetricsParts(families, { created })
          : textParts(families);
      }
    } catch (error) {
      const kind = failed(error);
      return new Response(`Internal Server Error: rendering metrics failed (${kind})\n`, {
        status: 500,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    if (gzipped) {
      headers.set("Content-Encoding", "gzip");
      if (head) return new Response(null, { status: 200, headers });
      const source = parts === undefined ? new Blob([body]).stream() : encodedParts(parts, failed);
      return new Response(source.pipeThrough(new CompressionStream("gzip")), {
        status: 200,
        headers,
      });
    }
    // An explicit Content-Length lets instrumentation (http_response_size_bytes)
    // and proxies see the size; the runtime would encode the string anyway.
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    headers.set("Content-Length", String(bytes.byteLength));
    return new Response(head ? null : bytes, { status: 200, headers });
  };
}

/**
 * The UTF-8 bytes of `parts`, one part at a time, rendered only as the
 * reader asks for more. A rendering error ends the stream with that error
 * (the status is sent by then), after `failed` reported it.
 */
function encodedParts(
  parts: Iterator<string>,
  failed: (error: unknown) => unknown,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      try {
        const next = parts.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        failed(error);
        controller.error(error);
      }
    },
  });
}
