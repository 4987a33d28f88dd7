/**
 * Content negotiation for scrapes: which exposition format and which
 * encoding to answer with, from the request's `Accept` and `Accept-Encoding`.
 *
 * @module
 */

import { OPENMETRICS_CONTENT_TYPE } from "./openmetrics.ts";
import { PROTOBUF_CONTENT_TYPE } from "./protobuf.ts";
import { TEXT_CONTENT_TYPE } from "./text.ts";

/** The outcome of negotiating the `Accept` header. */
export interface NegotiatedFormat {
  /**
   * Format to render: Prometheus text 0.0.4, OpenMetrics, or protobuf
   * (length-delimited `MetricFamily` messages, the only format that carries
   * native histograms).
   */
  format: "text" | "openmetrics" | "protobuf";
  /** Content-Type to answer with. */
  contentType: string;
}

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
  order: number;
}

function parseList(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  header.split(",").forEach((part, order) => {
    const [head, ...rest] = part.split(";");
    const type = head.trim().toLowerCase();
    if (type === "") return;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq < 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
      if (key === "q") {
        const n = Number(value);
        q = Number.isFinite(n) && n >= 0 && n <= 1 ? n : 0;
      } else {
        params.set(key, value);
      }
    }
    out.push({ type, params, q, order });
  });
  return out;
}

const TEXT: NegotiatedFormat = { format: "text", contentType: TEXT_CONTENT_TYPE };
const OPENMETRICS: NegotiatedFormat = {
  format: "openmetrics",
  contentType: OPENMETRICS_CONTENT_TYPE,
};
const OPENMETRICS_0_0_1: NegotiatedFormat = {
  format: "openmetrics",
  contentType: "application/openmetrics-text; version=0.0.1; charset=utf-8",
};

const PROTOBUF: NegotiatedFormat = { format: "protobuf", contentType: PROTOBUF_CONTENT_TYPE };

function candidate(range: MediaRange): NegotiatedFormat | undefined {
  const version = range.params.get("version");
  switch (range.type) {
    case "application/vnd.google.protobuf":
      // As client_golang's Negotiate: the delimited MetricFamily stream only.
      // Prometheus asks for it only with native histograms enabled; answering
      // protobuf that holds native histograms to one without would fail the
      // whole scrape ("native histograms are disabled").
      return range.params.get("proto") === "io.prometheus.client.MetricFamily" &&
          range.params.get("encoding") === "delimited"
        ? PROTOBUF
        : undefined;
    case "application/openmetrics-text":
      if (version === undefined || version === "1.0.0") return OPENMETRICS;
      if (version === "0.0.1") return OPENMETRICS_0_0_1;
      return undefined;
    case "text/plain":
      return version === undefined || version === "0.0.4" ? TEXT : undefined;
    case "text/*":
    case "*/*":
      return TEXT;
    default:
      return undefined;
  }
}

/**
 * Picks the exposition format for an `Accept` header: the supported media
 * range with the highest q-value (the earliest on a tie). Protobuf only when
 * asked for by its full media type
 * (`application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`,
 * as Prometheus sends it with `--enable-feature=native-histograms`), never
 * through a wildcard. Without a header,
 * or when nothing listed is supported, Prometheus text 0.0.4, never an error:
 * a scraper always gets something it can read.
 *
 * @example
 * ```ts
 * import { negotiateFormat } from "@securetrack/metrics";
 * negotiateFormat("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
 * // { format: "openmetrics", contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8" }
 * ```
 */
export function negotiateFormat(accept: string | null | undefined): NegotiatedFormat {
  if (!accept) return TEXT;
  let best: NegotiatedFormat | undefined;
  let bestQ = 0;
  for (const range of parseList(accept)) {
    if (range.q <= bestQ) continue;
    const found = candidate(range);
    if (found !== undefined) {
      best = found;
      bestQ = range.q;
    }
  }
  return best ?? TEXT;
}

/**
 * Whether an `Accept-Encoding` header accepts gzip (`gzip` or `*` with a
 * q-value above 0, and gzip not refused explicitly).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptsGzip } from "./negotiation.ts";
 * assert.deepEqual(acceptsGzip("gzip, deflate"), true);
 * acceptsGzip("gzip;q=0");      // false
 * ```
 */
export function acceptsGzip(acceptEncoding: string | null | undefined): boolean {
  if (!acceptEncoding) return false;
  let gzip: number | undefined;
  let star: number | undefined;
  for (const range of parseList(acceptEncoding)) {
    if (range.type === "gzip" || range.type === "x-gzip") gzip = range.q;
    else if (range.type === "*") star = range.q;
  }
  return (gzip ?? star ?? 0) > 0;
}
