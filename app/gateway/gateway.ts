/**
 * The LLM metering gateway: `POST /v1/chat/completions` (plain and
 * streamed), `POST /v1/embeddings` and `GET /v1/models`, forwarded to an
 * OpenAI-compatible upstream with the gateway's own key, and metered into
 * the catalogue's `llm_*` metrics (see `metrics.ts`).
 *
 * - Bodies pass through unchanged, but for one thing: a streamed chat
 *   request gets `stream_options.include_usage: true`, so that its tokens
 *   can be counted, and the usage chunk this adds is taken out of the stream
 *   again unless the client asked for it.
 * - Upstream statuses, error bodies and headers (`Retry-After`,
 *   `x-request-id`, rate-limit headers) pass through.
 * - A client that goes away mid-stream aborts the upstream request.
 * - The gateway's own errors are OpenAI-shaped JSON: 401 (client key), 405,
 *   413 (body over the limit), 502 (upstream unreachable), 504 (upstream
 *   timed out). A failure after a stream has started is a last SSE event
 *   `{"error": {...}}`, since the status line has gone.
 *
 * Neither key ever appears in a response, a label or a log line.
 *
 * @module
 */

import { statusErrorType } from "../../src/llm/errors.ts";
import { type TokenUsage, toUsage } from "../../src/llm/usage.ts";
import type { Registry } from "../../src/core/registry.ts";
import type { TrackingMetrics } from "../../src/tracking/catalogue.ts";
import { type Log, onceEach, stderrLog } from "../log.ts";
import { type ClientKey, clientKeyAuth } from "../keys.ts";
import { createGatewayMetrics, GatewayCall, type GatewayMetrics } from "./metrics.ts";
import { SSERelay } from "./_sse_relay.ts";
import { ContentChunks } from "./_chunk.ts";

/** A route handler of the gateway: a web-standard fetch handler. */
export type GatewayHandler = (request: Request) => Response | Promise<Response>;

/** Options for {@linkcode gatewayRoutes}. */
export interface GatewayOptions {
  /** Base URL of the upstream API, e.g. `https://api.openai.com/v1` (no trailing slash needed). */
  upstream: string;
  /** Sent upstream as `Authorization: Bearer <upstreamKey>`; absent: no Authorization header. */
  upstreamKey?: string;
  /** Client keys; empty or absent: no client authentication, and no `client` label. */
  keys?: readonly ClientKey[];
  /** Upstream deadline for the response headers, then for each body read (default 120,000 ms). */
  timeoutMs?: number;
  /** Largest request body, in bytes (default 4 MiB): above it, a 413. */
  maxBodyBytes?: number;
  /** The catalogue the `llm_*` metrics are recorded in. */
  metrics: TrackingMetrics;
  /** Where the gateway's own families are registered (the catalogue's registry). */
  registry: Registry;
  /** The `fetch` used to call the upstream (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Where upstream failures are reported, once per kind (default stderr). */
  log?: Log;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Response headers of the upstream that describe its connection or encoding, not the answer. */
const DROPPED_RESPONSE_HEADERS = new Set([
  "connection",
  "content-encoding",
  "content-length",
  "keep-alive",
  "set-cookie",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "trailer",
]);

/** An OpenAI-shaped error response. */
function apiError(
  status: number,
  message: string,
  type: string,
  code: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ error: { message, type, param: null, code } }, { status, headers });
}

function errorEvent(message: string, code: string): Uint8Array {
  const error = { error: { message, type: "upstream_error", param: null, code } };
  return encoder.encode(`data: ${JSON.stringify(error)}\n\n`);
}

function passHeaders(upstream: Headers): Headers {
  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (!DROPPED_RESPONSE_HEADERS.has(name)) headers.append(name, value);
  }
  return headers;
}

/**
 * A deadline that aborts `controller` once `ms` pass without {@linkcode
 * Deadline.touch} (or at all, after {@linkcode Deadline.start}). One timer
 * per call, re-armed only when it fires early: a stream touches it on every
 * read, and a `setTimeout` per read would cost more than the read.
 */
class Deadline {
  readonly #ms: number;
  readonly #controller: AbortController;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #due = Infinity;
  fired = false;

  constructor(ms: number, controller: AbortController) {
    this.#ms = ms;
    this.#controller = controller;
  }

