/**
 * The LLM client against a real chat-completions server on loopback: every
 * outcome. The first three groups run it as the tracking layer's
 * `LLMService` (the client with the metric recorder as its observer), with
 * the exact metric changes each outcome must cause and nothing else; the
 * last one runs a bare `LLMClient` and checks what its observer is told.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "../../src/core/registry.ts";
import {
  LLM_ERROR_TYPES,
  type LLMCallInfo,
  LLMClient,
  type LLMClientOptions,
  LLMError,
  type LLMObserver,
  type LLMResponse,
} from "../../src/llm/mod.ts";
import { createTracking, LLMService, type Tracking } from "../../src/tracking/mod.ts";
import { changes, expected, scrape, valueOf } from "../tracking/_support.ts";
import { completion, delay, fakeLLM, isBun, refusedUrl, sse } from "./_support.ts";

const KEY = "sk-test-SECRET-7f3a9c-DO-NOT-LEAK";
const MODEL = "gpt-test";

function fresh(): Tracking {
  return createTracking(new Registry());
}

/** The metric changes of one failed call of kind `type`. */
function failure(endpoint: string, type: string, model = MODEL) {
  const entries: [string, Record<string, string>, number][] = [
    ["llm_requests_total", { model, endpoint }, 1],
    ["llm_request_duration_seconds_count", { model, endpoint }, 1],
    ["llm_errors_total", { model, error_type: type }, 1],
  ];
  if (type === "rate_limited") {
    entries.push(["llm_rate_limits_total", { model }, 1]);
  }
  return expected(entries);
}

async function rejection(promise: Promise<unknown>): Promise<LLMError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LLMError, `expected an LLMError, got ${error}`);
    return error;
  }
  assert.fail("the call did not fail");
}

