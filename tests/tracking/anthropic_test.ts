// instrumentAnthropic against the real `@anthropic-ai/sdk` package (npm,
// dev-only), calling a fake API on 127.0.0.1 (tests/tracking/_sdk_api.ts):
// messages.create streamed and not, messages.stream(), errors counted once
// per call however often the SDK retried.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { createTracking, instrumentAnthropic, type Tracking } from "../../src/tracking/mod.ts";
import {
  Anthropic,
  anthropicEvents,
  anthropicMessage,
  apiError,
  failedCall,
  type FakeAPI,
  fakeAPI,
  recorded,
  SECRET_KEY,
} from "./_sdk_api.ts";
import { seriesKey } from "../_support/parse.ts";
import { assertSeconds, changes, histogramOf, scrape } from "./_support.ts";

let api: FakeAPI;
before(async () => {
  api = await fakeAPI();
});
after(async () => {
  await api.close();
});

type Client = InstanceType<typeof Anthropic>;

function setup(clientOptions: { maxRetries?: number } = {}): { t: Tracking; anthropic: Client } {
  api.reset();
  const t = createTracking(new Registry());
  const client = new Anthropic({
    apiKey: SECRET_KEY,
    baseURL: api.url,
    maxRetries: 0,
    ...clientOptions,
  });
  const anthropic = instrumentAnthropic(client, { metrics: t.metrics });
  assert.equal(anthropic, client);
  return { t, anthropic };
}

const MODEL = "claude-sonnet-4-5";
const ANSWERED = "claude-sonnet-4-5-20250929";
const BODY = {
  model: MODEL,
  max_tokens: 100,
  messages: [{ role: "user" as const, content: "Hi" }],
};

/** The changes of one successful call. */
function success(endpoint: string, tokens: [number, number] | undefined, bytes: number) {
  return recorded({ model: ANSWERED, endpoint, tokens, bytes });
}

/** The changes of one failed call. */
function failure(error: string, endpoint = "messages") {
  return recorded({ model: MODEL, endpoint, error });
}

