/**
 * Content negotiation with the Accept headers real Prometheus servers send.
 * The headers are Prometheus' own: 2.x before scrape_protocols (a fixed
 * header), 2.49+ and 3.x (built from `scrape_protocols`, with q-values
 * counting down by 0.1 and `*\/*` last; 3.x adds `escaping=` parameters and
 * the text 1.0.0 format; with native histograms, protobuf comes first).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { acceptsGzip, negotiateFormat } from "../../src/exposition/negotiation.ts";

const TEXT = { format: "text", contentType: "text/plain; version=0.0.4; charset=utf-8" };
const OM = {
  format: "openmetrics",
  contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};
const PB = {
  format: "protobuf",
  contentType:
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
};
const OM_0_0_1 = {
  format: "openmetrics",
  contentType: "application/openmetrics-text; version=0.0.1; charset=utf-8",
};

describe("negotiateFormat: real scrapers", () => {
  it("Prometheus 2.x (up to 2.48)", () => {
    assert.deepEqual(
      negotiateFormat(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75," +
          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      ),
      OM,
    );
  });

  it("Prometheus 2.49+ default scrape_protocols", () => {
    assert.deepEqual(
      negotiateFormat(
        "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4," +
          "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      ),
      OM,
    );
  });

  it("Prometheus 3.x default scrape_protocols (with escaping parameters)", () => {
    assert.deepEqual(
      negotiateFormat(
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
          "application/openmetrics-text;version=0.0.1;q=0.5," +
          "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4," +
          "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      ),
      OM,
    );
  });

  it("Prometheus 3.x with native histograms: protobuf first", () => {
    assert.deepEqual(
      negotiateFormat(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7," +
          "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
          "application/openmetrics-text;version=0.0.1;q=0.5," +
          "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4," +
          "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      ),
      PB,
    );
  });

  it("Prometheus 2.42 with --enable-feature=native-histograms (its exact header)", () => {
    assert.deepEqual(
      negotiateFormat(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited," +
          "application/openmetrics-text;version=1.0.0;q=0.8," +
          "application/openmetrics-text;version=0.0.1;q=0.75," +
          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      ),
      PB,
    );
  });

  it("Prometheus configured for text only", () => {
    assert.deepEqual(negotiateFormat("text/plain;version=0.0.4;q=0.6,*/*;q=0.5"), TEXT);
  });

  it("Prometheus 3.x configured for text 1.0.0 only: falls back to 0.0.4 through */*", () => {
    assert.deepEqual(
      negotiateFormat("text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5"),
      TEXT,
    );
  });

  it("OpenMetrics 0.0.1 only: answered with its own version in the Content-Type", () => {
    assert.deepEqual(negotiateFormat("application/openmetrics-text;version=0.0.1"), OM_0_0_1);
  });

  it("curl and browsers", () => {
    assert.deepEqual(negotiateFormat("*/*"), TEXT);
    assert.deepEqual(
      negotiateFormat("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
      TEXT,
    );
  });
});

