/**
 * The gateway's stream path (`app/gateway/_sse_relay.ts`) against
 * `parseSSE`, the reference: on tricky streams (every line-end
 * style, CRs and CRLFs split across chunks, multi-line data, comments,
 * `retry`, ids set, reset and set inside dropped events, a NUL in an id, a
 * byte order mark, UTF-8 split across chunks and invalid bytes, JSON
 * escapes, an event the stream ends in, with or without its line end), cut
 * at every byte position, at random positions and byte by byte:
 *
 * - the data it meters is exactly what `parseSSE` (`dispatchIncomplete`)
 *   dispatches, in order;
 * - what the client gets, read by a spec parser, is exactly the reference's
 *   events minus the dropped ones (type, data and last event ID);
 * - with nothing dropped and a terminated stream, the client gets the
 *   upstream's bytes unchanged (also when a character is cut in two right
 *   after an event);
 * - an event is metered as soon as the chunk with its blank line arrives.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSSE, type SSEEvent } from "../../src/llm/mod.ts";
import { SSERelay } from "../../app/gateway/_sse_relay.ts";
import { int, mulberry32 } from "../_support/random.ts";
import { concat, cut } from "../_support/bytes.ts";

const encoder = new TextEncoder();

const drop = (data: string) => data.includes("DROP");

/** The relay over `chunks`: the data it metered, and what the client got (joined at the end). */
function relay(chunks: readonly Uint8Array[]): { metered: string[]; sent: Uint8Array } {
  const metered: string[] = [];
  const r = new SSERelay((data) => {
    metered.push(data);
    return !drop(data);
  });
  // Kept as returned, joined only at the end: a view the relay reused later would show.
  const sent: Uint8Array[] = [];
  for (const chunk of chunks) {
    const out = r.push(chunk);
    if (out !== undefined) sent.push(out);
  }
  const tail = r.end();
  if (tail !== undefined) sent.push(tail);
  return { metered, sent: concat(sent) };
}

async function check(name: string, bytes: Uint8Array, chunks: Uint8Array[]): Promise<void> {
  const all: SSEEvent[] = await Array.fromAsync(parseSSE([bytes], { dispatchIncomplete: true }));
  const { metered, sent } = relay(chunks);
  const at = `${name}, cut at ${chunks.map((c) => c.byteLength).join("+")}`;
  assert.deepEqual(metered, all.map((e) => e.data), `metered data, ${at}`);
  const client: SSEEvent[] = await Array.fromAsync(parseSSE([sent]));
  assert.deepEqual(client, all.filter((e) => !drop(e.data)), `client's events, ${at}`);
}

/** Streams as a (name, text or bytes) list. */
const STREAMS: [string, string | Uint8Array][] = [
  [
    "OpenAI chunks, usage dropped, [DONE]",
    'data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n' +
    'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Gr\\u00fc\\u00dfe \\"x\\" \\\\ \\ud83d\\ude00 😀 é"}}]}\n\n' +
    'data: {"id":"c","choices":[],"usage":{"prompt_tokens":1},"DROP":1}\n\n' +
    "data: [DONE]\n\n",
  ],
  [
    "every line end, comments, retry, multi-line data, unknown fields",
    ": comment\r\nevent: greeting\r\nid: 1\r\ndata: Grüße aus\r\ndata:  Köln ✓ 🔒\r\n\r\n" +
    "data:no space\rretry: 3000\runknown: x\r\rdata\ndata: after a bare field\n\n" +
    "event: empty\ndata:\n\n:only a comment\n\nevent: no data\n\n" +
    "data: a\r\ndata: b\rdata: c\n\r\n",
  ],
  [
    "ids: set in a dropped event, reset in a dropped one, NUL ignored",
    "id: 1\ndata: one\n\n" +
    "id: 2\ndata: DROP two\n\n" +
    "data: three (id 2)\n\n" +
    "id\ndata: DROP four resets\n\n" +
    "data: five (no id)\n\n" +
    "id: a\0b\ndata: six (no id: NUL)\n\n" +
    "id: 7\ndata: DROP\n\nid: 8\ndata: DROP\n\n" +
    "event: t\ndata: nine (id 8)\n\n" +
    "id: 10\n\n" + // no data: not dispatched, but the id stays
    "data: DROP eleven\n\n" +
    "data: twelve (id 10)\n\n",
  ],
  [
    "dropped events next to each other, first and last",
    "data: DROP a\n\ndata: DROP b\r\n\r\ndata: c\n\ndata: DROP d\rdata: e\r\r" +
    ": trailing comment\ndata: DROP f\n\n",
  ],
  ["a byte order mark, then CRs only", "\uFEFFdata: bom\r\rid: 3\rdata: DROP\r\rdata: x\r\r"],
  ["an unterminated last event, mid-line", "data: one\n\ndata: two\ndata: three"],
  ["an unterminated last event after its line end (LF)", "data: one\n\nevent: e\ndata: two\n"],
  ["an unterminated last event after its line end (CR)", "data: one\r\rdata: two\r"],
  ["an unterminated last event after CRLF", "data: one\r\n\r\ndata: two\r\n"],
  ["an unterminated dropped last event", "data: one\n\nid: 4\ndata: DROP\n"],
  ["an unterminated last event after a dropped id change", "id: 4\ndata: DROP\n\ndata: x"],
  ["a last comment and no data", "data: one\n\n: bye"],
  ["a last field without data", "data: one\n\nevent: x\nid: 9"],
  ["empty", ""],
  ["only a BOM", "\uFEFF"],
  ["a lone CR", "\r"],
  ["blank lines only", "\n\r\n\r\r\n"],
  [
    "invalid UTF-8 and split sequences",
    concat([
      encoder.encode("data: a"),
      new Uint8Array([0xe2, 0x82]), // a cut 3-byte sequence, then a line end
      encoder.encode("\ndata: "),
      new Uint8Array([0xff, 0xc3]),
      encoder.encode("\n\nid: "),
      new Uint8Array([0xf0, 0x9f, 0x98]),
      encoder.encode("\ndata: DROP\n\ndata: x\n\n"),
    ]),
  ],
  [
    "a BOM-like start that is not one",
    concat([new Uint8Array([0xef, 0xbb]), encoder.encode("\ndata: x\n\n")]),
  ],
  ["a BOM inside a value", "data: \uFEFFkept\n\n\uFEFFdata: not a data field\n\n"],
];

