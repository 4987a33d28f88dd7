/**
 * Prometheus' own parser and linter as the judge: `promtool check metrics`
 * must print nothing and exit 0 on a registry that uses every metric type
 * and option.
 *
 * Only the text format is checked: promtool 2.42 (Debian's package)
 * `check metrics` parses the Prometheus text format 0.0.4 and nothing else;
 * fed OpenMetrics it would read `# EOF`/`# UNIT` as comments and `foo_total`
 * as a family apart from `# TYPE foo counter`. The OpenMetrics output is
 * checked by the strict test parser instead (openmetrics_test, roundtrip_test).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/mod.ts";
import { parseOpenMetrics, parseText } from "../_support/parse.ts";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";

const skip = promtoolSkip;

const HOSTILE = [
  'double "quotes"',
  "back\\slash and trailing\\",
  "multi\nline\n",
  "emoji 😀🚀 and 𝄞 and Ünïcödé",
  "",
  "tab\tcarriage\rreturn",
  "lone \ud800 surrogate",
  '"\\n" is not a newline',
  "k".repeat(10_240),
];

function everything(): Registry {
  const registry = new Registry();
  const requests = new Counter({
    name: "app_requests_total",
    help: 'Requests served, by "route" \\ and method.\nSecond line of help.',
    labelNames: ["route", "method"],
    registry,
  });
  HOSTILE.forEach((route, i) => requests.inc({ route, method: "GET" }, i + 1));
  requests.labels({ route: "/child", method: "POST" }).inc(0.5);

  new Counter({ name: "app_sent_bytes_total", help: "Bytes sent", unit: "bytes", registry })
    .inc(1e21);

  // Past its series cap, new label sets fold into the overflow series and
  // metrics_series_overflow_total appears.
  const capped = new Counter({
    name: "app_capped_total",
    help: "A counter with a small series cap",
    labelNames: ["user"],
    maxSeries: 2,
    registry,
  });
  for (let i = 0; i < 5; i++) capped.inc({ user: `u${i}` });

  const temps = new Gauge({
    name: "app_temperature_celsius",
    help: "Temperatures, specials included",
    unit: "celsius",
    labelNames: ["sensor"],
    registry,
  });
  temps.set({ sensor: "nan" }, NaN);
  temps.set({ sensor: "inf" }, Infinity);
  temps.set({ sensor: "-inf" }, -Infinity);
  temps.set({ sensor: "neg" }, -273.15);
  temps.set({ sensor: "tiny" }, 5e-324);
  temps.set({ sensor: "huge" }, 1.7976931348623157e308);
  temps.set({ sensor: "negzero" }, -0);
  new Gauge({ name: "app_queue_depth", help: "Set at scrape", registry, collect: (g) => g.set(3) });
  new Gauge({
    name: "app_pool_in_use",
    help: "Set at scrape, asynchronously",
    registry,
    collect: async (g) => {
      await Promise.resolve();
      g.set(2);
    },
  });
  // Fails at every scrape: left out, and metrics_collect_errors_total appears.
  new Gauge({
    name: "app_broken",
    help: "A collector that throws",
    registry,
    collect: () => {
      throw new Error("collector failure (expected in this test)");
    },
  });

  const latency = new Histogram({
    name: "app_request_duration_seconds",
    help: "Request latency (default buckets)",
    unit: "seconds",
    labelNames: ["route"],
    registry,
  });
  for (const route of HOSTILE.slice(0, 4)) latency.observe({ route }, 0.3);
  const custom = new Histogram({
    name: "app_payload_size_bytes",
    help: "Custom buckets with Go-style bounds",
    unit: "bytes",
    buckets: [1e-5, 0.0001, 0.1, 1, 100000, 1e6, 1234567],
    registry,
  });
  for (const v of [0, 5e-6, 0.5, 2e6, 1e9]) custom.observe(v);
  new Histogram({ name: "app_only_inf_seconds", help: "No finite buckets", buckets: [], registry })
    .observe(1);
  new Histogram({
    name: "app_offset_seconds",
    help: "Negative bounds",
    buckets: [-1, 0, 1],
    registry,
  }).observe(-0.5);
  new Histogram({ name: "app_unobserved_seconds", help: "Never observed", registry });

  const sizes = new Summary({
    name: "app_response_size_bytes",
    help: "Sizes (default quantiles)",
    unit: "bytes",
    labelNames: ["route"],
    registry,
  });
  for (let i = 1; i <= 100; i++) sizes.observe({ route: HOSTILE[i % HOSTILE.length] }, i);
  // Empty: its quantiles are NaN.
  new Summary({
    name: "app_empty_seconds",
    help: "No observations",
    percentiles: [0.5, 0.9, 0.99],
    registry,
  });
  new Summary({
    name: "app_plain_seconds",
    help: "Sum and count only",
    percentiles: [],
    registry,
  }).observe(1.5);
  new Summary({
    name: "app_windowed_seconds",
    help: "Custom window and accuracy",
    percentiles: [0, 0.00001, 0.5, 1],
    maxAgeSeconds: 60,
    ageBuckets: 3,
    relativeAccuracy: 0.001,
    registry,
  }).observe(0.25);
  return registry;
}

describe("promtool check metrics", () => {
  it("accepts a registry using every type and option, silently", { skip }, async () => {
    const registry = everything();
    const realError = console.error;
    console.error = () => {}; // the failing collector is reported once; expected here
    let text: string;
    try {
      text = await registry.metrics();
    } finally {
      console.error = realError;
    }
    // The registry really exercises what it claims to.
    for (
      const name of [
        "metrics_series_overflow_total",
        "metrics_collect_errors_total",
        'quantile="0.5"} NaN',
        'le="1e-05"',
        'le="1.234567e+06"',
        "app_sent_bytes_total 1e+21",
        "app_pool_in_use 2",
        "😀",
        "\\n",
        '\\"',
      ]
    ) {
      assert.ok(text.includes(name), `output lacks ${name}`);
    }
    assert.ok(!text.includes("# HELP app_broken"), "the failing collector is left out");
    assert.ok(text.includes('metrics_collect_errors_total{metric="app_broken"} 1'));
    parseText(text);
    const r = checkMetrics(text);
    assert.equal(r.stdout + r.stderr, "", "promtool printed something");
    assert.equal(r.status, 0);
    // The same registry in OpenMetrics passes the strict parser.
    console.error = () => {};
    try {
      parseOpenMetrics(await registry.metrics("openmetrics"));
    } finally {
      console.error = realError;
    }
  });

  it("is a real judge: it rejects what the text format forbids", { skip }, () => {
    // OpenMetrics' \" escape in a text-format HELP, and a second TYPE line.
    // (promtool 2.42 does not notice a missing +Inf bucket, a duplicate
    // series or interleaved families; the test parser does.)
    const helpQuote = checkMetrics('# HELP x a \\"b\\"\n# TYPE x gauge\nx 1\n');
    assert.notEqual(helpQuote.status, 0);
    assert.match(helpQuote.stdout + helpQuote.stderr, /escape/);
    const twoTypes = checkMetrics("# TYPE x gauge\n# TYPE x gauge\nx 1\n");
    assert.notEqual(twoTypes.status, 0);
    assert.match(twoTypes.stdout + twoTypes.stderr, /TYPE/);
    // And it lints: a counter without _total.
    const lint = checkMetrics("# HELP c C\n# TYPE c counter\nc 1\n");
    assert.notEqual(lint.status, 0);
    assert.match(lint.stdout + lint.stderr, /_total/);
  });
});
