/**
 * The gateway's stream path: a synchronous server-sent-events splitter that
 * works on the upstream's bytes, hands each event's `data` to a callback
 * (which meters it and says whether the client gets it), and returns the
 * events the client gets as the upstream's own bytes: no re-serialization,
 * and a chunk whose events are all kept comes back as the same
 * `Uint8Array`.
 *
 * It reads the stream exactly as `parseSSE` (`src/llm/sse.ts`) does with
 * `dispatchIncomplete: true`: lines end at CRLF, LF or CR (also split
 * across chunks), a leading UTF-8 byte order mark is skipped, `data` lines
 * join with `"\n"`, `id` sets the last event ID unless it has U+0000, a
 * blank line dispatches an event that has data. Line ends are ASCII, which
 * never occurs inside a UTF-8 sequence and ends every invalid one, so
 * decoding each data value on its own gives the same text as decoding the
 * stream (`tests/app/gateway_sse_relay_test.ts` checks both against
 * `parseSSE`).
 *
 * What the client reads is the upstream's stream without the dropped
 * events: an event's bytes are those from the end of the previous event
 * (comments, `retry:` and data-less blocks before it included) to the end
 * of its blank line. Two repairs keep the client's view exact:
 *
 * - a dropped event that changed the last event ID: the next kept event
 *   gets an `id:` line restoring it (the client would otherwise see the
 *   ID from before);
 * - the stream ends in an event without its blank line: a kept one gets
 *   its line end(s) added, so that the client dispatches it too.
 *
 * Bytes of an event not yet complete are held (copied once into a growing
 * buffer) until it completes.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

/** Meters one event's data; `false` drops the event from what the client gets. */
export type KeepEvent = (data: string) => boolean;

/** One stream's splitter; see the module comment. */
export class SSERelay {
  /** Bytes of the event in progress (its start to the end of what arrived). */
  #held = new Uint8Array(0);
  #heldLength = 0;
  /** Where the unscanned part of the held bytes starts (the line in progress). */
  #scan = 0;
  /** The last byte scanned ended a line with CR: an LF next is the rest of a CRLF. */
  #afterCR = false;
  #started = false;
  /** The data of the event in progress (`null`: no data field yet). */
  #data: string | null = null;
  /** The last event ID as the upstream's stream has it. */
  #lastId = "";
  /** The last event ID as the client's parser has it, from the bytes it got. */
  #clientId = "";
  /** The upstream's last event ID where the event in progress starts. */
  #idAtStart = "";
  readonly #keep: KeepEvent;

  constructor(keep: KeepEvent) {
    this.#keep = keep;
  }

  /**
   * Takes the next chunk of the upstream's bytes; returns the bytes to send
   * on (`chunk` itself when all its events are kept and none was held), or
   * `undefined` when there is nothing to send.
   */
  push(chunk: Uint8Array): Uint8Array | undefined {
    if (chunk.byteLength === 0) return undefined;
    let buf: Uint8Array;
    let from: number;
    let own: boolean; // buf is chunk itself, not the held buffer
    if (this.#heldLength === 0) {
      buf = chunk;
      from = 0;
      own = true;
    } else {
      this.#hold(chunk, 0);
      buf = this.#held.subarray(0, this.#heldLength);
      from = this.#scan;
      own = false;
    }
    if (!this.#started) {
      if (buf.byteLength < 3 && isBOMPrefix(buf)) {
        if (own) this.#hold(chunk, 0);
        return undefined;
      }
      this.#started = true;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) from = 3;
    }
    return this.#split(buf, from, own, false);
  }

