/**
 * User activity: actions (counted and timed), workspace sizes with their own
 * user cap, and analysis complexity with its 0–100 buckets.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { createTracking, type Tracking } from "../../src/tracking/mod.ts";
import { changes, expected, has, scrape, valueOf } from "./_support.ts";

function fresh(): Tracking {
  return createTracking(new Registry());
}

describe("user actions", () => {
  it("trackUserAction counts; UserActionTimer counts and times on dispose, once", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    t.trackUserAction("export_report");
    {
      using timer = new t.UserActionTimer("document_upload");
      assert.equal(timer.actionType, "document_upload");
      assert.equal(t.metrics.userActionTotal.get({ action_type: "document_upload" }), 0);
    }
    const timer = new t.UserActionTimer("document_upload");
    const seconds = timer.end();
    assert.ok(seconds >= 0);
    assert.equal(timer.end(), seconds);
    timer[Symbol.dispose]();
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      expected([
        ["user_action_total", { action_type: "export_report" }, 1],
        ["user_action_total", { action_type: "document_upload" }, 2],
        ["user_action_duration_seconds_count", { action_type: "document_upload" }, 2],
      ]),
    );
  });

  it("bad action types are TypeErrors naming the helper", () => {
    const t = fresh();
    assert.throws(() => t.trackUserAction(""), /^TypeError: trackUserAction: actionType/);
    assert.throws(
      () => new t.UserActionTimer(5 as unknown as string),
      /UserActionTimer: actionType must be a non-empty string, got number 5/,
    );
  });
});

describe("workspace sizes", () => {
  it("sets and removes a user's series", async () => {
    const t = fresh();
    t.setWorkspaceSize("alice", 1024);
    t.setWorkspaceSize("bob", 0);
    t.setWorkspaceSize("alice", 4096);
    let s = await scrape(t.registry);
    assert.equal(valueOf(s, "workspace_size_bytes", { user_id: "alice" }), 4096);
    assert.ok(has(s, "workspace_size_bytes", { user_id: "bob" }));
    assert.equal(t.removeWorkspace("bob"), true);
    assert.equal(t.removeWorkspace("bob"), false);
    s = await scrape(t.registry);
    assert.ok(!has(s, "workspace_size_bytes", { user_id: "bob" }));
  });

  it("negative or non-finite sizes are RangeErrors, non-numbers TypeErrors, naming setWorkspaceSize", () => {
    const t = fresh();
    for (const bad of [-1, -0.5, NaN, Infinity, -Infinity]) {
      assert.throws(
        () => t.setWorkspaceSize("alice", bad),
        (e: unknown) =>
          e instanceof RangeError &&
          e.message === `setWorkspaceSize: bytes must be a finite number >= 0, got ${bad}`,
      );
    }
    assert.throws(() => t.setWorkspaceSize("alice", "12" as unknown as number), TypeError);
    assert.throws(() => t.setWorkspaceSize("", 1), /setWorkspaceSize: userId must be/);
    assert.throws(() => t.setWorkspaceSize(7 as unknown as string, 1), TypeError);
    assert.throws(() => t.removeWorkspace(""), /removeWorkspace: userId must be/);
    assert.equal(t.metrics.workspaceSizeBytes.get({ user_id: "alice" }), 0);
  });

  it("has its own user cap; further users share __overflow__, and removal frees a place", async () => {
    const t = createTracking(new Registry(), { workspaceMaxUsers: 2 });
    t.setWorkspaceSize("u1", 1);
    t.setWorkspaceSize("u2", 2);
    t.setWorkspaceSize("u3", 3);
    t.setWorkspaceSize("u4", 4);
    let s = await scrape(t.registry);
    assert.ok(!has(s, "workspace_size_bytes", { user_id: "u3" }));
    assert.equal(valueOf(s, "workspace_size_bytes", { user_id: "__overflow__" }), 4);
    assert.equal(
      valueOf(s, "metrics_series_overflow_total", { metric: "workspace_size_bytes" }),
      2,
    );
    // The other metrics keep the default cap.
    assert.equal(t.metrics.userActionTotal.maxSeries, 10_000);

    assert.equal(t.removeWorkspace("u1"), true);
    assert.equal(t.removeWorkspace("__overflow__"), true);
    t.setWorkspaceSize("u5", 5);
    s = await scrape(t.registry);
    assert.equal(valueOf(s, "workspace_size_bytes", { user_id: "u5" }), 5);
  });
});

describe("analysis complexity", () => {
  it("observes scores into the 10-point buckets", async () => {
    const t = fresh();
    t.observeAnalysisComplexity("threat_model", 42);
    t.observeAnalysisComplexity("threat_model", 10);
    t.observeAnalysisComplexity("threat_model", 0);
    t.observeAnalysisComplexity("threat_model", 150);
    const s = await scrape(t.registry);
    const bucket = (le: string) =>
      valueOf(s, "analysis_complexity_bucket", { analysis_type: "threat_model", le });
    // Cumulative: 0 and 10 are <= 10; 42 is <= 50; 150 only in +Inf.
    assert.deepEqual(
      ["10", "20", "30", "40", "50", "60", "70", "80", "90", "100", "+Inf"].map(bucket),
      [2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4],
    );
    assert.equal(valueOf(s, "analysis_complexity_sum", { analysis_type: "threat_model" }), 202);
    assert.equal(valueOf(s, "analysis_complexity_count", { analysis_type: "threat_model" }), 4);
  });

  it("negative or non-finite scores are RangeErrors naming observeAnalysisComplexity", () => {
    const t = fresh();
    for (const bad of [-1, NaN, Infinity]) {
      assert.throws(
        () => t.observeAnalysisComplexity("threat_model", bad),
        (e: unknown) =>
          e instanceof RangeError && e.message.startsWith("observeAnalysisComplexity: score"),
      );
    }
    assert.throws(() => t.observeAnalysisComplexity("", 1), TypeError);
    assert.equal(t.metrics.analysisComplexity.get({ analysis_type: "threat_model" }), undefined);
  });
});
