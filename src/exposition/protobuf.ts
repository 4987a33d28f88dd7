/**
 * The Prometheus protobuf exposition format: a stream of length-delimited
 * `io.prometheus.client.MetricFamily` messages (client_model's
 * `metrics.proto`), the format that carries native histograms. Written
 * without a protobuf library, straight from the collected families.
 *
 * Field choices, matching client_golang and what Prometheus 2.42 reads:
 * - fields in field-number order; empty strings left out; every numeric field
 *   of a present message written (proto2 style), so a 0 is explicit;
 * - a counter family keeps its name verbatim (`x_total`), as Prometheus reads
 *   counters from protobuf under the family name;
 * - classic histogram buckets are cumulative, finite bounds only: Prometheus
 *   adds `+Inf` from `sample_count`;
 * - native buckets as spans and deltas (sint64, packed), gaps of one or two
 *   empty buckets filled with zeros rather than opening a new span, exactly as
 *   client_golang's `makeBuckets`.
 *
 * Exemplars (`MetricFamily.exemplars`) go on `Counter.exemplar` (field 2) and
 * `Bucket.exemplar` (field 3), written by {@linkcode writeExemplar}; the
 * `+Inf` bucket is written explicitly only to carry one, as client_golang
 * does.
 *
 * @module
 */

import type { Exemplar, MetricFamily, NativeBuckets } from "../model/family.ts";
import { ProtoWriter } from "./_protobuf_writer.ts";

type Writer = ProtoWriter;

/**
 * Content-Type of the protobuf exposition (length-delimited `MetricFamily`
 * messages), as Prometheus asks for it.
 */
export const PROTOBUF_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/** `MetricType` enum values of client_model. */
const TYPE_CODE = { counter: 0, gauge: 1, summary: 2, histogram: 4 } as const;

/**
 * Renders families as length-delimited protobuf `MetricFamily` messages.
 * Label values are written unescaped (protobuf carries raw strings); families
 * without series are left out (Prometheus skips them anyway).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Counter, Registry, toProtobuf } from "@securetrack/metrics";
 * const registry = new Registry();
 * new Counter({ name: "a_total", help: "A", registry }).inc();
 * const bytes: Uint8Array = toProtobuf(await registry.collect());
 * assert.equal(bytes[0], bytes.length - 1); // one family, its length first
 * ```
 */
export function toProtobuf(families: readonly MetricFamily[]): Uint8Array<ArrayBuffer> {
  // One allocation of about the right size: growing a buffer of hundreds of
  // KiB (a copy, and the garbage collection that large buffers set off)
  // took a third of a 10,000-series scrape.
  let guess = 0;
  for (const f of families) {
    const n = f.labelNames.length;
    let names = 0;
    for (const name of f.labelNames) names += name.length + 6;
    let values = 0;
    for (let i = 0; i < f.size * n; i++) values += f.labelValues[i].length;
    const bounds = f.bounds?.length ?? 0;
    const perSeries = 32 + names + 20 * (bounds + (f.quantiles?.length ?? 0));
    guess += 64 + f.name.length + f.help.length + f.size * perSeries + values;
  }
  const w = new ProtoWriter(guess + (guess >> 3));
  for (const f of families) {
    if (f.size === 0) continue;
    const family = w.reserve();
    w.string(1, f.name);
    if (f.help !== "") w.string(2, f.help);
    w.uint(3, TYPE_CODE[f.type]);
    const order = seriesOrder(f);
    for (let i = 0; i < f.size; i++) writeMetric(w, f, order === undefined ? i : order[i]);
    if (f.unit !== "") w.string(5, f.unit);
    w.end(family);
  }
  return w.bytes();
}

/** Writes `Metric` number `s` of family `f` (field 4 of `MetricFamily`). */
function writeMetric(w: Writer, f: MetricFamily, s: number): void {
  const metric = w.begin(4);
  const names = f.labelNames;
  const n = names.length;
  for (let i = 0; i < n; i++) {
    const pair = w.begin(1);
    w.string(1, names[i]);
    w.unescapedString(2, f.labelValues[s * n + i]);
    w.end(pair);
  }
  switch (f.type) {
    case "counter": {
      const counter = w.begin(3);
      w.double(1, f.values[s]);
      const e = f.exemplars?.[s];
      if (e !== undefined) writeFamilyExemplar(w, 2, e);
      w.end(counter);
      break;
    }
    case "gauge": {
      const gauge = w.begin(2);
      w.double(1, f.values[s]);
      w.end(gauge);
      break;
    }
    case "summary": {
      const summary = w.begin(4);
      w.uint(1, f.counts![s]);
      w.double(2, f.sums![s]);
      const qs = f.quantiles!;
      for (let j = 0; j < qs.length; j++) {
        const quantile = w.begin(3);
        w.double(1, qs[j]);
        w.double(2, f.values[s * qs.length + j]);
        w.end(quantile);
      }
      w.end(summary);
      break;
    }
    case "histogram":
      writeHistogram(w, f, s);
      break;
  }
  w.end(metric);
}