async function drain(stream: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

describe("LLMService.generateResponse", () => {
  it("returns the completion and records requests, duration, tokens and UTF-8 size", async () => {
    const api = await fakeLLM(() =>
      completion("Héllo, wörld ✓", {
        prompt_tokens: 11,
        completion_tokens: 7,
        total_tokens: 18,
      })
    );
    try {
      const t = fresh();
      const llm = new t.LLMService({
        baseUrl: api.baseUrl,
        apiKey: KEY,
        model: MODEL,
      });
      const before = await scrape(t.registry);
      const response = await llm.generateResponse({
        system: "Be brief.",
        prompt: "Hi",
      });
      const after = await scrape(t.registry);

      assert.deepEqual(
        response,
        {
          text: "Héllo, wörld ✓",
          model: "fake-model-2025-01-01",
          usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 },
          finishReason: "stop",
        } satisfies LLMResponse,
      );
      // "Héllo, wörld ✓": 11 ASCII bytes + é, ö (2 bytes each) + ✓ (3 bytes) = 18.
      assert.equal(new TextEncoder().encode(response.text).length, 18);
      assert.deepEqual(
        changes(before, after),
        expected([
          ["llm_requests_total", { model: MODEL, endpoint: "chat" }, 1],
          ["llm_request_duration_seconds_count", {
            model: MODEL,
            endpoint: "chat",
          }, 1],
          ["llm_tokens_total", { model: MODEL, type: "prompt" }, 11],
          ["llm_tokens_total", { model: MODEL, type: "completion" }, 7],
          ["llm_completion_size_bytes_count", { model: MODEL }, 1],
          ["llm_completion_size_bytes_sum", { model: MODEL }, 18],
        ]),
      );

      assert.equal(api.received.length, 1);
      const [r] = api.received;
      assert.equal(r.method, "POST");
      assert.equal(r.headers.get("authorization"), `Bearer ${KEY}`);
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(r.body, {
        model: MODEL,
        messages: [{ role: "system", content: "Be brief." }, {
          role: "user",
          content: "Hi",
        }],
      });
    } finally {
      await api.close();
    }
  });

  it("sends max_tokens, temperature and the model of the call, which is also the label", async () => {
    const api = await fakeLLM(() => completion("ok", { prompt_tokens: 1, completion_tokens: 1 }));
    try {
      const t = fresh();
      const llm = new t.LLMService({
        baseUrl: api.baseUrl + "/",
        model: MODEL,
      });
      const before = await scrape(t.registry);
      await llm.generateResponse({
        messages: [{ role: "user", content: "a" }, {
          role: "assistant",
          content: "b",
        }],
        model: "other-model",
        maxTokens: 20,
        temperature: 0.5,
      });
      const after = await scrape(t.registry);
      assert.deepEqual(api.received[0].body, {
        model: "other-model",
        messages: [{ role: "user", content: "a" }, {
          role: "assistant",
          content: "b",
        }],
        max_tokens: 20,
        temperature: 0.5,
      });
      // No apiKey: no Authorization header at all.
      assert.equal(api.received[0].headers.get("authorization"), null);
      assert.equal(
        valueOf(after, "llm_requests_total", {
          model: "other-model",
          endpoint: "chat",
        }),
        1,
      );
      assert.equal(
        valueOf(after, "llm_requests_total", {
          model: MODEL,
          endpoint: "chat",
        }),
        0,
      );
      assert.equal(changes(before, after).size, 6);
    } finally {
      await api.close();
    }
  });

  it("sends a long model name whole, and truncates only its label to 128 characters", async () => {
    const api = await fakeLLM(() => completion("ok"));
    try {
      const t = fresh();
      const long = "m".repeat(200);
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: long });
      await llm.generateResponse({ prompt: "Hi" });
      assert.equal(api.received[0].body.model, long);
      const s = await scrape(t.registry);
      assert.equal(
        valueOf(s, "llm_requests_total", {
          model: "m".repeat(128),
          endpoint: "chat",
        }),
        1,
      );
    } finally {
      await api.close();
    }
  });

  it("records no tokens when the API reports no usage, and a null content as empty text", async () => {
    const api = await fakeLLM(() => completion(null));
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const before = await scrape(t.registry);
      const response = await llm.generateResponse({ prompt: "Hi" });
      const after = await scrape(t.registry);
      assert.equal(response.text, "");
      assert.equal(response.usage, undefined);
      assert.deepEqual(
        changes(before, after),
        expected([
          ["llm_requests_total", { model: MODEL, endpoint: "chat" }, 1],
          ["llm_request_duration_seconds_count", {
            model: MODEL,
            endpoint: "chat",
          }, 1],
          ["llm_completion_size_bytes_count", { model: MODEL }, 1],
        ]),
      );
    } finally {
      await api.close();
    }
  });

  it("HTTP 429: rate_limited, counted in llm_rate_limits_total too, with Retry-After", async () => {
    const api = await fakeLLM(() =>
      Response.json({ error: { message: "Rate limit reached" } }, {
        status: 429,
        headers: { "retry-after": "7" },
      })
    );
    try {
      const t = fresh();
      const llm = new t.LLMService({
        baseUrl: api.baseUrl,
        apiKey: KEY,
        model: MODEL,
      });
      const before = await scrape(t.registry);
      const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
      const after = await scrape(t.registry);
      assert.equal(error.type, "rate_limited");
      assert.equal(error.status, 429);
      assert.equal(error.retryAfterSeconds, 7);
      assert.match(error.message, /HTTP 429/);
      assert.match(error.message, /Rate limit reached/);
      assert.match(error.message, /gpt-test/);
      assert.deepEqual(changes(before, after), failure("chat", "rate_limited"));
    } finally {
      await api.close();
    }
  });

  it("HTTP 500: http_5xx", async () => {
    const api = await fakeLLM(() => new Response("upstream exploded", { status: 500 }));
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const before = await scrape(t.registry);
      const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
      const after = await scrape(t.registry);
      assert.equal(error.type, "http_5xx");
      assert.equal(error.status, 500);
      assert.equal(error.retryAfterSeconds, undefined);
      assert.match(error.message, /HTTP 500: upstream exploded/);
      assert.deepEqual(changes(before, after), failure("chat", "http_5xx"));
    } finally {
      await api.close();
    }
  });

  it("HTTP 400: http_4xx, not a rate limit", async () => {
    const api = await fakeLLM(() => Response.json({ error: "bad model" }, { status: 400 }));
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const before = await scrape(t.registry);
      const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
      const after = await scrape(t.registry);
      assert.equal(error.type, "http_4xx");
      assert.deepEqual(changes(before, after), failure("chat", "http_4xx"));
    } finally {
      await api.close();
    }
  });

  it("a server slower than timeoutMs: timeout", async () => {
    const api = await fakeLLM(async (_r, closing) => {
      await delay(10_000, closing);
      return completion("too late");
    });
    try {
      const t = fresh();
      const llm = new t.LLMService({
        baseUrl: api.baseUrl,
        model: MODEL,
        timeoutMs: 100,
      });
      const before = await scrape(t.registry);
      const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
      const after = await scrape(t.registry);
      assert.equal(error.type, "timeout");
      assert.match(error.message, /within 100 ms/);
      assert.deepEqual(changes(before, after), failure("chat", "timeout"));
    } finally {
      await api.close();
    }
  });

  it("the caller's AbortSignal: aborted", async () => {
    const api = await fakeLLM(async (_r, closing) => {
      await delay(10_000, closing);
      return completion("too late");
    });
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const controller = new AbortController();
      const before = await scrape(t.registry);
      const pending = llm.generateResponse({
        prompt: "Hi",
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 50);
      const error = await rejection(pending);
      const after = await scrape(t.registry);
      assert.equal(error.type, "aborted");
      assert.deepEqual(changes(before, after), failure("chat", "aborted"));

      // Already aborted before the call: no request leaves.
      const sent = api.received.length;
      const early = await rejection(
        llm.generateResponse({ prompt: "Hi", signal: AbortSignal.abort() }),
      );
      assert.equal(early.type, "aborted");
      assert.equal(api.received.length, sent);
    } finally {
      await api.close();
    }
  });

  it("malformed JSON in a 200 answer: invalid_response", async () => {
    const api = await fakeLLM(() =>
      new Response('{"choices": [', {
        headers: { "content-type": "application/json" },
      })
    );
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const before = await scrape(t.registry);
      const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
      const after = await scrape(t.registry);
      assert.equal(error.type, "invalid_response");
      assert.match(error.message, /not JSON/);
      assert.deepEqual(
        changes(before, after),
        failure("chat", "invalid_response"),
      );
    } finally {
      await api.close();
    }
  });

  it("JSON without choices: invalid_response", async () => {
    const api = await fakeLLM(() => Response.json({ object: "chat.completion", choices: [] }));
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
      assert.equal(error.type, "invalid_response");
      assert.equal(
        valueOf(await scrape(t.registry), "llm_errors_total", {
          model: MODEL,
          error_type: "invalid_response",
        }),
        1,
      );
    } finally {
      await api.close();
    }
  });

  it("connection refused: network, with the cause kept", async () => {
    const t = fresh();
    const llm = new t.LLMService({
      baseUrl: (await refusedUrl()) + "/v1",
      model: MODEL,
    });
    const before = await scrape(t.registry);
    const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
    const after = await scrape(t.registry);
    assert.equal(error.type, "network");
    assert.equal(error.status, undefined);
    assert.ok(error.cause !== undefined);
    assert.deepEqual(changes(before, after), failure("chat", "network"));
  });

  it("uses an injected fetch", async () => {
    const t = fresh();
    const urls: string[] = [];
    const llm = new t.LLMService({
      baseUrl: "https://llm.invalid/v1",
      model: MODEL,
      fetch: (input) => {
        urls.push(input);
        return Promise.resolve(
          completion("injected", { prompt_tokens: 2, completion_tokens: 3 }),
        );
      },
    });
    const response = await llm.generateResponse({ prompt: "Hi" });
    assert.equal(response.text, "injected");
    assert.deepEqual(urls, ["https://llm.invalid/v1/chat/completions"]);
    const s = await scrape(t.registry);
    assert.equal(
      valueOf(s, "llm_tokens_total", { model: MODEL, type: "completion" }),
      3,
    );
  });

  it("rejects a request without prompt or messages with a TypeError, recording nothing", async () => {
    const t = fresh();
    const llm = new t.LLMService({
      baseUrl: "http://127.0.0.1:9/v1",
      model: MODEL,
    });
    const before = await scrape(t.registry);
    await assert.rejects(
      llm.generateResponse({} as { prompt: string }),
      (e: unknown) =>
        e instanceof TypeError &&
        /LLMService\.generateResponse: prompt must be a string/
          .test(e.message),
    );
    await assert.rejects(
      llm.generateResponse({ messages: [] }),
      /LLMService\.generateResponse: messages must be a non-empty array/,
    );
    await assert.rejects(
      llm.generateResponse({ prompt: "x", model: "" }),
      /LLMService\.generateResponse: model must be a non-empty string/,
    );
    await assert.rejects(
      llm.generateResponse({ prompt: "x", timeoutMs: -1 }),
      (e: unknown) => e instanceof RangeError && /timeoutMs/.test(e.message),
    );
    assert.deepEqual(changes(before, await scrape(t.registry)), new Map());
  });
});

