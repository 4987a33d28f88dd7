/**
 * The gateway's fast path for content chunks (`app/gateway/_chunk.ts`)
 * against `JSON.parse`, the slow path: whatever the fast path reads, the
 * slow path must read the same (model, content, and nothing else the meter
 * looks at: no error, no usage, one choice, no tool call, no refusal), and
 * whatever is not valid JSON it must refuse. Held on generated chunks
 * (contents of escapes, `\u` sequences in both cases, surrogate pairs and
 * lone surrogates, raw non-ASCII, U+2028, DEL), on hand-written tricky ones,
 * and on every chunk with one character inserted, replaced or deleted at
 * every position; and its within-a-stream shortcut (the text around the content
 * known from the chunk before) on any text put in between, quotes,
 * backslashes and broken escapes included. Then the whole gateway with a fetch stub: the metered
 * completion bytes are exact when a surrogate pair is split across two
 * chunks' escapes, and when the events arrive cut at random bytes.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ContentChunks } from "../../app/gateway/_chunk.ts";
import { toUsage } from "../../src/llm/usage.ts";
import { gatewayRoutes } from "../../app/gateway/gateway.ts";
import { silentLog } from "../../app/log.ts";
import { Registry } from "../../src/core/registry.ts";
import { createTracking } from "../../src/tracking/mod.ts";
import { parseSSE, type SSEEvent } from "../../src/llm/mod.ts";
import { int, mulberry32, pick } from "../_support/random.ts";

type Json = Record<string, unknown>;

/** The slow path's reading of `data`, as the meter does it; `undefined` when it is no content chunk. */
function slow(data: string): { model: unknown; content: string } | undefined {
  let json: Json;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  if (json.error !== undefined || toUsage(json.usage) !== undefined) return undefined;
  const choices = json.choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const choice = choices[0] as Json;
  const delta = choice?.delta as Json | undefined;
  if (typeof delta !== "object" || delta === null || Array.isArray(delta)) return undefined;
  if (typeof delta.content !== "string") return undefined;
  if (delta.tool_calls !== undefined || delta.refusal) return undefined;
  return { model: json.model, content: delta.content };
}

/**
 * The fast path (`reader`, or a fresh one: the full pattern) agrees with the
 * slow one on `data`; `false` when it left `data` to the slow one.
 */
function agree(data: string, reader = new ContentChunks()): boolean {
  const content = reader.read(data);
  if (content === undefined) return false;
  const reference = slow(data);
  assert.notEqual(reference, undefined, `fast path read a chunk the slow path does not: ${data}`);
  assert.deepEqual(
    { model: reader.model, content },
    reference,
    `fast and slow path differ on ${data}`,
  );
  return true;
}

function chunk(content: string, extra: Json = {}, model = "gpt-4o-mini"): string {
  return JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1764750000,
    model,
    system_fingerprint: "fp_1",
    choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
    ...extra,
  });
}

const PIECES = [
  "a",
  " ",
  "é",
  "日本",
  "😀",
  "\u2028",
  "\u007f",
  '"',
  "\\",
  "/",
  "\n",
  "\r\n",
  "\t",
  "\u0000",
  "\u001f",
  "\ud83d", // lone surrogates: JSON.stringify writes them as \u escapes
  "\ude00",
  "\ufeff",
  "\ufffd",
];

