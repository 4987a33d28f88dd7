/**
 * A parser for server-sent events (`text/event-stream`), following the
 * WHATWG HTML "event stream interpretation" rules, with no I/O of its own:
 * chunks of bytes or text in, events out.
 *
 * @module
 */

/**
 * One server-sent event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSSE, type SSEEvent } from "@securetrack/metrics/llm";
 * const events: SSEEvent[] = await Array.fromAsync(parseSSE(["id: 7\nevent: ping\ndata: {}\n\n"]));
 * assert.deepEqual(events, [{ event: "ping", data: "{}", id: "7" }]);
 * ```
 */
export interface SSEEvent {
  /**
   * The `event:` field: the event type. Absent when the event had none (or
   * an empty one), which the spec dispatches as type `message`.
   */
  event?: string;
  /** The values of the event's `data:` fields, joined with `"\n"`. */
  data: string;
  /**
   * The last event ID (the spec's `lastEventId`): the value of the latest
   * `id:` field so far, in this event or an earlier one. Absent while there
   * is none, or after an empty `id:` field reset it.
   */
  id?: string;
}

/**
 * Options of {@linkcode parseSSE}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSSE, type ParseSSEOptions } from "@securetrack/metrics/llm";
 * const options: ParseSSEOptions = { dispatchIncomplete: true };
 * const events = await Array.fromAsync(parseSSE(["data: cut short"], options));
 * assert.deepEqual(events, [{ data: "cut short" }]);
 * ```
 */
export interface ParseSSEOptions {
  /**
   * What to do with an event the stream ends in the middle of: after its
   * last field came no blank line (and maybe not even a line end).
   * `false` (the default), as the spec says: discard it. `true`: dispatch
   * it as if a blank line had followed; `LLMClient` does, so that a last
   * chunk an API did not terminate is not lost.
   */
  dispatchIncomplete?: boolean;
}

/**
 * What {@linkcode parseSSE} reads: a byte stream such as a `Response.body`,
 * or any async iterable of `Uint8Array` (UTF-8) or string chunks.
 *
 * @example
 * ```ts
 * import type { SSESource } from "@securetrack/metrics/llm";
 * const fromBody: SSESource = new Response("data: 1\n\n").body!;
 * const fromText: SSESource = ["data: ", "1\n\n"];
 * ```
 */
export type SSESource =
  | ReadableStream<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

/**
 * Parses a server-sent-events stream into its events, as they complete:
 *
 * - lines end at CRLF, LF or CR, also when a CRLF is split across chunks;
 * - bytes are decoded as UTF-8 in stream mode, so a character split across
 *   chunks comes out whole (invalid bytes become U+FFFD); a leading byte
 *   order mark is skipped;
 * - a line `name: value` is a field (one space after the colon is dropped;
 *   a line without a colon is a field with an empty value); `data` lines
 *   are joined with `"\n"`, `event` sets the type, `id` the last event ID
 *   (unless it contains U+0000); `retry` and unknown fields are ignored;
 * - a line starting with `:` is a comment, ignored;
 * - a blank line dispatches the event, unless it has no `data` field at
 *   all (an event with an empty `data:` line is dispatched, with data `""`);
 * - at the end of the stream, an event without its final blank line is
 *   discarded, as the spec says, unless `dispatchIncomplete` is set.
 *
 * The source is read as the events are consumed; stopping early (`break`)
 * stops reading it (a `ReadableStream` is cancelled). A source that is not
 * a stream or an (async) iterable, or a chunk that is neither bytes nor a
 * string, is a `TypeError`, thrown from the iteration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSSE } from "@securetrack/metrics/llm";
 *
 * const body = new Response(
 *   ": keep-alive\r\nevent: greeting\r\ndata: Hello\r\ndata: world\r\n\r\ndata: bye\n\n",
 * ).body!;
 * const events = await Array.fromAsync(parseSSE(body));
 * assert.deepEqual(events, [{ event: "greeting", data: "Hello\nworld" }, { data: "bye" }]);
 * ```
 */
