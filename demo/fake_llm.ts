/**
 * A fake OpenAI-compatible chat-completions API on loopback, for the demo
 * traffic generator and the end-to-end test: the exporter's `/api/llm/chat`
 * route talks to it exactly as it would to a real provider, so every `llm_*`
 * metric fills without a network or an API key.
 *
 * What it answers is steered from the prompt, so that a caller knows in
 * advance how each call ends and can count it: a directive
 * `[fake:status=429,ms=300,words=80]` anywhere in the last message asks for
 * that HTTP status (429 rate limit, 500 server error, or any 4xx/5xx), that
 * many milliseconds before answering, and that many words of completion.
 * Without a directive it answers 200 after a short delay.
 *
 * The protocol follows OpenAI's: a JSON `chat.completion` with `usage`; with
 * `stream: true`, server-sent `chat.completion.chunk` events, a last event
 * with empty `choices` and the `usage` when `stream_options.include_usage`
 * is set, then `data: [DONE]`; errors as `{ "error": { ... } }` with
 * `Retry-After` on a 429.
 *
 * Deno only (`Deno.serve`): it is a development tool, not part of the library.
 *
 * @module
 */

/** The API key the fake expects (and `deno task demo --start` gives the server). Not a secret. */
export const FAKE_LLM_API_KEY = "sk-demo-fake-key-not-a-secret";

/** One call the fake answered, as it answered it. */
export interface FakeLLMCall {
  /** `model` of the request body. */
  model: string;
  /** Whether it was a streaming call. */
  stream: boolean;
  /** HTTP status it answered with. */
  status: number;
  /** `usage.prompt_tokens` it reported (0 for an error). */
  promptTokens: number;
  /** `usage.completion_tokens` it reported (0 for an error). */
  completionTokens: number;
  /** UTF-8 bytes of the completion text it sent (0 for an error). */
  completionBytes: number;
}

/** A running fake API. */
export interface FakeLLMServer {
  /** API root to give the client (`http://127.0.0.1:PORT/v1`). */
  readonly baseUrl: string;
  /** The key it requires as `Authorization: Bearer <key>`. */
  readonly apiKey: string;
  /** Every chat-completions call answered so far, in order of arrival. */
  readonly calls: readonly FakeLLMCall[];
  /** Cuts pending delays short and stops the server. */
  close(): Promise<void>;
}

/** Options of {@linkcode startFakeLLM}. */
export interface FakeLLMOptions {
  /** Key to require (default {@linkcode FAKE_LLM_API_KEY}); `""` accepts any request. */
  apiKey?: string;
  /** Delay when the prompt has no `ms` directive (default 40 ms). */
  defaultMs?: number;
}

/** What a `[fake:...]` directive asks for. */
export interface FakeDirective {
  /** HTTP status to answer with (default 200). */
  status: number;
  /** Milliseconds before answering (a stream spreads part of it between chunks). */
  ms: number | undefined;
  /** Words of completion. */
  words: number | undefined;
}

/**
 * Reads the `[fake:key=value,...]` directive of a prompt. Unknown keys and
 * values that are not non-negative integers are ignored.
 *
 * @example
 * ```ts
 * import { parseDirective } from "./fake_llm.ts";
 * console.log(parseDirective("Hi [fake:status=429]").status); // 429
 * ```
 */
export function parseDirective(prompt: string): FakeDirective {
  const out: FakeDirective = { status: 200, ms: undefined, words: undefined };
  const m = /\[fake:([^\]]*)\]/.exec(prompt);
  if (m === null) return out;
  for (const pair of m[1].split(",")) {
    const [key, raw] = pair.split("=").map((s) => s.trim());
    if (raw === undefined || !/^\d{1,7}$/.test(raw)) continue;
    const n = Number(raw);
    if (key === "status" && n >= 100 && n <= 599) out.status = n;
    else if (key === "ms") out.ms = n;
    else if (key === "words") out.words = n;
  }
  return out;
}

/**
 * Builds the `[fake:...]` directive for a prompt.
 *
 * @example
 * ```ts
 * import { directive } from "./fake_llm.ts";
 * console.log(directive({ status: 500, ms: 20 })); // "[fake:status=500,ms=20]"
 * ```
 */
export function directive(d: Partial<FakeDirective>): string {
  const parts: string[] = [];
  if (d.status !== undefined && d.status !== 200) parts.push(`status=${d.status}`);
  if (d.ms !== undefined) parts.push(`ms=${Math.round(d.ms)}`);
  if (d.words !== undefined) parts.push(`words=${Math.round(d.words)}`);
  return `[fake:${parts.join(",")}]`;
}

const VOCABULARY = (
  "the threat model shows spoofing tampering repudiation disclosure denial elevation " +
  "risk control mitigation asset boundary attacker session token audit log access " +
  "policy review finding severity high medium low patch exposure endpoint service " +
  "data flow trust zone credential rotation vendor report summary recommend naïve " +
  "café 🔐"
).split(" ");

/** A deterministic completion of `words` words, varied by `seed`. */
function completionText(words: number, seed: number): string {
  let x = (seed >>> 0) || 1;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.push(VOCABULARY[(x >>> 0) % VOCABULARY.length]);
  }
  return out.join(" ") + (words > 0 ? "." : "");
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** About four characters a token, as OpenAI's rule of thumb says; at least 1. */
function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function errorBody(status: number): Record<string, unknown> {
  if (status === 429) {
    return {
      error: {
        message: "Rate limit reached for requests (fake). Please try again in 1s.",
        type: "requests",
        code: "rate_limit_exceeded",
      },
    };
  }
  if (status >= 500) {
    return {
      error: {
        message: "The server had an error while processing your request (fake).",
        type: "server_error",
      },
    };
  }
  return { error: { message: `fake error ${status}`, type: "invalid_request_error" } };
}