describe("gateway: the content-chunk fast path against JSON.parse", () => {
  it("reads OpenAI's shapes, and agrees with JSON.parse on generated contents", () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 3000; i++) {
      let content = "";
      for (let n = int(rand, 8); n > 0; n--) content += pick(rand, PIECES);
      const model = int(rand, 4) === 0 ? `m"${pick(rand, PIECES)}` : "gpt-4o-mini";
      for (
        const data of [
          chunk(content, {}, model),
          chunk(content, { usage: null }, model),
          JSON.stringify({
            id: "c",
            object: "chat.completion.chunk",
            created: 0,
            model,
            service_tier: "default",
            system_fingerprint: null,
            choices: [{
              index: 0,
              delta: { role: "assistant", content, refusal: null },
              finish_reason: null,
            }],
            usage: null,
            obfuscation: "x",
          }),
        ]
      ) {
        assert.ok(agree(data), `the fast path did not read ${data}`);
      }
    }
  });

  it("decodes every JSON escape, \\u in either case, pairs and lone surrogates", () => {
    const base = chunk("@");
    for (
      const raw of [
        String.raw`\u00e9\u00E9`,
        String.raw`\uD83D\uDE00 \ud83d\ude00`,
        String.raw`\ud83d`,
        String.raw`\ude00\ud83d`,
        String.raw`\"\\\/\b\f\n\r\t`,
        String.raw`\u0000\u001F\u2028`,
        String.raw`a\\u0041`,
      ]
    ) {
      assert.ok(agree(base.replace('"@"', `"${raw}"`)), raw);
    }
  });

  it("leaves everything else to JSON.parse", () => {
    const base = chunk("hi");
    const others = [
      base.replace('"created":1764750000', '"created":01764750000'),
      base.replace('"created":1764750000', '"created":1.5'),
      base.replace('"created":1764750000', '"created":-1'),
      base.replace('"hi"', String.raw`"\x41"`),
      base.replace('"hi"', String.raw`"\u12G4"`),
      base.replace('"hi"', String.raw`"\u12"`),
      base.replace('"hi"', '"a\u0001b"'),
      base.replace('"hi"', '"a\nb"'),
      base.replace('"hi"', '"a"b"'),
      base.replace('"hi"', '"a\\"'),
      base.replace('"hi"', "null"),
      base.replace('{"content"', '{"content"').replace(
        '"content":"hi"',
        '"content":"hi","tool_calls":[]',
      ),
      base.replace('"content":"hi"', '"content":"hi","refusal":"no"'),
      base.replace('"index":0', '"index":0,"index":1'),
      base.replace("}]}", '}],"usage":{"prompt_tokens":1,"completion_tokens":2}}'),
      base.replace("}]}", '}],"error":null}'),
      base.replace("}]}", "}]} "),
      " " + base,
      base.replace('"model":', '"model" :'),
      base.replace('"finish_reason":null', '"finish_reason":"stop"'),
      base.replace("chat.completion.chunk", "chat.completionXchunk"),
      base.replace('"content":"hi"}', '"content":"hi"},{"index":1}'),
      base.slice(0, -1),
      "[DONE]",
      "",
    ];
    for (const data of others) {
      assert.equal(new ContentChunks().read(data), undefined, `fast path read ${data}`);
    }
  });

  it("within a stream (the text around the content known): agrees on any text in between", () => {
    const rand = mulberry32(3);
    const raws = [
      ...PIECES.map((p) => JSON.stringify(p).slice(1, -1)),
      '"',
      "\\",
      String.raw`\"`,
      String.raw`\\`,
      String.raw`\u12`,
      String.raw`\uD83D`,
      String.raw`\x`,
      "\u0001",
      "\n",
      '"},{"x":"',
      '","tool_calls":[],"c":"',
      "é",
    ];
    const models = ["gpt-4o-mini", "other"];
    const reader = new ContentChunks();
    let viaCache = 0;
    for (let i = 0; i < 5000; i++) {
      const model = pick(rand, models);
      const extra = int(rand, 2) === 0 ? {} : { usage: null };
      const [before, after] = chunk("@", extra, model).split('"@"');
      let raw = "";
      for (let n = int(rand, 5); n > 0; n--) raw += pick(rand, raws);
      const data = `${before}"${raw}"${after}`;
      const known = reader.read(`${before}"x"${after}`) === "x"; // primes it
      if (agree(data, reader) && known) viaCache++;
    }
    assert.ok(viaCache > 1000, `only ${viaCache} chunks read with the text around known`);
  });

  it("agrees with JSON.parse on every one-character insertion, replacement and deletion", () => {
    const bases = [
      chunk('Grüße "x" \\ 😀 \ud83d'),
      chunk("", { usage: null }),
    ];
    const inserts = ['"', "\\", "0", "1", " ", "\n", "u", "x", "{", "}", ",", ":", "\u0001", "é"];
    let read = 0;
    for (const base of bases) {
      for (let at = 0; at <= base.length; at++) {
        if (at < base.length) {
          const data = base.slice(0, at) + base.slice(at + 1);
          if (agree(data)) read++;
          const primed = new ContentChunks();
          primed.read(base);
          agree(data, primed);
        }
        for (const c of inserts) {
          // c inserted at `at`, and in place of the character there.
          const edits = [base.slice(0, at) + c + base.slice(at)];
          if (at < base.length) edits.push(base.slice(0, at) + c + base.slice(at + 1));
          for (const data of edits) {
            if (agree(data)) read++;
            // And with the text around the content known from the unchanged chunk.
            const primed = new ContentChunks();
            assert.notEqual(primed.read(base), undefined);
            agree(data, primed);
          }
        }
      }
    }
    assert.ok(read > 0, "no mutation was read at all: the check is void");
  });
});

