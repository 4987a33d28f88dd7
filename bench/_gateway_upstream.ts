/**
 * A fake OpenAI-compatible upstream for the LLM gateway's tests and bench:
 * a web-standard fetch handler (so it runs on `Deno.serve` and `Bun.serve`
 * alike) that answers deterministically, so that token totals are known in
 * advance, and records what it was sent and when a client went away.
 *
 * Behaviour is steered by the request's `model`:
 *
 * - `rate-limited`: 429 with an OpenAI error body, `Retry-After: 7` and
 *   `x-ratelimit-remaining-requests: 0`;
 * - `broken`: 500 with an OpenAI error body;
 * - `slow`: answers after `slowMs` (or never, if the client gives up first);
 * - `endless`: a stream of one chunk every 10 ms until the client goes away;
 * - `paced`: like any other model, but 1 ms between streamed tokens (a
 *   fast model's pace, for the throughput bench);
 * - anything else: `max_tokens` (default 5) completion tokens `"w0 "`,
 *   `"w1 "`, ..., and as many prompt tokens as the messages have words. The
 *   response names the model `<model>-2026-01-01`.
 *
 * @module
 */

/** What the fake saw. */
export interface UpstreamLog {
  /** `Authorization` headers, in order of arrival. */
  authorizations: (string | null)[];
  /** Parsed JSON bodies of the POSTs, in order of arrival. */
  bodies: Record<string, unknown>[];
  /** Streams (of any model) cut short by the client, and requests it abandoned while waiting. */
  aborted: number;
}

/** The fake upstream: its handler and what it saw. */
export interface FakeUpstream {
  /** The fetch handler to serve. */
  handler: (request: Request) => Promise<Response>;
  /** What it saw so far. */
  log: UpstreamLog;
}

const encoder = new TextEncoder();

function words(text: unknown): number {
  return typeof text === "string" ? text.split(/\s+/).filter((w) => w !== "").length : 0;
}

function promptTokens(body: Record<string, unknown>): number {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let n = 0;
  for (const m of messages) n += words((m as { content?: unknown })?.content);
  return n;
}

function waitAborted(signal: AbortSignal, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Creates the fake; it requires `Authorization: Bearer <apiKey>` (401
 * otherwise). `slowMs` is how long `slow` waits (default 60,000).
 *
 * @example
 * ```ts
 * import { createFakeUpstream } from "./_gateway_upstream.ts";
 * const { handler } = createFakeUpstream("sk-upstream-test");
 * const res = await handler(new Request("http://x/v1/models", {
 *   headers: { authorization: "Bearer sk-upstream-test" },
 * }));
 * ```
 */
export function createFakeUpstream(apiKey: string, slowMs = 60_000): FakeUpstream {
  const log: UpstreamLog = { authorizations: [], bodies: [], aborted: 0 };
  const error = (status: number, message: string, type: string, headers = {}) =>
    Response.json({ error: { message, type, param: null, code: null } }, { status, headers });

  const handler = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    log.authorizations.push(request.headers.get("authorization"));
    if (request.headers.get("authorization") !== `Bearer ${apiKey}`) {
      return error(401, "Incorrect API key provided.", "invalid_request_error");
    }
    if (path === "/v1/models" && request.method === "GET") {
      return Response.json({
        object: "list",
        data: [{ id: "fake-model", object: "model", created: 0, owned_by: "fake" }],
      });
    }
    const body = await request.json() as Record<string, unknown>;
    log.bodies.push(body);
    const model = String(body.model);
    if (model === "rate-limited") {
      return error(429, "Rate limit reached for requests.", "requests", {
        "retry-after": "7",
        "x-ratelimit-remaining-requests": "0",
      });
    }
    if (model === "broken") return error(500, "The server had an error.", "server_error");
    if (model === "slow" && await waitAborted(request.signal, slowMs)) {
      log.aborted++;
      return error(499, "client went away", "aborted");
    }
    const answered = `${model}-2026-01-01`;
    if (path === "/v1/embeddings") {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const tokens = inputs.reduce((n: number, i) => n + words(i), 0);
      return Response.json({
        object: "list",
        data: inputs.map((_, index) => ({ object: "embedding", index, embedding: [0.1, 0.2] })),
        model: answered,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    }
    if (path !== "/v1/chat/completions") return error(404, "Not found.", "invalid_request_error");
    const completion = typeof body.max_tokens === "number" ? body.max_tokens : 5;
    const prompt = promptTokens(body);
    const usage = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    };
    const id = "chatcmpl-fake";
    if (body.stream !== true) {
      let text = "";
      for (let i = 0; i < completion; i++) text += `w${i} `;
      return Response.json({
        id,
        object: "chat.completion",
        created: 0,
        model: answered,
        choices: [{
          index: 0,
          message: { role: "assistant", content: text },
          finish_reason: "stop",
        }],
        usage,
      });
    }
    const withUsage = (body.stream_options as { include_usage?: unknown } | undefined)
      ?.include_usage === true;
    const chunk = (delta: object, finish: string | null) =>
      encoder.encode(
        `data: ${
          JSON.stringify({
            id,
            object: "chat.completion.chunk",
            created: 0,
            model: answered,
            choices: [{ index: 0, delta, finish_reason: finish }],
            ...(withUsage ? { usage: null } : {}),
          })
        }\n\n`,
      );
    let i = -1;
    const endless = model === "endless";
    const paced = model === "paced";
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (endless && i >= 0) await new Promise((r) => setTimeout(r, 10));
        if (paced && i >= 0) await new Promise((r) => setTimeout(r, 1));
        if (i < 0) controller.enqueue(chunk({ role: "assistant", content: "" }, null));
        else if (i < completion || endless) controller.enqueue(chunk({ content: `w${i} ` }, null));
        else {
          controller.enqueue(chunk({}, "stop"));
          if (withUsage) {
            const last = { id, object: "chat.completion.chunk", created: 0, model: answered };
            controller.enqueue(
              encoder.encode(`data: ${JSON.stringify({ ...last, choices: [], usage })}\n\n`),
            );
          }
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          controller.close();
        }
        i++;
      },
      cancel() {
        log.aborted++;
      },
    }, { highWaterMark: 0 });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "x-request-id": "req-fake" },
    });
  };
  return { handler, log };
}
