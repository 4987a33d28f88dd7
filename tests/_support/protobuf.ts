/**
 * A small, strict decoder of the protobuf exposition format for tests:
 * length-delimited `io.prometheus.client.MetricFamily` messages, read from the
 * field table of client_model's `metrics.proto` (condensed in
 * `/work/shared/docs/native-histograms-exemplars.md`, section 1), not from our
 * encoder.
 *
 * Strict where a correct writer never strays: an unknown field, a field with
 * the wrong wire type, a truncated message, a length varint over 5 bytes (the
 * limit of Prometheus 2.42's reader) or invalid UTF-8 is an error. On top of
 * the syntax, {@linkcode checkFamilies} applies the rules that make
 * Prometheus 2.42 reject a whole scrape: native histogram spans that do not
 * cover the deltas, a negative bucket count, buckets holding more than the
 * count, a non-first span with a negative offset, a schema outside [-4, 8],
 * names outside the legacy charset; and the rules a classic histogram or
 * summary needs (cumulative buckets increasing, bounds increasing).
 *
 * @module
 */

/** `google.protobuf.Timestamp`, as seconds (with the nanos added). */
export type Timestamp = number;

/** A decoded `Exemplar`. */
export interface Exemplar {
  labels: Record<string, string>;
  value: number;
  timestamp?: Timestamp;
}

/** A decoded `BucketSpan`. */
export interface Span {
  offset: number;
  length: number;
}

/** A decoded `Histogram`. */
export interface Histogram {
  sampleCount?: number;
  sampleSum?: number;
  buckets: { cumulativeCount?: number; upperBound?: number; exemplar?: Exemplar }[];
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  negativeSpans: Span[];
  negativeDeltas: number[];
  positiveSpans: Span[];
  positiveDeltas: number[];
}

/** A decoded `Metric`. */
export interface Metric {
  labels: [string, string][];
  gauge?: number;
  counter?: { value?: number; exemplar?: Exemplar };
  summary?: {
    sampleCount?: number;
    sampleSum?: number;
    quantiles: { quantile?: number; value?: number }[];
  };
  untyped?: number;
  timestampMs?: number;
  histogram?: Histogram;
}

/** A decoded `MetricFamily`. */
export interface Family {
  name?: string;
  help?: string;
  /** The `type` field as written, `undefined` when absent (reads as COUNTER). */
  type?: number;
  metrics: Metric[];
  unit?: string;
}

/** `MetricType` names by value. */
export const METRIC_TYPES = [
  "COUNTER",
  "GAUGE",
  "SUMMARY",
  "UNTYPED",
  "HISTOGRAM",
  "GAUGE_HISTOGRAM",
];

const decoder = new TextDecoder("utf-8", { fatal: true });