describe("LLMService.streamResponse", () => {
  it("yields the chunks, asks for usage in the stream and records it", async () => {
    const chunks = ["Grüße", " aus ", "✓ 🔒", " Berlin"];
    const api = await fakeLLM(() => sse(chunks, { prompt_tokens: 9, completion_tokens: 4 }));
    try {
      const t = fresh();
      const llm = new t.LLMService({
        baseUrl: api.baseUrl,
        apiKey: KEY,
        model: MODEL,
      });
      const before = await scrape(t.registry);
      const stream = llm.streamResponse({ prompt: "Hi" });
      const got: string[] = [];
      let result: IteratorResult<string, LLMResponse>;
      while (!(result = await stream.next()).done) got.push(result.value);
      const after = await scrape(t.registry);

      assert.deepEqual(got, chunks);
      assert.deepEqual(result.value, {
        text: chunks.join(""),
        model: "fake-model-2025-01-01",
        usage: { promptTokens: 9, completionTokens: 4, totalTokens: 13 },
        finishReason: "stop",
      });
      // Bytes: "Grüße" 7 (ü, ß: 2 each), " aus " 5, "✓ 🔒" 3 + 1 + 4 = 8, " Berlin" 7.
      assert.equal(new TextEncoder().encode(chunks.join("")).length, 27);
      assert.deepEqual(
        changes(before, after),
        expected([
          ["llm_requests_total", { model: MODEL, endpoint: "chat_stream" }, 1],
          ["llm_request_duration_seconds_count", {
            model: MODEL,
            endpoint: "chat_stream",
          }, 1],
          ["llm_tokens_total", { model: MODEL, type: "prompt" }, 9],
          ["llm_tokens_total", { model: MODEL, type: "completion" }, 4],
          ["llm_completion_size_bytes_count", { model: MODEL }, 1],
          ["llm_completion_size_bytes_sum", { model: MODEL }, 27],
        ]),
      );
      const body = api.received[0].body;
      assert.equal(body.stream, true);
      assert.deepEqual(body.stream_options, { include_usage: true });
      assert.equal(api.received[0].headers.get("accept"), "text/event-stream");
    } finally {
      await api.close();
    }
  });

  it("a stream without usage or [DONE] still completes, with no tokens", async () => {
    const api = await fakeLLM(() => sse(["a", "b"], undefined, { done: false, pieceBytes: 1000 }));
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const before = await scrape(t.registry);
      assert.deepEqual(await drain(llm.streamResponse({ prompt: "Hi" })), [
        "a",
        "b",
      ]);
      assert.deepEqual(
        changes(before, await scrape(t.registry)),
        expected([
          ["llm_requests_total", { model: MODEL, endpoint: "chat_stream" }, 1],
          ["llm_request_duration_seconds_count", {
            model: MODEL,
            endpoint: "chat_stream",
          }, 1],
          ["llm_completion_size_bytes_count", { model: MODEL }, 1],
          ["llm_completion_size_bytes_sum", { model: MODEL }, 2],
        ]),
      );
    } finally {
      await api.close();
    }
  });

  it("HTTP 429 on a stream: rate_limited, thrown from the iteration", async () => {
    const api = await fakeLLM(() => new Response("slow down", { status: 429 }));
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const before = await scrape(t.registry);
      const error = await rejection(
        drain(llm.streamResponse({ prompt: "Hi" })),
      );
      assert.equal(error.type, "rate_limited");
      assert.deepEqual(
        changes(before, await scrape(t.registry)),
        failure("chat_stream", "rate_limited"),
      );
    } finally {
      await api.close();
    }
  });

  it("a malformed event mid-stream: invalid_response after the good chunks", async () => {
    const api = await fakeLLM(() => sse(["ok"], undefined, { extra: ["data: {oops\n\n"] }));
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const before = await scrape(t.registry);
      const got: string[] = [];
      const error = await rejection((async () => {
        for await (const chunk of llm.streamResponse({ prompt: "Hi" })) {
          got.push(chunk);
        }
      })());
      assert.deepEqual(got, ["ok"]);
      assert.equal(error.type, "invalid_response");
      assert.deepEqual(
        changes(before, await scrape(t.registry)),
        failure("chat_stream", "invalid_response"),
      );
    } finally {
      await api.close();
    }
  });

  it("an error event inside the stream: invalid_response", async () => {
    const api = await fakeLLM(() =>
      sse([], undefined, {
        extra: ['data: {"error":{"message":"overloaded"}}\n\n'],
      })
    );
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const error = await rejection(
        drain(llm.streamResponse({ prompt: "Hi" })),
      );
      assert.equal(error.type, "invalid_response");
      assert.match(error.message, /overloaded/);
    } finally {
      await api.close();
    }
  });

  // It waits for the 1 s deadline: Bun's default 5 s per test is too short on a loaded machine.
  it("a stream that stalls longer than timeoutMs: timeout", { timeout: 60_000 }, async () => {
    const api = await fakeLLM((_r, closing) => {
      const encoder = new TextEncoder();
      const first = { choices: [{ index: 0, delta: { content: "first" } }] };
      let sent = false;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (!sent) {
              sent = true;
              controller.enqueue(
                encoder.encode(`data: ${JSON.stringify(first)}\n\n`),
              );
              return;
            }
            await delay(10_000, closing);
            controller.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    });
    try {
      const t = fresh();
      // The deadline covers connecting and the first chunk too (some 10 ms on
      // an idle machine), then the stall (10 s), so 1 s is far from both.
      const llm = new t.LLMService({
        baseUrl: api.baseUrl,
        model: MODEL,
        timeoutMs: 1_000,
      });
      const before = await scrape(t.registry);
      const got: string[] = [];
      const error = await rejection((async () => {
        for await (const chunk of llm.streamResponse({ prompt: "Hi" })) {
          got.push(chunk);
        }
      })());
      assert.deepEqual(got, ["first"]);
      assert.equal(error.type, "timeout");
      assert.deepEqual(
        changes(before, await scrape(t.registry)),
        failure("chat_stream", "timeout"),
      );
    } finally {
      await api.close();
    }
  });

  // It waits for the 1 s deadline: Bun's default 5 s per test is too short on a loaded machine.
  it("a consumer slower than timeoutMs is not a timeout: the timer waits while it holds a chunk", {
    timeout: 60_000,
  }, async () => {
    // The API sends "a", then the rest only once the consumer has held "a"
    // for longer than the deadline: the stream is still open during the hold,
    // so a timer left running then would cut it off.
    let released!: () => void;
    const held = new Promise<void>((resolve) => released = resolve);
    const api = await fakeLLM((_r, closing) => {
      const encoder = new TextEncoder();
      const event = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);
      const delta = (content: string) => event({ choices: [{ index: 0, delta: { content } }] });
      let step = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (step++ === 0) return controller.enqueue(delta("a"));
            await Promise.race([held, delay(60_000, closing)]);
            controller.enqueue(delta("b"));
            controller.enqueue(delta("c"));
            controller.enqueue(
              event({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 3 } }),
            );
            controller.enqueue(encoder.encode("data: [DONE]\n\n"));
            controller.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    });
    try {
      const t = fresh();
      // The deadline covers connecting and each read (some 10 ms on an idle
      // machine): 1 s. The consumer holds "a" 1.5 s, longer than the deadline.
      const llm = new t.LLMService({
        baseUrl: api.baseUrl,
        model: MODEL,
        timeoutMs: 1_000,
      });
      const got: string[] = [];
      for await (const chunk of llm.streamResponse({ prompt: "Hi" })) {
        got.push(chunk);
        if (got.length === 1) {
          await new Promise((resolve) => setTimeout(resolve, 1_500));
          released();
        }
      }
      assert.deepEqual(got, ["a", "b", "c"]);
      const s = await scrape(t.registry);
      assert.equal(
        valueOf(s, "llm_tokens_total", { model: MODEL, type: "completion" }),
        3,
      );
    } finally {
      released();
      await api.close();
    }
  });

  it("a consumer that stops early: one successful call with the bytes received", async () => {
    const api = await fakeLLM(() =>
      sse(["one", "two", "three"], { prompt_tokens: 1, completion_tokens: 3 })
    );
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: MODEL });
      const before = await scrape(t.registry);
      for await (const chunk of llm.streamResponse({ prompt: "Hi" })) {
        assert.equal(chunk, "one");
        break;
      }
      assert.deepEqual(
        changes(before, await scrape(t.registry)),
        expected([
          ["llm_requests_total", { model: MODEL, endpoint: "chat_stream" }, 1],
          ["llm_request_duration_seconds_count", {
            model: MODEL,
            endpoint: "chat_stream",
          }, 1],
          ["llm_completion_size_bytes_count", { model: MODEL }, 1],
          ["llm_completion_size_bytes_sum", { model: MODEL }, 3],
        ]),
      );
    } finally {
      await api.close();
    }
  });

  it("connection refused on a stream: network", async () => {
    const t = fresh();
    const llm = new t.LLMService({
      baseUrl: (await refusedUrl()) + "/v1",
      model: MODEL,
    });
    const before = await scrape(t.registry);
    const error = await rejection(drain(llm.streamResponse({ prompt: "Hi" })));
    assert.equal(error.type, "network");
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      failure("chat_stream", "network"),
    );
  });

  it("throws a TypeError at once for a request without a prompt", () => {
    const llm = new LLMService({
      model: MODEL,
      baseUrl: "http://127.0.0.1:9/v1",
    });
    assert.throws(
      () => llm.streamResponse({ prompt: 42 as unknown as string }),
      /LLMService\.streamResponse: prompt must be a string/,
    );
  });
});

