/**
 * A fake OpenAI / Anthropic API for the SDK instrumentation tests: a real
 * HTTP/1.1 server on 127.0.0.1 (port 0), written on `node:net` so that it
 * can do what an HTTP framework would not: drop a connection before
 * answering, or in the middle of a chunked body. Every answer closes its
 * connection, so each SDK attempt (retries included) is one connection and
 * one entry of `attempts`.
 *
 * Also the loading of the real `openai` and `@anthropic-ai/sdk` packages
 * under either runtime (see `tests/http/_frameworks.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer, type Server, type Socket } from "node:net";
import type * as OpenAIModule from "npm:openai@7.55.0";
import type * as AnthropicModule from "npm:@anthropic-ai/sdk@1.16.0";
import { loadPackage } from "../http/_frameworks.ts";
import type { Registry } from "../../src/core/registry.ts";
import { expected, type Scrape, scrape } from "./_support.ts";

/** The `openai` package's default export, the `OpenAI` class. */
export const OpenAI: typeof OpenAIModule.default =
  ((await loadPackage("openai", "npm:openai@7.55.0")) as typeof OpenAIModule).default;
/** The `@anthropic-ai/sdk` package's default export, the `Anthropic` class. */
export const Anthropic: typeof AnthropicModule.default = ((await loadPackage(
  "@anthropic-ai/sdk",
  "npm:@anthropic-ai/sdk@1.16.0",
)) as typeof AnthropicModule).default;

/** An API key that must never show up in a scrape or an error message. */
export const SECRET_KEY = "sk-test-SECRET-4f1b2c3d9e8a7f60";

/** What the fake API answers to one attempt. */
export type Answer =
  | { kind: "json"; status?: number; body: unknown; headers?: Record<string, string> }
  /** Server-sent events, one `data:` line each (`event:` too when given), `delayMs` apart. */
  | {
    kind: "sse";
    events: readonly (string | { event: string; data: unknown })[];
    delayMs?: number;
    /** Drop the connection after this many events, without ending the body. */
    dropAfter?: number;
    /** With `dropAfter`: drop only once this settles (when the client has read what came). */
    dropWhen?: Promise<unknown>;
  }
  /** Close the connection without answering. */
  | { kind: "drop" }
  /** Never answer (until the client gives up or the server closes). */
  | { kind: "hang" };

/** One request the fake API received. */
export interface Attempt {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** A running fake API. */
export interface FakeAPI {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly attempts: Attempt[];
  /** Queues the answers to the next requests, in order (then: 404). */
  answer(...answers: Answer[]): void;
  /** Forgets the answers not given yet (a test starts from an empty queue). */
  reset(): void;
  /** Waits until `n` requests have been received in all (or fails after `ms`). */
  attempted(n: number, ms?: number): Promise<void>;
  /** Cuts every open connection and stops listening. */
  close(): Promise<void>;
}

/** What {@linkcode failedCall} saw. */
export interface FailedCall {
  /** The requests the API received for the call (retries included). */
  attempts: number;
  /** The registry scraped before the call. */
  before: Scrape;
  /** The registry scraped after the call failed. */
  after: Scrape;
}

/**
 * Makes one call that must be rejected with an error `rejects` accepts,
 * and returns the attempts `api` received for it and the scrapes of
 * `registry` before and after it.
 */
export async function failedCall(
  api: FakeAPI,
  registry: Registry,
  call: () => Promise<unknown>,
  rejects: (error: never) => boolean,
): Promise<FailedCall> {
  const from = api.attempts.length;
  const before = await scrape(registry);
  await assert.rejects(call(), rejects);
  return { attempts: api.attempts.length - from, before, after: await scrape(registry) };
}

/** Starts a fake API on 127.0.0.1. Close it in `finally`. */
export async function fakeAPI(): Promise<FakeAPI> {
  const attempts: Attempt[] = [];
  const queue: Answer[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {}); // a client that gives up resets the connection
    let buffered = Buffer.alloc(0);
    let handled = false;
    socket.on("data", (data: Buffer) => {
      if (handled) return;
      buffered = Buffer.concat([buffered, data]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [requestLine, ...lines] = buffered.subarray(0, end).toString("latin1").split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (buffered.length < end + 4 + length) return;
      handled = true;
      const [method, path] = requestLine.split(" ");
      const text = buffered.subarray(end + 4, end + 4 + length).toString("utf8");
      attempts.push({ method, path, headers, body: text === "" ? {} : JSON.parse(text) });
      respond(socket, queue.shift() ?? { kind: "json", status: 404, body: { error: "none" } });
    });
  });