  /**
   * The stream ended: dispatches an event it ended in (as `parseSSE` with
   * `dispatchIncomplete` does); returns its bytes, with the line end(s) it
   * lacked, if it is kept.
   */
  end(): Uint8Array | undefined {
    if (this.#heldLength === 0) return undefined;
    this.#started = true;
    const buf = this.#held.subarray(0, this.#heldLength);
    return this.#split(buf, this.#scan, false, true);
  }

  /**
   * Scans `buf` from `from` (a line start), dispatching events; returns
   * what to send. `last`: the stream ends after `buf`.
   */
  #split(buf: Uint8Array, from: number, own: boolean, last: boolean): Uint8Array | undefined {
    const length = buf.byteLength;
    let pos = from;
    if (this.#afterCR && pos < length) {
      this.#afterCR = false;
      if (buf[pos] === LF) pos++;
    }
    // The kept ranges, as [start, end) pairs, and id repairs (as bytes) before some.
    let ranges: (number | Uint8Array)[] | undefined;
    let rangeStart = 0; // start of the event in progress
    let keptStart = -1; // start of the run of kept events not yet added to ranges
    const hasCR = buf.indexOf(CR, pos) >= 0;
    for (;;) {
      let end: number;
      let next: number;
      if (!hasCR) {
        end = buf.indexOf(LF, pos);
        if (end < 0) break;
        next = end + 1;
      } else {
        end = pos;
        while (end < length && buf[end] !== LF && buf[end] !== CR) end++;
        if (end === length) break;
        if (buf[end] === LF) next = end + 1;
        else if (end + 1 < length) next = buf[end + 1] === LF ? end + 2 : end + 1;
        else {
          next = end + 1;
          this.#afterCR = !last;
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
              if (keptStart >= 0) (ranges ??= []).push(keptStart, rangeStart);
              (ranges ??= []).push(encoder.encode(`id:${this.#idAtStart}\n`));
              keptStart = rangeStart;
            } else if (keptStart < 0) keptStart = rangeStart;
            this.#clientId = this.#lastId;
          } else {
            // Dropped: the client's ID stays what it was.
            if (keptStart >= 0) (ranges ??= []).push(keptStart, rangeStart);
            else ranges ??= [];
            keptStart = -1;
          }
          rangeStart = next;
          this.#idAtStart = this.#lastId;
        }
      } else if (buf[pos] !== COLON) {
        this.#field(buf, pos, end);
      }
      pos = next;
    }
    // [rangeStart, length) is an event in progress; [pos, length) a line in progress.
    if (last) {
      if (pos < length && buf[pos] !== COLON) this.#field(buf, pos, length);
      const data = this.#data;
      this.#data = null;
      if (data !== null) {
        if (this.#keep(data)) {
          const lastByte = buf[length - 1];
          const close = pos < length ? "\n\n" : lastByte === CR ? "\r" : "\n";
          const fix = this.#clientId !== this.#idAtStart ? `id:${this.#idAtStart}\n` : "";
          if (keptStart >= 0) (ranges ??= []).push(keptStart, rangeStart);
          keptStart = -1;
          (ranges ??= []).push(
            encoder.encode(fix),
            rangeStart,
            length,
            encoder.encode(close),
          );
          this.#clientId = this.#lastId;
        }
      }
      if (keptStart >= 0) (ranges ??= []).push(keptStart, rangeStart);
      this.#heldLength = 0;
      this.#scan = 0;
      this.#held = new Uint8Array(0);
      return ranges === undefined ? undefined : gather(buf, ranges);
    }
    if (keptStart >= 0 && keptStart === 0 && rangeStart === length && ranges === undefined && own) {
      // Every event of the chunk kept, nothing held before it: the chunk itself.
      this.#heldLength = 0;
      this.#scan = 0;
      return chunkOrUndefined(buf);
    }
    if (keptStart >= 0) (ranges ??= []).push(keptStart, rangeStart);
    let out: Uint8Array | undefined;
    if (ranges === undefined) out = undefined;
    else if (own && ranges.length === 2 && typeof ranges[0] === "number") {
      // One run of kept events in the chunk: a view of it (what is held is copied).
      out = (ranges[1] as number) > ranges[0]
        ? buf.subarray(ranges[0], ranges[1] as number)
        : undefined;
    } else out = gather(buf, ranges);
    // Keep [rangeStart, length) for the next chunk.
    if (own) {
      this.#heldLength = 0;
      this.#hold(buf, rangeStart);
    } else if (rangeStart > 0) {
      this.#held.copyWithin(0, rangeStart, length);
      this.#heldLength = length - rangeStart;
    }
    this.#scan = pos - rangeStart;
    return out;
  }

  /** Takes the field on the line `buf[start, end)` (not blank, not a comment). */
  #field(buf: Uint8Array, start: number, end: number): void {
    let colon = buf.indexOf(COLON, start);
    if (colon < 0 || colon > end) colon = end;
    const n = colon - start;
    let valueStart = colon < end ? colon + 1 : end;
    if (valueStart < end && buf[valueStart] === SPACE) valueStart++;
    if (
      n === 4 && buf[start] === 0x64 && buf[start + 1] === 0x61 && buf[start + 2] === 0x74 &&
      buf[start + 3] === 0x61
    ) {
      const value = valueStart === end ? "" : decoder.decode(buf.subarray(valueStart, end));
      this.#data = this.#data === null ? value : this.#data + "\n" + value;
    } else if (n === 2 && buf[start] === 0x69 && buf[start + 1] === 0x64) {
      const value = valueStart === end ? "" : decoder.decode(buf.subarray(valueStart, end));
      if (!value.includes("\0")) this.#lastId = value;
    }
    // "event", "retry" and unknown fields: forwarded as they are, nothing to track.
  }

  /** Appends `bytes[from..]` to the held bytes. */
  #hold(bytes: Uint8Array, from: number): void {
    const n = bytes.byteLength - from;
    if (n <= 0) return;
    const need = this.#heldLength + n;
    if (need > this.#held.byteLength) {
      const grown = new Uint8Array(Math.max(need, this.#held.byteLength * 2, 1024));
      grown.set(this.#held.subarray(0, this.#heldLength));
      this.#held = grown;
    }
    this.#held.set(from === 0 ? bytes : bytes.subarray(from), this.#heldLength);
    this.#heldLength = need;
  }
}

function chunkOrUndefined(buf: Uint8Array): Uint8Array | undefined {
  return buf.byteLength === 0 ? undefined : buf;
}

function isBOMPrefix(buf: Uint8Array): boolean {
  return buf[0] === 0xef && (buf.byteLength < 2 || buf[1] === 0xbb);
}

/** One new array of `ranges` ([start, end) pairs of `buf`, and literal bytes) in order. */
function gather(
  buf: Uint8Array,
  ranges: readonly (number | Uint8Array)[],
): Uint8Array | undefined {
  let size = 0;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    if (typeof r === "number") {
      size += (ranges[i + 1] as number) - r;
      i++;
    } else size += r.byteLength;
  }
  if (size === 0) return undefined;
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    if (typeof r === "number") {
      const e = ranges[i + 1] as number;
      out.set(buf.subarray(r, e), at);
      at += e - r;
      i++;
    } else {
      out.set(r, at);
      at += r.byteLength;
    }
  }
  return out;
}
