/**
 * Exemplars of counters and histogram buckets: their validation, their
 * storage (one slot per counter series or histogram bucket, replaced by the
 * newer exemplar), and the copy other workers read in a cluster.
 *
 * Storage is separate from the metric's values and made on the first
 * exemplar, so a metric that never gets one, and every plain `inc` and
 * `observe`, pay nothing for it.
 *
 * In a cluster each worker also writes its exemplars into shared memory:
 * a table of record references, one `Int32` per slot, and the records, each
 * a whole number of 64-byte units (a 32-byte header, then the labels as
 * UTF-8, names and values separated by `0xFF`, a byte UTF-8 never uses). A
 * `trace_id` of 32 hex digits takes two units; the largest label set allowed
 * (128 code points, up to 4 bytes each) thirteen. A record is rewritten in
 * place under a sequence lock (odd while written) when the new labels fit,
 * otherwise another record is taken and the old one freed for reuse; a
 * reader retries or skips a record that changed while it read. Memory is
 * bounded: one record per slot that ever had an exemplar.
 *
 * @module
 */

import type { Exemplar } from "../model/family.ts";

/**
 * Most UTF-8 code points an exemplar's label names and values may have
 * together (OpenMetrics 1.0; client_golang's `ExemplarMaxRunes`).
 */
export const EXEMPLAR_MAX_CODE_POINTS = 128;

/** An exemplar's labels: names (`[a-zA-Z_][a-zA-Z0-9_]*`) to string values. */
export type ExemplarLabels = Readonly<Record<string, string>>;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Label names already found valid, so the common call (the same `trace_id`
 * every time) skips the regular expression: it cost 25 ns of a ~100 ns
 * exemplar call. Bounded: names past the first 256 are checked each time.
 */
const validNames = new Set<string>();

function validName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (!LABEL_NAME.test(name) || name.startsWith("__")) return false;
  if (validNames.size < 256) validNames.add(name);
  return true;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Validates `labels` as the exemplar labels of metric `metric` and returns a
 * copy: a `TypeError` for what is not an object of string values or for a
 * bad label name, a `RangeError` for more than 128 code points of names and
 * values together. Lone surrogates become U+FFFD, as in series labels.
 */
export function validateExemplarLabels(metric: string, labels: unknown): ExemplarLabels {
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) {
    throw new TypeError(
      `Metric "${metric}": exemplarLabels must be an object of label names to strings, got ${
        labels === null ? "null" : Array.isArray(labels) ? "an array" : typeof labels
      }`,
    );
  }
  const out: Record<string, string> = {};
  let units = 0;
  // for-in rather than Object.keys: no array per call (exemplars come one per request).
  for (const name in labels) {
    if (!Object.hasOwn(labels, name)) continue;
    if (!validName(name)) {
      throw new TypeError(
        `Metric "${metric}": invalid exemplar label name ${JSON.stringify(name)}: it must match ` +
          "[a-zA-Z_][a-zA-Z0-9_]* and not start with __",
      );
    }
    let value = (labels as Record<string, unknown>)[name];
    if (typeof value !== "string") {
      throw new TypeError(
        `Metric "${metric}": exemplar label "${name}" must be a string, got ${typeof value}`,
      );
    }
    if (!value.isWellFormed()) value = value.toWellFormed();
    out[name] = value as string;
    units += name.length + (value as string).length;
  }
  // UTF-16 units bound the code points from above: count exactly only past it.
  if (units > EXEMPLAR_MAX_CODE_POINTS) {
    let n = 0;
    for (const name in out) n += name.length + codePoints(out[name]);
    if (n > EXEMPLAR_MAX_CODE_POINTS) {
      throw new RangeError(
        `Metric "${metric}": exemplar labels (${
          Object.keys(out).join(", ")
        }) have ${n} code points in names and values; at most ${EXEMPLAR_MAX_CODE_POINTS} are allowed`,
      );
    }
  }
  return out;
}

/** One record unit, in bytes; a record is a whole number of them. */
const UNIT = 64;
/** Record header: sequence, slot, payload bytes, units (Int32 each), value, time (Float64). */
const HEADER = 32;
/** Largest payload: 128 code points of 4 bytes, and up to 255 separators. */
const MAX_PAYLOAD = EXEMPLAR_MAX_CODE_POINTS * 4 + 2 * EXEMPLAR_MAX_CODE_POINTS - 1;
/** Most bytes of records one metric's slots may take in shared memory. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const SEPARATOR = 0xff;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The shared memory of one metric's exemplars, as posted to other workers. */
export interface SharedExemplarBuffers {
  /** Record reference per slot (`Int32`: 0 none, else the record's first unit + 1). */
  exemplarRefs: SharedArrayBuffer;
  /** The records (growable). */
  exemplarRecords: SharedArrayBuffer;
}