  function later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  function respond(socket: Socket, answer: Answer): void {
    switch (answer.kind) {
      case "drop":
        socket.destroy();
        return;
      case "hang":
        return;
      case "json": {
        const body = Buffer.from(JSON.stringify(answer.body));
        const head = [
          `HTTP/1.1 ${answer.status ?? 200} X`,
          "content-type: application/json",
          `content-length: ${body.length}`,
          "connection: close",
          ...Object.entries(answer.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
        ];
        socket.end(Buffer.concat([Buffer.from(head.join("\r\n") + "\r\n\r\n"), body]));
        return;
      }
      case "sse": {
        socket.write(
          "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n" +
            "transfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        );
        const chunk = (text: string) => {
          const bytes = Buffer.from(text);
          socket.write(`${bytes.length.toString(16)}\r\n`);
          socket.write(bytes);
          socket.write("\r\n");
        };
        let i = 0;
        const next = () => {
          if (socket.destroyed) return;
          if (i === answer.dropAfter) {
            void (answer.dropWhen ?? Promise.resolve()).then(() => socket.destroy());
            return;
          }
          if (i === answer.events.length) {
            socket.end("0\r\n\r\n");
            return;
          }
          const e = answer.events[i++];
          chunk(
            typeof e === "string"
              ? `data: ${e}\n\n`
              : `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`,
          );
          if (answer.delayMs) later(answer.delayMs, next);
          else next();
        };
        next();
        return;
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    attempts,
    answer: (...answers) => void queue.push(...answers),
    reset: () => void queue.splice(0),
    attempted: async (n, ms = 10_000) => {
      const end = Date.now() + ms;
      while (attempts.length < n) {
        if (Date.now() > end) throw new Error(`fake API: ${attempts.length} requests, not ${n}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A chat-completions chunk of `content` for choice 0 (or the usage-only last chunk). */
export function chatChunk(
  content: string | null,
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number },
  finish: string | null = null,
): string {
  return JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "gpt-4o-2024-08-06",
    choices: content === null
      ? []
      : [{ index: 0, delta: { role: "assistant", content }, finish_reason: finish }],
    ...(usage === undefined ? {} : { usage }),
  });
}

/** A whole chat completion answering `content`. */
export function chatCompletion(
  content: string,
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number },
): Answer {
  return {
    kind: "json",
    body: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "gpt-4o-2024-08-06",
      choices: [{
        index: 0,
        message: { role: "assistant", content, refusal: null },
        finish_reason: "stop",
        logprobs: null,
      }],
      usage,
    },
  };
}

/** An API error answer in the OpenAI / Anthropic error shape. */
export function apiError(status: number, headers: Record<string, string> = {}): Answer {
  return {
    kind: "json",
    status,
    headers,
    body: { type: "error", error: { type: "api_error", message: `fake ${status}` } },
  };
}

/** An Anthropic message with text blocks `texts`. */
export function anthropicMessage(
  texts: readonly string[],
  usage: { input_tokens: number; output_tokens: number },
): Answer {
  return {
    kind: "json",
    body: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5-20250929",
      content: texts.map((text) => ({ type: "text", text })),
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { ...usage, cache_creation_input_tokens: 0, cache_read_input_tokens: 4 },
    },
  };
}

/** The events of a streamed Anthropic message of text deltas `texts`. */
export function anthropicEvents(
  texts: readonly string[],
  usage: { input_tokens: number; output_tokens: number },
): { event: string; data: unknown }[] {
  const ev = (event: string, data: Record<string, unknown>) => ({
    event,
    data: { type: event, ...data },
  });
  return [
    ev("message_start", {
      message: {
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: "claude-sonnet-4-5-20250929",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
      },
    }),
    ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    ...texts.map((text) =>
      ev("content_block_delta", { index: 0, delta: { type: "text_delta", text } })
    ),
    ev("content_block_stop", { index: 0 }),
    ev("message_delta", {
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    }),
    ev("message_stop", {}),
  ];
}

/** What one call is expected to have recorded (see {@linkcode recorded}). */
export interface Recorded {
  model: string;
  endpoint: string;
  /** Prompt and completion tokens (a prompt alone for embeddings); absent: none. */
  tokens?: [prompt: number, completion?: number];
  /** Completion bytes observed; absent: no observation. */
  bytes?: number;
  /** `error_type` of a failed call. */
  error?: string;
}

/**
 * The changes of `changes()` (tests/tracking/_support.ts) that one call
 * makes: its request and duration, then its tokens and size, or its error
 * (and rate limit, for `rate_limited`).
 */
export function recorded(call: Recorded): Map<string, number> {
  const { model, endpoint, tokens, bytes, error } = call;
  const entries: [string, Record<string, string>, number][] = [
    ["llm_requests_total", { model, endpoint }, 1],
    ["llm_request_duration_seconds_count", { model, endpoint }, 1],
  ];
  if (tokens !== undefined) {
    entries.push(["llm_tokens_total", { model, type: "prompt" }, tokens[0]]);
    if (tokens[1] !== undefined) {
      entries.push(["llm_tokens_total", { model, type: "completion" }, tokens[1]]);
    }
  }
  if (bytes !== undefined) {
    entries.push(["llm_completion_size_bytes_count", { model }, 1]);
    entries.push(["llm_completion_size_bytes_sum", { model }, bytes]);
  }
  if (error !== undefined) entries.push(["llm_errors_total", { model, error_type: error }, 1]);
  if (error === "rate_limited") entries.push(["llm_rate_limits_total", { model }, 1]);
  return expected(entries);
}