/** Writes the `Histogram` of series `s` (field 7 of `Metric`): classic buckets, then native ones. */
function writeHistogram(w: Writer, f: MetricFamily, s: number): void {
  const histogram = w.begin(7);
  const native = f.native?.[s];
  let count = f.counts![s];
  // A native histogram's count must be at least what its buckets hold, or
  // Prometheus rejects the whole scrape; merged across workers, the classic
  // count and the native buckets are read a moment apart.
  if (native !== undefined) count = Math.max(count, nativeTotal(native));
  w.uint(1, count);
  w.double(2, f.sums![s]);
  const bounds = f.bounds!;
  const stride = bounds.length + 1;
  const exemplars = f.exemplars;
  for (let j = 0; j < bounds.length; j++) {
    const bucket = w.begin(3);
    w.uint(1, f.values[s * stride + j]);
    w.double(2, bounds[j]);
    const e = exemplars?.[s * stride + j];
    if (e !== undefined) writeFamilyExemplar(w, 3, e);
    w.end(bucket);
  }
  // The +Inf bucket is implicit, except to carry an exemplar (as client_golang does).
  const inf = exemplars?.[s * stride + bounds.length];
  if (inf !== undefined) {
    const bucket = w.begin(3);
    w.uint(1, count);
    w.double(2, Infinity);
    writeFamilyExemplar(w, 3, inf);
    w.end(bucket);
  }
  if (native !== undefined) writeNative(w, native);
  w.end(histogram);
}

/** Observations in the buckets of `b`, zero bucket included. */
function nativeTotal(b: NativeBuckets): number {
  let total = b.zeroCount;
  for (let k = 0; k < b.positive.length; k++) total += b.positive[k];
  for (let k = 0; k < b.negative.length; k++) total += b.negative[k];
  return total;
}

/** Histogram fields 5 to 13: schema, zero bucket, negative and positive spans and deltas. */
function writeNative(w: Writer, b: NativeBuckets): void {
  w.sint(5, b.schema);
  w.double(6, b.zeroThreshold);
  w.uint(7, b.zeroCount);
  const negative = writeSpans(w, 9, b.negativeOffset, b.negative);
  if (negative) writeDeltas(w, 10, b.negative);
  const positive = writeSpans(w, 12, b.positiveOffset, b.positive);
  if (positive) writeDeltas(w, 13, b.positive);
  else if (b.zeroThreshold === 0 && b.zeroCount === 0 && !negative) {
    // No bucket at all and no zero bucket: client_model's no-op span marks
    // the histogram native (Prometheus 2.47+; 2.42 reads it as classic).
    const span = w.begin(12);
    w.sint(1, 0);
    w.uint(2, 0);
    w.end(span);
  }
}

/** The first and one past the last non-zero index of `counts` (`[0, 0]` when all are zero). */
function trimmed(counts: ArrayLike<number>): [number, number] {
  let lo = 0;
  let hi = counts.length;
  while (lo < hi && counts[lo] === 0) lo++;
  while (hi > lo && counts[hi - 1] === 0) hi--;
  return [lo, hi];
}

/**
 * Writes the spans of `counts` (bucket `offset + k` holds `counts[k]`) as
 * repeated `BucketSpan` field `field`; returns whether there was any bucket.
 * A run of one or two empty buckets stays inside the span (client_golang's
 * rule: two zero deltas are cheaper than a new span); a longer one ends it.
 */
function writeSpans(w: Writer, field: number, offset: number, counts: ArrayLike<number>): boolean {
  const [lo, hi] = trimmed(counts);
  if (lo === hi) return false;
  let start = lo;
  let prevEnd = 0; // one past the last bucket index of the previous span
  let first = true;
  let k = lo;
  while (k < hi) {
    // Extend the span while the next non-empty bucket is at most 2 empty ones away.
    let end = k + 1;
    for (;;) {
      let next = end;
      while (next < hi && counts[next] === 0) next++;
      if (next >= hi || next - end > 2) break;
      end = next + 1;
    }
    const span = w.begin(field);
    w.sint(1, first ? offset + start : start - prevEnd);
    w.uint(2, end - start);
    w.end(span);
    first = false;
    prevEnd = end;
    k = end;
    while (k < hi && counts[k] === 0) k++;
    start = k;
  }
  return true;
}

