/**
 * The gateway's stream path: a synchronous server-sent-events splitter that
 * hands each event's `data` to a callback (which meters it and says whether
 * the client gets it) and returns what the client gets: the upstream's own
 * bytes, not events written again. A chunk whose events are all kept comes
 * back as the same `Uint8Array`.
 *
 * It reads the stream exactly as `parseSSE` (`src/llm/sse.ts`) does with
 * `dispatchIncomplete: true`: bytes decoded as UTF-8 in stream mode, lines
 * ending at CRLF, LF or CR (also split across chunks), a leading byte order
 * mark skipped, `data` lines joined with `"\n"`, `id` setting the last
 * event ID unless it has U+0000, a blank line dispatching an event that has
 * data (`tests/app/gateway_sse_relay_test.ts` checks it against
 * `parseSSE`). It works on the decoded text of each chunk (one decode a
 * chunk, string searches), which is much cheaper than a byte-level search
 * on Deno.
 *
 * What the client reads is the upstream's stream without the dropped
 * events: an event's part of the stream runs from the end of the previous
 * event (comments, `retry:` and data-less blocks before it included) to
 * the end of its blank line. A chunk that starts and ends on an event
 * boundary (and on an ASCII byte, so no character is split with its
 * neighbours) with every event kept is sent as it came; otherwise the kept
 * parts of the text are encoded again, which gives the same bytes for valid
 * UTF-8 (an invalid sequence arrives as U+FFFD, as the client's decoder
 * would read it anyway). Two repairs keep the client's view exact:
 *
 * - a dropped event that changed the last event ID: the next kept event
 *   gets an `id:` line restoring it (the client would otherwise keep the
 *   ID from before);
 * - the stream ends in an event without its blank line: a kept one gets
 *   its line end(s) added, so that the client dispatches it too.
 *
 * The text of an event not yet complete is held until it completes.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Meters one event's data; `false` drops the event from what the client gets. */
export type KeepEvent = (data: string) => boolean;

/** One stream's splitter; see the module comment. */
export class SSERelay {
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** Text of the event in progress, from its start. */
  #held = "";
  /** Where the unscanned part of the held text starts (the line in progress). */
  #scan = 0;
  /** The last character scanned was a CR ending a line: an LF next is the rest of a CRLF. */
  #afterCR = false;
  #started = false;
  /** The previous chunk ended on an ASCII byte: no character is split across the two. */
  #cleanEnd = true;
  /** The data of the event in progress (`null`: no data field yet). */
  #data: string | null = null;
  /** The last event ID as the upstream's stream has it. */
  #lastId = "";
  /** The last event ID as the client's parser has it, from what it got. */
  #clientId = "";
  /** The upstream's last event ID where the event in progress starts. */
  #idAtStart = "";
  readonly #keep: KeepEvent;

  constructor(keep: KeepEvent) {
    this.#keep = keep;
  }

  /**
   * Takes the next chunk of the upstream's bytes; returns the bytes to send
   * on (`chunk` itself when it can), or `undefined` when there is nothing to
   * send yet.
   */
  push(chunk: Uint8Array): Uint8Array | undefined {
    const length = chunk.byteLength;
    if (length === 0) return undefined;
    const whole = this.#held === "" && this.#cleanEnd;
    const last = chunk[length - 1];
    this.#cleanEnd = last < 0x80;
    let text = this.#decoder.decode(chunk, { stream: true });
    if (this.#held !== "") {
      if (text.indexOf("\n") < 0 && text.indexOf("\r") < 0) {
        // More of a line in progress: no need to look at what came before again.
        this.#held += text;
        return undefined;
      }
      text = this.#held + text;
    }
    let from = this.#scan;
    if (!this.#started && text !== "") {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) from = 1;
    }
    return this.#split(text, from, whole && (last === 10 || last === 13) ? chunk : undefined);
  }

