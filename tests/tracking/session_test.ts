/**
 * Sessions and registration: the active-sessions gauge never goes below
 * zero, the counters count, and auth-failure reasons are checked, truncated
 * and capped.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { createTracking, type Tracking } from "../../src/tracking/mod.ts";
import { changes, expected, scrape, valueOf } from "./_support.ts";

function fresh(): Tracking {
  return createTracking(new Registry());
}

describe("sessions", () => {
  it("start and end move app_active_sessions by one", async () => {
    const t = fresh();
    t.trackSessionStart();
    t.trackSessionStart();
    t.trackSessionStart();
    t.trackSessionEnd();
    assert.equal(valueOf(await scrape(t.registry), "app_active_sessions"), 2);
  });

  it("never goes below zero, however many ends there are, and counts correctly after", async () => {
    const t = fresh();
    t.trackSessionStart();
    for (let i = 0; i < 5; i++) t.trackSessionEnd();
    assert.equal(valueOf(await scrape(t.registry), "app_active_sessions"), 0);
    t.trackSessionStart();
    assert.equal(valueOf(await scrape(t.registry), "app_active_sessions"), 1);
    t.trackSessionEnd();
    t.trackSessionEnd();
    assert.equal(valueOf(await scrape(t.registry), "app_active_sessions"), 0);
  });
});

describe("registration and login", () => {
  it("login, registration and auth failures count exactly", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    t.trackUserLogin();
    t.trackUserLogin();
    t.trackUserRegistration();
    t.trackAuthFailure("invalid_password");
    t.trackAuthFailure("invalid_password");
    t.trackAuthFailure("unknown_user");
    assert.deepEqual(
      changes(before, await scrape(t.registry)),
      expected([
        ["user_logins_total", {}, 2],
        ["user_registrations_total", {}, 1],
        ["user_auth_failures_total", { reason: "invalid_password" }, 2],
        ["user_auth_failures_total", { reason: "unknown_user" }, 1],
      ]),
    );
  });

  it("an empty or non-string reason is a TypeError naming trackAuthFailure; nothing is counted", async () => {
    const t = fresh();
    const before = await scrape(t.registry);
    assert.throws(() => t.trackAuthFailure(""), {
      name: "TypeError",
      message: 'trackAuthFailure: reason must be a non-empty string, got ""',
    });
    for (const bad of [undefined, null, 401, true, { reason: "x" }]) {
      assert.throws(
        () => t.trackAuthFailure(bad as unknown as string),
        (e: unknown) => e instanceof TypeError && e.message.startsWith("trackAuthFailure: reason"),
      );
    }
    assert.deepEqual(changes(before, await scrape(t.registry)), new Map());
  });

  it("a long reason is cut to 128 characters, without splitting a surrogate pair", async () => {
    const t = fresh();
    t.trackAuthFailure("r".repeat(300));
    t.trackAuthFailure("s".repeat(127) + "😀 and more");
    const s = await scrape(t.registry);
    assert.equal(valueOf(s, "user_auth_failures_total", { reason: "r".repeat(128) }), 1);
    assert.equal(valueOf(s, "user_auth_failures_total", { reason: "s".repeat(127) }), 1);
  });

  it("free-text reasons are capped: past maxSeries they fold into __overflow__, counted", async () => {
    const t = createTracking(new Registry(), { maxSeries: 3 });
    for (let i = 0; i < 5; i++) t.trackAuthFailure(`reason ${i}`);
    t.trackAuthFailure("reason 0");
    const s = await scrape(t.registry);
    for (let i = 0; i < 3; i++) {
      assert.equal(
        valueOf(s, "user_auth_failures_total", { reason: `reason ${i}` }),
        i === 0 ? 2 : 1,
      );
    }
    assert.equal(valueOf(s, "user_auth_failures_total", { reason: "__overflow__" }), 2);
    assert.equal(
      valueOf(s, "metrics_series_overflow_total", { metric: "user_auth_failures_total" }),
      2,
    );
  });
});
