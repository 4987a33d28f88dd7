// instrumentOpenAI against the real `openai` package (npm, dev-only), calling
// a fake API on 127.0.0.1 (tests/tracking/_sdk_api.ts): what each kind of
// call records, read back through our exposition (and once through a real
// HTTP scrape), with exact token counts and errors counted once per call
// however often the SDK retried.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { metricsHandler } from "../../src/http/metrics_handler.ts";
import { createTracking, instrumentOpenAI, type Tracking } from "../../src/tracking/mod.ts";
import { serveOnLoopback } from "../app/_support.ts";
import { family, parseText } from "../_support/parse.ts";
import {
  apiError,
  chatChunk,
  chatCompletion,
  failedCall,
  type FakeAPI,
  fakeAPI,
  OpenAI,
  recorded,
  SECRET_KEY,
} from "./_sdk_api.ts";
import { assertSeconds, changes, histogramOf, scrape } from "./_support.ts";

let api: FakeAPI;
before(async () => {
  api = await fakeAPI();
});
after(async () => {
  await api.close();
});

type Client = InstanceType<typeof OpenAI>;

/** A fresh catalogue and an instrumented client of the fake API. */
function setup(
  clientOptions: { maxRetries?: number; timeout?: number } = {},
  options: Parameters<typeof instrumentOpenAI>[1] = {},
): { t: Tracking; openai: Client } {
  api.reset();
  const t = createTracking(new Registry());
  const client = new OpenAI({
    apiKey: SECRET_KEY,
    baseURL: `${api.url}/v1`,
    maxRetries: 0,
    ...clientOptions,
  });
  const openai = instrumentOpenAI(client, { metrics: t.metrics, ...options });
  assert.equal(openai, client);
  return { t, openai };
}

const CHAT_LABELS = { model: "gpt-4o-2024-08-06", endpoint: "chat" };
const STREAM_LABELS = { model: "gpt-4o-2024-08-06", endpoint: "chat_stream" };
const MESSAGES = [{ role: "user" as const, content: "Hello" }];

/** The changes of one failed call. */
function failure(error: string, model = "gpt-4o", endpoint = "chat") {
  return recorded({ model, endpoint, error });
}

