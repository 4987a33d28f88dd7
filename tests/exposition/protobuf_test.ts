/**
 * The protobuf exposition: byte for byte against the fact sheet's golden
 * vectors (accepted by Prometheus 2.42), and every metric type through the
 * strict decoder in tests/_support/protobuf.ts, which is written from
 * metrics.proto and applies the checks that make 2.42 reject a scrape.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Counter,
  Gauge,
  Histogram,
  type MetricFamily,
  metricsHandler,
  type NativeBuckets,
  PROTOBUF_CONTENT_TYPE,
  Registry,
  Summary,
  toProtobuf,
} from "../../src/mod.ts";
import { ProtoWriter } from "../../src/exposition/_protobuf_writer.ts";
import { writeExemplar } from "../../src/exposition/protobuf.ts";
import {
  checkFamilies,
  decodeChecked,
  decodeFamilies,
  hex,
  nativeBuckets,
} from "../_support/protobuf.ts";

/** The fact sheet's golden vector: family `h`, schema 0, observations {0, 1.5, 3}. */
const GOLDEN = "2b 0a 01 68 18 04 22 24 3a 22 08 03 11 00 00 00 00 00 00 12 40 28 00 31 00 00 00 " +
  "00 00 00 f0 37 38 01 62 04 08 02 10 02 6a 02 02 00";
/** Its exemplar body: {trace_id="abc"} 0.5 at 1700000000.25 s. */
const GOLDEN_EXEMPLAR = "0a 0f 0a 08 74 72 61 63 65 5f 69 64 12 03 61 62 63 11 00 00 00 00 00 " +
  "00 e0 3f 1a 0b 08 80 e2 cf aa 06 10 80 e5 9a 77";

const PROMETHEUS_NATIVE =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited," +
  "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;" +
  "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

function family(
  partial: Partial<MetricFamily> & Pick<MetricFamily, "name" | "type">,
): MetricFamily {
  return {
    help: "",
    unit: "",
    labelNames: [],
    labelValues: [],
    size: 1,
    values: [],
    ...partial,
  };
}

/** Native buckets with nothing in them: what `nativeFamily` fills in for the fields a test leaves out. */
const NO_BUCKETS: NativeBuckets = {
  schema: 0,
  zeroThreshold: 0,
  zeroCount: 0,
  positiveOffset: 0,
  positive: [],
  negativeOffset: 0,
  negative: [],
};

/** The fact sheet's native buckets: schema 0, observations {0, 1.5, 3}. */
const FACT_SHEET: Partial<NativeBuckets> = {
  zeroThreshold: 2 ** -128,
  zeroCount: 1,
  positiveOffset: 1,
  positive: [1, 1],
};

/** A histogram family of one series: `count` and `sum`, native buckets `NO_BUCKETS` with `over`. */
function nativeFamily(
  name: string,
  count: number,
  sum: number,
  over: Partial<NativeBuckets>,
): MetricFamily {
  return family({
    name,
    type: "histogram",
    values: [count],
    counts: [count],
    sums: [sum],
    bounds: [],
    native: [{ ...NO_BUCKETS, ...over }],
  });
}

describe("toProtobuf: golden vectors", () => {
  it("the native histogram of the fact sheet, byte for byte", () => {
    const h = nativeFamily("h", 3, 4.5, FACT_SHEET);
    assert.equal(hex(toProtobuf([h])), GOLDEN);
  });

  it("the exemplar of the fact sheet, byte for byte", () => {
    const w = new ProtoWriter();
    writeExemplar(w, 3, ["trace_id"], ["abc"], 0.5, 1700000000.25);
    const bytes = w.bytes();
    assert.equal(bytes[0], 0x1a); // field 3, LEN (Bucket.exemplar)
    assert.equal(bytes[1], bytes.length - 2);
    assert.equal(hex(bytes.subarray(2)), GOLDEN_EXEMPLAR);
  });

  it("the span example of the fact sheet: {offset -2, length 2} is 08 03 10 02", () => {
    const bytes = toProtobuf([nativeFamily("h", 2, 0.5, { positiveOffset: -2, positive: [1, 1] })]);
    assert.ok(hex(bytes).includes("62 04 08 03 10 02"), hex(bytes));
  });
});