  /** Arms it: `ms` from now. */
  start(): void {
    this.touch();
    if (this.#timer === undefined) this.#arm(this.#ms);
  }

  /** Pushes it back to `ms` from now (cheap: no timer call). */
  touch(): void {
    this.#due = performance.now() + this.#ms;
  }

  /** Holds it until the next `start` or `touch` (e.g. while the client is slow to read). */
  pause(): void {
    this.#due = Infinity;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => {
      const left = this.#due - performance.now();
      if (left > 0) return this.#arm(left === Infinity ? this.#ms : left);
      this.#timer = undefined;
      this.fired = true;
      this.#controller.abort();
    }, delay);
  }

  /** Stops it for good. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = Infinity;
  }
}

/** The request body, or a 413 when it is over `max` bytes (read no further than that). */
async function readBody(
  request: Request,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | Response> {
  const tooLarge = (size: string) =>
    apiError(
      413,
      `Request body is ${size} bytes, over the gateway's limit of ${max} bytes.`,
      "invalid_request_error",
      "request_too_large",
    );
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await request.body?.cancel().catch(() => {});
    return tooLarge(String(declared));
  }
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return tooLarge(`more than ${max}`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Json
    : undefined;
}

/** Embeddings report prompt tokens only: the completion count is 0. */
function embeddingUsage(usage: unknown): TokenUsage | undefined {
  const u = asObject(usage);
  const prompt = u?.prompt_tokens;
  if (typeof prompt !== "number" || !(prompt >= 0) || !Number.isFinite(prompt)) return undefined;
  return { promptTokens: prompt, completionTokens: 0, totalTokens: prompt };
}

/**
 * The gateway's routes, for `createApp`'s `routes`: `/v1/chat/completions`,
 * `/v1/embeddings` and `/v1/models`. Registers the gateway's families (see
 * `metrics.ts`) in `options.registry`.
 *
 * @example
 * ```ts
 * import { Registry } from "../../src/core/registry.ts";
 * import { createTracking } from "../../src/tracking/mod.ts";
 * import { gatewayRoutes } from "./gateway.ts";
 * const registry = new Registry();
 * const routes = gatewayRoutes({
 *   upstream: "http://127.0.0.1:11434/v1",
 *   metrics: createTracking(registry).metrics,
 *   registry,
 * });
 * console.log(Object.keys(routes)); // ["/v1/chat/completions", "/v1/embeddings", "/v1/models"]
 * ```
 */
export function gatewayRoutes(options: GatewayOptions): Record<string, GatewayHandler> {
  const upstream = options.upstream.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const doFetch = options.fetch ?? globalThis.fetch;
  const report = onceEach(options.log ?? stderrLog);
  const keys = options.keys ?? [];
  const auth = keys.length > 0 ? clientKeyAuth(keys) : undefined;
  const g: GatewayMetrics = createGatewayMetrics(options.registry, auth !== undefined);
  const m = options.metrics;

  const count = (endpoint: string, status: number, client: string) => {
    const labels: Record<string, string> = { endpoint, code: String(status) };
    if (g.byClient) labels.client = client;
    g.requests.inc(labels);
  };

  const upstreamHeaders = (request: Request, body: boolean): Headers => {
    const headers = new Headers();
    if (body) headers.set("content-type", "application/json");
    const accept = request.headers.get("accept");
    if (accept !== null) headers.set("accept", accept);
    const beta = request.headers.get("openai-beta");
    if (beta !== null) headers.set("openai-beta", beta);
    if (options.upstreamKey !== undefined) {
      headers.set("authorization", `Bearer ${options.upstreamKey}`);
    }
    return headers;
  };

  /** The key's name ("" without keys), or `undefined` for a client to turn away. */
  const authenticate = (request: Request): string | undefined =>
    auth === undefined ? "" : auth(request.headers.get("authorization"));

  const unauthorized = () =>
    apiError(
      401,
      "Missing or unknown gateway key: send Authorization: Bearer <your gateway key>.",
      "invalid_request_error",
      "invalid_api_key",
      { "WWW-Authenticate": 'Bearer realm="llm-gateway"' },
    );

  const notAllowed = (allow: string) =>
    apiError(
      405,
      `Method not allowed here: use ${allow}.`,
      "invalid_request_error",
      "method_not_allowed",
      { Allow: allow },
    );

  /** The failure of a fetch or body read: the client left, the deadline passed, or the network. */
  const transportFailure = (
    request: Request,
    deadline: Deadline,
    error: unknown,
  ): { type: "aborted" | "timeout" | "network"; response: Response } => {
    if (request.signal.aborted && !deadline.fired) {
      return {
        type: "aborted",
        response: apiError(499, "The client closed the request.", "client_closed", "aborted"),
      };
    }
    if (deadline.fired) {
      report(
        "timeout",
        `[gateway] upstream ${upstream} timed out (after ${timeoutMs} ms; ` +
          `reported once, llm_errors_total counts each)`,
      );
      return {
        type: "timeout",
        response: apiError(
          504,
          `The upstream API did not answer within ${timeoutMs} ms.`,
          "upstream_error",
          "upstream_timeout",
        ),
      };
    }
    const name = error instanceof Error ? error.name : typeof error;
    report(
      `network ${name}`,
      `[gateway] upstream ${upstream} unreachable: ${name} ` +
        `(reported once per error type; llm_errors_total counts each)`,
    );
    return {
      type: "network",
      response: apiError(
        502,
        `The upstream API is unreachable (${name}).`,
        "upstream_error",
        "upstream_unreachable",
      ),
    };
  };

  const forward = async (request: Request, kind: "chat" | "embeddings"): Promise<Response> => {
    const started = performance.now();
    if (request.method !== "POST") return notAllowed("POST");
    const client = authenticate(request);
    if (client === undefined) {
      await request.body?.cancel().catch(() => {});
      count(kind, 401, "");
      return unauthorized();
    }
    const body = await readBody(request, maxBodyBytes);
    if (body instanceof Response) {
      count(kind, 413, client);
      return body;
    }
    let json: Json | undefined;
    try {
      json = asObject(JSON.parse(decoder.decode(body)));
    } catch {
      json = undefined; // forwarded as it is: the upstream says what is wrong with it
    }
    const stream = kind === "chat" && json?.stream === true;
    const endpoint = kind === "embeddings" ? "embeddings" : stream ? "chat_stream" : "chat";
    let sent: Uint8Array<ArrayBuffer> = body;
    let clientWantsUsage = true;
    if (stream && json !== undefined) {
      const streamOptions = asObject(json.stream_options);
      clientWantsUsage = streamOptions?.include_usage === true;
      if (!clientWantsUsage) {
        sent = encoder.encode(JSON.stringify({
          ...json,
          stream_options: { ...streamOptions, include_usage: true },
        }));
      }
    }
    const asked = typeof json?.model === "string" && json.model !== "" ? json.model : "unknown";
    const call = new GatewayCall(m, g, endpoint, "", client, started);
    call.answeredBy(asked);

    const controller = new AbortController();
    const onClientGone = () => controller.abort();
    request.signal.addEventListener("abort", onClientGone, { once: true });
    const deadline = new Deadline(timeoutMs, controller);
    const path = kind === "chat" ? "/chat/completions" : "/embeddings";
    let response: Response;
    deadline.start();
    try {
      response = await doFetch(upstream + path, {
        method: "POST",
        headers: upstreamHeaders(request, true),
        body: sent,
        signal: controller.signal,
      });
    } catch (error) {
      deadline.stop();
      request.signal.removeEventListener("abort", onClientGone);
      const failure = transportFailure(request, deadline, error);
      call.failed(failure.type);
      count(endpoint, failure.response.status, client);
      return failure.response;
    }

    if (!stream || !response.ok || response.body === null) {
      // Read it whole (under the deadline), record, and answer with it unchanged.
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = new Uint8Array(await response.arrayBuffer());
      } catch (error) {
        const failure = transportFailure(request, deadline, error);
        call.failed(failure.type);
        count(endpoint, failure.response.status, client);
        return failure.response;
      } finally {
        deadline.stop();
        request.signal.removeEventListener("abort", onClientGone);
      }
      if (!response.ok) {
        call.failed(statusErrorType(response.status));
      } else {
        recordWhole(call, kind, bytes);
      }
      count(endpoint, response.status, client);
      return new Response(bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: passHeaders(response.headers),
      });
    }
    count(endpoint, response.status, client);
    return relay(request, response, call, deadline, controller, clientWantsUsage, onClientGone);
  };

  /** Records a whole (non-streamed) 2xx answer as `LLMService` would. */
  const recordWhole = (call: GatewayCall, kind: "chat" | "embeddings", bytes: Uint8Array) => {
    let json: Json | undefined;
    try {
      json = asObject(JSON.parse(decoder.decode(bytes)));
    } catch {
      json = undefined;
    }
    if (json === undefined) return call.failed("invalid_response");
    call.answeredBy(json.model);
    if (kind === "embeddings") {
      if (!Array.isArray(json.data)) return call.failed("invalid_response");
      return call.done(embeddingUsage(json.usage), undefined);
    }
    const choice = Array.isArray(json.choices) ? asObject(json.choices[0]) : undefined;
    const content = asObject(choice?.message)?.content;
    if (typeof content !== "string" && content !== null) return call.failed("invalid_response");
    call.done(toUsage(json.usage), content === null ? 0 : encoder.encode(content).byteLength);
  };

  /**
   * Streams `response` to the client, metering each event as it goes
   * (`_sse_relay.ts`). When the client asked for usage the bytes pass
   * unchanged; otherwise the events pass as the upstream's bytes too, but
   * for the usage chunk the gateway added, which is cut out.
   */
  const relay = (
    request: Request,
    response: Response,
    call: GatewayCall,
    deadline: Deadline,
    controller: AbortController,
    raw: boolean,
    onClientGone: () => void,
  ): Response => {
    const reader = response.body!.getReader();
    let out!: ReadableStreamDefaultController<Uint8Array>;
    let wake: (() => void) | undefined;
    let cancelled = false;
    const resume = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        out = c;
      },
      pull: resume,
      cancel() {
        cancelled = true;
        controller.abort();
        resume();
      },
    }, { highWaterMark: 16 });
    /** Enqueues `bytes`; a promise to wait for when the client is behind (else `undefined`). */
    const send = (bytes: Uint8Array): Promise<void> | undefined => {
      if (cancelled) return undefined;
      out.enqueue(bytes);
      if ((out.desiredSize ?? 1) > 0) return undefined;
      return new Promise<void>((r) => wake = r);
    };

    let text = "";
    let usage: TokenUsage | undefined;
    let invalid = false;
    const contentChunks = new ContentChunks();
    /** Meters one event's data; `false` for the usage chunk the gateway added. */
    const meter = (data: string): boolean => {
      if (data === "[DONE]") return true;
      // Nearly every token: a plain content chunk, read without JSON.parse.
      const plain = contentChunks.read(data);
      if (plain !== undefined) {
        if (call.firstChunkAt === undefined) call.answeredBy(contentChunks.model);
        if (plain !== "") {
          text += plain;
          call.firstChunk();
        }
        return true;
      }
      if (data.trim() === "[DONE]") return true;
      let json: Json | undefined;
      try {
        json = asObject(JSON.parse(data));
      } catch {
        json = undefined;
      }
      if (json === undefined || json.error !== undefined) {
        invalid = true;
        return true;
      }
      if (call.firstChunkAt === undefined) call.answeredBy(json.model);
      const u = toUsage(json.usage);
      if (u !== undefined) usage = u;
      const choices = json.choices;
      if (!Array.isArray(choices)) return true;
      if (choices.length === 0) return raw || u === undefined;
      const delta = asObject(asObject(choices[0])?.delta);
      const content = delta?.content;
      if (typeof content === "string" && content !== "") {
        text += content;
        call.firstChunk();
      } else if (delta !== undefined && (delta.tool_calls !== undefined || delta.refusal)) {
        call.firstChunk();
      }
      return true;
    };
    const events = new SSERelay(meter);

    // One write to the client per upstream chunk: in raw mode the chunk as
    // it came, else its kept events' bytes. While a send waits for the
    // client, the deadline is held (a slow reader is not a slow upstream).
    const pump = async () => {
      try {
        for (;;) {
          deadline.touch();
          const next = await reader.read();
          if (next.done) break;
          let bytes: Uint8Array | undefined = next.value;
          if (raw) events.push(bytes);
          else bytes = events.push(bytes);
          if (bytes !== undefined && !cancelled) {
            deadline.pause();
            const wait = send(bytes);
            if (wait !== undefined) await wait;
          }
        }
        const tail = events.end();
        if (!raw && tail !== undefined) await send(tail);
        if (invalid) call.failed("invalid_response");
        else call.done(usage, encoder.encode(text).byteLength);
      } catch (error) {
        if (cancelled) {
          call.failed("aborted");
        } else {
          const failure = transportFailure(request, deadline, error);
          call.failed(failure.type);
          if (failure.type !== "aborted") {
            const { error: e } = await failure.response.json();
            await send(errorEvent(e.message, e.code));
          }
        }
      } finally {
        deadline.stop();
        request.signal.removeEventListener("abort", onClientGone);
        reader.cancel().catch(() => {});
        if (!cancelled) {
          try {
            out.close();
          } catch {
            // already closed or errored
          }
        }
      }
    };
    void pump();
    const headers = passHeaders(response.headers);
    return new Response(body, { status: response.status, headers });
  };

  const models = async (request: Request): Promise<Response> => {
    if (request.method !== "GET") return notAllowed("GET");
    const client = authenticate(request);
    if (client === undefined) {
      count("models", 401, "");
      return unauthorized();
    }
    const controller = new AbortController();
    const deadline = new Deadline(timeoutMs, controller);
    deadline.start();
    try {
      const response = await doFetch(upstream + "/models", {
        headers: upstreamHeaders(request, false),
        signal: controller.signal,
      });
      const bytes = new Uint8Array(await response.arrayBuffer());
      count("models", response.status, client);
      return new Response(bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: passHeaders(response.headers),
      });
    } catch (error) {
      const failure = transportFailure(request, deadline, error);
      count("models", failure.response.status, client);
      return failure.response;
    } finally {
      deadline.stop();
    }
  };

  return {
    "/v1/chat/completions": (request) => forward(request, "chat"),
    "/v1/embeddings": (request) => forward(request, "embeddings"),
    "/v1/models": models,
  };
}
