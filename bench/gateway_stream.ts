/**
 * What a streamed chat completion costs the LLM gateway per token, in
 * process: no sockets, no other processes. The gateway's
 * `/v1/chat/completions` handler (`gatewayRoutes`, client keys off) gets a
 * `fetch` stub whose answer is a `ReadableStream` of `--tokens` (default
 * 20,000) OpenAI chunk events of about 300 bytes each (shaped like
 * OpenAI's: `id`, `object`, `created`, `model`, `system_fingerprint`,
 * `choices[0].delta.content`, `logprobs`, `finish_reason`; one event per
 * upstream read, as `bench/_gateway_upstream.ts` sends them, or with
 * `--chunk-bytes=N` the stream cut every N bytes regardless of events, as
 * a socket delivers it when the upstream is ahead), then the
 * finish chunk, the usage chunk and `[DONE]`. The client side reads the
 * gateway's response body to the end. Reported: µs per token (wall time of
 * the whole stream / tokens), the median of `--runs` (default 7) runs after
 * one warm-up, for both paths:
 *
 * - `rewrite`: the client did not ask for usage, so the gateway adds
 *   `include_usage` and must cut the usage chunk out of the stream;
 * - `raw`: the client asked for usage, so the bytes pass through as they are.
 *
 * The time includes the stub upstream's own stream (a few µs a chunk at
 * most: `--baseline` prints what reading that stream alone costs per token).
 * Each run checks the client got every token and the metered completion
 * bytes are exact, so a broken fast path cannot look fast.
 *
 * Run: `deno run --allow-env --allow-sys bench/gateway_stream.ts
 * [--tokens=20000] [--runs=7] [--chunk-bytes=N] [--baseline]`, or the same file with
 * `npx -y bun@1.4.4 bench/gateway_stream.ts`. Prints the load average too
 * (the machine is shared: compare numbers from the same load).
 *
 * @module
 */

import { Registry } from "../src/core/registry.ts";
import { createTracking } from "../src/tracking/mod.ts";
import { gatewayRoutes } from "../app/gateway/gateway.ts";
import { silentLog } from "../app/log.ts";
import * as os from "node:os";

const args: string[] = typeof Deno !== "undefined"
  ? Deno.args
  : (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);

function arg(name: string, fallback: number): number {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const value = raw === undefined ? fallback : Number(raw);
  if (!(value >= 1) || !Number.isInteger(value)) {
    throw new RangeError(`--${name} must be an integer >= 1 (got ${JSON.stringify(raw)})`);
  }
  return value;
}

const TOKENS = arg("tokens", 20_000);
const RUNS = arg("runs", 7);
const encoder = new TextEncoder();
const MODEL = "gpt-4o-mini-2024-07-18";
const ID = "chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012";

/** One `data:` event of a chat completion chunk with `fields` (its choices, its usage). */
function event(fields: object): Uint8Array {
  return encoder.encode(`data: ${
    JSON.stringify({
      id: ID,
      object: "chat.completion.chunk",
      created: 1764750000,
      model: MODEL,
      system_fingerprint: "fp_0123456789",
      ...fields,
    })
  }\n\n`);
}

/** A content chunk: one choice with `delta`, `usage: null` (as with `include_usage`). */
function chunk(delta: object, finish: string | null): Uint8Array {
  return event({
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  });
}

/** The upstream's events: role, TOKENS tokens, finish, usage, [DONE]. */
function events(): Uint8Array[] {
  const out = [chunk({ role: "assistant", content: "", refusal: null }, null)];
  for (let i = 0; i < TOKENS; i++) {
    out.push(chunk({ content: ` word${i % 1000} and a bit` }, null));
  }
  out.push(chunk({}, "stop"));
  const usage = { prompt_tokens: 12, completion_tokens: TOKENS, total_tokens: TOKENS + 12 };
  out.push(event({ choices: [], usage }));
  out.push(encoder.encode("data: [DONE]\n\n"));
  return out;
}

