/**
 * Application-wide helpers, with the exact signatures the server's
 * middleware calls: `trackAppRequest({ endpoint, method, statusCode, seconds })`
 * and `trackAppError({ endpoint, errorType })`.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { createTracking, type Tracking } from "../../src/tracking/mod.ts";
import { changes, expected, scrape, valueOf } from "./_support.ts";

function fresh(): Tracking {
  return createTracking(new Registry());
}

describe("trackAppRequest", () => {
  it("counts the request and observes its duration", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    t.trackAppRequest({ endpoint: "/api/users/:id", method: "GET", statusCode: 200, seconds: 0.2 });
    t.trackAppRequest({
      endpoint: "/api/users/:id",
      method: "GET",
      statusCode: 404,
      seconds: 0.003,
    });
    const after = await scrape(t.registry);
    const route = { endpoint: "/api/users/:id", method: "GET" };
    assert.deepEqual(
      changes(before, after),
      expected([
        ["app_requests_total", { ...route, status_code: "200" }, 1],
        ["app_requests_total", { ...route, status_code: "404" }, 1],
        ["app_request_duration_seconds_count", route, 2],
      ]),
    );
    assert.equal(valueOf(after, "app_request_duration_seconds_sum", route), 0.203);
    // 0.003 <= 0.005; 0.2 <= 0.25 (the Prometheus default buckets).
    assert.equal(
      valueOf(after, "app_request_duration_seconds_bucket", { ...route, le: "0.005" }),
      1,
    );
    assert.equal(valueOf(after, "app_request_duration_seconds_bucket", { ...route, le: "0.1" }), 1);
    assert.equal(
      valueOf(after, "app_request_duration_seconds_bucket", { ...route, le: "0.25" }),
      2,
    );
  });

  it("upper-cases the method and folds non-standard methods into OTHER", async () => {
    const t = fresh();
    t.trackAppRequest({ endpoint: "/", method: "post", statusCode: 201, seconds: 0 });
    t.trackAppRequest({ endpoint: "/", method: "BREW", statusCode: 418, seconds: 0 });
    t.trackAppRequest({ endpoint: "/", method: "x".repeat(500), statusCode: 405, seconds: 0 });
    const s = await scrape(t.registry);
    assert.equal(
      valueOf(s, "app_requests_total", { endpoint: "/", method: "POST", status_code: "201" }),
      1,
    );
    assert.equal(
      valueOf(s, "app_requests_total", { endpoint: "/", method: "OTHER", status_code: "418" }),
      1,
    );
    assert.equal(
      valueOf(s, "app_request_duration_seconds_count", { endpoint: "/", method: "OTHER" }),
      2,
    );
  });

  it("bad input: TypeError or RangeError naming trackAppRequest, and nothing recorded", async () => {
    const t = fresh();
    const ok = { endpoint: "/", method: "GET", statusCode: 200, seconds: 0.1 };
    const before = await scrape(t.registry);
    for (const statusCode of [99, 600, 200.5, NaN]) {
      assert.throws(
        () => t.trackAppRequest({ ...ok, statusCode }),
        (e: unknown) =>
          e instanceof RangeError && e.message.startsWith("trackAppRequest: statusCode"),
      );
    }
    assert.throws(
      () => t.trackAppRequest({ ...ok, statusCode: "200" as unknown as number }),
      RangeError,
    );
    for (const seconds of [-0.1, NaN, Infinity]) {
      assert.throws(
        () => t.trackAppRequest({ ...ok, seconds }),
        (e: unknown) =>
          e instanceof RangeError &&
          e.message === `trackAppRequest: seconds must be a finite number >= 0, got ${seconds}`,
      );
    }
    assert.throws(
      () => t.trackAppRequest({ ...ok, endpoint: "" }),
      /^TypeError: trackAppRequest: endpoint/,
    );
    assert.throws(() => t.trackAppRequest({ ...ok, method: 1 as unknown as string }), TypeError);
    assert.throws(() => t.trackAppRequest(null as unknown as typeof ok), TypeError);
    assert.deepEqual(changes(before, await scrape(t.registry)), new Map());
  });
});

describe("trackAppError", () => {
  it("counts errors by endpoint and type; bad input is a TypeError naming it", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    t.trackAppError({ endpoint: "/api/analyses", errorType: "TimeoutError" });
    t.trackAppError({ endpoint: "/api/analyses", errorType: "TimeoutError" });
    assert.throws(
      () => t.trackAppError({ endpoint: "/x", errorType: "" }),
      /trackAppError: errorType/,
    );
    assert.throws(
      () => t.trackAppError(undefined as unknown as { endpoint: string; errorType: string }),
      TypeError,
    );
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      expected([[
        "app_errors_total",
        { endpoint: "/api/analyses", error_type: "TimeoutError" },
        2,
      ]]),
    );
  });
});
