// The drop-in's Registry: prom-client's methods and errors, objects with
// their own get() rendered like our metrics, default labels, merging, and
// output promtool and our parser accept in both content types.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import client, {
  Counter,
  Histogram,
  type MetricObject,
  register,
  Registry,
  Summary,
} from "../../src/compat/mod.ts";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";
import { parseOpenMetrics, parseText, sampleMap, seriesKey } from "../_support/parse.ts";

const PROM = "text/plain; version=0.0.4; charset=utf-8";
const OM = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** A metric as prom-client programs write their own: a name and an async get(). */
function custom(name: string, type: string, values: MetricObject["values"]) {
  return { name, get: () => Promise.resolve({ name, help: `${name} help`, type, values }) };
}

describe("Registry (drop-in)", () => {
  it("has prom-client's content types and refuses others with its errors", () => {
    assert.equal(Registry.PROMETHEUS_CONTENT_TYPE, PROM);
    assert.equal(Registry.OPENMETRICS_CONTENT_TYPE, OM);
    const r = new Registry();
    assert.equal(r.contentType, PROM);
    r.setContentType(OM);
    assert.equal(r.contentType, OM);
    const bad = "application/openmetrics-text; version=42.0.0; charset=utf-8";
    assert.throws(() => r.setContentType(bad as never), {
      message: `Content type ${bad} is unsupported`,
    });
    assert.throws(() => new Registry(bad as never), { name: "TypeError" });
  });

  it("refuses a second metric under a taken name, and a colliding sample name", () => {
    const r = new Registry();
    r.registerMetric(custom("dup", "gauge", []));
    assert.throws(() => r.registerMetric(custom("dup", "gauge", [])), {
      message: "A metric with the name dup has already been registered.",
    });
    new Counter({ name: "x", help: "X", registers: [r] });
    // prom-client would write `x_total` twice into one scrape; we refuse it.
    assert.throws(() => new Counter({ name: "x_total", help: "X", registers: [r] }), TypeError);
  });

  it("renders objects with their own get() (counter, histogram, summary) as our metrics", {
    skip: promtoolSkip,
  }, async () => {
    const r = new Registry();
    r.registerMetric(custom("jobs_total", "counter", [
      { value: 12, labels: { label: "hello", code: "303" } },
      { value: 34, labels: { label: 'b"y\ne', code: "404" } },
    ]));
    r.registerMetric(custom("lat", "histogram", [
      { value: 1, labels: { le: 0.5, m: "GET" }, metricName: "lat_bucket" },
      { value: 3, labels: { le: "+Inf", m: "GET" }, metricName: "lat_bucket" },
      { value: 2.5, labels: { m: "GET" }, metricName: "lat_sum" },
      { value: 3, labels: { m: "GET" }, metricName: "lat_count" },
    ]));
    r.registerMetric(custom("sz", "summary", [
      { value: 7, labels: { quantile: 0.5 } },
      { value: 70, labels: {}, metricName: "sz_sum" },
      { value: 10, labels: {}, metricName: "sz_count" },
    ]));
    const text = await r.metrics();
    assert.equal(checkMetrics(text).status, 0, checkMetrics(text).stdout);
    const s = sampleMap(parseText(text));
    assert.equal(s.get(seriesKey("jobs_total", { label: "hello", code: "303" }))?.value, 12);
    assert.equal(s.get(seriesKey("jobs_total", { label: 'b"y\ne', code: "404" }))?.value, 34);
    assert.equal(s.get(seriesKey("lat_bucket", { le: "0.5", m: "GET" }))?.value, 1);
    assert.equal(s.get(seriesKey("lat_bucket", { le: "+Inf", m: "GET" }))?.value, 3);
    assert.equal(s.get(seriesKey("sz", { quantile: "0.5" }))?.value, 7);
    r.setContentType(OM);
    const om = await r.metrics();
    assert.ok(om.endsWith("# EOF\n"));
    const o = sampleMap(parseOpenMetrics(om));
    assert.equal(o.get(seriesKey("jobs_total", { label: "hello", code: "303" }))?.value, 12);
  });

  it("adds default labels to every series and to getMetricsAsJSON(); a series' own label wins", async () => {
    const r = new Registry();
    r.setDefaultLabels({ env: "dev", code: "default" });
    const c = new Counter({ name: "d_total", help: "D", labelNames: ["code"], registers: [r] });
    c.labels("200").inc();
    new Histogram({ name: "dh", help: "D", buckets: [1], registers: [r] }).observe(0.5);
    const s = sampleMap(parseText(await r.metrics()));
    assert.equal(s.get(seriesKey("d_total", { code: "200", env: "dev" }))?.value, 1);
    assert.equal(s.get(seriesKey("dh_bucket", { env: "dev", code: "default", le: "1" }))?.value, 1);
    const json = await r.getMetricsAsJSON();
    assert.deepEqual(json[0].values, [{ value: 1, labels: { code: "200", env: "dev" } }]);
    assert.throws(() => r.setDefaultLabels({ "not ok": "x" }), TypeError);
  });

  it("gets, removes, clears, resets, renders one metric, and merges", async () => {
    const a = new Registry();
    const b = new Registry();
    const c = new Counter({ name: "a_total", help: "A", registers: [a] });
    const s = new Summary({ name: "b_bytes", help: "B", percentiles: [0.5], registers: [b] });
    c.inc(3);
    s.observe(10);
    assert.equal(a.getSingleMetric("a_total"), c);
    assert.deepEqual(a.getMetricsAsArray(), [c]);
    assert.equal(
      await a.getSingleMetricAsString("a_total"),
      "# HELP a_total A\n# TYPE a_total counter\na_total 3\n",
    );
    const merged = Registry.merge([a, b]);
    assert.deepEqual((await merged.getMetricsAsJSON()).map((m) => m.name), ["a_total", "b_bytes"]);
    const other = new Registry();
    new Counter({ name: "a_total", help: "Another", registers: [other] });
    assert.throws(() => Registry.merge([a, other]), /already been registered/);
    const om = new Registry(OM);
    assert.throws(() => Registry.merge([a, om]), {
      message: "Registers can only be merged if they have the same content type",
    });
    a.resetMetrics();
    assert.equal((await c.get()).values[0].value, 0);
    a.removeSingleMetric("a_total");
    assert.equal(await a.metrics(), "");
    b.clear();
    assert.deepEqual(await b.getMetricsAsJSON(), []);
  });

  it('is also the default export, as `import client from "prom-client"` programs use it', () => {
    assert.equal(client.Counter, Counter);
    assert.equal(client.register, register);
    assert.equal(client.prometheusContentType, PROM);
    assert.equal(client.openMetricsContentType, OM);
    assert.equal(client.contentType, register.contentType);
  });
});