describe("gateway: the SSE relay against parseSSE", () => {
  for (const [name, stream] of STREAMS) {
    it(`${name}: one chunk, cut at every byte, byte by byte, and at random`, async () => {
      const bytes = typeof stream === "string" ? encoder.encode(stream) : stream;
      await check(name, bytes, [bytes.slice()]);
      for (let i = 0; i <= bytes.length; i++) await check(name, bytes, cut(bytes, [i]));
      await check(name, bytes, cut(bytes, Array.from({ length: bytes.length }, (_, i) => i)));
      const rand = mulberry32(bytes.length + 1);
      for (let round = 0; round < 50; round++) {
        const offsets = Array.from({ length: 1 + int(rand, 6) }, () => int(rand, bytes.length + 1));
        await check(name, bytes, cut(bytes, offsets.sort((a, b) => a - b)));
      }
    });
  }

  it("with nothing dropped, a terminated stream reaches the client byte for byte", () => {
    const text = ": hi\r\nevent: e\r\nid: 1\r\ndata: a\r\ndata: b\r\n\r\nretry: 5\rdata: c\r\r" +
      "é: a field starting with a character cut in two\ndata: 😀\n\n" +
      'data: {"x":"\\u00e9 é"}\n\ndata: [DONE]\n\n';
    const bytes = encoder.encode("\uFEFF" + text);
    for (let i = 0; i <= bytes.length; i++) {
      for (const chunks of [cut(bytes, [i]), cut(bytes, [i, Math.min(bytes.length, i + 7)])]) {
        assert.deepEqual(relay(chunks).sent, bytes, `cut at ${i}`);
      }
    }
  });

  it("an event is metered as soon as its blank line arrives, whatever the line ends", async () => {
    for (const [name, stream] of STREAMS) {
      const bytes = typeof stream === "string" ? encoder.encode(stream) : stream;
      // How many events the first n bytes complete.
      const complete: number[] = [];
      for (let n = 0; n <= bytes.length; n++) {
        complete.push((await Array.fromAsync(parseSSE([bytes.slice(0, n)]))).length);
      }
      // Two chunks, [0, i) and [i, j): after each, the events completed so far.
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= Math.min(bytes.length, i + 12); j++) {
          let metered = 0;
          const r = new SSERelay(() => {
            metered++;
            return true;
          });
          r.push(bytes.slice(0, i));
          assert.equal(metered, complete[i], `${name}, the first ${i} bytes`);
          r.push(bytes.slice(i, j));
          assert.equal(metered, complete[j], `${name}, the first ${i} bytes, then to ${j}`);
        }
      }
    }
  });

  it("a chunk whose events are all kept is sent as it came, not copied", () => {
    const chunk = encoder.encode("data: a\n\ndata: b\n\n");
    const r = new SSERelay(() => true);
    assert.equal(r.push(chunk), chunk);
    assert.equal(r.end(), undefined);
  });
});