describe("gateway: metered completion bytes on the fast path", () => {
  const encoder = new TextEncoder();

  async function through(chunks: Uint8Array[]) {
    const registry = new Registry();
    const routes = gatewayRoutes({
      upstream: "http://upstream.invalid/v1",
      metrics: createTracking(registry).metrics,
      registry,
      log: silentLog,
      fetch: () => {
        let i = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            if (i < chunks.length) c.enqueue(chunks[i++]);
            else c.close();
          },
        });
        return Promise.resolve(
          new Response(body, { headers: { "content-type": "text/event-stream" } }),
        );
      },
    });
    const res = await routes["/v1/chat/completions"](
      new Request("http://gateway.invalid/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify({ model: "m", messages: [], stream: true }),
      }),
    );
    const events: SSEEvent[] = await Array.fromAsync(parseSSE(res.body!));
    const text = await registry.metrics();
    const bytes = Number(text.match(/^llm_completion_size_bytes_sum\{[^}]*\} (\S+)/m)?.[1]);
    const model = text.match(/^llm_requests_total\{[^}]*model="([^"]*)"/m)?.[1];
    return { events, bytes, model };
  }

  it("a surrogate pair split over two chunks' escapes, escapes, and random cuts: exact bytes", async () => {
    const contents = [
      "",
      "a",
      String.raw`\ud83d`,
      String.raw`\ude00`,
      "é",
      String.raw`\u00e9\n`,
      "😀",
    ];
    const datas = contents.map((c) =>
      chunk("@", { usage: null }, "gpt-x").replace('"@"', `"${c}"`)
    );
    datas.push(JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 6 } }));
    datas.push("[DONE]");
    const stream = encoder.encode(datas.map((d) => `data: ${d}\n\n`).join(""));
    const text = contents.map((c) => JSON.parse(`"${c}"`)).join("");
    const expectedBytes = encoder.encode(text).byteLength; // the pair joins: 4 bytes, not 3 + 3
    assert.equal(expectedBytes, 1 + 4 + 2 + 2 + 1 + 4);
    const rand = mulberry32(11);
    for (let round = 0; round < 30; round++) {
      const offsets = round === 0
        ? []
        : Array.from({ length: 1 + int(rand, 8) }, () => int(rand, stream.length)).sort((a, b) =>
          a - b
        );
      const chunks: Uint8Array[] = [];
      let at = 0;
      for (const o of [...offsets, stream.length]) {
        chunks.push(stream.slice(at, o));
        at = o;
      }
      const { events, bytes, model } = await through(chunks);
      assert.equal(bytes, expectedBytes, `round ${round}`);
      assert.equal(model, "gpt-x");
      assert.deepEqual(events.map((e) => e.data), [...datas.slice(0, -2), "[DONE]"]);
    }
  });
});
