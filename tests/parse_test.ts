// The judge is judged: tests/_support/parse.ts decides whether 16 test files'
// expositions are valid, so it must reject what the formats forbid. Each
// malformed exposition below is refused with a line number and a reason;
// where an independent parser exists here (promtool for text 0.0.4, Python's
// prometheus_client for OpenMetrics), it must refuse the same input, so the
// table cannot drift into rules nobody else holds.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ExpositionSyntaxError, parseOpenMetrics, parseText } from "./_support/parse.ts";
import { pythonJudgeMissing, pythonParse } from "./_support/python_judge.ts";
import { skipWithout } from "./_support/tools.ts";

const VALID_TEXT = '# HELP a_total A\n# TYPE a_total counter\na_total{x="1"} 3\n';
const VALID_OM = '# TYPE a counter\n# HELP a A\na_total{x="1"} 3\na_created 1.7e+09\n# EOF\n';

/** [what is wrong, exposition, whether Python's strict OpenMetrics parser agrees]. */
const BAD_OM: [string, string, boolean][] = [
  ["no # EOF", "# TYPE a counter\na_total 1\n", true],
  ["content after # EOF", "# TYPE a gauge\na 1\n# EOF\na 2\n", true],
  ["an empty line", "# TYPE a gauge\n\na 1\n# EOF\n", true],
  ["a family in two places", '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n# EOF\n', true],
  ["a second # TYPE", "# TYPE a gauge\n# TYPE a gauge\na 1\n# EOF\n", true],
  ["an unknown type", "# TYPE a thing\na 1\n# EOF\n", true],
  ["an unescaped quote in a label value", '# TYPE a gauge\na{x="q"q"} 1\n# EOF\n', true],
  ["a label given twice", '# TYPE a gauge\na{x="1",x="2"} 1\n# EOF\n', true],
  ["a bad value", "# TYPE a gauge\na one\n# EOF\n", true],
  ["a negative counter total", "# TYPE a counter\na_total -1\n# EOF\n", true],
  ["a NaN counter total", "# TYPE a counter\na_total NaN\n# EOF\n", true],
  [
    "buckets out of order",
    '# TYPE h histogram\nh_bucket{le="2.0"} 1\nh_bucket{le="1.0"} 1\nh_bucket{le="+Inf"} 1\n# EOF\n',
    true,
  ],
  ["no +Inf bucket", '# TYPE h histogram\nh_bucket{le="1.0"} 1\n# EOF\n', true],
  [
    "bucket counts not cumulative",
    '# TYPE h histogram\nh_bucket{le="1.0"} 2\nh_bucket{le="+Inf"} 1\n# EOF\n',
    true,
  ],
  [
    "_count not the +Inf bucket",
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\nh_sum 1\n# EOF\n',
    true,
  ],
  [
    "a negative histogram _sum",
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum -1\n# EOF\n',
    true,
  ],
  [
    "a negative summary quantile value",
    '# TYPE s summary\ns{quantile="0.5"} -1\ns_count 1\n# EOF\n',
    true,
  ],
  ["a negative summary _sum", "# TYPE s summary\ns_count 1\ns_sum -2\n# EOF\n", true],
  ["a quantile outside [0, 1]", '# TYPE s summary\ns{quantile="1.5"} 1\n# EOF\n', true],
  [
    "a UNIT that is not a suffix",
    "# TYPE a_seconds gauge\n# UNIT a_seconds bytes\na_seconds 1\n# EOF\n",
    true,
  ],
  ["no final newline", "# TYPE a gauge\na 1\n# EOF", false],
  ["an exemplar on a gauge", '# TYPE a gauge\na 1 # {t="x"} 1 1.5\n# EOF\n', true],
  [
    "an exemplar on a histogram _count",
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1 # {t="x"} 1\nh_sum 1\n# EOF\n',
    true,
  ],
  ["an exemplar without a label set", "# TYPE a counter\na_total 1 # 1 1.5\n# EOF\n", true],
  [
    "exemplar labels over 128 code points",
    `# TYPE a counter\na_total 1 # {trace_id="${"\u00e9".repeat(121)}"} 1\n# EOF\n`,
    true,
  ],
  [
    "an exemplar value above its bucket",
    '# TYPE h histogram\nh_bucket{le="1.0"} 1 # {} 2\nh_bucket{le="+Inf"} 1\n# EOF\n',
    false,
  ],
  [
    "an exemplar value below its bucket",
    '# TYPE h histogram\nh_bucket{le="1.0"} 0\nh_bucket{le="2.0"} 1 # {} 0.5\nh_bucket{le="+Inf"} 1\n# EOF\n',
    false,
  ],
];

const BAD_TEXT: [string, string][] = [
  ["a family in two places", '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n'],
  ["a second # HELP", "# HELP a x\n# HELP a y\na 1\n"],
  ["# TYPE after the samples", "a 1\n# TYPE a gauge\n"],
  ["an unterminated label value", 'a{x="1} 1\n'],
  ["a bad value", "a 1,5\n"],
  ["a bad metric name", "1a 1\n"],
  ["a sample appearing twice", "# TYPE a gauge\na 1\na 2\n"],
  ["a bad timestamp", "a 1 1.5\n"],
  ["no final newline", "a 1"],
  ["an exemplar (OpenMetrics only)", '# TYPE a_total counter\na_total 1 # {t="x"} 1 1.5\n'],
];

describe("parse.ts rejects malformed expositions", () => {
  it("accepts the valid baselines (so each case below fails for its own flaw)", () => {
    assert.equal(parseText(VALID_TEXT).length, 1);
    assert.equal(parseOpenMetrics(VALID_OM).length, 1);
  });

  for (const [what, body] of BAD_OM) {
    it(`OpenMetrics: ${what}`, () => {
      assert.throws(() => parseOpenMetrics(body), ExpositionSyntaxError);
    });
  }
  for (const [what, body] of BAD_TEXT) {
    it(`text 0.0.4: ${what}`, () => {
      assert.throws(() => parseText(body), ExpositionSyntaxError);
    });
  }
});

describe("prometheus_client's strict OpenMetrics parser agrees", () => {
  it("accepts the valid baseline", { skip: skipWithout(pythonJudgeMissing) }, () => {
    const v = pythonParse(VALID_OM, "openmetrics");
    assert.ok(v.ok, !v.ok ? v.error : "");
  });
  for (const [what, body, agrees] of BAD_OM) {
    if (!agrees) continue;
    it(`rejects: ${what}`, { skip: skipWithout(pythonJudgeMissing) }, () => {
      const v = pythonParse(body, "openmetrics");
      assert.equal(v.ok, false, `prometheus_client accepted an exposition with ${what}`);
    });
  }
});
