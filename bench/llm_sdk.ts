/**
 * What `instrumentOpenAI` / `instrumentAnthropic` add to a call of the real
 * SDKs (`openai` 7.55.0, `@anthropic-ai/sdk` 1.16.0), in one run: each
 * group is the same call on a plain client (the baseline) and on an
 * instrumented one. No network: both clients get a `fetch` answering from
 * memory, so the rows measure the SDK's own work (request building, parsing,
 * its stream machinery) and ours, the worst case for the ratio; against a
 * real API, milliseconds to seconds of latency dwarf both.
 *
 * Under load, averages swing with whatever else runs, so each row is timed
 * in `ROUNDS` alternating batches of `BATCH` calls (plain, instrumented,
 * then instrumented, plain, ...) and reported by its fastest batch, the
 * one least disturbed; the ratio compares those.
 *
 * Run: `deno run --allow-read --allow-env bench/llm_sdk.ts`.
 *
 * @module
 */

import OpenAI from "npm:openai@7.55.0";
import Anthropic from "npm:@anthropic-ai/sdk@1.16.0";
import { Registry } from "../src/mod.ts";
import { createTracking, instrumentAnthropic, instrumentOpenAI } from "../src/tracking/mod.ts";

/** Chunks in the streamed rows. */
const CHUNKS = 200;

const completion = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-2024-08-06",
  choices: [{
    index: 0,
    message: { role: "assistant", content: "Hello there, how can I help?", refusal: null },
    finish_reason: "stop",
    logprobs: null,
  }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});

const chunk = (content: string) =>
  `data: ${
    JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: "gpt-4o-2024-08-06",
      choices: [{ index: 0, delta: { content }, finish_reason: null }],
    })
  }\n\n`;
const stream = Array.from({ length: CHUNKS }, (_, i) => chunk(`token ${i} `)).join("") +
  `data: ${
    JSON.stringify({
      choices: [],
      usage: { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS },
    })
  }\n\ndata: [DONE]\n\n`;

const message = JSON.stringify({
  id: "msg_1",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5-20250929",
  content: [{ type: "text", text: "Hello there, how can I help?" }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 7 },
});

/** A fetch answering every request from memory: the SSE text when the body asks for a stream. */
function fetchFrom(json: string, sse: string): typeof fetch {
  return (_input, init) => {
    const streamed = typeof init?.body === "string" && init.body.includes('"stream":true');
    return Promise.resolve(
      new Response(streamed ? sse : json, {
        headers: { "content-type": streamed ? "text/event-stream" : "application/json" },
      }),
    );
  };
}

const metrics = createTracking(new Registry()).metrics;
const openAIOptions = {
  apiKey: "sk-bench",
  baseURL: "http://127.0.0.1:9/v1",
  maxRetries: 0,
  fetch: fetchFrom(completion, stream),
};
const plainOpenAI = new OpenAI(openAIOptions);
const openai = instrumentOpenAI(new OpenAI(openAIOptions), { metrics });
const anthropicOptions = {
  apiKey: "sk-bench",
  baseURL: "http://127.0.0.1:9",
  maxRetries: 0,
  fetch: fetchFrom(message, ""),
};
const plainAnthropic = new Anthropic(anthropicOptions);
const anthropic = instrumentAnthropic(new Anthropic(anthropicOptions), { metrics });

const chat = { model: "gpt-4o", messages: [{ role: "user" as const, content: "Hi" }] };
const streamed = { ...chat, stream: true as const, stream_options: { include_usage: true } };
const messages = {
  model: "claude-sonnet-4-5",
  max_tokens: 100,
  messages: [{ role: "user" as const, content: "Hi" }],
};

async function drain(client: OpenAI): Promise<void> {
  for await (const _ of await client.chat.completions.create(streamed)) { /* read all */ }
}

const ROUNDS = 30;
const BATCH = 50;

/** The fastest of `ROUNDS` batches of `BATCH` calls of each, alternating; microseconds a call. */
async function race(
  plain: () => Promise<unknown>,
  instrumented: () => Promise<unknown>,
): Promise<[number, number]> {
  const best = [Infinity, Infinity];
  const fns = [plain, instrumented];
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const start = performance.now();
      for (let i = 0; i < BATCH; i++) await fns[k]();
      best[k] = Math.min(best[k], ((performance.now() - start) * 1000) / BATCH);
    }
  }
  return [best[0], best[1]];
}

/**
 * The instrumentation alone: a client of the SDK's shape whose `create`
 * answers at once (a resolved promise, or an async generator of the same
 * chunks, parsed), so that nothing but our wrapper is left to measure.
 */
const parsedCompletion = JSON.parse(completion);
const parsedChunks = stream.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) =>
  JSON.parse(e.slice(6))
);
function bareClient() {
  return {
    chat: {
      completions: {
        create: (body: { model: string; stream?: boolean }) =>
          Promise.resolve(
            body.stream
              ? {
                async *[Symbol.asyncIterator]() {
                  yield* parsedChunks;
                },
              }
              : parsedCompletion,
          ),
      },
    },
  };
}
const plainBare = bareClient();
const bare = instrumentOpenAI(bareClient(), { metrics });
async function drainBare(client: typeof bare): Promise<void> {
  const chunks = await client.chat.completions.create(streamed) as AsyncIterable<unknown>;
  for await (const _ of chunks) { /* read all */ }
}

const rows: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
  [
    "bare client: create",
    () => plainBare.chat.completions.create(chat),
    () => bare.chat.completions.create(chat),
  ],
  [
    `bare client: stream of ${CHUNKS} chunks`,
    () => drainBare(plainBare),
    () => drainBare(bare),
  ],
  [
    "openai chat.completions.create",
    () => plainOpenAI.chat.completions.create(chat),
    () => openai.chat.completions.create(chat),
  ],
  [`openai stream of ${CHUNKS} chunks`, () => drain(plainOpenAI), () => drain(openai)],
  [
    "anthropic messages.create",
    () => plainAnthropic.messages.create(messages),
    () => anthropic.messages.create(messages),
  ],
];

console.log(`load average: ${Deno.loadavg().map((n) => n.toFixed(1)).join(" ")}`);
console.log("| call | plain (us) | instrumented (us) | instrumented / plain |");
console.log("| --- | ---: | ---: | ---: |");
for (const [name, plain, instrumented] of rows) {
  const [p, i] = await race(plain, instrumented);
  console.log(`| ${name} | ${p.toFixed(1)} | ${i.toFixed(1)} | ${(i / p).toFixed(2)}x |`);
}