class Reader {
  pos = 0;
  readonly bytes: Uint8Array;
  readonly end: number;
  readonly view: DataView;
  constructor(bytes: Uint8Array, from = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = from;
    this.end = end;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  done(): boolean {
    return this.pos >= this.end;
  }
  varint(maxBytes = 10): number {
    let n = 0;
    let scale = 1;
    for (let i = 0;; i++) {
      if (i >= maxBytes) throw new Error(`varint longer than ${maxBytes} bytes at ${this.pos}`);
      if (this.pos >= this.end) throw new Error("truncated varint");
      const b = this.bytes[this.pos++];
      n += (b & 127) * scale;
      scale *= 128;
      if (b < 128) return n;
    }
  }
  /** A varint read as a signed int64 (two's complement), exact within ±2^53. */
  int64(): number {
    const start = this.pos;
    const n = this.varint();
    if (this.pos - start === 10) return n - 2 ** 64;
    return n;
  }
  zigzag(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
  double(): number {
    if (this.pos + 8 > this.end) throw new Error("truncated double");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  sub(): Reader {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error(`length ${len} past the end of its message`);
    const r = new Reader(this.bytes, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }
  string(): string {
    const r = this.sub();
    return decoder.decode(this.bytes.subarray(r.pos, r.end));
  }
}

type Fields = Record<number, [wire: number, read: (r: Reader, wire: number) => void]>;

function readMessage(r: Reader, what: string, fields: Fields): void {
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    const spec = fields[field];
    if (spec === undefined) throw new Error(`${what}: unknown field ${field} (wire ${wire})`);
    // A repeated scalar may come packed (LEN) as well as one per tag.
    if (spec[0] !== wire && !(wire === 2 && spec[0] === 0)) {
      throw new Error(`${what}: field ${field} has wire type ${wire}, expected ${spec[0]}`);
    }
    spec[1](r, wire);
  }
}

function repeated(r: Reader, wire: number, one: (r: Reader) => number, into: number[]): void {
  if (wire === 0) {
    into.push(one(r));
    return;
  }
  const p = r.sub();
  while (!p.done()) into.push(one(p));
}

function timestamp(r: Reader): Timestamp {
  let seconds = 0;
  let nanos = 0;
  readMessage(r, "Timestamp", {
    1: [0, (r) => seconds = r.int64()],
    2: [0, (r) => nanos = r.varint()],
  });
  if (nanos < 0 || nanos > 999_999_999) throw new Error(`Timestamp: nanos ${nanos}`);
  return seconds + nanos / 1e9;
}

function labelPair(r: Reader): [string, string] {
  let name = "";
  let value = "";
  readMessage(r, "LabelPair", {
    1: [2, (r) => name = r.string()],
    2: [2, (r) => value = r.string()],
  });
  return [name, value];
}

function exemplar(r: Reader): Exemplar {
  const e: Exemplar = { labels: {}, value: NaN };
  readMessage(r, "Exemplar", {
    1: [2, (r) => {
      const [k, v] = labelPair(r.sub());
      e.labels[k] = v;
    }],
    2: [1, (r) => e.value = r.double()],
    3: [2, (r) => e.timestamp = timestamp(r.sub())],
  });
  return e;
}

function span(r: Reader): Span {
  const s: Span = { offset: 0, length: 0 };
  readMessage(r, "BucketSpan", {
    1: [0, (r) => s.offset = r.zigzag()],
    2: [0, (r) => s.length = r.varint()],
  });
  return s;
}

function histogram(r: Reader): Histogram {
  const h: Histogram = {
    buckets: [],
    negativeSpans: [],
    negativeDeltas: [],
    positiveSpans: [],
    positiveDeltas: [],
  };
  readMessage(r, "Histogram", {
    1: [0, (r) => h.sampleCount = r.varint()],
    2: [1, (r) => h.sampleSum = r.double()],
    3: [2, (r) => {
      const b: Histogram["buckets"][number] = {};
      readMessage(r.sub(), "Bucket", {
        1: [0, (r) => b.cumulativeCount = r.varint()],
        2: [1, (r) => b.upperBound = r.double()],
        3: [2, (r) => b.exemplar = exemplar(r.sub())],
      });
      h.buckets.push(b);
    }],
    5: [0, (r) => h.schema = r.zigzag()],
    6: [1, (r) => h.zeroThreshold = r.double()],
    7: [0, (r) => h.zeroCount = r.varint()],
    9: [2, (r) => h.negativeSpans.push(span(r.sub()))],
    10: [0, (r, wire) => repeated(r, wire, (r) => r.zigzag(), h.negativeDeltas)],
    12: [2, (r) => h.positiveSpans.push(span(r.sub()))],
    13: [0, (r, wire) => repeated(r, wire, (r) => r.zigzag(), h.positiveDeltas)],
  });
  return h;
}

function valueOnly(r: Reader, what: string): number {
  let v = NaN;
  readMessage(r, what, { 1: [1, (r) => v = r.double()] });
  return v;
}

function metric(r: Reader): Metric {
  const m: Metric = { labels: [] };
  readMessage(r, "Metric", {
    1: [2, (r) => m.labels.push(labelPair(r.sub()))],
    2: [2, (r) => m.gauge = valueOnly(r.sub(), "Gauge")],
    3: [2, (r) => {
      const c: NonNullable<Metric["counter"]> = {};
      readMessage(r.sub(), "Counter", {
        1: [1, (r) => c.value = r.double()],
        2: [2, (r) => c.exemplar = exemplar(r.sub())],
      });
      m.counter = c;
    }],
    4: [2, (r) => {
      const s: NonNullable<Metric["summary"]> = { quantiles: [] };
      readMessage(r.sub(), "Summary", {
        1: [0, (r) => s.sampleCount = r.varint()],
        2: [1, (r) => s.sampleSum = r.double()],
        3: [2, (r) => {
          const q: { quantile?: number; value?: number } = {};
          readMessage(r.sub(), "Quantile", {
            1: [1, (r) => q.quantile = r.double()],
            2: [1, (r) => q.value = r.double()],
          });
          s.quantiles.push(q);
        }],
      });
      m.summary = s;
    }],
    5: [2, (r) => m.untyped = valueOnly(r.sub(), "Untyped")],
    6: [0, (r) => m.timestampMs = r.int64()],
    7: [2, (r) => m.histogram = histogram(r.sub())],
  });
  return m;
}

/** Decodes a length-delimited stream of `MetricFamily` messages; throws on anything malformed. */
export function decodeFamilies(bytes: Uint8Array): Family[] {
  const r = new Reader(bytes);
  const out: Family[] = [];
  while (!r.done()) {
    const len = r.varint(5);
    if (r.pos + len > r.end) throw new Error(`family of ${len} bytes past the end of the body`);
    const m = new Reader(bytes, r.pos, r.pos + len);
    r.pos += len;
    const f: Family = { metrics: [] };
    readMessage(m, "MetricFamily", {
      1: [2, (r) => f.name = r.string()],
      2: [2, (r) => f.help = r.string()],
      3: [0, (r) => f.type = r.varint()],
      4: [2, (r) => f.metrics.push(metric(r.sub()))],
      5: [2, (r) => f.unit = r.string()],
    });
    out.push(f);
  }
  return out;
}

/** The buckets of one side of a native histogram: index to count. */
export function nativeBuckets(
  spans: readonly Span[],
  deltas: readonly number[],
): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let d = 0;
  let count = 0;
  spans.forEach((s) => {
    index += s.offset; // the first: absolute; later: the gap after the previous span
    for (let k = 0; k < s.length; k++, index++) {
      count += deltas[d++];
      if (count !== 0) out.set(index, count);
    }
  });
  return out;
}

/** Whether Prometheus 2.42 reads `h` as a native histogram (`isNativeHistogram`). */
export function readsAsNative(h: Histogram): boolean {
  return h.negativeDeltas.length > 0 || h.positiveDeltas.length > 0 || (h.zeroCount ?? 0) > 0 ||
    (h.zeroThreshold ?? 0) > 0;
}

const LEGACY_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Checks decoded families against what Prometheus 2.42 requires of a scrape
 * (see the module comment); returns the problems found, `[]` when none.
 */
export function checkFamilies(families: readonly Family[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    const name = f.name ?? "";
    const at = (what: string) => problems.push(`${name}: ${what}`);
    if (!LEGACY_NAME.test(name)) at("name outside [a-zA-Z_:][a-zA-Z0-9_:]*");
    if (seen.has(name)) at("family written twice");
    seen.add(name);
    if (f.metrics.length === 0) at("family without metrics");
    const type = f.type ?? 0;
    const series = new Set<string>();
    for (const m of f.metrics) {
      for (const [k] of m.labels) if (!LABEL_NAME.test(k)) at(`label name ${JSON.stringify(k)}`);
      const key = JSON.stringify(m.labels);
      if (series.has(key)) at(`series ${key} written twice`);
      series.add(key);
      const present = [m.gauge, m.counter, m.summary, m.untyped, m.histogram].filter((x) =>
        x !== undefined
      ).length;
      if (present !== 1) at(`${key}: ${present} values, expected one`);
      const expected = ["counter", "gauge", "summary", "untyped", "histogram"][type];
      if (expected === "counter" && m.counter === undefined) at(`${key}: not a counter`);
      if (expected === "gauge" && m.gauge === undefined) at(`${key}: not a gauge`);
      if (expected === "summary" && m.summary === undefined) at(`${key}: not a summary`);
      if (expected === "histogram" && m.histogram === undefined) at(`${key}: not a histogram`);
      if (m.summary) {
        const qs = m.summary.quantiles.map((q) => q.quantile ?? 0);
        if (qs.some((q, i) => !(q >= 0 && q <= 1) || (i > 0 && q <= qs[i - 1]))) {
          at(`${key}: quantiles not increasing in [0, 1]`);
        }
      }
      const h = m.histogram;
      if (h === undefined) continue;
      const count = h.sampleCount ?? 0;
      let prevBound = -Infinity;
      let prevCount = 0;
      for (const b of h.buckets) {
        const bound = b.upperBound ?? 0;
        const c = b.cumulativeCount ?? 0;
        if (!(bound > prevBound)) at(`${key}: bucket bounds not increasing at ${bound}`);
        if (c < prevCount) at(`${key}: cumulative counts decreasing at le=${bound}`);
        prevBound = bound;
        prevCount = c;
      }
      // The first metric decides for the whole family in 2.42.
      if (!readsAsNative(f.metrics[0].histogram ?? h)) continue;
      const schema = h.schema ?? 0;
      if (!(Number.isInteger(schema) && schema >= -4 && schema <= 8)) {
        at(`${key}: schema ${schema}`);
      }
      if ((h.zeroThreshold ?? 0) < 0) at(`${key}: negative zero threshold`);
      let inBuckets = h.zeroCount ?? 0;
      for (
        const [side, spans, deltas] of [
          ["negative", h.negativeSpans, h.negativeDeltas],
          ["positive", h.positiveSpans, h.positiveDeltas],
        ] as const
      ) {
        const need = spans.reduce((n, s) => n + s.length, 0);
        if (need !== deltas.length) {
          at(`${key}: ${side} side: spans need ${need} buckets, have ${deltas.length}`);
          continue;
        }
        spans.forEach((s, i) => {
          if (i > 0 && s.offset < 0) at(`${key}: ${side} span ${i} has offset ${s.offset}`);
        });
        let c = 0;
        deltas.forEach((d, i) => {
          c += d;
          if (c < 0) at(`${key}: ${side} side: bucket ${i} has count ${c}`);
          inBuckets += c;
        });
      }
      if (inBuckets > count) at(`${key}: ${inBuckets} observations in buckets, count ${count}`);
    }
  }
  return problems;
}

/** Decodes `bytes` and throws unless {@linkcode checkFamilies} finds nothing. */
export function decodeChecked(bytes: Uint8Array): Family[] {
  const families = decodeFamilies(bytes);
  const problems = checkFamilies(families);
  if (problems.length > 0) throw new Error(`protobuf body rejected:\n  ${problems.join("\n  ")}`);
  return families;
}

/** Hex of `bytes`, two digits a byte, space-separated (as the fact sheet writes vectors). */
export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}
