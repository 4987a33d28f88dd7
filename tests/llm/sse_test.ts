/**
 * `parseSSE` on its own: the WHATWG event-stream rules (line ends, fields,
 * comments, dispatch, the last event ID), UTF-8 decoding across chunks, and
 * a sample stream split at every byte offset, as bytes and as text.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  parseSSE,
  type ParseSSEOptions,
  type SSEEvent,
  type SSESource,
} from "../../src/llm/mod.ts";
import { int, mulberry32 } from "../_support/random.ts";
import { cut } from "../_support/bytes.ts";

const encoder = new TextEncoder();

async function parse(source: SSESource, options?: ParseSSEOptions): Promise<SSEEvent[]> {
  const out: SSEEvent[] = [];
  for await (const event of parseSSE(source, options)) out.push(event);
  return out;
}

/** A ReadableStream of `chunks`. */
function streamOf<T>(chunks: readonly T[]): ReadableStream<T> {
  let i = 0;
  return new ReadableStream<T>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else controller.close();
    },
  });
}

/** Every feature at once: each line-end style, comments, multi-line data, fields, UTF-8. */
const SAMPLE = [
  ": a comment, then an event with a type, an id and two data lines\r\n",
  "event: greeting\r\n",
  "id: 1\r\n",
  "data: Grüße aus\r\n",
  "data:  Köln ✓ 🔒\r\n",
  "\r\n",
  "data:no space after the colon\r",
  "retry: 3000\r",
  "unknown: ignored\r",
  "\r",
  "data\n",
  "data: after a field without colon\n",
  "\n",
  "event: empty-data\n",
  "data:\n",
  "\n",
  ":only a comment\n",
  "\n",
  "event: not dispatched: no data\n",
  "\n",
  "id\n",
  "data: the id was reset\n",
  "\n",
  'data: {"choices":[{"delta":{"content":"日本語"}}]}\n',
  "\n",
].join("");

const SAMPLE_EVENTS: SSEEvent[] = [
  { event: "greeting", data: "Grüße aus\n Köln ✓ 🔒", id: "1" },
  { data: "no space after the colon", id: "1" },
  { data: "\nafter a field without colon", id: "1" },
  { event: "empty-data", data: "", id: "1" },
  { data: "the id was reset" },
  { data: '{"choices":[{"delta":{"content":"日本語"}}]}' },
];

