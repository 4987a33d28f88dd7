import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { validateLabelNames, validateMetricName } from "../../src/core/labels.ts";
import { escapeHelp, escapeLabelValue } from "../../src/model/escape.ts";
import { Counter } from "../../src/core/counter.ts";
import { Gauge } from "../../src/core/gauge.ts";
import { Histogram } from "../../src/core/histogram.ts";
import { Summary } from "../../src/core/summary.ts";
import { Registry } from "../../src/core/registry.ts";

function typeErrorMentioning(...parts: string[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof TypeError, `expected a TypeError, got ${e}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  };
}

describe("validateMetricName", () => {
  it("accepts names matching [a-zA-Z_:][a-zA-Z0-9_:]*", () => {
    for (const name of ["a", "_a", ":a", "http_requests_total", "a:b:c", "A1_2", "x_"]) {
      assert.equal(validateMetricName(name), name);
    }
  });

  it("rejects bad syntax with a TypeError quoting the name", () => {
    for (const name of ["", "1abc", "a-b", "a b", "a.b", "é", "a{b}", "a\n"]) {
      assert.throws(() => validateMetricName(name), typeErrorMentioning(JSON.stringify(name)));
    }
  });

  it("rejects the reserved __ prefix", () => {
    assert.throws(() => validateMetricName("__name"), typeErrorMentioning("__name", "reserved"));
  });

  it("rejects non-strings", () => {
    for (const name of [undefined, null, 3, {}, ["a"]]) {
      assert.throws(() => validateMetricName(name), TypeError);
    }
  });
});

describe("validateLabelNames", () => {
  it("returns a frozen copy of valid names; absent means none", () => {
    const input = ["model", "endpoint", "_x", "A9"];
    const out = validateLabelNames("m", input);
    assert.deepEqual(out, input);
    assert.notEqual(out, input);
    assert.ok(Object.isFrozen(out));
    assert.deepEqual(validateLabelNames("m", undefined), []);
  });

  it("rejects bad syntax, naming the metric and the label", () => {
    for (const name of ["", "1a", "a-b", "a:b", "a b", "ü"]) {
      assert.throws(
        () => validateLabelNames("my_metric", [name]),
        typeErrorMentioning("my_metric", JSON.stringify(name)),
      );
    }
  });

  it("rejects the reserved __ prefix", () => {
    assert.throws(
      () => validateLabelNames("my_metric", ["ok", "__meta"]),
      typeErrorMentioning("my_metric", "__meta", "reserved"),
    );
  });

  it("rejects the names reserved for the metric type", () => {
    assert.throws(
      () => validateLabelNames("h", ["a", "le"], ["le"]),
      typeErrorMentioning("h", '"le"', "reserved"),
    );
    // Reserved only where the type says so.
    assert.deepEqual(validateLabelNames("c", ["le", "quantile"]), ["le", "quantile"]);
  });

  it("rejects duplicates", () => {
    assert.throws(
      () => validateLabelNames("my_metric", ["a", "b", "a"]),
      typeErrorMentioning("my_metric", '"a"', "twice"),
    );
  });

  it("rejects non-string names and a non-array", () => {
    assert.throws(() => validateLabelNames("m", [1]), TypeError);
    assert.throws(() => validateLabelNames("m", [null]), TypeError);
    assert.throws(() => validateLabelNames("m", "a" as unknown as string[]), TypeError);
  });
});

describe("label names are validated at construction, by every metric type", () => {
  const make = {
    counter: (labelNames: string[]) =>
      new Counter({ name: "c_total", help: "h", labelNames, registry: new Registry() }),
    gauge: (labelNames: string[]) =>
      new Gauge({ name: "g", help: "h", labelNames, registry: new Registry() }),
    histogram: (labelNames: string[]) =>
      new Histogram({ name: "h", help: "h", labelNames, registry: new Registry() }),
    summary: (labelNames: string[]) =>
      new Summary({ name: "s", help: "h", labelNames, registry: new Registry() }),
  };

  for (const [kind, create] of Object.entries(make)) {
    it(`${kind}: syntax, __ prefix and duplicates throw a TypeError`, () => {
      assert.throws(() => create(["bad-name"]), typeErrorMentioning("bad-name"));
      assert.throws(() => create(["__x"]), typeErrorMentioning("__x"));
      assert.throws(() => create(["a", "a"]), typeErrorMentioning('"a"'));
    });
  }

  it("histogram reserves le (and only le)", () => {
    assert.throws(() => make.histogram(["le"]), typeErrorMentioning('"le"', '"h"'));
    assert.doesNotThrow(() => make.histogram(["quantile"]));
  });

  it("summary reserves quantile (and only quantile)", () => {
    assert.throws(() => make.summary(["quantile"]), typeErrorMentioning('"quantile"', '"s"'));
    assert.doesNotThrow(() => make.summary(["le"]));
  });

  it("counter and gauge reserve neither", () => {
    assert.doesNotThrow(() => make.counter(["le", "quantile"]));
    assert.doesNotThrow(() => make.gauge(["le", "quantile"]));
  });

  it("a metric name is validated too, and help is required", () => {
    const registry = new Registry();
    assert.throws(() => new Counter({ name: "bad name", help: "h", registry }), TypeError);
    assert.throws(() => new Counter({ name: "__c", help: "h", registry }), TypeError);
    assert.throws(
      () => new Counter({ name: "c_total", help: "", registry }),
      typeErrorMentioning("c_total", "help"),
    );
    assert.throws(
      () => new Counter({ name: "c_total", help: undefined as unknown as string, registry }),
      TypeError,
    );
  });
});

describe("escapeLabelValue", () => {
  it("escapes backslash, double quote and newline", () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(escapeLabelValue("\n\n"), "\\n\\n");
  });

  it("leaves other characters alone, returning the same string", () => {
    const s = "plain value: {x=1}, tab\t, emoji 🎉, 'single'";
    assert.equal(escapeLabelValue(s), s);
    assert.equal(escapeLabelValue(""), "");
  });

  it("renders both lone surrogates as U+FFFD", () => {
    assert.equal(escapeLabelValue("\uD800"), "\uFFFD");
    assert.equal(escapeLabelValue("\uDC00"), "\uFFFD");
    assert.equal(escapeLabelValue('x\uD800"'), 'x\uFFFD\\"');
    // A valid pair stays as it is.
    assert.equal(escapeLabelValue("\uD83C\uDF89"), "🎉");
  });
});

describe("escapeHelp", () => {
  it("text format: escapes backslash and newline, not the double quote", () => {
    assert.equal(escapeHelp('a\\b\n"c"', false), 'a\\\\b\\n"c"');
  });

  it("OpenMetrics: escapes the double quote as well", () => {
    assert.equal(escapeHelp('a\\b\n"c"', true), 'a\\\\b\\n\\"c\\"');
  });

  it("replaces lone surrogates", () => {
    assert.equal(escapeHelp("x\uDC00", false), "x\uFFFD");
  });
});
