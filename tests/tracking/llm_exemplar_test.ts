// deno-lint-ignore-file require-await -- stand-ins for async LLM clients are trivial
/**
 * A caller-provided trace id on LLM calls: `LLMService` requests (plain and
 * streamed, against a fake API on loopback), `trackLLMCall` and `@trackLLM`
 * (a function of the instance and the arguments, or a string) put it as the
 * `{ trace_id }` exemplar on `llm_requests_total` and on the bucket of
 * `llm_request_duration_seconds` the call's duration fell in; it is never
 * sent to the API; a bad one is refused before anything is recorded.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { createTracking, type Tracking } from "../../src/tracking/mod.ts";
import { parseOpenMetrics, type Sample } from "../_support/parse.ts";
import { completion, fakeLLM, sse } from "../llm/_support.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

function fresh(): Tracking {
  return createTracking(new Registry());
}

async function exemplarsOf(t: Tracking, name: string): Promise<Sample[]> {
  const families = parseOpenMetrics(await t.registry.metrics("openmetrics"));
  return families.flatMap((f) => f.samples).filter((s) => s.name === name && s.exemplar);
}

describe("LLM calls with a caller's trace id", () => {
  it("LLMService: generateResponse and streamResponse put it on the request and duration series", async () => {
    const api = await fakeLLM((r) =>
      r.body.stream
        ? sse(["Hel", "lo"], { prompt_tokens: 3, completion_tokens: 2 })
        : completion("Hi", { prompt_tokens: 3, completion_tokens: 1 })
    );
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: "m1", apiKey: "" });
      await llm.generateResponse({ prompt: "Hello", traceId: TRACE });
      const stream = "0af7651916cd43dd8448eb211c80319c";
      for await (const _ of llm.streamResponse({ prompt: "Hello", traceId: stream })) { /* read */ }
      await llm.generateResponse({ prompt: "untraced" });
      const totals = await exemplarsOf(t, "llm_requests_total");
      assert.deepEqual(
        totals.map((s) => [s.labels.endpoint, s.exemplar?.labels.trace_id, s.exemplar?.value]),
        [["chat", TRACE, 1], ["chat_stream", stream, 1]],
      );
      const buckets = await exemplarsOf(t, "llm_request_duration_seconds_bucket");
      assert.deepEqual(
        buckets.map((s) => [s.labels.endpoint, s.exemplar?.labels.trace_id]),
        [["chat", TRACE], ["chat_stream", stream]],
      );
      for (const b of buckets) assert.ok(b.exemplar!.value >= 0 && b.exemplar!.value < 60);
      for (const r of api.received) {
        assert.equal(JSON.stringify(r.body).includes(TRACE), false, "not sent to the API");
        assert.equal(r.headers.get("traceparent"), null);
      }
    } finally {
      await api.close();
    }
  });

  it("trackLLMCall takes it in its options, for successes and failures", async () => {
    const t = fresh();
    await t.trackLLMCall({ model: "m", endpoint: "embeddings", traceId: TRACE }, async () => [1]);
    await assert.rejects(
      t.trackLLMCall(
        { model: "m", endpoint: "chat", traceId: "abc" },
        async () => Promise.reject(new Error("down")),
      ),
      /down/,
    );
    const totals = await exemplarsOf(t, "llm_requests_total");
    assert.deepEqual(
      totals.map((s) => [s.labels.endpoint, s.exemplar?.labels.trace_id]),
      [["embeddings", TRACE], ["chat", "abc"]],
    );
    assert.equal((await exemplarsOf(t, "llm_request_duration_seconds_bucket")).length, 2);
  });

  it("@trackLLM takes it as a function of the instance and the arguments, or a string", async () => {
    const t = fresh();
    let calls = 0;
    class Assistant {
      constructor(readonly model: string, readonly trace?: string) {}

      @t.trackLLM({
        model: "m",
        endpoint: "chat",
        traceId: (_self: Assistant, _prompt: string, trace?: string) => trace,
      })
      async ask(prompt: string, _trace?: string): Promise<string> {
        calls++;
        return prompt;
      }

      @t.trackLLM({
        model: (self: Assistant) => self.model,
        endpoint: "summarize",
        traceId: (self: Assistant) => self.trace,
      })
      async summarize(text: string): Promise<string> {
        calls++;
        if (text === "") throw Object.assign(new Error("empty"), { status: 422 });
        return text;
      }

      @t.trackLLM({ model: "emb", endpoint: "embeddings", traceId: "fixed-trace" })
      async embed(_text: string): Promise<number[]> {
        calls++;
        return [1];
      }
    }
    await new Assistant("m2").ask("Hello", TRACE);
    await new Assistant("m2").ask("untraced"); // undefined: no exemplar (the first one stays)
    await new Assistant("m3").summarize("untraced");
    await assert.rejects(new Assistant("m2", "abc").summarize(""), /empty/);
    await new Assistant("m2").embed("x");
    assert.equal(calls, 5);
    const totals = await exemplarsOf(t, "llm_requests_total");
    assert.deepEqual(
      totals.map((s) => [s.labels.model, s.labels.endpoint, s.value, s.exemplar?.labels]),
      [
        ["m", "chat", 2, { trace_id: TRACE }],
        ["m2", "summarize", 1, { trace_id: "abc" }],
        ["emb", "embeddings", 1, { trace_id: "fixed-trace" }],
      ],
    );
    for (const s of totals) assert.equal(s.exemplar?.value, 1);
    const buckets = await exemplarsOf(t, "llm_request_duration_seconds_bucket");
    assert.deepEqual(
      buckets.map((s) => [s.labels.model, s.labels.endpoint, s.exemplar?.labels.trace_id]),
      [["m", "chat", TRACE], ["m2", "summarize", "abc"], ["emb", "embeddings", "fixed-trace"]],
    );
    // The untraced series are there, without an exemplar.
    const text = await t.registry.metrics("openmetrics");
    assert.match(text, /^llm_requests_total\{model="m3",endpoint="summarize"\} 1$/m);
  });

  it("@trackLLM: a bad trace id is refused before anything is called or recorded", async () => {
    const t = fresh();
    assert.throws(
      () => t.trackLLM({ model: "m", endpoint: "chat", traceId: "" }),
      /^TypeError: trackLLM: traceId must be a non-empty string/,
    );
    assert.throws(
      () => t.trackLLM({ model: "m", endpoint: "chat", traceId: 7 as never }),
      /^TypeError: trackLLM: traceId must be a non-empty string, got number/,
    );
    let calls = 0;
    class C {
      @t.trackLLM({ model: "m", endpoint: "chat", traceId: (_self: C, id: string) => id })
      async m(_id: string): Promise<string> {
        calls++;
        return "x";
      }
    }
    await assert.rejects(
      new C().m(""),
      /^TypeError: trackLLM: traceId must be a non-empty string/,
    );
    await assert.rejects(
      new C().m("é".repeat(121)),
      /^RangeError: trackLLM: traceId has 121 code points; at most 120/,
    );
    assert.equal(calls, 0);
    assert.equal(await t.registry.metrics("openmetrics").then((s) => /^llm_/m.test(s)), false);
  });

  it("a bad trace id is refused before anything is recorded", async () => {
    const t = fresh();
    const llm = new t.LLMService({ baseUrl: "http://127.0.0.1:9/v1", model: "m1", apiKey: "" });
    await assert.rejects(
      llm.generateResponse({ prompt: "x", traceId: "" }),
      /^TypeError: LLMService.generateResponse: traceId must be a non-empty string/,
    );
    assert.throws(
      () => llm.streamResponse({ prompt: "x", traceId: "é".repeat(121) }),
      /^RangeError: LLMService.streamResponse: traceId has 121 code points; at most 120/,
    );
    await assert.rejects(
      t.trackLLMCall({ model: "m", endpoint: "chat", traceId: 7 as never }, async () => 1),
      /^TypeError: trackLLMCall: traceId must be a non-empty string, got number/,
    );
    await t.trackLLMCall({ model: "m", endpoint: "chat", traceId: "é".repeat(120) }, async () => 1);
    const text = await t.registry.metrics("openmetrics");
    assert.equal((text.match(/^llm_requests_total\{/gm) ?? []).length, 1, text);
  });
});