describe("negotiateFormat: rules", () => {
  it("no header, or an empty one: text", () => {
    assert.deepEqual(negotiateFormat(null), TEXT);
    assert.deepEqual(negotiateFormat(undefined), TEXT);
    assert.deepEqual(negotiateFormat(""), TEXT);
  });

  it("protobuf only with proto=io.prometheus.client.MetricFamily and encoding=delimited", () => {
    const type = "application/vnd.google.protobuf";
    assert.deepEqual(
      negotiateFormat(`${type};proto=io.prometheus.client.MetricFamily;encoding=delimited`),
      PB,
    );
    assert.deepEqual(
      negotiateFormat(`${type}; encoding=delimited; proto="io.prometheus.client.MetricFamily"`),
      PB,
    );
    for (
      const params of [
        "",
        ";proto=io.prometheus.client.MetricFamily",
        ";encoding=delimited",
        ";proto=io.prometheus.client.MetricFamily;encoding=text",
        ";proto=io.prometheus.client.MetricFamily;encoding=compact-text",
        ";proto=other.Message;encoding=delimited",
      ]
    ) {
      assert.deepEqual(negotiateFormat(type + params), TEXT, params);
      assert.deepEqual(
        negotiateFormat(`${type}${params},application/openmetrics-text;q=0.5`),
        OM,
        params,
      );
    }
  });

  it("protobuf is never chosen through a wildcard", () => {
    assert.deepEqual(negotiateFormat("application/*"), TEXT);
    assert.deepEqual(negotiateFormat("*/*"), TEXT);
  });

  it("only unsupported types: text, never an error", () => {
    assert.deepEqual(negotiateFormat("application/json"), TEXT);
    assert.deepEqual(negotiateFormat("application/openmetrics-text;version=2.0.0"), TEXT);
    assert.deepEqual(negotiateFormat("text/plain;version=1.0.0"), TEXT);
  });

  it("garbage does not throw", () => {
    for (const h of [";;;", ",,,", "q=1", "text/plain;q=abc", "=;=,=", "\u0000", "a/b;c"]) {
      assert.deepEqual(negotiateFormat(h), TEXT, JSON.stringify(h));
    }
  });

  it("the highest q wins, whatever the order", () => {
    assert.deepEqual(
      negotiateFormat(
        "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8",
      ),
      TEXT,
    );
    assert.deepEqual(
      negotiateFormat(
        "text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;q=0.8",
      ),
      OM,
    );
    assert.deepEqual(
      negotiateFormat("text/plain;q=0.2,application/openmetrics-text;q=0.3"),
      OM,
    );
  });

  it("a missing q means 1", () => {
    assert.deepEqual(negotiateFormat("text/plain;q=0.99,application/openmetrics-text"), OM);
    assert.deepEqual(negotiateFormat("application/openmetrics-text;q=0.99,text/plain"), TEXT);
  });

  it("on a tie, the earlier entry wins", () => {
    assert.deepEqual(negotiateFormat("application/openmetrics-text;q=0.5,text/plain;q=0.5"), OM);
    assert.deepEqual(negotiateFormat("text/plain;q=0.5,application/openmetrics-text;q=0.5"), TEXT);
  });

  it("q=0 means not acceptable", () => {
    assert.deepEqual(negotiateFormat("application/openmetrics-text;q=0,text/plain;q=0.1"), TEXT);
    assert.deepEqual(negotiateFormat("application/openmetrics-text;version=1.0.0;q=0"), TEXT);
  });

  it("an unsupported type with a higher q does not hide a supported one", () => {
    assert.deepEqual(
      negotiateFormat("application/json;q=1,application/openmetrics-text;version=1.0.0;q=0.1"),
      OM,
    );
  });

  it("type and parameter names ignore case and spaces; quoted values are unquoted", () => {
    assert.deepEqual(negotiateFormat("Application/OpenMetrics-Text; Version=1.0.0"), OM);
    assert.deepEqual(negotiateFormat(" application/openmetrics-text ; version=1.0.0 ; q=0.5 "), OM);
    assert.deepEqual(negotiateFormat('application/openmetrics-text;version="1.0.0"'), OM);
    assert.deepEqual(negotiateFormat("TEXT/PLAIN;VERSION=0.0.4"), TEXT);
  });

  it("OpenMetrics without a version means 1.0.0", () => {
    assert.deepEqual(negotiateFormat("application/openmetrics-text"), OM);
  });
});

describe("acceptsGzip", () => {
  const cases: [string | null | undefined, boolean][] = [
    ["gzip", true], // what Prometheus sends
    ["gzip, deflate, br", true],
    ["br;q=1.0, gzip;q=0.8, *;q=0.1", true],
    ["GZIP", true],
    ["x-gzip", true],
    ["gzip;q=0.001", true],
    ["*", true],
    ["deflate, br", false],
    ["identity", false],
    ["gzip;q=0", false],
    ["gzip;q=0.0", false],
    ["*;q=0", false],
    ["gzip;q=0, *", false], // an explicit refusal beats the wildcard
    ["", false],
    [null, false],
    [undefined, false],
  ];
  for (const [header, want] of cases) {
    it(`${JSON.stringify(header)} → ${want}`, () => assert.equal(acceptsGzip(header), want));
  }
});
