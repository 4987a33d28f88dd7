// The drop-in's bucket generators and name checks: prom-client's results and errors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  exponentialBuckets,
  linearBuckets,
  validateLabel,
  validateLabelName,
  validateMetricName,
} from "../../src/compat/mod.ts";

describe("bucket generators and checks (drop-in)", () => {
  it("generates prom-client's buckets and throws its errors", () => {
    assert.deepEqual(linearBuckets(0, 50, 4), [0, 50, 100, 150]);
    assert.equal(linearBuckets(0.1, 0.1, 10)[9], 1);
    assert.deepEqual(exponentialBuckets(1, 2, 5), [1, 2, 4, 8, 16]);
    assert.throws(() => linearBuckets(2, 1, 0), {
      message: "Linear buckets needs a positive count",
    });
    assert.throws(() => exponentialBuckets(0, 2, 5), {
      message: "Exponential buckets needs a positive start",
    });
    assert.throws(() => exponentialBuckets(1, 1, 5), {
      message: "Exponential buckets needs a factor greater than 1",
    });
    assert.throws(() => exponentialBuckets(2, 10, 0), {
      message: "Exponential buckets needs a positive count",
    });
  });

  it("checks names and labels as prom-client's lib/validation does", () => {
    assert.equal(validateMetricName("http_requests_total"), true);
    assert.equal(validateMetricName("no valid name"), false);
    assert.deepEqual(validateLabelName(["ok", "not ok", "1x"]), ["not ok", "1x"]);
    validateLabel(["exists"], { exists: null });
    assert.throws(() => validateLabel(["exists"], { somethingElse: null }), {
      message: `Added label "somethingElse" is not included in initial labelset: [ 'exists' ]`,
    });
  });
});
