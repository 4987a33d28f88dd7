/**
 * The protobuf wire format, as far as the `io.prometheus.client` messages
 * need it: varints, zigzag varints, little-endian doubles, UTF-8 strings and
 * length-delimited sub-messages, written into one growing byte buffer.
 *
 * Sub-messages are written in place: `begin` reserves one byte for the
 * length, `end` fills it in and, for a body of 128 bytes or more, moves the
 * body right by the extra length bytes (one `copyWithin`). Most messages
 * (a label pair, a counter, a metric) are shorter than 128 bytes, so the
 * common case never moves anything, and no size pass runs before writing.
 *
 * Numbers are JavaScript numbers: varints are exact up to 2^53, which covers
 * every count a float64 counter can hold exactly.
 *
 * @module
 */

/** Wire type 0: varint. */
export const VARINT = 0;
/** Wire type 1: 8 bytes, little-endian. */
export const I64 = 1;
/** Wire type 2: length-delimited. */
export const LEN = 2;

/** Bytes a varint of `n` (an integer in [0, 2^53]) takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** A growing byte buffer with protobuf writers. */
export class ProtoWriter {
  /** The bytes written so far are `buf[0..pos)`. */
  buf: Uint8Array<ArrayBuffer>;
  /** Write position. */
  pos = 0;
  #view: DataView;

  /** `capacity` is the first guess of the output size, in bytes. */
  constructor(capacity = 4096) {
    this.buf = new Uint8Array(Math.max(64, capacity));
    this.#view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.#grow(n);
  }

  /** The rare half of `ensure`, out of line so `ensure` inlines everywhere. */
  #grow(n: number): void {
    const next = new Uint8Array(Math.max(this.pos + n, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** An unsigned varint, `n` an integer in [0, 2^53]. */
  varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (n < 0x80000000) {
      while (n > 127) {
        buf[pos++] = (n & 127) | 128;
        n >>>= 7;
      }
    } else {
      // Beyond 2^31 the bit operators would truncate: divide instead.
      while (n > 127) {
        buf[pos++] = (n % 128) | 128;
        n = Math.floor(n / 128);
      }
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  /** A field key: `(field << 3) | wire`. */
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A `uint64`/`uint32`/enum field. */
  uint(field: number, n: number): void {
    this.tag(field, VARINT);
    this.varint(n);
  }

  /** A `sint32`/`sint64` field (zigzag), `n` an integer with |n| < 2^52. */
  sint(field: number, n: number): void {
    this.tag(field, VARINT);
    this.varint(n >= 0 ? 2 * n : -2 * n - 1);
  }

  /**
   * An `int64` field holding `n` >= 0 (a negative one would take ten bytes in
   * two's complement; no field written here is negative).
   */
  int(field: number, n: number): void {
    this.uint(field, n);
  }

  /** A `double` field. */
  double(field: number, v: number): void {
    this.tag(field, I64);
    this.ensure(8);
    this.#view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Starts a length-delimited field (a sub-message or packed list); returns its start for `end`. */
  begin(field: number): number {
    this.tag(field, LEN);
    return this.reserve();
  }

  /** Reserves the one length byte a `begin` needs (also: the top-level delimiter). */
  reserve(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the field `begin` (or `reserve`) started at `start`: writes its length. */
  end(start: number): void {
    const length = this.pos - start - 1;
    if (length < 128) {
      this.buf[start] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra);
    const buf = this.buf;
    buf.copyWithin(start + 1 + extra, start + 1, this.pos);
    this.pos += extra;
    let n = length;
    let at = start;
    while (n > 127) {
      buf[at++] = (n & 127) | 128;
      n >>>= 7;
    }
    buf[at] = n;
  }

  /** A `string` field (lone surrogates become U+FFFD, as in any UTF-8 encoder). */
  string(field: number, s: string): void {
    const start = this.begin(field);
    this.utf8(s, 0, s.length);
    this.end(start);
  }

  /**
   * A `string` field from a label value escaped for the text formats
   * (`\\`, `\"`, `\n`): written unescaped, as protobuf carries raw values.
   */
  unescapedString(field: number, s: string): void {
    const start = this.begin(field);
    if (s.indexOf("\\") < 0) {
      this.utf8(s, 0, s.length);
    } else {
      let from = 0;
      for (let i = s.indexOf("\\"); i >= 0; i = s.indexOf("\\", from)) {
        this.utf8(s, from, i);
        const next = s.charCodeAt(i + 1);
        this.ensure(1);
        this.buf[this.pos++] = next === 110 /* n */ ? 10 : next;
        from = i + 2;
      }
      this.utf8(s, from, s.length);
    }
    this.end(start);
  }

  /** UTF-8 of `s[from..to)`: ASCII byte by byte, anything else through `TextEncoder`. */
  utf8(s: string, from: number, to: number): void {
    this.ensure(3 * (to - from));
    const buf = this.buf;
    let pos = this.pos;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = pos;
        const { written } = utf8Encoder.encodeInto(s.slice(i, to), buf.subarray(pos));
        this.pos += written;
        return;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
  }

  /** The bytes written (a view of the buffer, not a copy). */
  bytes(): Uint8Array<ArrayBuffer> {
    return this.buf.subarray(0, this.pos);
  }
}

const utf8Encoder = new TextEncoder();
