/**
 * Test helpers for the LLM client tests: a real HTTP server on 127.0.0.1
 * (port 0) under whichever runtime runs the test, and a fake
 * OpenAI-compatible chat-completions API on it.
 *
 * @module
 */

/** A fetch handler as both runtimes call it. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A running test server. */
export interface TestServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops the server, cutting in-flight requests. */
  close(): Promise<void>;
}

interface DenoLike {
  serve(
    options: { hostname: string; port: number; onListen(addr: { port: number }): void },
    handler: FetchHandler,
  ): { shutdown(): Promise<void> };
}

interface BunLike {
  serve(options: { hostname: string; port: number; fetch: FetchHandler }): {
    port: number;
    stop(closeActive?: boolean): Promise<void> | void;
  };
}

/** Whether the test runs under Bun. */
export const isBun: boolean = (globalThis as { Bun?: unknown }).Bun !== undefined;

/** Starts `handler` on 127.0.0.1:0 with `Bun.serve` or `Deno.serve`. Close it in `finally`. */
export async function serve(handler: FetchHandler): Promise<TestServer> {
  const g = globalThis as { Bun?: BunLike; Deno?: DenoLike };
  if (g.Bun !== undefined) {
    const server = g.Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
    return {
      url: `http://127.0.0.1:${server.port}`,
      close: async () => {
        await server.stop(true);
      },
    };
  }
  if (g.Deno !== undefined) {
    let listening!: (port: number) => void;
    const port = new Promise<number>((resolve) => listening = resolve);
    const server = g.Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: (addr) => listening(addr.port) },
      handler,
    );
    return { url: `http://127.0.0.1:${await port}`, close: () => server.shutdown() };
  }
  throw new Error("no Deno.serve or Bun.serve in this runtime");
}

/** A URL on which nothing listens: a port that was bound, then released. */
export async function refusedUrl(): Promise<string> {
  const server = await serve(() => new Response("never"));
  await server.close();
  return server.url;
}

/** What the fake API received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Headers;
  body: {
    model?: string;
    messages?: { role: string; content: string }[];
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
    max_tokens?: number;
    temperature?: number;
  };
}

/** A fake chat-completions API. */
export interface FakeLLM {
  /** Base URL to give `LLMService` (`…/v1`). */
  readonly baseUrl: string;
  /** Every request received, in order. */
  readonly received: ReceivedRequest[];
  /** Releases pending delays, then stops the server. */
  close(): Promise<void>;
}

/** Replies to one received request; `closing` aborts when the server closes. */
export type Reply = (
  request: ReceivedRequest,
  closing: AbortSignal,
) => Response | Promise<Response>;

/**
 * Starts a fake API on loopback whose `/v1/chat/completions` answers with
 * `reply`; any other path is a 404.
 */
export async function fakeLLM(reply: Reply): Promise<FakeLLM> {
  const received: ReceivedRequest[] = [];
  const closing = new AbortController();
  const server = await serve(async (request) => {
    const path = new URL(request.url).pathname;
    if (path !== "/v1/chat/completions") return new Response("not found", { status: 404 });
    const r: ReceivedRequest = {
      method: request.method,
      path,
      headers: request.headers,
      body: JSON.parse(await request.text()),
    };
    received.push(r);
    return await reply(r, closing.signal);
  });
  return {
    baseUrl: server.url + "/v1",
    received,
    close: async () => {
      closing.abort();
      await server.close();
    },
  };
}

/** Waits `ms`, or less if `signal` aborts first; never leaves a timer behind. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** A non-streaming chat-completions answer. */
export function completion(
  text: string | null,
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number },
  model = "fake-model-2025-01-01",
): Response {
  return Response.json({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    ...(usage === undefined ? {} : { usage }),
  });
}

/**
 * A streaming answer: one `data:` event per chunk, then (if given) a usage
 * event with empty `choices`, then `data: [DONE]`. The bytes are sent in
 * pieces of `pieceBytes`, so events (and UTF-8 characters) are split across
 * reads.
 */
export function sse(
  chunks: readonly string[],
  usage?: { prompt_tokens: number; completion_tokens: number },
  options: { pieceBytes?: number; done?: boolean; extra?: string[] } = {},
): Response {
  let text = ": keep-alive comment\n\n";
  chunks.forEach((content, i) => {
    const event = {
      id: "chatcmpl-2",
      object: "chat.completion.chunk",
      model: "fake-model-2025-01-01",
      choices: [{
        index: 0,
        delta: i === 0 ? { role: "assistant", content } : { content },
        finish_reason: null,
      }],
    };
    text += `data: ${JSON.stringify(event)}\n\n`;
  });
  for (const raw of options.extra ?? []) text += raw;
  text += `data: ${
    JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })
  }\r\n\r\n`;
  if (usage !== undefined) text += `data: ${JSON.stringify({ choices: [], usage })}\n\n`;
  if (options.done !== false) text += "data: [DONE]\n\n";
  const bytes = new TextEncoder().encode(text);
  const piece = options.pieceBytes ?? 7;
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at += piece));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}