describe("instrumentOpenAI with the real openai SDK", () => {
  it("a chat completion: tokens from usage, the model of the response, the UTF-8 size of the text", async () => {
    const { t, openai } = setup();
    api.answer(
      chatCompletion("Bonjour à tous", {
        prompt_tokens: 12,
        completion_tokens: 5,
        total_tokens: 17,
      }),
    );
    const before = await scrape(t.registry);
    const completion = await openai.chat.completions.create({
      model: "gpt-4o",
      messages: MESSAGES,
    });
    assert.equal(completion.choices[0].message.content, "Bonjour à tous");
    // "Bonjour à tous": 13 ASCII bytes and "à" (2 bytes).
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ ...CHAT_LABELS, tokens: [12, 5], bytes: 15 }),
    );
  });

  it("keeps the SDK's APIPromise: withResponse() and asResponse() work, each call counted once", async () => {
    const { t, openai } = setup();
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    api.answer(chatCompletion("ab", usage), chatCompletion("cd", usage));
    const before = await scrape(t.registry);
    const { data, response } = await openai.chat.completions
      .create({ model: "gpt-4o", messages: MESSAGES })
      .withResponse();
    assert.equal(data.choices[0].message.content, "ab");
    assert.equal(response.status, 200);
    // The raw response alone: not parsed by the SDK, so the call has no tokens.
    const raw = await openai.chat.completions
      .create({ model: "gpt-4o", messages: MESSAGES })
      .asResponse();
    assert.equal((await raw.json()).choices[0].message.content, "cd");
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      new Map([
        ...recorded({ ...CHAT_LABELS, tokens: [3, 2], bytes: 2 }),
        ...recorded({ model: "gpt-4o", endpoint: "chat" }),
      ]),
    );
  });

  it("embeddings: prompt tokens only, no completion size", async () => {
    const { t, openai } = setup();
    api.answer({
      kind: "json",
      body: {
        object: "list",
        model: "text-embedding-3-small",
        data: [{ object: "embedding", index: 0, embedding: [0.25, -0.5] }],
        usage: { prompt_tokens: 8, total_tokens: 8 },
      },
    });
    const before = await scrape(t.registry);
    const result = await openai.embeddings.create({
      model: "text-embedding-3-small",
      input: "hello",
      encoding_format: "float",
    });
    assert.deepEqual(result.data[0].embedding, [0.25, -0.5]);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ model: "text-embedding-3-small", endpoint: "embeddings", tokens: [8] }),
    );
  });

  it("a stream that asked for usage: every chunk reaches the caller, tokens are exact, recorded at its end", async () => {
    const { t, openai } = setup();
    const usage = { prompt_tokens: 21, completion_tokens: 3, total_tokens: 24 };
    api.answer({
      kind: "sse",
      events: [chatChunk("Hé"), chatChunk(" là"), chatChunk("!"), chatChunk(null, usage), "[DONE]"],
    });
    const before = await scrape(t.registry);
    const stream = await openai.chat.completions.create({
      model: "gpt-4o",
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    const seen: unknown[] = [];
    for await (const chunk of stream) {
      seen.push(chunk.choices[0]?.delta.content ?? chunk.usage);
      // Nothing is recorded while the stream is read.
      if (seen.length === 1) assert.deepEqual(changes(before, await scrape(t.registry)), new Map());
    }
    assert.deepEqual(seen, ["Hé", " là", "!", usage]);
    // "Hé" 3 bytes, " là" 4, "!" 1.
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ ...STREAM_LABELS, tokens: [21, 3], bytes: 8 }),
    );
  });

  it("a stream that did not ask for usage is sent as written and records no tokens", async () => {
    const { t, openai } = setup();
    api.answer({ kind: "sse", events: [chatChunk("abc"), "[DONE]"] });
    const from = api.attempts.length;
    const before = await scrape(t.registry);
    const body = { model: "gpt-4o", messages: MESSAGES, stream: true as const };
    const stream = await openai.chat.completions.create(body);
    const seen: string[] = [];
    for await (const chunk of stream) seen.push(chunk.choices[0].delta.content ?? "");
    assert.deepEqual(seen, ["abc"]);
    assert.equal(api.attempts[from].body.stream_options, undefined);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ ...STREAM_LABELS, bytes: 3 }),
    );
  });

  it("includeStreamUsage: asks for the usage, keeps the usage chunk from the caller, leaves the caller's body alone", async () => {
    const { t, openai } = setup({}, { includeStreamUsage: true });
    const usage = { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 };
    api.answer({
      kind: "sse",
      events: [chatChunk("ab"), chatChunk("c"), chatChunk(null, usage), "[DONE]"],
    });
    const from = api.attempts.length;
    const before = await scrape(t.registry);
    const body = { model: "gpt-4o", messages: MESSAGES, stream: true as const };
    const seen: string[] = [];
    for await (const chunk of await openai.chat.completions.create(body)) {
      // Code written for streams without usage: every chunk has a choice.
      seen.push(chunk.choices[0].delta.content ?? "");
    }
    assert.deepEqual(seen, ["ab", "c"]);
    assert.deepEqual(api.attempts[from].body.stream_options, { include_usage: true });
    assert.equal("stream_options" in body, false);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ ...STREAM_LABELS, tokens: [9, 2], bytes: 3 }),
    );
    // A caller who set include_usage (even to false) is not overruled.
    api.answer({ kind: "sse", events: [chatChunk("x"), "[DONE]"] });
    const mine = { ...body, stream_options: { include_usage: false } };
    for await (const _ of await openai.chat.completions.create(mine)) { /* drain */ }
    assert.deepEqual(api.attempts.at(-1)!.body.stream_options, { include_usage: false });
  });

  it("tee() and toReadableStream() of a stream: every branch gets every chunk, the call is recorded once", async () => {
    const { t, openai } = setup();
    const usage = { prompt_tokens: 6, completion_tokens: 2, total_tokens: 8 };
    const events = [chatChunk("x"), chatChunk("yz"), chatChunk(null, usage), "[DONE]"];
    api.answer({ kind: "sse", events }, { kind: "sse", events });
    const body = {
      model: "gpt-4o",
      messages: MESSAGES,
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const before = await scrape(t.registry);
    const [left, right] = (await openai.chat.completions.create(body)).tee();
    const read = async (branch: typeof left) => {
      const got: unknown[] = [];
      for await (const chunk of branch) got.push(chunk.choices[0]?.delta.content ?? chunk.usage);
      return got;
    };
    const [a, b] = await Promise.all([read(left), read(right)]);
    assert.deepEqual(a, ["x", "yz", usage]);
    assert.deepEqual(b, a);
    // The same stream turned into bytes, as a server would forward it.
    const readable = (await openai.chat.completions.create(body)).toReadableStream();
    const lines = (await new Response(readable as ReadableStream).text()).trim().split("\n");
    assert.deepEqual(lines.map((line) => JSON.parse(line).usage ?? null), [null, null, usage]);
    // Two calls (the tee'd one and the other), each recorded once.
    const once = recorded({ ...STREAM_LABELS, tokens: [6, 2], bytes: 3 });
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      new Map([...once].map(([key, value]) => [key, 2 * value])),
    );
  });

  it("a stream left by break is recorded then, as a success with what arrived and no tokens", async () => {
    const { t, openai } = setup();
    const usage = { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 };
    api.answer({
      kind: "sse",
      delayMs: 20,
      events: [chatChunk("one"), chatChunk("two"), chatChunk("three"), chatChunk(null, usage)],
    });
    const before = await scrape(t.registry);
    const stream = await openai.chat.completions.create({
      model: "gpt-4o",
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    const seen: string[] = [];
    for await (const chunk of stream) {
      seen.push(chunk.choices[0].delta.content ?? "");
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, ["one", "two"]);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ ...STREAM_LABELS, bytes: 6 }),
    );
  });

  it("a connection dropped in the middle of a stream: the caller gets the error, counted once as network", async () => {
    const { t, openai } = setup();
    let read!: () => void;
    const dropWhen = new Promise<void>((resolve) => read = resolve);
    api.answer({
      kind: "sse",
      events: [chatChunk("a"), chatChunk("b"), "[DONE]"],
      dropAfter: 1,
      dropWhen,
    });
    const before = await scrape(t.registry);
    const stream = await openai.chat.completions.create({
      model: "gpt-4o",
      messages: MESSAGES,
      stream: true,
    });
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of stream) {
        seen.push(chunk.choices[0].delta.content ?? "");
        read(); // the server drops the connection now
      }
    });
    assert.deepEqual(seen, ["a"]);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      failure("network", "gpt-4o-2024-08-06", "chat_stream"),
    );
  });

  it("429 with Retry-After, retried by the SDK: one request, one rate limit, and the wait in its duration", async () => {
    const { t, openai } = setup({ maxRetries: 1 });
    api.answer(apiError(429, { "retry-after": "1" }), apiError(429, { "retry-after": "1" }));
    const { attempts, before, after } = await failedCall(
      api,
      t.registry,
      () => openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES }),
      (error: { status?: number }) => error.status === 429,
    );
    assert.equal(attempts, 2, "the SDK tried twice (maxRetries: 1)");
    assert.deepEqual(changes(before, after), failure("rate_limited"));
    // The SDK waited the 1 s it was told to: the one call took at least 1 s.
    assertSeconds(
      histogramOf(after, "llm_request_duration_seconds", { model: "gpt-4o", endpoint: "chat" }),
      { slow: 1, slowSeconds: 1 },
      "429 retried after 1 s",
    );
  });

  it("500, retried twice by the SDK: three attempts, one request, one http_5xx", async () => {
    const { t, openai } = setup({ maxRetries: 2 });
    const soon = { "retry-after-ms": "10" };
    api.answer(apiError(500, soon), apiError(500, soon), apiError(500, soon));
    const { attempts, before, after } = await failedCall(
      api,
      t.registry,
      () => openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES }),
      (error: { status?: number }) => error.status === 500,
    );
    assert.equal(attempts, 3);
    assert.deepEqual(changes(before, after), failure("http_5xx"));
  });

  it("a retry that succeeds is one successful request", async () => {
    const { t, openai } = setup({ maxRetries: 2 });
    const usage = { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 };
    api.answer(apiError(503, { "retry-after-ms": "10" }), chatCompletion("ok", usage));
    const from = api.attempts.length;
    const before = await scrape(t.registry);
    await openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES });
    assert.equal(api.attempts.length - from, 2);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ ...CHAT_LABELS, tokens: [4, 1], bytes: 2 }),
    );
  });

  it("400 is http_4xx, not retried", async () => {
    const { t, openai } = setup({ maxRetries: 2 });
    api.answer(apiError(400));
    const { attempts, before, after } = await failedCall(
      api,
      t.registry,
      () => openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES }),
      (error: { status?: number }) => error.status === 400,
    );
    assert.equal(attempts, 1);
    assert.deepEqual(changes(before, after), failure("http_4xx"));
  });

  it("a dropped connection, retried once: two attempts, one network error", async () => {
    const { t, openai } = setup({ maxRetries: 1 });
    api.answer({ kind: "drop" }, { kind: "drop" });
    const { attempts, before, after } = await failedCall(
      api,
      t.registry,
      () => openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES }),
      (error: Error) => error.constructor.name === "APIConnectionError",
    );
    assert.equal(attempts, 2);
    assert.deepEqual(changes(before, after), failure("network"));
  });

  it("a timeout is timeout, with the time waited in its duration", async () => {
    const { t, openai } = setup({ timeout: 300 });
    api.answer({ kind: "hang" });
    const before = await scrape(t.registry);
    await assert.rejects(
      openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES }),
      (error: Error) => error.constructor.name === "APIConnectionTimeoutError",
    );
    const after = await scrape(t.registry);
    assert.deepEqual(changes(before, after), failure("timeout"));
    assertSeconds(
      histogramOf(after, "llm_request_duration_seconds", { model: "gpt-4o", endpoint: "chat" }),
      { slow: 1, slowSeconds: 0.3 },
      "timeout after 300 ms",
    );
  });

  it("the caller's own abort is aborted", async () => {
    const { t, openai } = setup();
    api.answer({ kind: "hang" });
    const controller = new AbortController();
    const before = await scrape(t.registry);
    const from = api.attempts.length;
    const call = openai.chat.completions.create(
      { model: "gpt-4o", messages: MESSAGES },
      { signal: controller.signal },
    );
    await api.attempted(from + 1);
    controller.abort();
    await assert.rejects(call);
    assert.deepEqual(changes(before, await scrape(t.registry)), failure("aborted"));
  });

  it("the endpoint rule and model: 'request' name the labels", async () => {
    const seen: unknown[] = [];
    const { t, openai } = setup({}, {
      model: "request",
      endpoint: (call) => {
        seen.push(call);
        return `${call.operation}${call.stream ? "+stream" : ""}`;
      },
    });
    api.answer(chatCompletion("x", { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }));
    const before = await scrape(t.registry);
    await openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES });
    assert.deepEqual(seen, [{
      operation: "chat.completions.create",
      stream: false,
      model: "gpt-4o",
    }]);
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ model: "gpt-4o", endpoint: "chat.completions.create", tokens: [1, 1], bytes: 1 }),
    );
  });

  it("an endpoint rule that returns no string fails the call before any request", () => {
    const { openai } = setup({}, { endpoint: () => "" });
    const from = api.attempts.length;
    assert.throws(
      () => openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES }),
      {
        name: "TypeError",
        message: 'instrumentOpenAI: endpoint(call) must be a non-empty string, got ""',
      },
    );
    assert.equal(api.attempts.length, from);
  });

  it("instrumenting twice counts once; with other options it is a TypeError", async () => {
    const t = createTracking(new Registry());
    const client = new OpenAI({ apiKey: SECRET_KEY, baseURL: `${api.url}/v1`, maxRetries: 0 });
    instrumentOpenAI(client, { metrics: t.metrics });
    assert.equal(instrumentOpenAI(client, { metrics: t.metrics }), client);
    assert.throws(
      () => instrumentOpenAI(client, { metrics: createTracking(new Registry()).metrics }),
      /instrumentOpenAI: this client is instrumented already, with other options/,
    );
    api.answer(chatCompletion("x", { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }));
    await client.chat.completions.create({ model: "gpt-4o", messages: MESSAGES });
    assert.equal(t.metrics.llmRequestsTotal.get(CHAT_LABELS), 1);
    assert.equal(t.metrics.llmTokensTotal.get({ model: "gpt-4o-2024-08-06", type: "prompt" }), 1);
  });

  it("the SDK's chat.completions.stream() helper is recorded through create", async () => {
    const { t, openai } = setup();
    api.answer({
      kind: "sse",
      events: [chatChunk("hi"), chatChunk(" you", undefined, "stop"), "[DONE]"],
    });
    const before = await scrape(t.registry);
    const runner = openai.chat.completions.stream({ model: "gpt-4o", messages: MESSAGES });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, "hi you");
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      recorded({ ...STREAM_LABELS, bytes: 6 }),
    );
  });

  it("a real scrape over HTTP shows the metrics, with no trace of the API key", async () => {
    const { t, openai } = setup({ maxRetries: 0 });
    api.answer(
      chatCompletion("fine", { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 }),
      apiError(401),
    );
    await openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES });
    const error = await openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES })
      .then(() => undefined, (e: Error) => e);
    assert.ok(error instanceof Error);
    assert.equal(String(error.message).includes(SECRET_KEY), false);
    // The SDK sent the key: it is the fake API's to see, and nobody else's.
    assert.equal(api.attempts.at(-1)!.headers.authorization, `Bearer ${SECRET_KEY}`);
    const server = await serveOnLoopback(metricsHandler(t.registry));
    try {
      const res = await fetch(`${server.origin}/metrics`);
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.equal(text.includes(SECRET_KEY), false);
      assert.equal(text.includes("SECRET"), false);
      const families = parseText(text);
      const tokens = family(families, "llm_tokens_total").samples.map((s) => [s.labels, s.value]);
      assert.deepEqual(tokens, [
        [{ model: "gpt-4o-2024-08-06", type: "prompt" }, 7],
        [{ model: "gpt-4o-2024-08-06", type: "completion" }, 1],
      ]);
      const errors = family(families, "llm_errors_total").samples.map((s) => [s.labels, s.value]);
      assert.deepEqual(errors, [[{ model: "gpt-4o", error_type: "http_4xx" }, 1]]);
    } finally {
      await server.close();
    }
  });
});

