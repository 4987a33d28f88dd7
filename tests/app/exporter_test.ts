/**
 * createExporter on registries it is given: several exporters in one
 * isolate, each counting only its own requests; collectors registered once
 * per registry; and how it reports (one log, a failure once per handler and
 * error type). Requests go to the fetch handlers directly: no server.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/mod.ts";
import { customRegistry as moduleCustomRegistry } from "../../src/tracking/mod.ts";
import { createExporter, type Exporter } from "../../app/exporter.ts";
import { silentLog } from "../../app/log.ts";
import { parseText, sampleMap } from "../_support/parse.ts";
import { samplesNamed, valueIn } from "./_support.ts";
import { assertSeconds, histogramOf } from "../tracking/_support.ts";

/** Sends `path` to the handler (GET) and reads the whole body. */
async function get(exporter: Exporter, path: string): Promise<{ status: number; body: string }> {
  const res = await exporter.fetch(new Request(`http://127.0.0.1${path}`));
  return { status: res.status, body: await res.text() };
}

async function scrape(exporter: Exporter, path: "/metrics" | "/custom_metrics") {
  const res = await get(exporter, path);
  assert.equal(res.status, 200, `${path}: ${res.body}`);
  return parseText(res.body);
}

/** A fresh pair of registries and an exporter on them, its messages collected. */
function fresh(options: { demo?: boolean } = {}) {
  const registry = new Registry();
  const customRegistry = new Registry();
  const logged: string[] = [];
  const exporter = createExporter({
    registry,
    customRegistry,
    demo: options.demo,
    log: (m) => logged.push(m),
    notices: silentLog,
  });
  return { registry, customRegistry, exporter, logged };
}

describe("createExporter: two exporters in one isolate", () => {
  it("each one's /metrics and /custom_metrics count only its own requests", async () => {
    const loginsBefore = valueIn(
      parseText(await moduleCustomRegistry.metrics()),
      "user_logins_total",
    );
    const a = fresh({ demo: true });
    const b = fresh({ demo: true });
    const plan = {
      a: { healthz: 5, logins: 2, missing: 1 },
      b: { healthz: 3, logins: 4, missing: 2 },
    };
    for (const [name, server] of [["a", a], ["b", b]] as const) {
      const p = plan[name];
      for (let i = 0; i < p.healthz; i++) {
        assert.equal((await get(server.exporter, "/healthz")).status, 200);
      }
      for (let i = 0; i < p.logins; i++) {
        assert.equal((await get(server.exporter, "/api/login")).status, 200);
      }
      for (let i = 0; i < p.missing; i++) {
        assert.equal((await get(server.exporter, "/no/such/page")).status, 404);
      }
    }
    for (const [name, server] of [["a", a], ["b", b]] as const) {
      const p = plan[name];
      const metrics = await scrape(server.exporter, "/metrics");
      const http = (status: string, handler: string) =>
        valueIn(metrics, "http_requests_total", { method: "GET", status, handler });
      assert.equal(http("2xx", "/healthz"), p.healthz, `${name}: /healthz`);
      assert.equal(http("2xx", "/api/login"), p.logins, `${name}: /api/login`);
      assert.equal(http("4xx", "none"), p.missing, `${name}: 404s`);
      const total = samplesNamed(metrics, "http_requests_total").reduce((s, x) => s + x.value, 0);
      assert.equal(total, p.healthz + p.logins + p.missing, `${name}: sum of http_requests_total`);
      // The collectors are registered in each exporter's own registry.
      assert.ok(metrics.some((f) => f.name === "process_cpu_seconds_total"), `${name}: process`);

      const custom = await scrape(server.exporter, "/custom_metrics");
      const app = (endpoint: string, status_code: string) =>
        valueIn(custom, "app_requests_total", { endpoint, method: "GET", status_code });
      assert.equal(app("/healthz", "200"), p.healthz, `${name}: app_requests_total /healthz`);
      assert.equal(app("/metrics", "200"), 1, `${name}: app_requests_total /metrics`);
      // The demo routes record into the exporter's own catalogue too.
      assert.equal(valueIn(custom, "user_logins_total"), p.logins, `${name}: user_logins_total`);
      assert.equal(valueIn(custom, "app_active_sessions"), p.logins, `${name}: sessions`);
      assert.deepEqual(server.logged, [], `${name} logged`);
    }
    // Nothing reached the module-level catalogue.
    assert.equal(
      valueIn(parseText(await moduleCustomRegistry.metrics()), "user_logins_total"),
      loginsBefore,
    );
  });

  it("a second exporter on the same registries does not throw, and shares their series", async () => {
    const first = fresh();
    const notices: string[] = [];
    const second = createExporter({
      registry: first.registry,
      customRegistry: first.customRegistry,
      notices: (m) => notices.push(m),
    });
    assert.deepEqual(notices, [], "collectors (and their notice) come once per registry");
    await get(first.exporter, "/healthz");
    await get(second, "/healthz");
    const metrics = await scrape(second, "/metrics");
    const http = { method: "GET", status: "2xx", handler: "/healthz" };
    assert.equal(valueIn(metrics, "http_requests_total", http), 2);
    const custom = await scrape(first.exporter, "/custom_metrics");
    const app = { endpoint: "/healthz", method: "GET", status_code: "200" };
    assert.equal(valueIn(custom, "app_requests_total", app), 2);
  });
});

