/**
 * main.ts as a subprocess, started with exactly the permission flags of the
 * `start` task in deno.json. Deno only: main.ts is the Deno entry point.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseOpenMetrics, parseText } from "../_support/parse.ts";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";
import {
  fetchText,
  isDeno,
  type MainProcess,
  REPO_ROOT,
  runMain,
  startMain,
  startTaskFlags,
  valueIn,
} from "./_support.ts";

const TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0," +
  "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const TOKEN = "main-test-token-5d41402abc4b2a76";

const skip = !isDeno && "main.ts is the Deno entry point (Deno.serve); run these under deno test";

async function withMain(
  args: string[],
  env: Record<string, string>,
  body: (main: MainProcess) => Promise<void>,
): Promise<MainProcess> {
  const main = await startMain(args, env);
  try {
    await body(main);
  } finally {
    await main.kill();
  }
  return main;
}

describe("main.ts: the start task", { skip }, () => {
  it("runs without -A: its permission flags are explicit", () => {
    const flags = startTaskFlags(readFileSync(`${REPO_ROOT}deno.json`, "utf8"));
    assert.ok(flags.length > 0);
    for (const f of flags) assert.ok(f.startsWith("--"), f);
    assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"), flags.join(" "));
    assert.ok(flags.some((f) => f.startsWith("--allow-net")), flags.join(" "));
    assert.ok(flags.some((f) => f.startsWith("--allow-env")), flags.join(" "));
  });

  it("says where it listens (one line on stderr, nothing on stdout) and serves /, /healthz and 404", async () => {
    await withMain([], {}, async ({ origin, stdout, stderr }) => {
      assert.match(stderr(), /^securetrack-metrics listening on http:\/\/127\.0\.0\.1:\d+\//m);
      assert.equal(stdout(), "");
      const index = await fetchText(origin + "/");
      assert.equal(index.status, 200);
      for (const p of ["/metrics", "/custom_metrics", "/healthz"]) {
        assert.ok(index.body.includes(p));
      }
      const health = await fetchText(origin + "/healthz");
      assert.equal(health.status, 200);
      assert.equal(JSON.parse(health.body).status, "ok");
      assert.equal((await fetchText(origin + "/wp-login.php")).status, 404);
    });
  });

  it("both endpoints answer in text and in OpenMetrics with the right Content-Type", async () => {
    await withMain([], {}, async ({ origin }) => {
      for (const path of ["/metrics", "/custom_metrics"]) {
        const text = await fetchText(origin + path);
        assert.equal(text.status, 200, path);
        assert.equal(text.headers.get("content-type"), TEXT_TYPE, path);
        assert.ok(parseText(text.body).length > 0, path);
        const om = await fetchText(origin + path, { headers: { Accept: PROMETHEUS_ACCEPT } });
        assert.equal(om.status, 200, path);
        assert.equal(om.headers.get("content-type"), OM_TYPE, path);
        assert.ok(parseOpenMetrics(om.body).length > 0, path);
      }
    });
  });

  it("/metrics has the HTTP, process and runtime metrics; /custom_metrics the catalogue", async () => {
    await withMain([], {}, async ({ origin }) => {
      await fetchText(origin + "/healthz");
      const names = parseText((await fetchText(origin + "/metrics")).body).map((f) => f.name);
      for (
        const n of [
          "http_requests_total",
          "http_request_size_bytes",
          "http_response_size_bytes",
          "http_request_duration_highr_seconds",
          "http_request_duration_seconds",
          "http_requests_inprogress",
          "process_cpu_seconds_total",
          "process_resident_memory_bytes",
          "process_start_time_seconds",
          "deno_heap_size_used_bytes",
          "deno_version_info",
        ]
      ) {
        assert.ok(names.includes(n), `${n} missing from /metrics`);
      }
      const custom = parseText((await fetchText(origin + "/custom_metrics")).body).map((f) =>
        f.name
      );
      // From the user's document: one name of each group.
      for (
        const n of [
          "llm_requests_total",
          "app_requests_total",
          "app_active_sessions",
          "feature_usage_total",
        ]
      ) {
        assert.ok(custom.includes(n), `${n} missing from /custom_metrics (have ${custom})`);
      }
      assert.ok(
        !custom.includes("http_requests_total"),
        "HTTP metrics leaked into /custom_metrics",
      );
    });
  });

  it("the HTTP metrics count the test's own requests exactly", async () => {
    await withMain([], {}, async ({ origin }) => {
      const N = 7;
      for (let i = 0; i < N; i++) assert.equal((await fetchText(origin + "/healthz")).status, 200);
      for (let i = 0; i < 3; i++) await fetchText(origin + "/custom_metrics");
      await fetchText(origin + "/no/such/page");
      await fetchText(origin + "/metrics");
      const fams = parseText((await fetchText(origin + "/metrics")).body);
      const total = (status: string, handler: string) =>
        valueIn(fams, "http_requests_total", { method: "GET", status, handler });
      assert.equal(total("2xx", "/healthz"), N);
      assert.equal(total("2xx", "/custom_metrics"), 3);
      assert.equal(total("4xx", "none"), 1);
      assert.equal(total("2xx", "/metrics"), 1); // the scrape in progress is not counted yet
      assert.equal(valueIn(fams, "http_requests_inprogress"), 1);
    });
  });

  it("the same requests feed the catalogue's app_requests_total and app_request_duration_seconds", async () => {
    await withMain([], {}, async ({ origin }) => {
      const N = 4;
      for (let i = 0; i < N; i++) await fetchText(origin + "/healthz");
      await fetchText(origin + "/no/such/page");
      const fams = parseText((await fetchText(origin + "/custom_metrics")).body);
      const app = (endpoint: string, status_code: string) =>
        valueIn(fams, "app_requests_total", { endpoint, method: "GET", status_code });
      assert.equal(app("/healthz", "200"), N);
      assert.equal(
        valueIn(fams, "app_request_duration_seconds_count", {
          endpoint: "/healthz",
          method: "GET",
        }),
        N,
      );
    });
  });

  it("a route that throws: 500, counted as 5xx and in app_errors_total by class name; still up", async () => {
    await withMain(["--demo"], {}, async ({ origin, stderr }) => {
      const failed = await fetchText(origin + "/api/features/threat_analysis?fail=1");
      assert.equal(failed.status, 500);
      assert.equal((await fetchText(origin + "/healthz")).status, 200);
      const http = parseText((await fetchText(origin + "/metrics")).body);
      assert.equal(
        valueIn(http, "http_requests_total", {
          method: "GET",
          status: "5xx",
          handler: "/api/features/:name",
        }),
        1,
      );
      const custom = parseText((await fetchText(origin + "/custom_metrics")).body);
      assert.equal(
        valueIn(custom, "app_errors_total", {
          endpoint: "/api/features/:name",
          error_type: "DemoFeatureError",
        }),
        1,
      );
      assert.equal(
        valueIn(custom, "app_requests_total", {
          endpoint: "/api/features/:name",
          method: "GET",
          status_code: "500",
        }),
        1,
      );
      assert.match(stderr(), /DemoFeatureError/);
    });
  });

  it("`promtool check metrics` prints nothing for either endpoint", {
    skip: promtoolSkip,
  }, async () => {
    await withMain([], {}, async ({ origin }) => {
      await fetchText(origin + "/healthz");
      await fetchText(origin + "/nope");
      for (const path of ["/metrics", "/custom_metrics"]) {
        const res = await fetchText(origin + path);
        assert.equal(res.status, 200);
        const r = checkMetrics(res.body);
        assert.equal(r.stdout + r.stderr, "", path);
        assert.equal(r.status, 0, path);
      }
    });
  });
});

describe("main.ts: auth", { skip }, () => {
  it("with METRICS_AUTH_TOKEN: 401 + WWW-Authenticate without it, 200 with it, /healthz open", async () => {
    const main = await withMain([], { METRICS_AUTH_TOKEN: TOKEN }, async ({ origin }) => {
      for (const path of ["/metrics", "/custom_metrics"]) {
        for (const auth of [undefined, "Bearer wrong", `Basic ${btoa(`x:${TOKEN}`)}`]) {
          const res = await fetchText(origin + path, {
            headers: auth === undefined ? {} : { Authorization: auth },
          });
          assert.equal(res.status, 401, `${path} ${auth}`);
          assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer\b/);
        }
        const ok = await fetchText(origin + path, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        });
        assert.equal(ok.status, 200, path);
        assert.equal(ok.headers.get("content-type"), TEXT_TYPE);
      }
      assert.equal((await fetchText(origin + "/healthz")).status, 200);
    });
    assert.ok(!main.stdout().includes(TOKEN), "token in stdout");
    assert.ok(!main.stderr().includes(TOKEN), "token in stderr");
  });

  it("with --metrics-auth-token: the token is required and never printed", async () => {
    const main = await withMain(["--metrics-auth-token", TOKEN], {}, async ({ origin }) => {
      assert.equal((await fetchText(origin + "/metrics")).status, 401);
      const ok = await fetchText(origin + "/metrics", {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(ok.status, 200);
    });
    assert.ok(!main.stdout().includes(TOKEN), "token in stdout");
    assert.ok(!main.stderr().includes(TOKEN), "token in stderr");
  });

  it("without a token both endpoints are open", async () => {
    await withMain([], {}, async ({ origin }) => {
      assert.equal((await fetchText(origin + "/metrics")).status, 200);
      assert.equal((await fetchText(origin + "/custom_metrics")).status, 200);
    });
  });
});

describe("main.ts: bad configuration", { skip }, () => {
  it("--help prints the usage and exits 0 without listening", async () => {
    const r = await runMain(["--help"], { HOSTNAME: "127.0.0.1" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--port/);
    assert.match(r.stdout, /METRICS_AUTH_TOKEN/);
    assert.ok(!r.stdout.includes("listening"));
  });

  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["PORT=abc", [], { PORT: "abc" }, /\bPORT\b/],
    ["PORT=70000", [], { PORT: "70000" }, /\bPORT\b/],
    ["--port -1", ["--port", "-1"], {}, /--port\b/],
    ["an unknown flag", ["--bogus"], {}, /--bogus\b/],
  ];
  for (const [what, args, env, names] of cases) {
    it(`${what}: exit code 2 and one clear line on stderr, no token`, async () => {
      const r = await runMain(args, { HOSTNAME: "127.0.0.1", METRICS_AUTH_TOKEN: TOKEN, ...env });
      assert.equal(r.code, 2, `exit ${r.code ?? r.signal}; stderr: ${r.stderr}`);
      const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
      assert.equal(lines.length, 1, `stderr: ${r.stderr}`);
      assert.match(lines[0], names);
      assert.ok(!r.stdout.includes("listening"), "it must not start");
      assert.ok(!(r.stdout + r.stderr).includes(TOKEN), "token printed");
    });
  }
});

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`main.ts subprocess tests skipped: ${skip}`, { skip: true }, () => {});