describe("toProtobuf: native spans and deltas as client_golang's makeBuckets", () => {
  it("the spec's example {-2:3, -1:5, 2:1, 4:3, 5:2}: one span [-2, 8], deltas [3,2,-5,0,1,-1,3,-1]", () => {
    // Keys -2..5 as a dense run with zeros at 0, 1 and 3.
    const bytes = toProtobuf([
      nativeFamily("x", 14, 1, {
        schema: 3,
        zeroThreshold: 2 ** -128,
        positiveOffset: -4,
        positive: [0, 0, 3, 5, 0, 0, 1, 0, 3, 2, 0],
      }),
    ]);
    const h = decodeChecked(bytes)[0].metrics[0].histogram!;
    assert.deepEqual(h.positiveSpans, [{ offset: -2, length: 8 }]);
    assert.deepEqual(h.positiveDeltas, [3, 2, -5, 0, 1, -1, 3, -1]);
    assert.deepEqual(h.negativeSpans, []);
  });

  it("a gap of three or more empty buckets opens a new span; both sides", () => {
    const bytes = toProtobuf([
      nativeFamily("x", 9, 1, {
        schema: 1,
        zeroThreshold: 0.001,
        zeroCount: 2,
        positiveOffset: 10,
        positive: [1, 0, 0, 0, 2, 0, 0, 1],
        negativeOffset: -3,
        negative: [0, 1, 0, 0, 0, 0, 2],
      }),
    ]);
    const h = decodeChecked(bytes)[0].metrics[0].histogram!;
    assert.deepEqual(h.positiveSpans, [{ offset: 10, length: 1 }, { offset: 3, length: 4 }]);
    assert.deepEqual(h.positiveDeltas, [1, 1, -2, 0, 1]);
    assert.deepEqual(h.negativeSpans, [{ offset: -2, length: 1 }, { offset: 4, length: 1 }]);
    assert.deepEqual(h.negativeDeltas, [1, 1]);
    assert.deepEqual(
      [...nativeBuckets(h.positiveSpans, h.positiveDeltas)],
      [[10, 1], [14, 2], [17, 1]],
    );
    assert.deepEqual([...nativeBuckets(h.negativeSpans, h.negativeDeltas)], [[-2, 1], [3, 2]]);
    assert.equal(h.zeroCount, 2);
    assert.equal(h.schema, 1);
  });

  it("an empty native histogram with a zero threshold of 0 carries the no-op span", () => {
    const bytes = toProtobuf([nativeFamily("x", 0, 0, { schema: 3 })]);
    const h = decodeFamilies(bytes)[0].metrics[0].histogram!;
    assert.deepEqual(h.positiveSpans, [{ offset: 0, length: 0 }]);
    assert.deepEqual(h.positiveDeltas, []);
  });

  it("a family whose first series would read as classic in 2.42 is reordered", () => {
    const empty = { ...NO_BUCKETS, schema: 3 };
    const bytes = toProtobuf([family({
      name: "x",
      type: "histogram",
      labelNames: ["k"],
      labelValues: ["a", "b", "c"],
      size: 3,
      values: [0, 1, 0],
      counts: [0, 1, 0],
      sums: [0, 2, 0],
      bounds: [],
      native: [empty, { ...empty, positiveOffset: 8, positive: [1] }, empty],
    })]);
    const f = decodeChecked(bytes)[0];
    assert.deepEqual(f.metrics.map((m) => m.labels[0][1]), ["b", "a", "c"]);
  });

  it("the count is never below what the buckets hold", () => {
    // The count read a moment before a third observation reached the buckets.
    const bytes = toProtobuf([nativeFamily("x", 2, 3, FACT_SHEET)]);
    assert.equal(decodeChecked(bytes)[0].metrics[0].histogram!.sampleCount, 3);
  });
});

