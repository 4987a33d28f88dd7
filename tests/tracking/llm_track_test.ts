// deno-lint-ignore-file require-await -- stand-ins for async LLM clients and features are trivial
/**
 * `trackLLMCall` and the `@trackLLM` decorator (TC39 standard decorators):
 * what they take from results and errors, and that both pass through.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { classifyLLMError, LLMClient, LLMError } from "../../src/llm/mod.ts";
import { createTracking, type Tracking } from "../../src/tracking/mod.ts";
import { changes, expected, scrape } from "./_support.ts";

function fresh(): Tracking {
  return createTracking(new Registry());
}

const CHAT = { model: "gpt-4o", endpoint: "chat" };

/** Changes of one failed call counted as `type`. */
function failed(type: string, model = "gpt-4o", endpoint = "chat") {
  const entries: [string, Record<string, string>, number][] = [
    ["llm_requests_total", { model, endpoint }, 1],
    ["llm_request_duration_seconds_count", { model, endpoint }, 1],
    ["llm_errors_total", { model, error_type: type }, 1],
  ];
  if (type === "rate_limited") entries.push(["llm_rate_limits_total", { model }, 1]);
  return expected(entries);
}

describe("trackLLMCall", () => {
  it("takes tokens and completion size from an OpenAI-shaped result, which passes through", async () => {
    const t = fresh();
    const result = {
      choices: [{ message: { role: "assistant", content: "Bonjour à tous" } }],
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    };
    const before = await scrape(t.registry);
    const got = await t.trackLLMCall(CHAT, async () => result);
    assert.equal(got, result);
    // "Bonjour à tous": 13 ASCII bytes + "à" (2 bytes) = 15.
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      expected([
        ["llm_requests_total", CHAT, 1],
        ["llm_request_duration_seconds_count", CHAT, 1],
        ["llm_tokens_total", { model: "gpt-4o", type: "prompt" }, 12],
        ["llm_tokens_total", { model: "gpt-4o", type: "completion" }, 5],
        ["llm_completion_size_bytes_count", { model: "gpt-4o" }, 1],
        ["llm_completion_size_bytes_sum", { model: "gpt-4o" }, 15],
      ]),
    );
  });

  it("understands Anthropic's content blocks and input/output tokens", async () => {
    const t = fresh();
    const labels = { model: "claude", endpoint: "messages" };
    const before = await scrape(t.registry);
    await t.trackLLMCall(labels, () =>
      Promise.resolve({
        content: [{ type: "text", text: "ab" }, { type: "tool_use", id: "x" }, {
          type: "text",
          text: "cd",
        }],
        usage: { input_tokens: 30, output_tokens: 2 },
      }));
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      expected([
        ["llm_requests_total", labels, 1],
        ["llm_request_duration_seconds_count", labels, 1],
        ["llm_tokens_total", { model: "claude", type: "prompt" }, 30],
        ["llm_tokens_total", { model: "claude", type: "completion" }, 2],
        ["llm_completion_size_bytes_count", { model: "claude" }, 1],
        ["llm_completion_size_bytes_sum", { model: "claude" }, 4],
      ]),
    );
  });

  it("a plain string result is the completion; no usage means no tokens; sync functions work", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    assert.equal(await t.trackLLMCall(CHAT, () => "sync text"), "sync text");
    const embedding = [0.1, 0.2];
    assert.equal(
      await t.trackLLMCall({ model: "emb", endpoint: "embeddings" }, async () => embedding),
      embedding,
    );
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      expected([
        ["llm_requests_total", CHAT, 1],
        ["llm_request_duration_seconds_count", CHAT, 1],
        ["llm_completion_size_bytes_count", { model: "gpt-4o" }, 1],
        ["llm_completion_size_bytes_sum", { model: "gpt-4o" }, 9],
        ["llm_requests_total", { model: "emb", endpoint: "embeddings" }, 1],
        ["llm_request_duration_seconds_count", { model: "emb", endpoint: "embeddings" }, 1],
      ]),
    );
  });

  it("ignores a usage object with missing or bad counts", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    await t.trackLLMCall(CHAT, async () => ({ usage: { prompt_tokens: 3 } }));
    await t.trackLLMCall(
      CHAT,
      async () => ({ usage: { prompt_tokens: -1, completion_tokens: 2 } }),
    );
    await t.trackLLMCall(CHAT, async () => ({ usage: "lots" }));
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      expected([
        ["llm_requests_total", CHAT, 3],
        ["llm_request_duration_seconds_count", CHAT, 3],
      ]),
    );
  });

  it("counts a rejected call by error type and rethrows the very same error", async () => {
    const cases: [unknown, string][] = [
      [Object.assign(new Error("Too Many Requests"), { status: 429 }), "rate_limited"],
      [Object.assign(new Error("Bad Request"), { status: 400 }), "http_4xx"],
      [Object.assign(new Error("Service Unavailable"), { statusCode: 503 }), "http_5xx"],
      [new DOMException("signal timed out", "TimeoutError"), "timeout"],
      [new DOMException("aborted", "AbortError"), "aborted"],
      [
        new (class APIConnectionError extends Error {
          override name = "APIConnectionError";
        })("socket hang up"),
        "network",
      ],
      [
        new (class APIConnectionTimeoutError extends Error {
          override name = "APIConnectionTimeoutError";
        })("timed out"),
        "timeout",
      ],
      [new LLMError("invalid_response", "garbage"), "invalid_response"],
      [new Error("something else"), "unknown"],
      ["a thrown string", "unknown"],
    ];
    for (const [error, type] of cases) {
      const t = fresh();
      const before = await scrape(t.registry);
      await assert.rejects(
        t.trackLLMCall(CHAT, async () => {
          throw error;
        }),
        (e: unknown) => e === error,
      );
      assert.deepEqual(changes(before, await scrape(t.registry)), failed(type), `for ${type}`);
      assert.equal(classifyLLMError(error), type);
    }
  });

  it("counts a function that throws synchronously", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    const boom = new RangeError("sync");
    await assert.rejects(
      t.trackLLMCall(CHAT, () => {
        throw boom;
      }),
      (e: unknown) => e === boom,
    );
    assert.deepEqual(changes(before, await scrape(t.registry)), failed("unknown"));
  });

  it("rejects bad options with a TypeError naming trackLLMCall, calling nothing", async () => {
    const t = fresh();
    let called = 0;
    const fn = async () => void called++;
    await assert.rejects(
      t.trackLLMCall({ model: "", endpoint: "chat" }, fn),
      /trackLLMCall: model/,
    );
    await assert.rejects(
      t.trackLLMCall({ model: "m", endpoint: 3 as unknown as string }, fn),
      (e: unknown) =>
        e instanceof TypeError && /trackLLMCall: endpoint .* number 3/.test(e.message),
    );
    await assert.rejects(
      t.trackLLMCall(null as unknown as typeof CHAT, fn),
      /trackLLMCall: options must be an object/,
    );
    await assert.rejects(
      t.trackLLMCall(CHAT, "nope" as unknown as () => void),
      /trackLLMCall: fn must be a function/,
    );
    assert.equal(called, 0);
    assert.deepEqual(changes(new Map(), await scrape(t.registry)), new Map());
  });
});

