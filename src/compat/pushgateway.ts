/**
 * prom-client's `Pushgateway`, over `fetch`.
 *
 * @module
 */

import { register as globalRegister, type Registry } from "./registry.ts";

/** Options of a {@linkcode Pushgateway}. */
export interface PushgatewayOptions {
  /** Whether `jobName` is required (default `true`, as in prom-client). */
  requireJobName?: boolean;
  /** Request headers; `Content-Encoding: gzip` compresses the body. */
  headers?: Record<string, string>;
  /** Longest time to wait for the gateway, in milliseconds (default: none). */
  timeout?: number;
}

/** Which metrics group a push replaces, adds to or deletes. */
export interface PushParameters {
  /** The `job` grouping label. */
  jobName?: string;
  /** Further grouping labels. */
  groupings?: Record<string, string | number>;
}

/** What a push resolves to: the response, and its body as text. */
export interface PushResult {
  /** The gateway's response (a web `Response`, where prom-client gave Node's `IncomingMessage`). */
  resp: Response;
  /** The response body. */
  body: string;
}

/**
 * One path segment `/name/value` of a grouping key. A value with a `/`, or
 * an empty one, goes base64url-encoded (`name@base64/...`), the form the
 * Pushgateway documents for them; prom-client sent `%2F`, which the gateway
 * reads as a path separator.
 */
function segment(name: string, value: string): string {
  if (value !== "" && !value.includes("/")) {
    return `/${encodeURIComponent(name)}/${encodeURIComponent(value)}`;
  }
  const bytes = new TextEncoder().encode(value);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const b64 = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_");
  return `/${encodeURIComponent(name)}@base64/${b64 === "" ? "=" : b64}`;
}

function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/**
 * prom-client's `Pushgateway`: `pushAdd` (POST: replace the pushed metrics'
 * names in the group), `push` (PUT: replace the whole group) and `delete`
 * (DELETE: drop the group), each with a `jobName` and optional `groupings`.
 * The body is the registry's `metrics()`, sent with its `Content-Type`. A
 * status of 400 or more rejects with prom-client's `Error`.
 *
 * @example
 * ```ts ignore
 * import { Counter, Pushgateway, register } from "@securetrack/metrics/prom-client";
 * new Counter({ name: "batch_runs_total", help: "Batch runs" }).inc();
 * const gateway = new Pushgateway("http://127.0.0.1:9091", {}, register);
 * await gateway.pushAdd({ jobName: "batch", groupings: { instance: "a" } });
 * ```
 */
export class Pushgateway {
  /** The gateway's base URL. */
  readonly gatewayUrl: string;
  /** The registry pushed. */
  readonly registry: Registry;
  readonly #requireJobName: boolean;
  readonly #headers: Record<string, string>;
  readonly #timeout: number | undefined;

  /** A client for the gateway at `url`, pushing `registry` (default: the global `register`). */
  constructor(url: string, options: PushgatewayOptions = {}, registry?: Registry) {
    this.gatewayUrl = url;
    this.registry = registry ?? globalRegister;
    this.#requireJobName = options.requireJobName ?? true;
    this.#headers = { ...options.headers };
    this.#timeout = options.timeout;
  }

  /** POST: adds the registry's metrics to the group, replacing those of the same names. */
  pushAdd(params: PushParameters = {}): Promise<PushResult> {
    return this.#send("POST", params);
  }

  /** PUT: replaces the whole group with the registry's metrics. */
  push(params: PushParameters = {}): Promise<PushResult> {
    return this.#send("PUT", params);
  }

  /** DELETE: removes the group. */
  delete(params: PushParameters = {}): Promise<PushResult> {
    return this.#send("DELETE", params);
  }

  #send(method: "POST" | "PUT" | "DELETE", params: PushParameters): Promise<PushResult> {
    if (this.#requireJobName && !params.jobName) throw new Error("Missing jobName parameter");
    return this.#request(method, params);
  }

  async #request(method: string, params: PushParameters): Promise<PushResult> {
    const base = new URL(this.gatewayUrl);
    const prefix = base.pathname === "/" ? "" : base.pathname.replace(/\/$/, "");
    let path = `${prefix}/metrics`;
    if (params.jobName) {
      path += segment("job", String(params.jobName));
      for (const [k, v] of Object.entries(params.groupings ?? {})) path += segment(k, String(v));
    }
    const headers = new Headers(this.#headers);
    let body: BodyInit | undefined;
    if (method === "DELETE") {
      headers.delete("Content-Encoding");
    } else {
      const text = await this.registry.metrics();
      headers.set("Content-Type", this.registry.contentType);
      body = headers.get("Content-Encoding") === "gzip" ? await gzip(text) : text;
    }
    const resp = await fetch(new URL(path, base.origin), {
      method,
      headers,
      body,
      signal: this.#timeout === undefined ? undefined : AbortSignal.timeout(this.#timeout),
    });
    const text = await resp.text();
    if (resp.status >= 400) throw new Error(`push failed with status ${resp.status}, ${text}`);
    return { resp, body: text };
  }
}