  /**
   * The stream ended: dispatches an event it ended in (as `parseSSE` with
   * `dispatchIncomplete` does); returns its bytes, with the line end(s) it
   * lacked, if it is kept.
   */
  end(): Uint8Array | undefined {
    let text = this.#decoder.decode();
    let from = this.#scan;
    if (this.#held !== "") text = this.#held + text;
    if (!this.#started && text !== "") {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) from = 1;
    }
    if (text === "") return undefined;
    const out = this.#split(text, from, undefined, true);
    this.#held = "";
    this.#scan = 0;
    return out;
  }

  /**
   * Scans `text` from `from` (a line start), dispatching events; returns
   * what to send. `chunk`: the bytes of `text`, to send as they are when
   * every event in it is kept and it ends on an event boundary. `last`: the
   * stream ends after `text`.
   */
  #split(
    text: string,
    from: number,
    chunk: Uint8Array | undefined,
    last = false,
  ): Uint8Array | undefined {
    const length = text.length;
    let pos = from;
    if (this.#afterCR && pos < length) {
      this.#afterCR = false;
      if (text.charCodeAt(pos) === 10) pos++;
    }
    /** The kept text, when not all of it is kept. */
    let out: string | undefined;
    let rangeStart = 0; // start of the event in progress
    let keptStart = -1; // start of the run of kept events not yet added to out
    const hasCR = text.indexOf("\r", pos) >= 0;
    for (;;) {
      let end: number;
      let next: number;
      if (!hasCR) {
        end = text.indexOf("\n", pos);
        if (end < 0) break;
        next = end + 1;
      } else {
        const lf = text.indexOf("\n", pos);
        const cr = text.indexOf("\r", pos);
        if (cr < 0 || (lf >= 0 && lf < cr)) {
          if (lf < 0) break;
          end = lf;
          next = lf + 1;
        } else {
          end = cr;
          if (cr + 1 < length) next = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
          else {
            next = cr + 1;
            this.#afterCR = !last;
          }
        }
      }
      if (end === pos) {
        // A blank line: dispatch.
        const data = this.#data;
        if (data !== null) {
          this.#data = null;
          if (this.#keep(data)) {
            if (this.#clientId !== this.#idAtStart) {
              // A dropped event changed the ID: restore it for the client.
              out ??= "";
              if (keptStart >= 0) out += text.slice(keptStart, rangeStart);
              out += `id:${this.#idAtStart}\n`;
              keptStart = rangeStart;
            } else if (keptStart < 0) keptStart = rangeStart;
            this.#clientId = this.#lastId;
          } else {
            // Dropped: the client's ID stays what it was.
            out ??= "";
            if (keptStart >= 0) out += text.slice(keptStart, rangeStart);
            keptStart = -1;
          }
          rangeStart = next;
          this.#idAtStart = this.#lastId;
        }
      } else if (text.charCodeAt(pos) !== 58) { // ":": a comment
        this.#field(text, pos, end);
      }
      pos = next;
    }
    // [rangeStart, length) is an event in progress, [pos, length) a line in progress.
    if (last) {
      if (pos < length && text.charCodeAt(pos) !== 58) this.#field(text, pos, length);
      const data = this.#data;
      this.#data = null;
      if (data !== null && this.#keep(data)) {
        out ??= "";
        if (keptStart >= 0) out += text.slice(keptStart, rangeStart);
        keptStart = -1;
        if (this.#clientId !== this.#idAtStart) out += `id:${this.#idAtStart}\n`;
        out += text.slice(rangeStart);
        out += pos < length ? "\n\n" : text.charCodeAt(length - 1) === 13 ? "\r" : "\n";
        this.#clientId = this.#lastId;
      } else if (keptStart >= 0) {
        out ??= "";
        out += text.slice(keptStart, rangeStart);
      }
      return out === undefined || out === "" ? undefined : encoder.encode(out);
    }
    this.#held = rangeStart < length ? text.slice(rangeStart) : "";
    this.#scan = pos - rangeStart;
    if (out === undefined) {
      if (keptStart < 0) return undefined;
      if (keptStart === 0 && rangeStart === length && chunk !== undefined) return chunk;
      return encoder.encode(text.slice(keptStart, rangeStart));
    }
    if (keptStart >= 0) out += text.slice(keptStart, rangeStart);
    return out === "" ? undefined : encoder.encode(out);
  }

  /** Takes the field on the line `text[start, end)` (not blank, not a comment). */
  #field(text: string, start: number, end: number): void {
    let colon = text.indexOf(":", start);
    if (colon < 0 || colon > end) colon = end;
    const n = colon - start;
    let valueStart = colon < end ? colon + 1 : end;
    if (valueStart < end && text.charCodeAt(valueStart) === 32) valueStart++;
    if (n === 4 && text.startsWith("data", start)) {
      const value = text.slice(valueStart, end);
      this.#data = this.#data === null ? value : this.#data + "\n" + value;
    } else if (n === 2 && text.startsWith("id", start)) {
      const value = text.slice(valueStart, end);
      if (!value.includes("\0")) this.#lastId = value;
    }
    // "event", "retry" and unknown fields: forwarded as they are, nothing to track.
  }
}