describe("@trackLLM", () => {
  it("records around a decorated method, keeping this, the arguments and the result", async () => {
    const t = fresh();
    const { trackLLM } = t;

    class Assistant {
      calls = 0;
      constructor(readonly model: string) {}

      @trackLLM({ model: "gpt-4o", endpoint: "chat" })
      async ask(prompt: string, n: number): Promise<{ text: string; usage: object }> {
        this.calls++;
        return { text: prompt.repeat(n), usage: { promptTokens: 4, completionTokens: n } };
      }

      @trackLLM({ model: (self: Assistant) => self.model, endpoint: "summarize" })
      async summarize(text: string): Promise<string> {
        if (text === "") throw Object.assign(new Error("empty"), { status: 422 });
        return text.slice(0, 3);
      }
    }

    const a = new Assistant("claude-haiku");
    const before = await scrape(t.registry);
    assert.deepEqual(await a.ask("ab", 3), {
      text: "ababab",
      usage: { promptTokens: 4, completionTokens: 3 },
    });
    assert.equal(a.calls, 1);
    assert.equal(await a.summarize("abcdef"), "abc");
    await assert.rejects(a.summarize(""), /empty/);
    const summarize = { model: "claude-haiku", endpoint: "summarize" };
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      expected([
        ["llm_requests_total", CHAT, 1],
        ["llm_request_duration_seconds_count", CHAT, 1],
        ["llm_tokens_total", { model: "gpt-4o", type: "prompt" }, 4],
        ["llm_tokens_total", { model: "gpt-4o", type: "completion" }, 3],
        ["llm_completion_size_bytes_count", { model: "gpt-4o" }, 1],
        ["llm_completion_size_bytes_sum", { model: "gpt-4o" }, 6],
        ["llm_requests_total", summarize, 2],
        ["llm_request_duration_seconds_count", summarize, 2],
        ["llm_completion_size_bytes_count", { model: "claude-haiku" }, 1],
        ["llm_completion_size_bytes_sum", { model: "claude-haiku" }, 3],
        ["llm_errors_total", { model: "claude-haiku", error_type: "http_4xx" }, 1],
      ]),
    );
  });

  it("is a standard decorator: it receives a context object, and refuses non-methods", () => {
    const t = fresh();
    const decorate = t.trackLLM(CHAT) as unknown as (
      value: unknown,
      context: { kind: string; name: string },
    ) => unknown;
    assert.throws(
      () => decorate(undefined, { kind: "field", name: "x" }),
      /trackLLM: decorates methods only, not a field/,
    );
    assert.throws(() => t.trackLLM({ model: "m", endpoint: "" }), /trackLLM: endpoint must be/);
    const replaced = decorate(async () => "r", { kind: "method", name: "m" });
    assert.equal(typeof replaced, "function");
  });

  it("a model function returning a bad label rejects with a TypeError naming trackLLM", async () => {
    const t = fresh();
    class C {
      @t.trackLLM({ model: (_self: C) => "", endpoint: "chat" })
      async m(): Promise<string> {
        return "x";
      }
    }
    await assert.rejects(new C().m(), /trackLLM: model must be a non-empty string/);
    assert.deepEqual(changes(new Map(), await scrape(t.registry)), new Map());
  });
});