describe("instrumentOpenAI arguments", () => {
  it("refuses what is not an OpenAI client, and bad options, naming them", () => {
    assert.throws(
      () => instrumentOpenAI(null as never),
      {
        name: "TypeError",
        message:
          "instrumentOpenAI: client must be an OpenAI client (with chat.completions.create), got null",
      },
    );
    assert.throws(
      () => instrumentOpenAI({ chat: {} } as never),
      /instrumentOpenAI: client must be an OpenAI client/,
    );
    const client = () => ({ chat: { completions: { create: () => Promise.resolve({}) } } });
    assert.throws(
      () => instrumentOpenAI(client(), { endpoint: "chat" as never }),
      {
        name: "TypeError",
        message: "instrumentOpenAI: options.endpoint must be a function, got string",
      },
    );
    assert.throws(
      () => instrumentOpenAI(client(), { model: "both" as never }),
      /instrumentOpenAI: options.model must be "response" or "request", got "both"/,
    );
    assert.throws(
      () => instrumentOpenAI(client(), { includeStreamUsage: 1 as never }),
      /options.includeStreamUsage must be a boolean, got number/,
    );
    assert.throws(
      () => instrumentOpenAI(client(), { metrics: {} as never }),
      /options.metrics must be a TrackingMetrics catalogue/,
    );
  });
});