describe("toProtobuf: every metric type", () => {
  it("counter, gauge, summary and classic histogram, with labels and help", async () => {
    const registry = new Registry();
    const c = new Counter({
      name: "jobs_total",
      help: "Jobs \\ done\nall",
      labelNames: ["queue", "kind"],
      registry,
    });
    c.inc({ queue: 'mail "x"', kind: "a\\b\nc" }, 3);
    c.inc({ queue: "ünï €😀", kind: "" }, 0.5);
    new Gauge({ name: "depth", help: "Depth", unit: "", registry }).set(-7.25);
    const h = new Histogram({
      name: "work_seconds",
      help: "Work",
      unit: "seconds",
      buckets: [0.1, 1, 10],
      registry,
    });
    for (const v of [0.05, 0.5, 0.5, 5, 50]) h.observe(v);
    const s = new Summary({ name: "size_bytes", help: "Size", percentiles: [0.5, 0.9], registry });
    s.observe(10);
    s.observe(20);
    const families = decodeChecked(toProtobuf(await registry.collect()));
    assert.deepEqual(families.map((f) => [f.name, f.type]), [
      ["jobs_total", 0],
      ["depth", 1],
      ["work_seconds", 4],
      ["size_bytes", 2],
    ]);
    const [jobs, depth, work, size] = families;
    assert.equal(jobs.help, "Jobs \\ done\nall");
    assert.deepEqual(jobs.metrics.map((m) => [m.labels, m.counter]), [
      [[["queue", 'mail "x"'], ["kind", "a\\b\nc"]], { value: 3 }],
      [[["queue", "ünï €😀"], ["kind", ""]], { value: 0.5 }],
    ]);
    assert.deepEqual(depth.metrics, [{ labels: [], gauge: -7.25 }]);
    assert.equal(work.unit, "seconds");
    const wh = work.metrics[0].histogram!;
    assert.equal(wh.sampleCount, 5);
    assert.equal(wh.sampleSum, 56.05);
    assert.deepEqual(wh.buckets, [
      { cumulativeCount: 1, upperBound: 0.1 },
      { cumulativeCount: 3, upperBound: 1 },
      { cumulativeCount: 4, upperBound: 10 },
    ]);
    assert.equal(wh.schema, undefined, "a classic histogram has no native fields");
    assert.equal(wh.zeroThreshold, undefined);
    const ss = size.metrics[0].summary!;
    assert.equal(ss.sampleCount, 2);
    assert.equal(ss.sampleSum, 30);
    assert.deepEqual(ss.quantiles.map((q) => q.quantile), [0.5, 0.9]);
    assert.ok(Math.abs(ss.quantiles[0].value! - 10) / 10 <= 0.02, String(ss.quantiles[0].value));
  });

  it("a counter with value 0 and a gauge of NaN, +Inf and -Inf keep their values", async () => {
    const registry = new Registry();
    new Counter({ name: "zero_total", help: "Z", registry });
    const g = new Gauge({ name: "g", help: "G", labelNames: ["v"], registry });
    g.set({ v: "nan" }, NaN);
    g.set({ v: "inf" }, Infinity);
    g.set({ v: "-inf" }, -Infinity);
    const [zero, gauge] = decodeChecked(toProtobuf(await registry.collect()));
    assert.deepEqual(zero.metrics, [{ labels: [], counter: { value: 0 } }]);
    assert.ok(Number.isNaN(gauge.metrics[0].gauge));
    assert.deepEqual(gauge.metrics.slice(1).map((m) => m.gauge), [Infinity, -Infinity]);
  });

  it("a family without series is left out", async () => {
    const registry = new Registry();
    new Counter({ name: "a_total", help: "A", labelNames: ["x"], registry });
    new Counter({ name: "b_total", help: "B", registry });
    const families = decodeChecked(toProtobuf(await registry.collect()));
    assert.deepEqual(families.map((f) => f.name), ["b_total"]);
  });

  it("long messages: lengths of 2 and 3 varint bytes, 10,000 series", async () => {
    const registry = new Registry();
    const c = new Counter({
      name: "many_total",
      help: "x".repeat(300),
      labelNames: ["id"],
      registry,
    });
    for (let i = 0; i < 10_000; i++) c.inc({ id: `series-${i}-${"é".repeat(i % 90)}` }, i);
    const h = new Histogram({
      name: "wide",
      help: "W",
      buckets: Array.from({ length: 200 }, (_, i) => i + 1),
      registry,
    });
    h.observe(3);
    const bytes = toProtobuf(await registry.collect());
    assert.ok(bytes.length > 2 ** 14 * 10, `${bytes.length} bytes`);
    const [many, wide] = decodeChecked(bytes);
    assert.equal(many.help, "x".repeat(300));
    assert.equal(many.metrics.length, 10_000);
    for (let i = 0; i < 10_000; i += 997) {
      assert.deepEqual(many.metrics[i].labels, [["id", `series-${i}-${"é".repeat(i % 90)}`]]);
      assert.equal(many.metrics[i].counter!.value, i);
    }
    assert.equal(wide.metrics[0].histogram!.buckets.length, 200);
    assert.equal(wide.metrics[0].histogram!.buckets[199].cumulativeCount, 1);
  });

  it("counts beyond 2^31 and up to 2^53 stay exact", () => {
    const bytes = toProtobuf([family({
      name: "big",
      type: "histogram",
      values: [2 ** 40 + 1, 2 ** 53],
      counts: [2 ** 53],
      sums: [1],
      bounds: [1],
    })]);
    const h = decodeChecked(bytes)[0].metrics[0].histogram!;
    assert.equal(h.sampleCount, 2 ** 53);
    assert.equal(h.buckets[0].cumulativeCount, 2 ** 40 + 1);
  });
});

