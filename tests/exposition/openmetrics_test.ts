/**
 * OpenMetrics 1.0.0: golden outputs written by hand from the specification
 * (metadata order TYPE, UNIT, HELP; a counter's family name without `_total`
 * and its sample with it; `_created`; `# EOF` last; HELP escapes `\\`, `\n`
 * and `\"`; canonical `le`/`quantile` such as `1.0` and `1e-05`; NaN
 * quantiles for an empty summary), plus the same rules through real metrics.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, type MetricFamily, Registry, Summary } from "../../src/mod.ts";
import { OPENMETRICS_CONTENT_TYPE, toOpenMetrics } from "../../src/exposition/openmetrics.ts";
import { family, parseOpenMetrics, seriesKey } from "../_support/parse.ts";

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

describe("OpenMetrics 1.0.0: goldens", () => {
  it("has the specified Content-Type", () => {
    assert.equal(
      OPENMETRICS_CONTENT_TYPE,
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    );
  });

  it("an empty exposition is just # EOF", () => {
    assert.equal(toOpenMetrics([]), "# EOF\n");
  });

  it("counter, unlabelled: family without _total, sample with it, then _created", () => {
    const f = fam({
      name: "jobs_total",
      type: "counter",
      help: "Jobs run.",
      values: [3],
      created: [1700000000.5],
    });
    assert.equal(
      toOpenMetrics([f]),
      "# TYPE jobs counter\n# HELP jobs Jobs run.\njobs_total 3\njobs_created 1700000000.5\n# EOF\n",
    );
  });

  it("counter with the created option off: no _created", () => {
    const f = fam({ name: "jobs_total", type: "counter", values: [3], created: [1700000000.5] });
    assert.equal(
      toOpenMetrics([f], { created: false }),
      "# TYPE jobs counter\n# HELP jobs Help.\njobs_total 3\n# EOF\n",
    );
  });

  it("counter, labelled, with a unit: TYPE, UNIT, HELP; the unit is a suffix of the family", () => {
    const f = fam({
      name: "sent_bytes_total",
      type: "counter",
      help: "Bytes sent.",
      unit: "bytes",
      labelNames: ["peer", "proto"],
      labelValues: ["a", "tcp", "b", "udp"],
      size: 2,
      values: [1024, 0.5],
      created: [1600000000, 1600000001.25],
    });
    assert.equal(
      toOpenMetrics([f]),
      "# TYPE sent_bytes counter\n" +
        "# UNIT sent_bytes bytes\n" +
        "# HELP sent_bytes Bytes sent.\n" +
        'sent_bytes_total{peer="a",proto="tcp"} 1024\n' +
        'sent_bytes_created{peer="a",proto="tcp"} 1600000000\n' +
        'sent_bytes_total{peer="b",proto="udp"} 0.5\n' +
        'sent_bytes_created{peer="b",proto="udp"} 1600000001.25\n' +
        "# EOF\n",
    );
  });

  it("counter whose name lacks _total: the family keeps the name, the sample gains _total", () => {
    const f = fam({ name: "requests", type: "counter", values: [1], created: [5] });
    assert.equal(
      toOpenMetrics([f]),
      "# TYPE requests counter\n# HELP requests Help.\nrequests_total 1\nrequests_created 5\n# EOF\n",
    );
  });

  it("gauge: NaN, +Inf, -Inf spelled as the spec does; no _created", () => {
    const f = fam({
      name: "temperature_celsius",
      type: "gauge",
      unit: "celsius",
      labelNames: ["room"],
      labelValues: ["a", "b", "c", "d"],
      size: 4,
      values: [NaN, Infinity, -Infinity, -2.5],
      created: [1, 2, 3, 4], // a gauge has no created time; ignored if present
    });
    assert.equal(
      toOpenMetrics([f]),
      "# TYPE temperature_celsius gauge\n" +
        "# UNIT temperature_celsius celsius\n" +
        "# HELP temperature_celsius Help.\n" +
        'temperature_celsius{room="a"} NaN\n' +
        'temperature_celsius{room="b"} +Inf\n' +
        'temperature_celsius{room="c"} -Inf\n' +
        'temperature_celsius{room="d"} -2.5\n' +
        "# EOF\n",
    );
  });

  it("histogram, unlabelled: canonical le, +Inf, then _count, _sum, _created", () => {
    // The bounds of the spec's own histogram example, with its expected le spellings.
    const f = fam({
      name: "foo_seconds",
      type: "histogram",
      unit: "seconds",
      bounds: [0, 1e-5, 0.0001, 0.1, 1, 10, 100000, 1e6, 1e23, 1.1e23],
      values: [0, 0, 5, 8, 10, 11, 11, 15, 16, 17, 17],
      counts: [17],
      sums: [324789.3],
      created: [1520430000.123],
    });
    assert.equal(
      toOpenMetrics([f]),
      "# TYPE foo_seconds histogram\n" +
        "# UNIT foo_seconds seconds\n" +
        "# HELP foo_seconds Help.\n" +
        'foo_seconds_bucket{le="0.0"} 0\n' +
        'foo_seconds_bucket{le="1e-05"} 0\n' +
        'foo_seconds_bucket{le="0.0001"} 5\n' +
        'foo_seconds_bucket{le="0.1"} 8\n' +
        'foo_seconds_bucket{le="1.0"} 10\n' +
        'foo_seconds_bucket{le="10.0"} 11\n' +
        'foo_seconds_bucket{le="100000.0"} 11\n' +
        'foo_seconds_bucket{le="1e+06"} 15\n' +
        'foo_seconds_bucket{le="1e+23"} 16\n' +
        'foo_seconds_bucket{le="1.1e+23"} 17\n' +
        'foo_seconds_bucket{le="+Inf"} 17\n' +
        "foo_seconds_count 17\n" +
        "foo_seconds_sum 324789.3\n" +
        "foo_seconds_created 1520430000.123\n" +
        "# EOF\n",
    );
  });

  it("histogram, labelled, created off", () => {
    const f = fam({
      name: "db_seconds",
      type: "histogram",
      labelNames: ["table"],
      labelValues: ["users", "orders"],
      size: 2,
      bounds: [0.5],
      values: [1, 2, 0, 0],
      sums: [0.75, 0],
      counts: [2, 0],
      created: [10, 20],
    });
    assert.equal(
      toOpenMetrics([f], { created: false }),
      "# TYPE db_seconds histogram\n" +
        "# HELP db_seconds Help.\n" +
        'db_seconds_bucket{table="users",le="0.5"} 1\n' +
        'db_seconds_bucket{table="users",le="+Inf"} 2\n' +
        'db_seconds_count{table="users"} 2\n' +
        'db_seconds_sum{table="users"} 0.75\n' +
        'db_seconds_bucket{table="orders",le="0.5"} 0\n' +
        'db_seconds_bucket{table="orders",le="+Inf"} 0\n' +
        'db_seconds_count{table="orders"} 0\n' +
        'db_seconds_sum{table="orders"} 0\n' +
        "# EOF\n",
    );
  });

  it("histogram with a negative threshold: no _sum, and so no _count", () => {
    // "Negative threshold buckets MAY be used, but then the Histogram
    // MetricPoint MUST NOT contain a sum value"; _count comes only with _sum.
    const f = fam({
      name: "delta",
      type: "histogram",
      bounds: [-1, 0, 1],
      values: [1, 1, 2, 3],
      sums: [-0.5],
      counts: [3],
      created: [7],
    });
    const out = toOpenMetrics([f]);
    assert.equal(
      out,
      "# TYPE delta histogram\n# HELP delta Help.\n" +
        'delta_bucket{le="-1.0"} 1\n' +
        'delta_bucket{le="0.0"} 1\n' +
        'delta_bucket{le="1.0"} 2\n' +
        'delta_bucket{le="+Inf"} 3\n' +
        "delta_created 7\n" +
        "# EOF\n",
    );
    parseOpenMetrics(out);
  });

  it("summary, labelled: canonical quantiles, _count, _sum, _created; NaN when empty", () => {
    const f = fam({
      name: "rpc_seconds",
      type: "summary",
      unit: "seconds",
      labelNames: ["service"],
      labelValues: ["a", "b"],
      size: 2,
      quantiles: [0, 0.5, 0.9, 0.99, 0.999, 1],
      values: [0.001, 0.05, 0.2, 1.5, 1.9, 2, NaN, NaN, NaN, NaN, NaN, NaN],
      sums: [12.5, 0],
      counts: [100, 0],
      created: [1605281325, 1605281326],
    });
    assert.equal(
      toOpenMetrics([f]),
      "# TYPE rpc_seconds summary\n" +
        "# UNIT rpc_seconds seconds\n" +
        "# HELP rpc_seconds Help.\n" +
        'rpc_seconds{service="a",quantile="0.0"} 0.001\n' +
        'rpc_seconds{service="a",quantile="0.5"} 0.05\n' +
        'rpc_seconds{service="a",quantile="0.9"} 0.2\n' +
        'rpc_seconds{service="a",quantile="0.99"} 1.5\n' +
        'rpc_seconds{service="a",quantile="0.999"} 1.9\n' +
        'rpc_seconds{service="a",quantile="1.0"} 2\n' +
        'rpc_seconds_count{service="a"} 100\n' +
        'rpc_seconds_sum{service="a"} 12.5\n' +
        'rpc_seconds_created{service="a"} 1605281325\n' +
        'rpc_seconds{service="b",quantile="0.0"} NaN\n' +
        'rpc_seconds{service="b",quantile="0.5"} NaN\n' +
        'rpc_seconds{service="b",quantile="0.9"} NaN\n' +
        'rpc_seconds{service="b",quantile="0.99"} NaN\n' +
        'rpc_seconds{service="b",quantile="0.999"} NaN\n' +
        'rpc_seconds{service="b",quantile="1.0"} NaN\n' +
        'rpc_seconds_count{service="b"} 0\n' +
        'rpc_seconds_sum{service="b"} 0\n' +
        'rpc_seconds_created{service="b"} 1605281326\n' +
        "# EOF\n",
    );
  });

  it("summary, unlabelled, no quantiles, created off: _count and _sum only", () => {
    const f = fam({
      name: "s_bytes",
      type: "summary",
      quantiles: [],
      sums: [7],
      counts: [2],
      created: [1],
    });
    assert.equal(
      toOpenMetrics([f], { created: false }),
      "# TYPE s_bytes summary\n# HELP s_bytes Help.\ns_bytes_count 2\ns_bytes_sum 7\n# EOF\n",
    );
  });

  it("HELP escapes backslash, newline and double quote", () => {
    const out = toOpenMetrics([
      fam({ name: "g", type: "gauge", help: 'a\\b\nc "quoted" \\n', values: [1] }),
    ]);
    assert.equal(out, '# TYPE g gauge\n# HELP g a\\\\b\\nc \\"quoted\\" \\\\n\ng 1\n# EOF\n');
    assert.equal(family(parseOpenMetrics(out), "g").help, 'a\\b\nc "quoted" \\n');
  });

  it("several families: each complete before the next, # EOF once, last", () => {
    const out = toOpenMetrics([
      fam({ name: "a_total", type: "counter", values: [1] }),
      fam({ name: "b", type: "gauge", values: [2] }),
    ]);
    assert.equal(
      out,
      "# TYPE a counter\n# HELP a Help.\na_total 1\n" +
        "# TYPE b gauge\n# HELP b Help.\nb 2\n# EOF\n",
    );
  });
});

describe("OpenMetrics 1.0.0: through real metrics", () => {
  it('label values escape \\, " and newline; the rest passes through', async () => {
    const registry = new Registry();
    const c = new Counter({ name: "e_total", help: "E", labelNames: ["v"], registry });
    c.inc({ v: 'a"b\\c\nd 😀' });
    assert.equal(
      await registry.metrics("openmetrics", { created: false }),
      '# TYPE e counter\n# HELP e E\ne_total{v="a\\"b\\\\c\\nd 😀"} 1\n# EOF\n',
    );
  });

  it("_created is the series' creation time in seconds, and the option turns it off", async () => {
    const registry = new Registry();
    const before = Date.now() / 1000;
    const c = new Counter({ name: "c_total", help: "C", labelNames: ["k"], registry });
    const h = new Histogram({ name: "h_seconds", help: "H", buckets: [1], registry });
    const s = new Summary({ name: "s_seconds", help: "S", percentiles: [0.5], registry });
    c.inc({ k: "x" });
    h.observe(0.5);
    s.observe(0.5);
    const after = Date.now() / 1000;
    const families = parseOpenMetrics(await registry.metrics("openmetrics"));
    const created = families.flatMap((f) => f.samples.filter((x) => x.name.endsWith("_created")));
    assert.deepEqual(created.map((x) => x.name), [
      "c_created",
      "h_seconds_created",
      "s_seconds_created",
    ]);
    for (const x of created) {
      assert.ok(x.value >= before - 0.001 && x.value <= after + 0.001, `${x.value}`);
    }
    const off = await registry.metrics("openmetrics", { created: false });
    assert.ok(!off.includes("_created"), off);
    parseOpenMetrics(off);
  });

  it("an empty summary's quantiles are NaN, and the output parses", async () => {
    const registry = new Registry();
    new Summary({ name: "empty_seconds", help: "E", percentiles: [0.5, 0.9], registry });
    const f = family(parseOpenMetrics(await registry.metrics("openmetrics")), "empty_seconds");
    const q = f.samples.filter((x) => x.name === "empty_seconds");
    assert.deepEqual(q.map((x) => x.labels.quantile), ["0.5", "0.9"]);
    for (const x of q) assert.ok(Number.isNaN(x.value));
  });

  it("every type with hostile labels parses back, with UNIT lines and gauges' specials", async () => {
    const registry = new Registry();
    const hostile = ['"', "\\", "\n", "😀", "", "\u0000", "x".repeat(10_240), "a\ud800"];
    const c = new Counter({
      name: "io_bytes_total",
      help: 'He said "hi"\\',
      unit: "bytes",
      labelNames: ["v"],
      registry,
    });
    const g = new Gauge({ name: "g", help: "G", labelNames: ["v"], registry });
    const h = new Histogram({
      name: "h_seconds",
      help: "H",
      unit: "seconds",
      labelNames: ["v"],
      buckets: [0.1, 1],
      registry,
    });
    const s = new Summary({ name: "s", help: "S", labelNames: ["v"], registry });
    const specials = [NaN, Infinity, -Infinity, -0, 5e-324, 1e300];
    hostile.forEach((v, i) => {
      c.inc({ v }, i);
      g.set({ v }, specials[i % specials.length]);
      h.observe({ v }, i / 4);
      s.observe({ v }, i);
    });
    const families = parseOpenMetrics(await registry.metrics("openmetrics"));
    assert.deepEqual(
      families.map((f) => [f.name, f.type, f.unit]),
      [["io_bytes", "counter", "bytes"], ["g", "gauge", undefined], [
        "h_seconds",
        "histogram",
        "seconds",
      ], ["s", "summary", undefined]],
    );
    assert.equal(family(families, "io_bytes").help, 'He said "hi"\\');
    const samples = new Map(
      families.flatMap((f) => f.samples.map((x) => [seriesKey(x.name, x.labels), x])),
    );
    hostile.forEach((raw, i) => {
      const v = raw.toWellFormed();
      assert.equal(samples.get(seriesKey("io_bytes_total", { v }))?.value, i);
      assert.ok(
        Object.is(samples.get(seriesKey("g", { v }))?.value, specials[i % specials.length]),
        `gauge ${JSON.stringify(v).slice(0, 40)}`,
      );
      assert.equal(samples.get(seriesKey("h_seconds_count", { v }))?.value, 1);
      assert.equal(samples.get(seriesKey("s_count", { v }))?.value, 1);
    });
  });
});