/** The writer's side of a metric's exemplars in shared memory. */
class SharedExemplarWriter {
  readonly buffers: SharedExemplarBuffers;
  readonly #refs: Int32Array;
  readonly #records: SharedArrayBuffer;
  /** Free records by size in units. */
  readonly #free: number[][] = [];
  /** First unused unit. */
  #end = 0;
  readonly #scratch = new Uint8Array(MAX_PAYLOAD);

  constructor(slots: number) {
    // Both grow as exemplars come: a metric that never gets one costs no memory.
    const refs = new SharedArrayBuffer(0, { maxByteLength: slots * 4 });
    const records = new SharedArrayBuffer(0, {
      maxByteLength: Math.min(
        MAX_RECORD_BYTES,
        slots * Math.ceil((HEADER + MAX_PAYLOAD) / UNIT) * UNIT,
      ),
    });
    this.#refs = new Int32Array(refs); // length-tracking: sees the buffer grow
    this.#records = records;
    this.buffers = { exemplarRefs: refs, exemplarRecords: records };
  }

  /** Publishes an exemplar as that of `slot` (silently not, if the records are full). */
  write(slot: number, labels: ExemplarLabels, value: number, timestamp: number): void {
    if (slot >= this.#refs.length) {
      const sab = this.buffers.exemplarRefs;
      if ((slot + 1) * 4 > sab.maxByteLength) return;
      sab.grow(Math.min(sab.maxByteLength, Math.max((slot + 1) * 4, sab.byteLength * 2, 256)));
    }
    const bytes = this.#scratch;
    let len = 0;
    let first = true;
    for (const name in labels) {
      if (!first) bytes[len++] = SEPARATOR;
      first = false;
      len += encoder.encodeInto(name, bytes.subarray(len)).written;
      bytes[len++] = SEPARATOR;
      len += encoder.encodeInto(labels[name], bytes.subarray(len)).written;
    }
    const units = Math.ceil((HEADER + len) / UNIT);
    const old = this.#refs[slot];
    let i32s = new Int32Array(this.#records);
    let at = old - 1;
    if (old === 0 || i32s[at * (UNIT / 4) + 3] !== units) {
      at = this.#allocate(units);
      if (at < 0) return this.clear(slot);
      i32s = new Int32Array(this.#records); // it may have grown
    }
    const q = at * (UNIT / 4);
    Atomics.add(i32s, q, 1); // odd: being written
    i32s[q + 1] = slot;
    i32s[q + 2] = len;
    i32s[q + 3] = units;
    const f64 = new Float64Array(this.#records, at * UNIT + 16, 2);
    f64[0] = value;
    f64[1] = timestamp;
    new Uint8Array(this.#records, at * UNIT + HEADER, len).set(bytes.subarray(0, len));
    Atomics.add(i32s, q, 1); // even: complete
    if (old - 1 !== at) {
      Atomics.store(this.#refs, slot, at + 1);
      if (old !== 0) this.#release(old - 1, i32s[(old - 1) * (UNIT / 4) + 3]);
    }
  }

  /** Removes the exemplar of `slot`. */
  clear(slot: number): void {
    if (slot >= this.#refs.length) return;
    const old = this.#refs[slot];
    if (old === 0) return;
    Atomics.store(this.#refs, slot, 0);
    this.#release(old - 1, new Int32Array(this.#records)[(old - 1) * (UNIT / 4) + 3]);
  }

  #release(at: number, units: number): void {
    (this.#free[units] ??= []).push(at);
  }

  /** The first unit of a free record of `units` units, or -1 when memory is exhausted. */
  #allocate(units: number): number {
    const reused = this.#free[units]?.pop();
    if (reused !== undefined) return reused;
    const at = this.#end;
    const bytes = (at + units) * UNIT;
    const sab = this.#records;
    if (bytes > sab.byteLength) {
      if (bytes > sab.maxByteLength) return -1;
      sab.grow(Math.min(sab.maxByteLength, Math.max(bytes, sab.byteLength * 2, 64 * UNIT)));
    }
    this.#end = at + units;
    // The record's sequence number starts even (complete) at 0.
    return at;
  }
}

/** Reads another worker's exemplars from its shared buffers. */
export class SharedExemplarReader {
  readonly #refs: Int32Array;
  readonly #records: SharedArrayBuffer;

  constructor(buffers: SharedExemplarBuffers) {
    this.#refs = new Int32Array(buffers.exemplarRefs);
    this.#records = buffers.exemplarRecords;
  }

  /** Whether the worker ever wrote an exemplar. */
  get any(): boolean {
    return this.#records.byteLength > 0;
  }

  /**
   * The exemplar of `slot`, or `undefined` (none, or rewritten each time it
   * was read: the next scrape will see it).
   */
  get(slot: number): Exemplar | undefined {
    if (slot >= this.#refs.length) return undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      const ref = Atomics.load(this.#refs, slot);
      if (ref === 0) return undefined;
      const at = ref - 1;
      if ((at + 1) * UNIT > this.#records.byteLength) return undefined;
      const i32 = new Int32Array(this.#records, at * UNIT, 4);
      const seq = Atomics.load(i32, 0);
      if ((seq & 1) !== 0) continue;
      const owner = i32[1];
      const len = i32[2];
      const f64 = new Float64Array(this.#records, at * UNIT + 16, 2);
      const value = f64[0];
      const timestamp = f64[1];
      const end = at * UNIT + HEADER + len;
      if (len < 0 || len > MAX_PAYLOAD || end > this.#records.byteLength) continue;
      const payload = new Uint8Array(this.#records, at * UNIT + HEADER, len).slice();
      if (
        Atomics.load(i32, 0) !== seq || owner !== slot || Atomics.load(this.#refs, slot) !== ref
      ) continue;
      return { labels: decodeLabels(payload), value, timestamp };
    }
    return undefined;
  }
}

function decodeLabels(payload: Uint8Array): ExemplarLabels {
  const labels: Record<string, string> = {};
  if (payload.length === 0) return labels;
  let name: string | undefined;
  let start = 0;
  for (let i = 0; i <= payload.length; i++) {
    if (i < payload.length && payload[i] !== SEPARATOR) continue;
    const piece = decoder.decode(payload.subarray(start, i));
    if (name === undefined) name = piece;
    else {
      labels[name] = piece;
      name = undefined;
    }
    start = i + 1;
  }
  return labels;
}

/**
 * One metric's exemplars: `perSeries` slots per series (a counter 1, a
 * histogram one per bucket), each holding the newest exemplar given to it.
 */
export class ExemplarSlots {
  /** Slots per series. */
  readonly perSeries: number;
  // Per slot: labels (undefined: none), value and time, in arrays rather than
  // an object per exemplar, so an exemplar call allocates nothing here.
  readonly #labels: (ExemplarLabels | undefined)[] = [];
  #values = new Float64Array(0);
  #times = new Float64Array(0);
  #shared: SharedExemplarWriter | undefined;

  constructor(perSeries: number) {
    this.perSeries = perSeries;
  }

  /** Replaces the exemplar of bucket `j` of series `id`, timestamped now. */
  set(id: number, j: number, labels: ExemplarLabels, value: number): void {
    const slot = id * this.perSeries + j;
    if (slot >= this.#values.length) this.#grow(slot + 1);
    const timestamp = Date.now() / 1000;
    this.#labels[slot] = labels;
    this.#values[slot] = value;
    this.#times[slot] = timestamp;
    this.#shared?.write(slot, labels, value, timestamp);
  }

  /** The exemplar of `slot` (`id * perSeries + j`), if any. */
  get(slot: number): Exemplar | undefined {
    const labels = this.#labels[slot];
    if (labels === undefined) return undefined;
    return { labels, value: this.#values[slot], timestamp: this.#times[slot] };
  }

  /** Removes the exemplars of series `id` (it was removed). */
  clear(id: number): void {
    const base = id * this.perSeries;
    for (let j = 0; j < this.perSeries && base + j < this.#labels.length; j++) {
      if (this.#labels[base + j] === undefined) continue;
      this.#labels[base + j] = undefined;
      this.#shared?.clear(base + j);
    }
  }

  /** Starts mirroring into shared memory for up to `series` series; returns the buffers to post. */
  share(series: number): SharedExemplarBuffers {
    if (this.#shared === undefined) {
      this.#shared = new SharedExemplarWriter(series * this.perSeries);
      for (let slot = 0; slot < this.#labels.length; slot++) {
        const labels = this.#labels[slot];
        if (labels !== undefined) {
          this.#shared.write(slot, labels, this.#values[slot], this.#times[slot]);
        }
      }
    }
    return this.#shared.buffers;
  }

  #grow(slots: number): void {
    const size = Math.max(slots, this.#values.length * 2, 8 * this.perSeries);
    const values = new Float64Array(size);
    values.set(this.#values);
    this.#values = values;
    const times = new Float64Array(size);
    times.set(this.#times);
    this.#times = times;
  }
}
