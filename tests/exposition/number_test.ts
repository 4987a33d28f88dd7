/**
 * Number spelling. Expected strings come from Go's rule for
 * `strconv.FormatFloat(v, 'g', -1, 64)` (shortest round-trip digits; `%e`
 * when the decimal exponent is < -4 or >= 6, since the shortest format uses
 * precision 6 for that decision; at least two exponent digits), from the
 * OpenMetrics "Canonical Numbers" examples, and from the spellings both
 * formats fix for NaN and the infinities.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatValue, goFloat, openMetricsFloat } from "../../src/exposition/number.ts";
import { mulberry32, randomDouble } from "../_support/random.ts";

// [value, Go's FormatFloat(v, 'g', -1, 64)]
const GO_TABLE: [number, string][] = [
  [0, "0"],
  [-0, "-0"],
  [1, "1"],
  [-1, "-1"],
  [10, "10"],
  [0.1, "0.1"],
  [0.5, "0.5"],
  [2.5, "2.5"],
  [0.005, "0.005"],
  [0.025, "0.025"],
  [0.001, "0.001"],
  [0.0001, "0.0001"], // exponent -4: still fixed
  [0.00012345, "0.00012345"],
  [1e-5, "1e-05"], // exponent -5: exponent form, two digits
  [-1e-5, "-1e-05"],
  [0.000012345, "1.2345e-05"],
  [1.5e-7, "1.5e-07"],
  [1e-10, "1e-10"],
  [100000, "100000"], // exponent 5: fixed
  [123456, "123456"],
  [999999, "999999"],
  [123456.7, "123456.7"],
  [1e6, "1e+06"], // exponent 6: exponent form
  [1234567, "1.234567e+06"],
  [1234567.8, "1.2345678e+06"],
  [1e15, "1e+15"],
  [1e21, "1e+21"],
  [1e22, "1e+22"],
  [1.1e23, "1.1e+23"],
  [1e100, "1e+100"],
  [0.1 + 0.2, "0.30000000000000004"],
  [9007199254740992, "9.007199254740992e+15"],
  [5e-324, "5e-324"],
  [2.2250738585072014e-308, "2.2250738585072014e-308"],
  [1.7976931348623157e308, "1.7976931348623157e+308"],
  [NaN, "NaN"],
  [Infinity, "+Inf"],
  [-Infinity, "-Inf"],
];

describe("goFloat (Go's FormatFloat 'g', -1)", () => {
  for (const [v, want] of GO_TABLE) {
    it(`${want}`, () => assert.equal(goFloat(v), want));
  }

  it("round-trips and follows the %e/%f switch for random doubles", () => {
    const rand = mulberry32(0x5eed);
    for (let i = 0; i < 20_000; i++) {
      const v = randomDouble(rand);
      if (!Number.isFinite(v) || v === 0) continue;
      const s = goFloat(v);
      assert.ok(Object.is(Number(s), v), `${s} does not read back as ${v}`);
      const m = /^-?(\d)(?:\.(\d+))?e([+-])(\d+)$/.exec(s);
      if (m !== null) {
        // Exponent form: one leading digit, at least two exponent digits.
        assert.ok(m[4].length >= 2, s);
        const exp = Number(m[3] + m[4]);
        assert.ok(exp < -4 || exp >= 6, `${s}: exponent ${exp} should be written fixed`);
        assert.notEqual(m[1], "0", s);
      } else {
        assert.match(s, /^-?\d+(\.\d+)?$/);
        const digits = s.replace(/^-/, "").replace(".", "").replace(/^0+/, "");
        const intPart = s.replace(/^-/, "").split(".")[0];
        // Decimal exponent of the leading significant digit.
        const exp = intPart !== "0" ? intPart.length - 1 : -(/^0\.(0*)/.exec(
          s.replace(/^-/, ""),
        )![1].length + 1);
        assert.ok(exp >= -4 && exp < 6, `${s}: exponent ${exp} should be written as %e`);
        assert.ok(digits.length <= 17, s);
      }
      // Shortest digits: the same significant digits JavaScript picks.
      const sig = (x: string) => x.replace(/^-/, "").replace(/e.*$/, "").replace(".", "");
      assert.equal(
        sig(s).replace(/^0+/, "").replace(/0+$/, ""),
        sig(v.toExponential()).replace(/^0+/, "").replace(/0+$/, ""),
        `${s} vs ${v.toExponential()}`,
      );
    }
  });
});

describe("openMetricsFloat (canonical le/quantile)", () => {
  // The OpenMetrics spec's own examples for 0.0 to 10.0 and powers of ten.
  const spec = [
    [0, "0.0"],
    [0.001, "0.001"],
    [0.002, "0.002"],
    [0.01, "0.01"],
    [0.1, "0.1"],
    [0.9, "0.9"],
    [0.95, "0.95"],
    [0.99, "0.99"],
    [0.999, "0.999"],
    [1, "1.0"],
    [1.7, "1.7"],
    [10, "10.0"],
    [1e-10, "1e-10"],
    [1e-9, "1e-09"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [100000, "100000.0"],
    [1e6, "1e+06"],
    [1e10, "1e+10"],
    [1e23, "1e+23"],
    [1.1e23, "1.1e+23"],
  ] as const;
  for (const [v, want] of spec) {
    it(`${want}`, () => assert.equal(openMetricsFloat(v), want));
  }
  it("+Inf, -Inf and NaN keep their spellings", () => {
    assert.equal(openMetricsFloat(Infinity), "+Inf");
    assert.equal(openMetricsFloat(-Infinity), "-Inf");
    assert.equal(openMetricsFloat(NaN), "NaN");
  });
  it("negative integers get .0 too", () => {
    assert.equal(openMetricsFloat(-5), "-5.0");
    assert.equal(openMetricsFloat(-0), "-0.0");
  });
});

describe("formatValue (sample values)", () => {
  it("spells NaN, +Inf and -Inf as both formats require", () => {
    assert.equal(formatValue(NaN), "NaN");
    assert.equal(formatValue(Infinity), "+Inf");
    assert.equal(formatValue(-Infinity), "-Inf");
  });

  it("keeps the sign of negative zero", () => {
    // A gauge set to Math.round(-0.4) holds -0; "0" would not read back as it.
    assert.equal(formatValue(-0), "-0");
    assert.equal(formatValue(0), "0");
  });

  it("writes every double so that it reads back exactly, in a form both parsers accept", () => {
    // Go's ParseFloat decimal syntax, which is also OpenMetrics' realnumber.
    const realnumber = /^[+-]?(\d+(\.\d*)?|\d*\.\d+)([eE][+-]?\d+)?$/;
    const rand = mulberry32(42);
    const special = [5e-324, -5e-324, 1.7976931348623157e308, 1e21, 1e-7, 123456789012345680000];
    for (let i = 0; i < 20_000 + special.length; i++) {
      const v = i < special.length ? special[i] : randomDouble(rand);
      if (!Number.isFinite(v)) continue;
      const s = formatValue(v);
      assert.match(s, realnumber);
      assert.ok(Object.is(Number(s), v), `${s} does not read back as ${v}`);
    }
  });
});