describe("instrumentAnthropic with the real @anthropic-ai/sdk", () => {
  it("messages.create: input/output tokens, the answered model, the size of the text blocks", async () => {
    const { t, anthropic } = setup();
    api.answer(anthropicMessage(["Grüß ", "dich"], { input_tokens: 14, output_tokens: 6 }));
    const before = await scrape(t.registry);
    const message = await anthropic.messages.create(BODY);
    assert.equal(message.content.length, 2);
    // "Grüß dich": 9 characters, "ü" and "ß" 2 bytes each: 11 bytes.
    assert.deepEqual(changes(before, await scrape(t.registry)), success("messages", [14, 6], 11));
  });

  it("messages.create with stream: true: every event reaches the caller; tokens from message_start and message_delta", async () => {
    const { t, anthropic } = setup();
    api.answer({
      kind: "sse",
      events: anthropicEvents(["Hello", ", ", "wörld"], { input_tokens: 25, output_tokens: 7 }),
    });
    const before = await scrape(t.registry);
    const stream = await anthropic.messages.create({ ...BODY, stream: true });
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (types.length === 1) {
        assert.deepEqual(changes(before, await scrape(t.registry)), new Map());
      }
    }
    assert.deepEqual(types, [
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    // "Hello" 5, ", " 2, "wörld" 6 bytes.
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      success("messages_stream", [25, 7], 13),
    );
  });

  it("messages.stream() is recorded once, through the messages.create it makes", async () => {
    const { t, anthropic } = setup();
    api.answer({
      kind: "sse",
      events: anthropicEvents(["Bon", "jour"], { input_tokens: 10, output_tokens: 3 }),
    });
    const before = await scrape(t.registry);
    const stream = anthropic.messages.stream(BODY);
    const texts: string[] = [];
    stream.on("text", (text) => texts.push(text));
    const message = await stream.finalMessage();
    assert.deepEqual(texts, ["Bon", "jour"]);
    assert.equal(message.usage.output_tokens, 3);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      success("messages_stream", [10, 3], 7),
    );
  });

  it("messages.stream() left by break: a success with the text so far and no tokens", async () => {
    const { t, anthropic } = setup();
    api.answer({
      kind: "sse",
      delayMs: 20,
      events: anthropicEvents(["one", "two", "three"], { input_tokens: 10, output_tokens: 3 }),
    });
    const before = await scrape(t.registry);
    const stream = anthropic.messages.stream(BODY);
    for await (const event of stream) {
      if (event.type === "content_block_delta") break;
    }
    // The SDK stops reading once the abort it sent on break is seen.
    await stream.done().catch(() => {});
    const got = changes(before, await scrape(t.registry));
    // "one" was read when the loop broke; "two" may have been too, by the
    // SDK's own reader, before the abort reached it.
    const bytes = got.get(seriesKey("llm_completion_size_bytes_sum", { model: ANSWERED }));
    assert.ok(bytes === 3 || bytes === 6, `the text read before the abort: ${bytes} bytes`);
    assert.deepEqual(got, success("messages_stream", undefined, bytes));
  });

  it("529 overloaded, retried twice by the SDK: three attempts, one request, one http_5xx", async () => {
    const { t, anthropic } = setup({ maxRetries: 2 });
    const soon = { "retry-after-ms": "10" };
    api.answer(apiError(529, soon), apiError(529, soon), apiError(529, soon));
    const { attempts, before, after } = await failedCall(
      api,
      t.registry,
      () => anthropic.messages.create(BODY),
      (e: { status?: number }) => e.status === 529,
    );
    assert.equal(attempts, 3);
    assert.deepEqual(changes(before, after), failure("http_5xx"));
  });

  it("429 with Retry-After, retried once: two attempts, one rate limit, the wait in the duration", async () => {
    const { t, anthropic } = setup({ maxRetries: 1 });
    api.answer(apiError(429, { "retry-after": "1" }), apiError(429, { "retry-after": "1" }));
    const { attempts, before, after } = await failedCall(
      api,
      t.registry,
      () => anthropic.messages.create(BODY),
      (e: { status?: number }) => e.status === 429,
    );
    assert.equal(attempts, 2);
    assert.deepEqual(changes(before, after), failure("rate_limited"));
    assertSeconds(
      histogramOf(after, "llm_request_duration_seconds", { model: MODEL, endpoint: "messages" }),
      { slow: 1, slowSeconds: 1 },
      "429 retried after 1 s",
    );
  });

  it("a dropped connection of a streamed call: network, once", async () => {
    const { t, anthropic } = setup({ maxRetries: 1 });
    api.answer({ kind: "drop" }, { kind: "drop" });
    const { attempts, before, after } = await failedCall(
      api,
      t.registry,
      () => anthropic.messages.create({ ...BODY, stream: true }),
      (e: Error) => e.constructor.name === "APIConnectionError",
    );
    assert.equal(attempts, 2);
    assert.deepEqual(changes(before, after), failure("network", "messages_stream"));
  });

  it("an error event inside a stream: the caller gets it, counted once as invalid_response", async () => {
    const { t, anthropic } = setup();
    const events = anthropicEvents(["a"], { input_tokens: 1, output_tokens: 1 }).slice(0, 3);
    events.push({
      event: "error",
      data: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
    });
    api.answer({ kind: "sse", events });
    const before = await scrape(t.registry);
    const stream = await anthropic.messages.create({ ...BODY, stream: true });
    await assert.rejects(async () => {
      for await (const _ of stream) { /* read until the error */ }
    });
    const got = changes(before, await scrape(t.registry));
    assert.deepEqual(
      got,
      recorded({ model: ANSWERED, endpoint: "messages_stream", error: "invalid_response" }),
    );
  });

  it("instrumenting twice counts once; what is no Anthropic client is a TypeError", async () => {
    const { t, anthropic } = setup();
    assert.equal(instrumentAnthropic(anthropic, { metrics: t.metrics }), anthropic);
    api.answer(anthropicMessage(["x"], { input_tokens: 2, output_tokens: 1 }));
    await anthropic.messages.create(BODY);
    assert.equal(t.metrics.llmRequestsTotal.get({ model: ANSWERED, endpoint: "messages" }), 1);
    assert.equal(t.metrics.llmTokensTotal.get({ model: ANSWERED, type: "prompt" }), 2);
    assert.throws(
      () => instrumentAnthropic({ messages: null } as never),
      {
        name: "TypeError",
        message:
          "instrumentAnthropic: client must be an Anthropic client (with messages.create), got object",
      },
    );
    assert.throws(
      () => instrumentAnthropic(anthropic, { model: "request" }),
      /instrumented already/,
    );
  });
});