const EVENTS = events();
let expectedBytes = 0;
for (let i = 0; i < TOKENS; i++) {
  expectedBytes += encoder.encode(` word${i % 1000} and a bit`).length;
}
const meanBytes = EVENTS.reduce((n, e) => n + e.byteLength, 0) / EVENTS.length;

const CHUNK_BYTES = args.some((a) => a.startsWith("--chunk-bytes="))
  ? arg("chunk-bytes", 16384)
  : 0;
/** The upstream's reads: one event each, or (--chunk-bytes) the stream cut every so many bytes. */
const READS: Uint8Array[] = CHUNK_BYTES === 0 ? EVENTS : (() => {
  const all = new Uint8Array(EVENTS.reduce((n, e) => n + e.byteLength, 0));
  let at = 0;
  for (const e of EVENTS) {
    all.set(e, at);
    at += e.byteLength;
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += CHUNK_BYTES) out.push(all.slice(i, i + CHUNK_BYTES));
  return out;
})();

function upstreamBody(): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < READS.length) c.enqueue(READS[i++]);
      else c.close();
    },
  }, { highWaterMark: 0 });
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<number> {
  const reader = body.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.byteLength;
  }
}

/** One stream through the gateway; µs per token. */
async function run(raw: boolean): Promise<number> {
  const registry = new Registry();
  const tracking = createTracking(registry);
  const routes = gatewayRoutes({
    upstream: "http://upstream.invalid/v1",
    metrics: tracking.metrics,
    registry,
    log: silentLog,
    fetch: () =>
      Promise.resolve(
        new Response(upstreamBody(), { headers: { "content-type": "text/event-stream" } }),
      ),
  });
  const body = {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "hi" }],
    stream: true,
    ...(raw ? { stream_options: { include_usage: true } } : {}),
  };
  const start = performance.now();
  const res = await routes["/v1/chat/completions"](
    new Request("http://gateway.invalid/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  const got = await readAll(res.body!);
  const ms = performance.now() - start;
  // Exactness checks: everything but (rewrite) the usage chunk reached the
  // client, and the metered completion bytes are the content's.
  const usageBytes = EVENTS[EVENTS.length - 2].byteLength;
  const all = EVENTS.reduce((n, e) => n + e.byteLength, 0);
  const min = raw ? all : all - usageBytes - 64;
  if (got < min) throw new Error(`the client got ${got} bytes, expected about ${all}`);
  const text = await registry.metrics();
  const sum = text.match(/^llm_completion_size_bytes_sum\{[^}]*\} (\d+)/m)?.[1];
  if (Number(sum) !== expectedBytes) {
    throw new Error(`metered ${sum} completion bytes, expected ${expectedBytes}`);
  }
  const tokens = text.match(/^llm_tokens_total\{[^}]*type="completion"[^}]*\} (\d+)/m)?.[1];
  if (Number(tokens) !== TOKENS) throw new Error(`metered ${tokens} tokens, expected ${TOKENS}`);
  return (ms * 1000) / TOKENS;
}

async function baseline(): Promise<number> {
  const start = performance.now();
  await readAll(upstreamBody());
  return ((performance.now() - start) * 1000) / TOKENS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const runtime = typeof Deno !== "undefined"
  ? `Deno ${Deno.version.deno}`
  : `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`;
console.log(
  `${runtime}, ${TOKENS} tokens, ${Math.round(meanBytes)} B/event, ` +
    `${CHUNK_BYTES === 0 ? "one event a read" : `reads of ${CHUNK_BYTES} bytes`}, ${RUNS} runs, ` +
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
);
const modes: [string, () => Promise<number>][] = [
  ["rewrite (client did not ask for usage)", () => run(false)],
  ["raw (client asked for usage)", () => run(true)],
];
if (args.includes("--baseline")) modes.push(["baseline (upstream stream alone)", baseline]);
for (const [name, f] of modes) {
  await f(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await f());
  console.log(
    `${name}: ${median(times).toFixed(2)} µs/token (runs: ${
      times.map((t) => t.toFixed(2)).join(", ")
    })`,
  );
}