describe("createExporter: request durations are seconds", () => {
  // Waits 500 ms in all: more than Bun's default 5 s per test allows on a loaded machine.
  it("a 250 ms demo request and an immediate one, in every duration histogram they feed", {
    timeout: 60_000,
  }, async () => {
    const { exporter } = fresh({ demo: true });
    // The demo routes wait ?ms= milliseconds (a timer: 250 ms, checked as at least 200).
    for (const path of ["/api/actions/upload", "/api/features/report"]) {
      assert.equal((await get(exporter, `${path}?ms=250`)).status, 200, path);
      assert.equal((await get(exporter, `${path}?ms=0`)).status, 200, path);
    }
    const slow = { slow: 1, slowSeconds: 0.2, fast: 1 };
    const both = { slow: 2, slowSeconds: 0.2, fast: 2 };
    // The /metrics scrape in progress is not counted yet: only the four requests.
    const metrics = sampleMap(await scrape(exporter, "/metrics"));
    assertSeconds(
      histogramOf(metrics, "http_request_duration_highr_seconds"),
      both,
      "http_request_duration_highr_seconds",
    );
    const custom = sampleMap(await scrape(exporter, "/custom_metrics"));
    for (const handler of ["/api/actions/:type", "/api/features/:name"]) {
      assertSeconds(
        histogramOf(metrics, "http_request_duration_seconds", { handler, method: "GET" }),
        slow,
        `http_request_duration_seconds{${handler}}`,
      );
      assertSeconds(
        histogramOf(custom, "app_request_duration_seconds", { endpoint: handler, method: "GET" }),
        slow,
        `app_request_duration_seconds{${handler}}`,
      );
    }
    assertSeconds(
      histogramOf(custom, "user_action_duration_seconds", { action_type: "upload" }),
      slow,
      "user_action_duration_seconds",
    );
    assertSeconds(
      histogramOf(custom, "feature_duration_seconds", { feature_name: "report" }),
      slow,
      "feature_duration_seconds",
    );
  });
});

describe("createExporter: reporting", () => {
  it("a failing route: every failure counted, each (handler, error type) logged once", async () => {
    const { exporter, logged } = fresh({ demo: true });
    for (let i = 0; i < 5; i++) {
      assert.equal((await get(exporter, "/api/features/threat_analysis?fail=1")).status, 500);
      assert.equal((await get(exporter, "/api/features/data_flow?fail=1")).status, 500);
    }
    assert.equal(logged.length, 1, logged.join("\n"));
    assert.match(logged[0], /\/api\/features\/:name failed with DemoFeatureError/);
    assert.ok(!logged[0].includes("\n"), "one line");
    const custom = await scrape(exporter, "/custom_metrics");
    assert.equal(
      valueIn(custom, "app_errors_total", {
        endpoint: "/api/features/:name",
        error_type: "DemoFeatureError",
      }),
      10,
    );
  });

  it("notices about the runtime go to `notices`, once per registry, never to `log`", () => {
    const registry = new Registry();
    const customRegistry = new Registry();
    const logged: string[] = [];
    const notices: string[] = [];
    const log = (m: string) => logged.push(m);
    createExporter({ registry, customRegistry, log, notices: (m) => notices.push(m) });
    createExporter({ registry, customRegistry, log, notices: (m) => notices.push(m) });
    assert.deepEqual(logged, []);
    // One notice where /proc cannot be read (Deno without --allow-all), none elsewhere.
    assert.ok(notices.length <= 1, notices.join("\n"));
    for (const n of notices) assert.match(n, /^process_\w+(, process_\w+)* left out: /);
  });
});
