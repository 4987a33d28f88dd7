/**
 * Prometheus text format 0.0.4: golden outputs written by hand from the format
 * rules (HELP then TYPE, every family's lines together, `le` spelled as Go
 * spells it, `+Inf` bucket equal to `_count`, HELP escapes `\\` and `\n` only,
 * label values escape `\\`, `\"` and `\n`), plus escaping through real
 * metrics, checked both as exact strings and with the test parser.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, type MetricFamily, Registry, Summary } from "../../src/mod.ts";
import { TEXT_CONTENT_TYPE, toText } from "../../src/exposition/text.ts";
import { family, parseText, seriesKey } from "../_support/parse.ts";

/** A hand-built family; label values are given already escaped, as the contract says. */
function fam(f: Partial<MetricFamily> & Pick<MetricFamily, "name" | "type">): MetricFamily {
  return {
    help: "Help.",
    unit: "",
    labelNames: [],
    labelValues: [],
    size: 1,
    values: [],
    ...f,
  };
}

describe("text format 0.0.4: goldens", () => {
  it("has the documented Content-Type", () => {
    assert.equal(TEXT_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
  });

  it("renders nothing for no families", () => {
    assert.equal(toText([]), "");
  });

  it("counter, unlabelled", () => {
    const out = toText([
      fam({ name: "jobs_total", type: "counter", help: "Jobs run.", values: [3], created: [1e9] }),
    ]);
    assert.equal(out, "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 3\n");
  });

  it("counter, labelled: labels in declaration order, no _created in this format", () => {
    const out = toText([fam({
      name: "http_requests_total",
      type: "counter",
      help: "Requests.",
      labelNames: ["method", "code"],
      labelValues: ["GET", "200", "POST", "500"],
      size: 2,
      values: [1027, 3],
      created: [1700000000.25, 1700000001.5],
    })]);
    assert.equal(
      out,
      "# HELP http_requests_total Requests.\n" +
        "# TYPE http_requests_total counter\n" +
        'http_requests_total{method="GET",code="200"} 1027\n' +
        'http_requests_total{method="POST",code="500"} 3\n',
    );
  });

  it("counter with a unit: 0.0.4 has no UNIT line", () => {
    const out = toText([
      fam({ name: "sent_bytes_total", type: "counter", unit: "bytes", values: [1.5] }),
    ]);
    assert.equal(
      out,
      "# HELP sent_bytes_total Help.\n# TYPE sent_bytes_total counter\nsent_bytes_total 1.5\n",
    );
  });

  it("gauge: NaN, +Inf, -Inf, negatives and fractions", () => {
    const out = toText([fam({
      name: "temperature_celsius",
      type: "gauge",
      help: "Temperature.",
      unit: "celsius",
      labelNames: ["room"],
      labelValues: ["a", "b", "c", "d", "e"],
      size: 5,
      values: [NaN, Infinity, -Infinity, -1.5, 0.25],
    })]);
    assert.equal(
      out,
      "# HELP temperature_celsius Temperature.\n" +
        "# TYPE temperature_celsius gauge\n" +
        'temperature_celsius{room="a"} NaN\n' +
        'temperature_celsius{room="b"} +Inf\n' +
        'temperature_celsius{room="c"} -Inf\n' +
        'temperature_celsius{room="d"} -1.5\n' +
        'temperature_celsius{room="e"} 0.25\n',
    );
  });

  it("gauge, unlabelled, with no series yet: metadata only", () => {
    const out = toText([fam({ name: "queue_depth", type: "gauge", size: 0 })]);
    assert.equal(out, "# HELP queue_depth Help.\n# TYPE queue_depth gauge\n");
  });

  it("histogram, unlabelled: Go-style le values, +Inf bucket, then _sum and _count", () => {
    const out = toText([fam({
      name: "latency_seconds",
      type: "histogram",
      help: "Latency.",
      bounds: [1e-5, 0.0001, 0.1, 1, 100000, 1e6, 1234567],
      values: [0, 1, 2, 3, 3, 4, 4, 5],
      sums: [1000002.5],
      counts: [5],
      created: [1e9],
    })]);
    assert.equal(
      out,
      "# HELP latency_seconds Latency.\n" +
        "# TYPE latency_seconds histogram\n" +
        'latency_seconds_bucket{le="1e-05"} 0\n' +
        'latency_seconds_bucket{le="0.0001"} 1\n' +
        'latency_seconds_bucket{le="0.1"} 2\n' +
        'latency_seconds_bucket{le="1"} 3\n' +
        'latency_seconds_bucket{le="100000"} 3\n' +
        'latency_seconds_bucket{le="1e+06"} 4\n' +
        'latency_seconds_bucket{le="1.234567e+06"} 4\n' +
        'latency_seconds_bucket{le="+Inf"} 5\n' +
        "latency_seconds_sum 1000002.5\n" +
        "latency_seconds_count 5\n",
    );
  });

  it("histogram, labelled: le after the series labels on every bucket line", () => {
    const out = toText([fam({
      name: "db_seconds",
      type: "histogram",
      labelNames: ["table"],
      labelValues: ["users", "orders"],
      size: 2,
      bounds: [0.5],
      values: [1, 2, 0, 0],
      sums: [0.75, 0],
      counts: [2, 0],
    })]);
    assert.equal(
      out,
      "# HELP db_seconds Help.\n" +
        "# TYPE db_seconds histogram\n" +
        'db_seconds_bucket{table="users",le="0.5"} 1\n' +
        'db_seconds_bucket{table="users",le="+Inf"} 2\n' +
        'db_seconds_sum{table="users"} 0.75\n' +
        'db_seconds_count{table="users"} 2\n' +
        'db_seconds_bucket{table="orders",le="0.5"} 0\n' +
        'db_seconds_bucket{table="orders",le="+Inf"} 0\n' +
        'db_seconds_sum{table="orders"} 0\n' +
        'db_seconds_count{table="orders"} 0\n',
    );
  });

  it("histogram with no finite buckets: only le=+Inf", () => {
    const out = toText([fam({
      name: "x_seconds",
      type: "histogram",
      bounds: [],
      values: [2],
      sums: [3],
      counts: [2],
    })]);
    assert.equal(
      out,
      "# HELP x_seconds Help.\n# TYPE x_seconds histogram\n" +
        'x_seconds_bucket{le="+Inf"} 2\nx_seconds_sum 3\nx_seconds_count 2\n',
    );
  });

  it("summary, unlabelled: quantile labels as Go writes them, then _sum and _count", () => {
    const out = toText([fam({
      name: "rpc_seconds",
      type: "summary",
      help: "RPC latency.",
      quantiles: [0, 0.00001, 0.5, 0.9, 0.99, 1],
      values: [0.001, 0.001, 0.05, 0.2, 1.5, 2],
      sums: [12.5],
      counts: [100],
    })]);
    assert.equal(
      out,
      "# HELP rpc_seconds RPC latency.\n" +
        "# TYPE rpc_seconds summary\n" +
        'rpc_seconds{quantile="0"} 0.001\n' +
        'rpc_seconds{quantile="1e-05"} 0.001\n' +
        'rpc_seconds{quantile="0.5"} 0.05\n' +
        'rpc_seconds{quantile="0.9"} 0.2\n' +
        'rpc_seconds{quantile="0.99"} 1.5\n' +
        'rpc_seconds{quantile="1"} 2\n' +
        "rpc_seconds_sum 12.5\n" +
        "rpc_seconds_count 100\n",
    );
  });

  it("summary, labelled, one series empty: its quantiles are NaN", () => {
    const out = toText([fam({
      name: "payload_bytes",
      type: "summary",
      labelNames: ["kind"],
      labelValues: ["json", "xml"],
      size: 2,
      quantiles: [0.5, 0.99],
      values: [100, 900, NaN, NaN],
      sums: [5000, 0],
      counts: [20, 0],
    })]);
    assert.equal(
      out,
      "# HELP payload_bytes Help.\n" +
        "# TYPE payload_bytes summary\n" +
        'payload_bytes{kind="json",quantile="0.5"} 100\n' +
        'payload_bytes{kind="json",quantile="0.99"} 900\n' +
        'payload_bytes_sum{kind="json"} 5000\n' +
        'payload_bytes_count{kind="json"} 20\n' +
        'payload_bytes{kind="xml",quantile="0.5"} NaN\n' +
        'payload_bytes{kind="xml",quantile="0.99"} NaN\n' +
        'payload_bytes_sum{kind="xml"} 0\n' +
        'payload_bytes_count{kind="xml"} 0\n',
    );
  });

  it("summary with no quantiles: _sum and _count only", () => {
    const out = toText([fam({
      name: "s_bytes",
      type: "summary",
      quantiles: [],
      values: [],
      sums: [7],
      counts: [2],
    })]);
    assert.equal(
      out,
      "# HELP s_bytes Help.\n# TYPE s_bytes summary\ns_bytes_sum 7\ns_bytes_count 2\n",
    );
  });

  it("HELP escapes backslash and newline, and leaves double quotes alone", () => {
    const out = toText([
      fam({ name: "g", type: "gauge", help: 'a\\b\nc "quoted" \\n', values: [1] }),
    ]);
    assert.equal(out, '# HELP g a\\\\b\\nc "quoted" \\\\n\n# TYPE g gauge\ng 1\n');
    assert.equal(family(parseText(out), "g").help, 'a\\b\nc "quoted" \\n');
  });
});

describe("text format 0.0.4: escaping through real metrics", () => {
  const hostile = [
    'say "hi"',
    "back\\slash",
    "trailing\\",
    "new\nline",
    "\\n is not a newline",
    "emoji 😀 and 𝄞 and é",
    "",
    "tab\tand\rcarriage return",
    "nul\u0000byte",
    "x".repeat(10_240),
    '"\\\n"\\\n',
  ];

  it('escapes \\, " and newline in label values, exactly', async () => {
    const registry = new Registry();
    const c = new Counter({ name: "e_total", help: "E", labelNames: ["v"], registry });
    c.inc({ v: 'a"b\\c\nd' });
    assert.equal(
      await registry.metrics(),
      '# HELP e_total E\n# TYPE e_total counter\ne_total{v="a\\"b\\\\c\\nd"} 1\n',
    );
  });

  it("every hostile value reads back unchanged, on every type", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "h_total", help: "H", labelNames: ["v"], registry });
    const g = new Gauge({ name: "h_gauge", help: "H", labelNames: ["v"], registry });
    const h = new Histogram({
      name: "h_seconds",
      help: "H",
      labelNames: ["v"],
      buckets: [1],
      registry,
    });
    const s = new Summary({
      name: "h_bytes",
      help: "H",
      labelNames: ["v"],
      percentiles: [0.5],
      registry,
    });
    hostile.forEach((v, i) => {
      c.inc({ v }, i + 1);
      g.set({ v }, -i);
      h.observe({ v }, i);
      s.observe({ v }, i);
    });
    const text = await registry.metrics();
    const families = parseText(text);
    const samples = new Map(
      families.flatMap((f) => f.samples.map((x) => [seriesKey(x.name, x.labels), x])),
    );
    hostile.forEach((v, i) => {
      assert.equal(samples.get(seriesKey("h_total", { v }))?.value, i + 1, `counter ${v}`);
      assert.ok(Object.is(samples.get(seriesKey("h_gauge", { v }))?.value, -i), `gauge ${v}`);
      assert.equal(samples.get(seriesKey("h_seconds_count", { v }))?.value, 1, `hist ${v}`);
      assert.equal(samples.get(seriesKey("h_seconds_bucket", { v, le: "+Inf" }))?.value, 1);
      assert.equal(samples.get(seriesKey("h_bytes_sum", { v }))?.value, i, `summary ${v}`);
      assert.ok(samples.has(seriesKey("h_bytes", { v, quantile: "0.5" })), `quantile ${v}`);
    });
    // One sample line per series line: no value broke a line.
    const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    const perValue = 1 + 1 + (2 + 2) + (1 + 2);
    assert.equal(lines.length, hostile.length * perValue);
  });

  it("keeps a 10 kB value whole", async () => {
    const registry = new Registry();
    const big = 'é"\\\n😀'.repeat(2048); // ~10 kB of characters that all need care
    new Gauge({ name: "big", help: "B", labelNames: ["v"], registry }).set({ v: big }, 1);
    const [f] = parseText(await registry.metrics());
    assert.equal(f.samples[0].labels.v, big);
  });

  it("replaces lone surrogates (not encodable as UTF-8) with U+FFFD", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "s", help: "lone \ud800 here", labelNames: ["v"], registry });
    g.set({ v: "a\ud800b\udc00c" }, 1);
    const text = await registry.metrics();
    assert.equal(
      text,
      '# HELP s lone \ufffd here\n# TYPE s gauge\ns{v="a\ufffdb\ufffdc"} 1\n',
    );
    // The bytes on the wire are valid UTF-8.
    const bytes = new TextEncoder().encode(text);
    assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(bytes), text);
  });

  it("renders each family as one group with HELP and TYPE first", async () => {
    const registry = new Registry();
    const a = new Counter({ name: "a_total", help: "A", labelNames: ["k"], registry });
    const b = new Gauge({ name: "b", help: "B", labelNames: ["k"], registry });
    // Interleaved updates must not interleave the output.
    a.inc({ k: "1" });
    b.set({ k: "1" }, 1);
    a.inc({ k: "2" });
    b.set({ k: "2" }, 2);
    assert.equal(
      await registry.metrics(),
      "# HELP a_total A\n# TYPE a_total counter\n" +
        'a_total{k="1"} 1\na_total{k="2"} 1\n' +
        "# HELP b B\n# TYPE b gauge\n" +
        'b{k="1"} 1\nb{k="2"} 2\n',
    );
  });
});