interface ChatBody {
  model?: unknown;
  messages?: { role?: unknown; content?: unknown }[];
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
}

/**
 * Starts the fake on 127.0.0.1, on a free port. Close it when done.
 *
 * @example
 * ```ts ignore
 * import { startFakeLLM } from "./fake_llm.ts";
 * const fake = await startFakeLLM();
 * try {
 *   console.log(fake.baseUrl); // http://127.0.0.1:PORT/v1
 * } finally {
 *   await fake.close();
 * }
 * ```
 */
export function startFakeLLM(options: FakeLLMOptions = {}): Promise<FakeLLMServer> {
  const apiKey = options.apiKey ?? FAKE_LLM_API_KEY;
  const defaultMs = options.defaultMs ?? 40;
  const calls: FakeLLMCall[] = [];
  const closing = new AbortController();
  const encoder = new TextEncoder();

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0 || closing.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      closing.signal.addEventListener("abort", done);
    });

  const handler = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (!path.endsWith("/chat/completions")) {
      return Response.json({ error: { message: `no route ${path}` } }, { status: 404 });
    }
    if (request.method !== "POST") return new Response(null, { status: 405 });
    if (apiKey !== "" && request.headers.get("authorization") !== `Bearer ${apiKey}`) {
      return Response.json({ error: { message: "Incorrect API key provided (fake)." } }, {
        status: 401,
      });
    }
    let body: ChatBody;
    try {
      body = await request.json();
    } catch {
      return Response.json({ error: { message: "body is not JSON" } }, { status: 400 });
    }
    const model = typeof body.model === "string" ? body.model : "";
    const messages = Array.isArray(body.messages) ? body.messages : [];
    const prompt = messages.map((m) => typeof m?.content === "string" ? m.content : "").join(
      "\n",
    );
    const stream = body.stream === true;
    const d = parseDirective(messages.at(-1)?.content as string ?? "");
    const ms = d.ms ?? defaultMs;

    if (d.status !== 200) {
      await wait(ms);
      calls.push({
        model,
        stream,
        status: d.status,
        promptTokens: 0,
        completionTokens: 0,
        completionBytes: 0,
      });
      const headers: Record<string, string> = d.status === 429 ? { "retry-after": "1" } : {};
      return Response.json(errorBody(d.status), { status: d.status, headers });
    }

    const text = completionText(d.words ?? 40, hash(prompt));
    const usage = {
      prompt_tokens: tokens(prompt) + 4 * messages.length,
      completion_tokens: tokens(text),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const answeredModel = model === "" ? "fake" : `${model}-2024-07-18`;
    const call: FakeLLMCall = {
      model,
      stream,
      status: 200,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      completionBytes: encoder.encode(text).length,
    };

    if (!stream) {
      await wait(ms);
      calls.push(call);
      return Response.json({
        id: `chatcmpl-fake-${calls.length}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: answeredModel,
        choices: [{
          index: 0,
          message: { role: "assistant", content: text },
          finish_reason: "stop",
        }],
        usage,
      });
    }

    // Time to first byte, then the rest spread between chunks, like a real stream.
    await wait(ms * 0.3);
    const includeUsage = body.stream_options?.include_usage === true;
    const pieces = text.match(/\S+\s*/g) ?? [""];
    const perChunk = 6;
    const events: string[] = [];
    for (let i = 0; i < pieces.length; i += perChunk) {
      const content = pieces.slice(i, i + perChunk).join("");
      events.push(JSON.stringify({
        id: "chatcmpl-fake-stream",
        object: "chat.completion.chunk",
        created: Math.floor(Date.now() / 1000),
        model: answeredModel,
        choices: [{
          index: 0,
          delta: i === 0 ? { role: "assistant", content } : { content },
          finish_reason: null,
        }],
      }));
    }
    events.push(JSON.stringify({
      id: "chatcmpl-fake-stream",
      object: "chat.completion.chunk",
      model: answeredModel,
      choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
    }));
    if (includeUsage) {
      events.push(JSON.stringify({
        id: "chatcmpl-fake-stream",
        object: "chat.completion.chunk",
        model: answeredModel,
        choices: [],
        usage,
      }));
    }
    events.push("[DONE]");
    const gap = (ms * 0.7) / events.length;
    calls.push(includeUsage ? call : { ...call, promptTokens: 0, completionTokens: 0 });
    let next = 0;
    const stream$ = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (next >= events.length) return controller.close();
        if (next > 0) await wait(gap);
        controller.enqueue(encoder.encode(`data: ${events[next++]}\n\n`));
      },
    });
    return new Response(stream$, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  };

  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        onListen: ({ port }) => {
          resolve({
            baseUrl: `http://127.0.0.1:${port}/v1`,
            apiKey,
            calls,
            close: async () => {
              closing.abort();
              await server.shutdown();
            },
          });
        },
        onError: (error) => {
          console.error("[fake-llm]", error);
          return new Response("fake LLM failed", { status: 500 });
        },
      }, handler);
    } catch (error) {
      reject(error);
    }
  });
}