/**
 * Writes the packed deltas of the buckets the spans cover: the first count,
 * then each count minus the previous one (empty buckets inside a span count
 * as 0), as `sint64`.
 */
function writeDeltas(w: Writer, field: number, counts: ArrayLike<number>): void {
  const [lo, hi] = trimmed(counts);
  const list = w.begin(field);
  let prev = 0;
  let k = lo;
  while (k < hi) {
    // Skip a run of three or more empty buckets: the spans leave it out.
    if (counts[k] === 0) {
      let next = k;
      while (next < hi && counts[next] === 0) next++;
      if (next - k > 2) {
        k = next;
        continue;
      }
    }
    const c = counts[k];
    const d = c - prev;
    w.varint(d >= 0 ? 2 * d : -2 * d - 1);
    prev = c;
    k++;
  }
  w.end(list);
}

/**
 * Whether Prometheus 2.42 reads series `s` as a native histogram: it looks at
 * deltas, the zero count and the zero threshold only.
 */
function readsAsNative(b: NativeBuckets): boolean {
  if (b.zeroThreshold > 0 || b.zeroCount > 0) return true;
  for (let k = 0; k < b.positive.length; k++) if (b.positive[k] !== 0) return true;
  for (let k = 0; k < b.negative.length; k++) if (b.negative[k] !== 0) return true;
  return false;
}

/**
 * The order to write a native histogram family's series in, or `undefined`
 * for their own order. Prometheus 2.42 decides native-or-classic on the first
 * series of a family and applies it to all of them; with a zero threshold of
 * 0, an empty first series would turn the whole family classic, so a series
 * that reads as native goes first.
 */
function seriesOrder(f: MetricFamily): number[] | undefined {
  const native = f.native;
  if (native === undefined || f.size < 2 || readsAsNative(native[0])) return undefined;
  let lead = -1;
  for (let s = 1; s < f.size && lead < 0; s++) if (readsAsNative(native[s])) lead = s;
  if (lead < 0) return undefined;
  const order = [lead];
  for (let s = 0; s < f.size; s++) if (s !== lead) order.push(s);
  return order;
}

/** Writes exemplar `e` of a family as field `field` (see {@linkcode writeExemplar}). */
function writeFamilyExemplar(w: ProtoWriter, field: number, e: Exemplar): void {
  writeExemplar(w, field, Object.keys(e.labels), Object.values(e.labels), e.value, e.timestamp);
}

/**
 * Writes an `Exemplar` as field `field` of the message being written
 * (`Counter.exemplar` = 2, `Bucket.exemplar` = 3): its labels (raw, not
 * escaped), value and timestamp (seconds since the epoch, as a
 * `google.protobuf.Timestamp`; Prometheus drops exemplars that do not move
 * forward, so every exemplar carries one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProtoWriter } from "./_protobuf_writer.ts";
 * import { writeExemplar } from "./protobuf.ts";
 * const w = new ProtoWriter();
 * writeExemplar(w, 1, ["trace_id"], ["abc"], 0.5, 1700000000.25);
 * assert.equal(w.bytes()[0], 0x0a);
 * ```
 */
export function writeExemplar(
  w: ProtoWriter,
  field: number,
  names: readonly string[],
  values: readonly string[],
  value: number,
  timestampSeconds: number,
): void {
  const exemplar = w.begin(field);
  for (let i = 0; i < names.length; i++) {
    const pair = w.begin(1);
    w.string(1, names[i]);
    w.string(2, values[i]);
    w.end(pair);
  }
  w.double(2, value);
  const ts = w.begin(3);
  let seconds = Math.floor(timestampSeconds);
  // To the nearest nanosecond (as far as a float of seconds holds them: ~0.2 µs today).
  let nanos = Math.min(999_999_999, Math.max(0, Math.round((timestampSeconds - seconds) * 1e9)));
  // A time in whole milliseconds (Date.now() / 1000, as exemplars are taken)
  // is written as exactly those: the float of x.457 s may lie a few hundred
  // nanoseconds below it, which Prometheus (truncating to milliseconds)
  // would store as x.456.
  const ms = Math.round(timestampSeconds * 1000);
  if (Math.abs(timestampSeconds * 1000 - ms) < 0.001) {
    seconds = Math.floor(ms / 1000);
    nanos = (ms - seconds * 1000) * 1_000_000;
  }
  w.int(1, seconds);
  w.uint(2, nanos);
  w.end(ts);
  w.end(exemplar);
}