describe("parseSSE", () => {
  it("reads the sample stream whole, as bytes and as a string", async () => {
    const bytes = encoder.encode(SAMPLE);
    assert.deepEqual(await parse([bytes]), SAMPLE_EVENTS);
    assert.deepEqual(await parse([SAMPLE]), SAMPLE_EVENTS);
    assert.deepEqual(await parse(streamOf([bytes])), SAMPLE_EVENTS);
    assert.deepEqual(await parse(new Response(SAMPLE).body!), SAMPLE_EVENTS);
  });

  it("gives the same events for the sample split at every byte offset", async () => {
    const bytes = encoder.encode(SAMPLE);
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(await parse(streamOf(cut(bytes, [i]))), SAMPLE_EVENTS, `split at ${i}`);
    }
  });

  it("gives the same events for the sample split at every string offset", async () => {
    for (let i = 0; i <= SAMPLE.length; i++) {
      const chunks = [SAMPLE.slice(0, i), SAMPLE.slice(i)];
      assert.deepEqual(await parse(chunks), SAMPLE_EVENTS, `split at ${i}`);
    }
  });

  it("gives the same events one byte at a time, and in random pieces", async () => {
    const bytes = encoder.encode(SAMPLE);
    const single = Array.from(bytes, (b) => Uint8Array.of(b));
    assert.deepEqual(await parse(single), SAMPLE_EVENTS);
    for (let seed = 1; seed <= 50; seed++) {
      const rand = mulberry32(seed);
      const offsets = new Set<number>();
      for (let k = int(rand, 20); k > 0; k--) offsets.add(int(rand, bytes.length + 1));
      const chunks = cut(bytes, [...offsets].sort((a, b) => a - b));
      assert.deepEqual(await parse(chunks), SAMPLE_EVENTS, `seed ${seed}`);
    }
  });

  it("ends lines at LF, CR and CRLF alike", async () => {
    for (const nl of ["\n", "\r", "\r\n"]) {
      const text = ["data: a", "data: b", "", "data: c", "", ""].join(nl);
      assert.deepEqual(await parse([text]), [{ data: "a\nb" }, { data: "c" }], JSON.stringify(nl));
    }
    // Mixed in one stream.
    assert.deepEqual(await parse(["data: a\rdata: b\ndata: c\r\n\r\ndata: d\n\r"]), [
      { data: "a\nb\nc" },
      { data: "d" },
    ]);
  });

  it("reads a CRLF split across chunks as one line end, not two", async () => {
    // Were the split CRLF two line ends, the LF would be a blank line and dispatch "a" alone.
    assert.deepEqual(await parse(["data: a\r", "\ndata: b\r", "\n\r", "\n"]), [{ data: "a\nb" }]);
    assert.deepEqual(
      await parse([
        encoder.encode("data: a\r"),
        encoder.encode("\ndata: b\r\n\r"),
        encoder.encode("\n"),
      ]),
      [{ data: "a\nb" }],
    );
    // A CR ending one chunk, then a chunk not starting with LF: the CR was the line end.
    assert.deepEqual(await parse(["data: a\r", "data: b\r", "\r"]), [{ data: "a\nb" }]);
    // Empty chunks in between change nothing.
    assert.deepEqual(await parse(["data: a\r", "", "\n", "", "\n"]), [{ data: "a" }]);
  });

  it("ignores comments, also between the fields of an event", async () => {
    assert.deepEqual(await parse([":keep-alive\n\n: x\ndata: a\n:: y\ndata: b\n\n"]), [
      { data: "a\nb" },
    ]);
  });

  it("joins data lines with LF, keeps blank data lines, and strips one space only", async () => {
    assert.deepEqual(await parse(["data: one\ndata:\ndata:   three\n\n"]), [
      { data: "one\n\n  three" },
    ]);
    assert.deepEqual(await parse(["data: \n\n"]), [{ data: "" }]);
    assert.deepEqual(await parse(["data:a:b: c\n\n"]), [{ data: "a:b: c" }]);
  });

  it("reads event and id fields; the last event ID carries over until reset", async () => {
    const text = "id: 7\nevent: a\ndata: 1\n\ndata: 2\n\nid: 8\ndata: 3\n\nid:\ndata: 4\n\n" +
      "id: has\0null\ndata: 5\n\nevent:\ndata: 6\n\n";
    assert.deepEqual(await parse([text]), [
      { event: "a", id: "7", data: "1" },
      { id: "7", data: "2" },
      { id: "8", data: "3" },
      { data: "4" },
      // An id with U+0000 is ignored; an empty event type is the default type.
      { data: "5" },
      { data: "6" },
    ]);
    // The event type does not carry over.
    assert.deepEqual(await parse(["event: x\ndata: 1\n\ndata: 2\n\n"]), [
      { event: "x", data: "1" },
      { data: "2" },
    ]);
  });

  it("reads a line without a colon as a field with an empty value", async () => {
    assert.deepEqual(await parse(["data\ndata\n\n"]), [{ data: "\n" }]);
    assert.deepEqual(await parse(["event\ndata: x\n\n"]), [{ data: "x" }]);
    assert.deepEqual(await parse(["id: 1\ndata: a\n\nid\ndata: b\n\n"]), [
      { id: "1", data: "a" },
      { data: "b" },
    ]);
    // Field names are case-sensitive; unknown and retry fields are ignored.
    assert.deepEqual(await parse(["Data: no\nretry: 10\nfoo: bar\ndata: yes\n\n"]), [{
      data: "yes",
    }]);
  });

  it("dispatches nothing for a blank line without data", async () => {
    assert.deepEqual(await parse(["\n\n\nevent: x\nid: 1\n\n\ndata: a\n\n"]), [
      { data: "a", id: "1" },
    ]);
  });

  it("at the end: discards an unterminated event, unless dispatchIncomplete", async () => {
    const cases: [string[], SSEEvent[]][] = [
      [["data: a\n\ndata: b"], [{ data: "b" }]], // no line end at all
      [["data: a\n\ndata: b\n"], [{ data: "b" }]], // no blank line
      [["data: a\n\ndata: b\r"], [{ data: "b" }]], // a CR, which ends the line
      [["data: a\n\ndata: b\r\n"], [{ data: "b" }]],
      [["data: a\n\nevent: x\ndata:", "b"], [{ event: "x", data: "b" }]],
      [["data: a\n\n"], []], // complete: nothing left
      [["data: a\n\n: comment"], []],
      [["data: a\n\nevent: x"], []], // no data: nothing to dispatch
    ];
    for (const [chunks, extra] of cases) {
      const label = JSON.stringify(chunks);
      assert.deepEqual(await parse(chunks), [{ data: "a" }], label);
      assert.deepEqual(
        await parse(chunks, { dispatchIncomplete: true }),
        [{ data: "a" }, ...extra],
        label,
      );
    }
  });

  it("decodes a multi-byte character split across chunks at every byte", async () => {
    const text = "data: é✓🔒日\n\n";
    const bytes = encoder.encode(text);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        assert.deepEqual(
          await parse(cut(bytes, [i, j])),
          [{ data: "é✓🔒日" }],
          `cut at ${i}, ${j}`,
        );
      }
    }
  });

  it("replaces invalid UTF-8 with U+FFFD, also a character the stream ends inside", async () => {
    assert.deepEqual(await parse([Uint8Array.of(0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 10, 10)]), [
      { data: "\ufffd" },
    ]);
    const cutShort = encoder.encode("data: ✓").slice(0, -1);
    assert.deepEqual(await parse([cutShort], { dispatchIncomplete: true }), [{ data: "\ufffd" }]);
    // Bytes left undecoded before a string chunk are flushed, not glued to it.
    assert.deepEqual(await parse([encoder.encode("data: ✓").slice(0, -1), "x\n\n"]), [
      { data: "\ufffdx" },
    ]);
  });

  it("skips one leading byte order mark, as bytes or as text, and only at the start", async () => {
    const bom = Uint8Array.of(0xef, 0xbb, 0xbf);
    assert.deepEqual(await parse([bom, encoder.encode("data: a\n\n")]), [{ data: "a" }]);
    assert.deepEqual(await parse([bom.slice(0, 1), bom.slice(1), encoder.encode("data: a\n\n")]), [
      { data: "a" },
    ]);
    assert.deepEqual(await parse(["\ufeffdata: a\n\n"]), [{ data: "a" }]);
    // A second BOM is part of the text: here, of a field name nobody knows.
    assert.deepEqual(await parse(["\ufeff\ufeffdata: a\n\ndata: b\n\n"]), [{ data: "b" }]);
    assert.deepEqual(await parse(["data: \ufeffa\n\n"]), [{ data: "\ufeffa" }]);
  });

  it("mixes string and byte chunks", async () => {
    assert.deepEqual(
      await parse(["data: a", encoder.encode("b\r"), "\n", encoder.encode("\n")]),
      [{ data: "ab" }],
    );
  });

  it("yields events as they complete, and stops reading when the consumer stops", async () => {
    let pulled = 0;
    let cancelled = false;
    const chunks = ["data: 1\n\n", "data: 2\n\n", "data: 3\n\n"];
    const stream = new ReadableStream<string>({
      pull(controller) {
        if (pulled < chunks.length) controller.enqueue(chunks[pulled++]);
        else controller.close();
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 });
    for await (const event of parseSSE(stream)) {
      assert.deepEqual(event, { data: "1" });
      assert.equal(pulled, 1);
      break;
    }
    assert.equal(cancelled, true);
  });

  it("rejects a source or a chunk of the wrong kind with a TypeError", async () => {
    await assert.rejects(
      parse(42 as unknown as SSESource),
      (e: unknown) =>
        e instanceof TypeError && /parseSSE: source must be a ReadableStream/.test(e.message),
    );
    await assert.rejects(parse(null as unknown as SSESource), /got null/);
    await assert.rejects(
      parse(["data: a\n\n", 7 as unknown as string]),
      (e: unknown) =>
        e instanceof TypeError &&
        /parseSSE: chunk 1 must be a Uint8Array or a string, got number/.test(e.message),
    );
    // The events before the bad chunk were yielded.
    const seen: SSEEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of parseSSE(["data: a\n\n", {} as unknown as string])) {
        seen.push(event);
      }
    }, /got Object/);
    assert.deepEqual(seen, [{ data: "a" }]);
  });
});