describe("LLMService configuration", () => {
  const names = ["LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL"] as const;

  function withEnv(
    values: Partial<Record<(typeof names)[number], string>>,
    fn: () => void,
  ) {
    const saved = names.map((n) => process.env[n]);
    try {
      for (const n of names) {
        if (values[n] === undefined) delete process.env[n];
        else process.env[n] = values[n];
      }
      fn();
    } finally {
      names.forEach((n, i) => {
        if (saved[i] === undefined) delete process.env[n];
        else process.env[n] = saved[i];
      });
    }
  }

  it("reads LLM_BASE_URL, LLM_API_KEY and LLM_MODEL; options win over them", async () => {
    const api = await fakeLLM(() => completion("env"));
    try {
      let fromEnv!: LLMService;
      let fromOptions!: LLMService;
      withEnv({
        LLM_BASE_URL: api.baseUrl,
        LLM_API_KEY: KEY,
        LLM_MODEL: "env-model",
      }, () => {
        fromEnv = new LLMService({ metrics: fresh().metrics });
        fromOptions = new LLMService({
          metrics: fresh().metrics,
          model: "opt-model",
        });
      });
      assert.equal(fromEnv.baseUrl, api.baseUrl);
      assert.equal(fromEnv.model, "env-model");
      assert.equal(fromOptions.model, "opt-model");
      await fromEnv.generateResponse({ prompt: "Hi" });
      assert.equal(
        api.received[0].headers.get("authorization"),
        `Bearer ${KEY}`,
      );
      assert.equal(api.received[0].body.model, "env-model");
    } finally {
      await api.close();
    }
  });

  it("defaults: OpenAI's base URL, a two-minute timeout; no model is a TypeError", () => {
    withEnv({}, () => {
      const llm = new LLMService({ model: MODEL });
      assert.equal(llm.baseUrl, "https://api.openai.com/v1");
      assert.equal(llm.timeoutMs, 120_000);
      assert.throws(
        () => new LLMService(),
        (e: unknown) => e instanceof TypeError && /LLM_MODEL/.test(e.message),
      );
    });
  });

  it("rejects a bad base URL, timeout, model or fetch", () => {
    assert.throws(
      () => new LLMService({ model: MODEL, baseUrl: "not a url" }),
      TypeError,
    );
    assert.throws(
      () => new LLMService({ model: MODEL, baseUrl: "ftp://x/v1" }),
      TypeError,
    );
    assert.throws(
      () => new LLMService({ model: MODEL, timeoutMs: 0 }),
      RangeError,
    );
    assert.throws(
      () => new LLMService({ model: MODEL, timeoutMs: NaN }),
      RangeError,
    );
    assert.throws(
      () => new LLMService({ model: "" }),
      /LLMService: model must be a non-empty/,
    );
    assert.throws(
      () => new LLMService({ model: MODEL, fetch: 1 as unknown as typeof fetch }),
      TypeError,
    );
  });

  it(
    "under Deno without --allow-env: each unreadable variable is named with its flag, never its value",
    { skip: isBun && "Deno permissions only" },
    async () => {
      const api = await fakeLLM(() => completion("from options"));
      const D = (globalThis as unknown as { Deno: typeof Deno }).Deno;
      const tracking = new URL("../../src/tracking/mod.ts", import.meta.url).href;
      const llm = new URL("../../src/llm/mod.ts", import.meta.url).href;
      const dir = mkdtempSync(join(tmpdir(), "llm-env-"));
      const file = join(dir, "main.ts");
      // One line per attempt: the baseUrl of a client, or the error it threw.
      writeFileSync(
        file,
        `import { LLMService } from ${JSON.stringify(tracking)};\n` +
          `import { LLMClient } from ${JSON.stringify(llm)};\n` +
          `const base = Deno.args[0];\n` +
          `const attempts = [\n` +
          `  () => new LLMClient(),\n` +
          `  () => new LLMService(),\n` +
          `  () => new LLMService({ model: "m" }),\n` +
          `  () => new LLMClient({ model: "m", baseUrl: base }),\n` +
          `  () => new LLMClient({ model: "m", baseUrl: base, apiKey: "" }),\n` +
          `];\n` +
          `for (const attempt of attempts) {\n` +
          `  try { console.log(attempt().baseUrl); }\n` +
          `  catch (e) { console.log(\`\${e.name}: \${e.message}\`); }\n` +
          `}\n` +
          `const all = new LLMClient({ model: "m", baseUrl: base, apiKey: "opt-key-1" });\n` +
          `console.log((await all.generateResponse({ prompt: "Hi" })).text);\n`,
      );
      const run = async (allowEnv: string[]) => {
        const r = await new D.Command(D.execPath(), {
          args: [
            "run",
            "--no-prompt",
            "--no-lock",
            "--allow-net=127.0.0.1",
            ...allowEnv,
            file,
            api.baseUrl,
          ],
          env: {
            NO_COLOR: "1",
            LLM_BASE_URL: "http://should-not-be-read/v1",
            LLM_API_KEY: KEY,
            LLM_MODEL: "env-model-should-not-be-read",
          },
        }).output();
        const decode = (b: Uint8Array) => new TextDecoder().decode(b);
        return {
          code: r.code,
          stdout: decode(r.stdout),
          stderr: decode(r.stderr),
        };
      };
      try {
        const denied = await run([]);
        assert.equal(denied.code, 0, denied.stderr);
        const help = (cls: string, variable: string, option: string) =>
          `TypeError: ${cls}: cannot read ${variable}: run with --allow-env=${variable} ` +
          `(or pass { ${option} })`;
        assert.deepEqual(denied.stdout.trimEnd().split("\n"), [
          help("LLMClient", "LLM_MODEL", "model"),
          help("LLMService", "LLM_MODEL", "model"),
          help("LLMService", "LLM_BASE_URL", "baseUrl"),
          help("LLMClient", "LLM_API_KEY", "apiKey"),
          api.baseUrl, // apiKey "" is "no key": nothing to read
          "from options", // everything passed: the call works without --allow-env
        ]);
        // Granting one variable moves the message on to the next one.
        const model = await run(["--allow-env=LLM_MODEL"]);
        assert.equal(model.code, 0, model.stderr);
        assert.deepEqual(model.stdout.trimEnd().split("\n").slice(0, 2), [
          help("LLMClient", "LLM_BASE_URL", "baseUrl"),
          help("LLMService", "LLM_BASE_URL", "baseUrl"),
        ]);
        for (const r of [denied, model]) {
          assert.ok(
            !(r.stdout + r.stderr).includes(KEY),
            "the key's value was printed",
          );
          assert.ok(
            !(r.stdout + r.stderr).includes("should-not-be-read"),
            "a value was printed",
          );
        }
        assert.equal(api.received.length, 2);
        assert.equal(
          api.received[0].headers.get("authorization"),
          "Bearer opt-key-1",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await api.close();
      }
    },
  );

  it("the error types are the documented fixed set", () => {
    assert.deepEqual([...LLM_ERROR_TYPES].sort(), [
      "aborted",
      "http_4xx",
      "http_5xx",
      "invalid_response",
      "network",
      "rate_limited",
      "timeout",
      "unknown",
    ]);
  });
});

/** What an observer was told, in order. */
type Told =
  | { hook: "start"; call: LLMCallInfo; sent: number }
  | { hook: "succeed"; response: LLMResponse }
  | { hook: "fail"; error: LLMError };

/** An observer writing down every hook call; `sent` counts the requests the API had then. */
function recorder(
  sent: () => number = () => 0,
): { observer: LLMObserver; told: Told[] } {
  const told: Told[] = [];
  const observer: LLMObserver = {
    start(call) {
      told.push({ hook: "start", call, sent: sent() });
      return {
        succeed: (response) => void told.push({ hook: "succeed", response }),
        fail: (error) => void told.push({ hook: "fail", error }),
      };
    },
  };
  return { observer, told };
}

describe("LLMClient and its observer", () => {
  it("generateResponse: start before the request is sent, then succeed with the response", async () => {
    const api = await fakeLLM(() => completion("Hi", { prompt_tokens: 2, completion_tokens: 1 }));
    try {
      const { observer, told } = recorder(() => api.received.length);
      const llm = new LLMClient({
        baseUrl: api.baseUrl,
        model: MODEL,
        observer,
      });
      const response = await llm.generateResponse({
        prompt: "Hello",
        model: "m".repeat(200),
      });
      assert.equal(response.text, "Hi");
      assert.deepEqual(told, [
        // The whole model name: truncating it for a label is the recorder's business.
        {
          hook: "start",
          call: { model: "m".repeat(200), endpoint: "chat" },
          sent: 0,
        },
        { hook: "succeed", response },
      ]);
      assert.equal((told[1] as { response: LLMResponse }).response, response);
    } finally {
      await api.close();
    }
  });

  it("a failed call: fail with the very error thrown, and no succeed", async () => {
    const api = await fakeLLM(() => new Response("busy", { status: 503 }));
    try {
      const { observer, told } = recorder();
      const llm = new LLMClient({
        baseUrl: api.baseUrl,
        model: MODEL,
        observer,
      });
      const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
      assert.equal(error.type, "http_5xx");
      assert.equal(told.length, 2);
      assert.deepEqual(told[0], {
        hook: "start",
        call: { model: MODEL, endpoint: "chat" },
        sent: 0,
      });
      assert.deepEqual(told[1], { hook: "fail", error });
      assert.equal((told[1] as { error: LLMError }).error, error);
    } finally {
      await api.close();
    }
  });

  it("a stream starts when its iteration does, and succeeds with the whole response", async () => {
    const api = await fakeLLM(() => sse(["a", "b"], { prompt_tokens: 3, completion_tokens: 2 }));
    try {
      const { observer, told } = recorder();
      const llm = new LLMClient({
        baseUrl: api.baseUrl,
        model: MODEL,
        observer,
      });
      const stream = llm.streamResponse({ prompt: "Hi" });
      assert.deepEqual(told, []);
      const got: string[] = [];
      let result: IteratorResult<string, LLMResponse>;
      while (!(result = await stream.next()).done) got.push(result.value);
      assert.deepEqual(got, ["a", "b"]);
      assert.deepEqual(told, [
        {
          hook: "start",
          call: { model: MODEL, endpoint: "chat_stream" },
          sent: 0,
        },
        { hook: "succeed", response: result.value },
      ]);
      assert.deepEqual(result.value.usage, {
        promptTokens: 3,
        completionTokens: 2,
        totalTokens: 5,
      });
    } finally {
      await api.close();
    }
  });

  it("a stream stopped early succeeds once, with the text received so far", async () => {
    const api = await fakeLLM(() =>
      sse(["one", "two"], { prompt_tokens: 1, completion_tokens: 2 })
    );
    try {
      const { observer, told } = recorder();
      const llm = new LLMClient({
        baseUrl: api.baseUrl,
        model: MODEL,
        observer,
      });
      for await (const _ of llm.streamResponse({ prompt: "Hi" })) break;
      assert.equal(told.length, 2);
      assert.deepEqual(told[1], {
        hook: "succeed",
        response: {
          text: "one",
          model: "fake-model-2025-01-01",
          usage: undefined,
          finishReason: undefined,
        },
      });
    } finally {
      await api.close();
    }
  });

  it("a failing stream: fail once, after the good chunks", async () => {
    const api = await fakeLLM(() => sse(["ok"], undefined, { extra: ["data: {oops\n\n"] }));
    try {
      const { observer, told } = recorder();
      const llm = new LLMClient({
        baseUrl: api.baseUrl,
        model: MODEL,
        observer,
      });
      const error = await rejection(
        drain(llm.streamResponse({ prompt: "Hi" })),
      );
      assert.equal(error.type, "invalid_response");
      assert.deepEqual(told.map((t) => t.hook), ["start", "fail"]);
      assert.equal((told[1] as { error: LLMError }).error, error);
    } finally {
      await api.close();
    }
  });

  it("a bad request is rejected before anything starts", async () => {
    const { observer, told } = recorder();
    const llm = new LLMClient({
      baseUrl: "http://127.0.0.1:9/v1",
      model: MODEL,
      observer,
    });
    await assert.rejects(llm.generateResponse({ messages: [] }), TypeError);
    assert.throws(
      () => llm.streamResponse({ prompt: "x", timeoutMs: 0 }),
      RangeError,
    );
    assert.deepEqual(told, []);
  });

  it("works without an observer, and rejects one without a start method", async () => {
    const llm = new LLMClient({
      baseUrl: "https://llm.invalid/v1",
      model: MODEL,
      fetch: () => Promise.resolve(completion("plain")),
    });
    assert.equal((await llm.generateResponse({ prompt: "Hi" })).text, "plain");
    assert.throws(
      () => new LLMClient({ model: MODEL, observer: {} as LLMObserver }),
      (e: unknown) =>
        e instanceof TypeError &&
        /LLMClient: observer must be an object with a start/.test(e.message),
    );
    assert.throws(
      () => new LLMClient(null as unknown as LLMClientOptions),
      /LLMClient: options must be an object, got null/,
    );
  });

  it("names its class (or a subclass) in argument errors", () => {
    class Gateway extends LLMClient {}
    assert.throws(
      () => new Gateway({ model: "" }),
      /^TypeError: Gateway: model must be a non-empty/,
    );
    assert.throws(
      () =>
        new LLMClient({ model: MODEL }).streamResponse(
          {} as { prompt: string },
        ),
      /LLMClient\.streamResponse: prompt must be a string/,
    );
  });

  it("a fetch that resolves to no Response: an LLMError of type unknown, observed", async () => {
    const { observer, told } = recorder();
    const llm = new LLMClient({
      baseUrl: "https://llm.invalid/v1",
      model: MODEL,
      observer,
      fetch: () => Promise.resolve(undefined as unknown as Response),
    });
    const error = await rejection(llm.generateResponse({ prompt: "Hi" }));
    assert.equal(error.type, "unknown");
    assert.match(
      error.message,
      /llm\.invalid\/v1\/chat\/completions \(model "gpt-test"\) failed/,
    );
    assert.deepEqual(told.map((t) => t.hook), ["start", "fail"]);
  });

  it("reads a stream with CR line ends, and a last event the server did not terminate", async () => {
    const event = (content: string) => JSON.stringify({ choices: [{ delta: { content } }] });
    // CR-only line ends, then a final event cut off without its blank line or line end.
    const body = `: hi\rdata: ${event("a")}\r\rdata: ${event("b")}`;
    const llm = new LLMClient({
      baseUrl: "https://llm.invalid/v1",
      model: MODEL,
      fetch: () => Promise.resolve(new Response(body)),
    });
    assert.deepEqual(await drain(llm.streamResponse({ prompt: "Hi" })), [
      "a",
      "b",
    ]);
  });
});

describe("LLMClient: API keys", () => {
  it("refuses a key too short to redact without mangling messages, naming its length only", () => {
    for (const key of ["k", "abc1234"]) {
      assert.throws(
        () =>
          new LLMClient({
            model: "m",
            baseUrl: "http://127.0.0.1:9",
            apiKey: key,
          }),
        (e: Error) =>
          e instanceof TypeError &&
          e.message.includes(`apiKey has ${key.length} characters`) &&
          !e.message.includes(key.length > 1 ? key : 'k"'),
      );
    }
    assert.doesNotThrow(() =>
      new LLMClient({ model: "m", baseUrl: "http://127.0.0.1:9", apiKey: "" })
    );
    assert.doesNotThrow(() =>
      new LLMClient({
        model: "m",
        baseUrl: "http://127.0.0.1:9",
        apiKey: "12345678",
      })
    );
  });

  it("redacts the key in a quoted error body without mangling the words around it", async () => {
    const KEY8 = "sk-live-0123456789";
    const api = await fakeLLM(() =>
      new Response(`{"error":"request was blocked: key ${KEY8} is revoked"}`, {
        status: 401,
      })
    );
    try {
      const llm = new LLMClient({
        model: "m",
        baseUrl: api.baseUrl,
        apiKey: KEY8,
      });
      const error = await llm.generateResponse({ prompt: "hi" }).then(
        () => assert.fail("expected an error"),
        (e: Error) => e,
      );
      assert.match(
        error.message,
        /request was blocked: key \[redacted\] is revoked/,
      );
      assert.ok(!error.message.includes(KEY8));
    } finally {
      await api.close();
    }
  });
});