describe("the test decoder rejects what Prometheus 2.42 rejects", () => {
  const native = (over: Partial<NativeBuckets>, count = 3) =>
    toProtobuf([
      nativeFamily("x", count, 1, { zeroThreshold: 2 ** -128, positive: [1, 2], ...over }),
    ]);

  it("a schema outside [-4, 8]", () => {
    assert.deepEqual(checkFamilies(decodeFamilies(native({}))), []);
    assert.match(checkFamilies(decodeFamilies(native({ schema: 9 })))[0], /schema 9/);
  });

  it("spans that do not match the deltas, and a truncated body", () => {
    const bytes = native({});
    // Patch the span length (the byte after "10" in "62 04 08 00 10 02").
    const at = hex(bytes).split(" ").indexOf("62");
    const patched = bytes.slice();
    patched[at + 5] = 3;
    assert.match(checkFamilies(decodeFamilies(patched)).join(), /spans need 3 buckets, have 2/);
    assert.throws(() => decodeFamilies(bytes.subarray(0, bytes.length - 1)), /past the end/);
  });
});

describe("metricsHandler: protobuf", () => {
  it("Prometheus' native-histograms Accept gets protobuf, gzip as asked", async () => {
    const registry = new Registry();
    new Counter({ name: "a_total", help: "A", registry }).inc(2);
    const handler = metricsHandler(registry);
    const plain = await handler(
      new Request("http://x/metrics", {
        headers: { accept: PROMETHEUS_NATIVE },
      }),
    );
    assert.equal(plain.headers.get("content-type"), PROTOBUF_CONTENT_TYPE);
    const bytes = new Uint8Array(await plain.arrayBuffer());
    assert.equal(plain.headers.get("content-length"), String(bytes.length));
    assert.deepEqual(decodeChecked(bytes)[0].metrics[0].counter, { value: 2 });

    const zipped = await handler(
      new Request("http://x/metrics", {
        headers: { accept: PROMETHEUS_NATIVE, "accept-encoding": "gzip" },
      }),
    );
    assert.equal(zipped.headers.get("content-encoding"), "gzip");
    const gunzip = new DecompressionStream("gzip") as unknown as TransformStream<
      Uint8Array,
      Uint8Array
    >;
    const unzipped = new Uint8Array(
      await new Response(zipped.body!.pipeThrough(gunzip)).arrayBuffer(),
    );
    assert.deepEqual(unzipped, bytes);
  });

  it("HEAD answers the protobuf headers with an empty body", async () => {
    const handler = metricsHandler(new Registry());
    const r = await handler(
      new Request("http://x/metrics", {
        method: "HEAD",
        headers: { accept: PROMETHEUS_NATIVE },
      }),
    );
    assert.equal(r.headers.get("content-type"), PROTOBUF_CONTENT_TYPE);
    assert.equal(await r.text(), "");
  });
});