describe("LLMService (LLMClient with the recorder)", () => {
  const answer = () =>
    Promise.resolve(Response.json({
      choices: [{ message: { content: "ok" } }],
      usage: { prompt_tokens: 4, completion_tokens: 1 },
    }));

  it("is an LLMClient recording into its registry, or into explicit metrics", async () => {
    const a = fresh();
    const b = fresh();
    const options = { baseUrl: "https://llm.invalid/v1", model: "gpt-4o", fetch: answer };
    const own = new a.LLMService(options);
    const other = new a.LLMService({ ...options, metrics: b.metrics });
    assert.ok(own instanceof LLMClient);
    await own.generateResponse({ prompt: "Hi" });
    await other.generateResponse({ prompt: "Hi" });
    await other.generateResponse({ prompt: "Hi" });
    const requests = { model: "gpt-4o", endpoint: "chat" };
    assert.equal(a.metrics.llmRequestsTotal.get(requests), 1);
    assert.equal(b.metrics.llmRequestsTotal.get(requests), 2);
    assert.equal(b.metrics.llmTokensTotal.get({ model: "gpt-4o", type: "prompt" }), 8);
  });

  it("names LLMService in its argument errors", () => {
    const t = fresh();
    assert.throws(() => new t.LLMService({ model: "" }), /^TypeError: LLMService: model must be/);
    assert.throws(
      () => new t.LLMService({ model: "m" }).streamResponse({ messages: [] }),
      /LLMService\.streamResponse: messages must be a non-empty array/,
    );
  });
});