export async function* parseSSE(
  source: SSESource,
  options: ParseSSEOptions = {},
): AsyncGenerator<SSEEvent, void, undefined> {
  const chunks = checkSource(source);
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const lines = new LineSplitter();
  const fields = new EventBuilder();
  let index = 0;
  for await (const chunk of chunks) {
    yield* dispatch(fields, lines.push(decode(decoder, chunk, index++)));
  }
  yield* dispatch(fields, lines.push(decoder.decode()));
  if (options?.dispatchIncomplete !== true) return;
  const tail = lines.end();
  yield* dispatch(fields, tail === "" ? [""] : [tail, ""]);
}

/** The events that `lines` complete. */
function* dispatch(fields: EventBuilder, lines: readonly string[]): Generator<SSEEvent> {
  for (const line of lines) {
    const event = fields.line(line);
    if (event !== undefined) yield event;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  return typeof value === "object" ? (value.constructor?.name ?? "an object") : typeof value;
}

function checkSource(source: SSESource): AsyncIterable<unknown> | Iterable<unknown> {
  const s = source as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null;
  if (typeof s === "object" && s !== null && typeof s[Symbol.asyncIterator] === "function") {
    return s as AsyncIterable<unknown>;
  }
  if (typeof s === "object" && s !== null && typeof s[Symbol.iterator] === "function") {
    return s as Iterable<unknown>;
  }
  throw new TypeError(
    "parseSSE: source must be a ReadableStream or an (async) iterable of Uint8Array or " +
      `string chunks, got ${describe(source)}`,
  );
}

/** The text of one chunk; a string first flushes bytes left undecoded before it. */
function decode(decoder: TextDecoder, chunk: unknown, index: number): string {
  if (typeof chunk === "string") return decoder.decode() + chunk;
  if (ArrayBuffer.isView(chunk)) return decoder.decode(chunk, { stream: true });
  throw new TypeError(
    `parseSSE: chunk ${index} must be a Uint8Array or a string, got ${describe(chunk)}`,
  );
}

/** Splits text arriving in chunks into lines ending at CRLF, LF or CR. */
class LineSplitter {
  /** The start of a line whose end has not arrived yet. */
  #partial = "";
  /** The last chunk ended with CR: an LF opening the next one is the rest of a CRLF. */
  #afterCR = false;
  #started = false;

  /** The lines that `text` completes. */
  push(text: string): string[] {
    if (text === "") return [];
    if (!this.#started) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.#afterCR && text.charCodeAt(0) === 10) text = text.slice(1);
    this.#afterCR = text.endsWith("\r");
    const lines: string[] = [];
    const ends = /\r\n|\r|\n/g;
    let start = 0;
    for (let m = ends.exec(text); m !== null; m = ends.exec(text)) {
      lines.push(this.#partial + text.slice(start, m.index));
      this.#partial = "";
      start = m.index + m[0].length;
    }
    this.#partial += text.slice(start);
    return lines;
  }

  /** The last line, when the stream ended without a line end after it (else `""`). */
  end(): string {
    const tail = this.#partial;
    this.#partial = "";
    return tail;
  }
}

/** Collects the fields of the event being read, and builds it on a blank line. */
class EventBuilder {
  #data: string[] = [];
  #type = "";
  #lastId = "";

  /** Takes one line; returns the event it dispatches (a blank line), if any. */
  line(line: string): SSEEvent | undefined {
    if (line === "") return this.#dispatch();
    if (line.charCodeAt(0) === 58) return undefined; // ":": a comment
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0
      ? ""
      : line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
    switch (name) {
      case "data":
        this.#data.push(value);
        break;
      case "event":
        this.#type = value;
        break;
      case "id":
        if (!value.includes("\0")) this.#lastId = value;
        break;
        // "retry" and unknown fields: ignored.
    }
    return undefined;
  }

  #dispatch(): SSEEvent | undefined {
    const data = this.#data;
    const type = this.#type;
    this.#data = [];
    this.#type = "";
    if (data.length === 0) return undefined;
    const event: SSEEvent = { data: data.join("\n") };
    if (type !== "") event.event = type;
    if (this.#lastId !== "") event.id = this.#lastId;
    return event;
  }
}
