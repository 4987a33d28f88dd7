/**
 * End to end, against a real Prometheus (Debian's `prometheus` package):
 * main.ts with the start task's permission flags and `--demo`, a fake LLM
 * API, the demo traffic generator, and Prometheus scraping both endpoints
 * every second with a configuration generated from prometheus.yml and the
 * repository's rule files.
 *
 * The server runs with an ingestion token, and the test posts event batches
 * to `/api/v1/events` (accepted, invalid, of an unsupported type, with an
 * unknown token), so the dashboard's ingestion row has data too.
 *
 * Checked through Prometheus' HTTP API: both targets up without scrape
 * errors; every rule loaded and healthy; every expression of every panel of
 * both dashboards, and every recording rule, non-empty; and the counters
 * Prometheus stored equal to what the test sent, computed from the request
 * log, the ingestion batches and the fake API's own log, not from the exporter.
 *
 * Twice: once with Prometheus' own `Accept` (it prefers OpenMetrics), once
 * with text 0.0.4 forced. Prometheus 2.42 has no `scrape_protocols` (2.49+),
 * so both runs scrape through a loopback proxy (`startScrapeProxy`) that
 * records the negotiation; in the second it rewrites `Accept` to
 * `text/plain;version=0.0.4`. The proxy's log proves which format was served.
 *
 * Deno only: main.ts is the Deno entry point, and so is the demo tooling.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeLLMServer, startFakeLLM } from "../../demo/fake_llm.ts";
import { runTraffic, type SentRequest } from "../../demo/traffic.ts";
import { panelExpressions, recordingRuleNames } from "../operations/_dashboards.ts";
import { isDeno, type MainProcess, startMain } from "../app/_support.ts";
import {
  type ApiSeries,
  type Prometheus,
  prometheusMissing,
  query,
  queryRange,
  repositoryConfig,
  rules,
  scalarOf,
  type ScrapeProxy,
  sleep,
  startPrometheus,
  startScrapeProxy,
  targets,
  writeTestConfig,
} from "./_prometheus.ts";
import { skipWithout } from "../_support/tools.ts";

const skip = !isDeno
  ? "main.ts and the demo tooling run under Deno only; run this file with deno test"
  : skipWithout(prometheusMissing);

const MODEL = "gpt-4o-mini";
const TEXT_ACCEPT = "text/plain;version=0.0.4";
const TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/** Requests the generator sends per run: the tour (~30) plus simulated users. */
const REQUESTS = 260;
/** Four scrape intervals: enough for rate() to find two samples. */
const RATE_WINDOW = "30s";
const JOBS = ["securetrack", "securetrack-custom"];
/** The ingestion client the test posts event batches as (`INGEST_TOKENS`). */
const INGEST_CLIENT = "e2e";
const INGEST_TOKEN = "e2e-ingest-token-0123456789";

/**
 * Posts event batches to the ingestion API: three accepted (two events
 * each), one invalid, one of an unsupported type and one with an unknown
 * token; returns the series Prometheus must then hold (selector → value).
 */
async function postIngestion(origin: string): Promise<Map<string, number>> {
  const post = async (body: string, type: string, token = INGEST_TOKEN): Promise<number> => {
    const res = await fetch(`${origin}/api/v1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": type },
      body,
    });
    await res.body?.cancel();
    return res.status;
  };
  const events = JSON.stringify([
    { kind: "user_action", action: "e2e_ingest" },
    { kind: "user_action", action: "e2e_ingest", seconds: 0.25 },
  ]);
  const statuses = [
    await post(events, "application/json"),
    await post(events, "application/json"),
    await post(events, "application/json"),
    await post(JSON.stringify([{ kind: "teleport" }]), "application/json"),
    await post(events, "text/plain"),
    await post(events, "application/json", "not-a-configured-token-0123"),
  ];
  assert.deepEqual(statuses, [200, 200, 200, 400, 415, 401]);
  const batches = `ingest_batches_total{job="securetrack",client="${INGEST_CLIENT}"`;
  const custom = '{job="securetrack-custom"';
  return new Map([
    [`${batches},outcome="accepted"}`, 3],
    [`${batches},outcome="invalid"}`, 1],
    [`${batches},outcome="unsupported"}`, 1],
    [`ingest_events_total{job="securetrack",client="${INGEST_CLIENT}",kind="user_action"}`, 6],
    // The configured client: 1, whatever number of server threads set it.
    [`ingest_clients{job="securetrack",client="${INGEST_CLIENT}"}`, 1],
    [`user_action_total${custom},action_type="e2e_ingest"}`, 6],
    [`sum(app_requests_total${custom},endpoint="/api/v1/events",status_code="401"})`, 1],
    [`sum(app_requests_total${custom},endpoint="/api/v1/events"})`, 6],
  ]);
}

/** Polls `check` until it returns undefined (done) or `ms` pass; returns its last complaint. */
async function poll(
  ms: number,
  check: () => Promise<string | undefined>,
): Promise<string | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const complaint = await check();
    if (complaint === undefined || Date.now() > end) return complaint;
    await sleep(500);
  }
}

/** The route template a demo request matches (the `handler` / `endpoint` label). */
function template(pathname: string): string {
  const fixed = ["/api/login", "/api/logout", "/api/register", "/api/llm/chat"];
  if (fixed.includes(pathname)) return pathname;
  const m = /^\/api\/(features|actions|workspaces)\/[^/]+$/.exec(pathname);
  if (m !== null) {
    return { features: "/api/features/:name", actions: "/api/actions/:type" }[m[1]] ??
      "/api/workspaces/:user";
  }
  return "none";
}

/** What the test expects Prometheus to hold, from the request log and the fake API's log. */
interface Expected {
  /** PromQL selector → value. */
  values: Map<string, number>;
  /** Each request's expected status, for a first sanity check. */
  statusErrors: string[];
}

function expectations(sent: readonly SentRequest[], fake: FakeLLMServer): Expected {
  const values = new Map<string, number>();
  const add = (selector: string, n = 1) => values.set(selector, (values.get(selector) ?? 0) + n);
  const statusErrors: string[] = [];
  let logins = 0;
  let logouts = 0;
  const workspaces = new Map<string, number>();
  const byHandler = new Map<string, number>();
  const custom = '{job="securetrack-custom"';
  for (const r of sent) {
    const url = new URL(r.path, "http://demo");
    const q = url.searchParams;
    const path = url.pathname;
    const handler = template(path);
    byHandler.set(handler, (byHandler.get(handler) ?? 0) + 1);
    let status = 200;
    if (path === "/api/login" && q.get("ok") === "0") {
      status = 401;
      add(`user_auth_failures_total${custom},reason="${q.get("reason")}"}`);
    } else if (path === "/api/login") {
      logins++;
    } else if (path === "/api/logout") {
      logouts++;
    } else if (path === "/api/register") {
      add(`user_registrations_total${custom}}`);
      add(
        'http_requests_total{job="securetrack",handler="/api/register",method="POST",status="2xx"}',
      );
    } else if (handler === "/api/features/:name") {
      const name = decodeURIComponent(path.split("/")[3]);
      add(`feature_usage_total${custom},feature_name="${name}"}`);
      if (q.get("fail") === "1") {
        status = 500;
        add(`feature_errors_total${custom},feature_name="${name}",error_type="DemoFeatureError"}`);
        add(`app_errors_total${custom},endpoint="${handler}",error_type="DemoFeatureError"}`);
      } else if (q.has("complexity")) {
        add(`analysis_complexity_count${custom},analysis_type="${name}"}`);
        add(
          `analysis_complexity_sum${custom},analysis_type="${name}"}`,
          Number(q.get("complexity")),
        );
      }
    } else if (handler === "/api/actions/:type") {
      add(`user_action_total${custom},action_type="${decodeURIComponent(path.split("/")[3])}"}`);
    } else if (handler === "/api/workspaces/:user") {
      workspaces.set(decodeURIComponent(path.split("/")[3]), Number(q.get("bytes")));
    } else if (path === "/api/llm/chat") {
      const endpoint = q.get("stream") === "1" ? "chat_stream" : "chat";
      add(`llm_requests_total${custom},model="${MODEL}",endpoint="${endpoint}"}`);
      const prompt = q.get("prompt") ?? "";
      if (prompt.includes("status=429")) {
        status = 500;
        add(`llm_rate_limits_total${custom},model="${MODEL}"}`);
        add(`llm_errors_total${custom},model="${MODEL}",error_type="rate_limited"}`);
      } else if (prompt.includes("status=500")) {
        status = 500;
        add(`llm_errors_total${custom},model="${MODEL}",error_type="http_5xx"}`);
      }
      if (status === 500) {
        add(`app_errors_total${custom},endpoint="${handler}",error_type="LLMError"}`);
      }
    } else {
      status = 404;
      add('http_requests_total{job="securetrack",handler="none",method="GET",status="4xx"}');
    }
    if (r.status !== status) {
      statusErrors.push(`${r.method} ${r.path}: ${r.status}, expected ${status}`);
    }
  }
  add(`user_logins_total${custom}}`, logins);
  add(`app_active_sessions${custom}}`, logins - logouts);
  for (const [user, bytes] of workspaces) {
    add(`workspace_size_bytes${custom},user_id="${user}"}`, bytes);
  }
  for (const [handler, n] of byHandler) {
    add(`sum(http_requests_total{job="securetrack",handler="${handler}"})`, n);
    add(`sum(app_requests_total${custom},endpoint="${handler}"})`, n);
  }
  // The fake API's own log: what it reported and sent for each successful call.
  const ok = fake.calls.filter((c) => c.status === 200);
  add(
    `llm_tokens_total${custom},model="${MODEL}",type="prompt"}`,
    ok.reduce((s, c) => s + c.promptTokens, 0),
  );
  add(
    `llm_tokens_total${custom},model="${MODEL}",type="completion"}`,
    ok.reduce((s, c) => s + c.completionTokens, 0),
  );
  add(`llm_completion_size_bytes_count${custom},model="${MODEL}"}`, ok.length);
  add(
    `llm_completion_size_bytes_sum${custom},model="${MODEL}"}`,
    ok.reduce((s, c) => s + c.completionBytes, 0),
  );
  return { values, statusErrors };
}

async function stopMain(main: MainProcess): Promise<void> {
  main.signal("SIGTERM");
  await Promise.race([main.exited, sleep(5000)]);
  await main.kill();
}

/** One whole run: everything started, checked and stopped. */
async function endToEnd(mode: "openmetrics" | "text"): Promise<void> {
  const t0 = performance.now();
  const timings: string[] = [];
  const lap = (what: string) =>
    timings.push(`${what} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const tmp = mkdtempSync(join(tmpdir(), "securetrack-e2e-"));
  let fake: FakeLLMServer | undefined;
  let main: MainProcess | undefined;
  let proxy: ScrapeProxy | undefined;
  let prometheus: Prometheus | undefined;
  try {
    fake = await startFakeLLM();
    main = await startMain(["--demo"], {
      LLM_BASE_URL: fake.baseUrl,
      LLM_MODEL: MODEL,
      LLM_API_KEY: fake.apiKey,
      INGEST_TOKENS: `${INGEST_CLIENT}:${INGEST_TOKEN}`,
    });
    proxy = await startScrapeProxy(main.origin, mode === "text" ? TEXT_ACCEPT : undefined);
    const config = writeTestConfig(tmp, proxy.target, "1s");
    const dataDir = join(tmp, "data");
    mkdirSync(dataDir);
    prometheus = await startPrometheus(config, dataDir);
    const api = prometheus.url;
    lap("started");

    // Both targets scraped once before the traffic, so the rates see it arrive.
    const firstScrape = await poll(20_000, async () => {
      for (const job of JOBS) {
        if ((await query(api, `up{job="${job}"} == 1`)).length === 0) return `${job} not up`;
      }
    });
    assert.equal(firstScrape, undefined, `first scrape: ${firstScrape}\n${prometheus.output()}`);
    lap("first scrape");

    const ingested = await postIngestion(main.origin);
    const traffic = await runTraffic({
      url: main.origin,
      requests: REQUESTS,
      rate: 0,
      concurrency: 6,
      latencyScale: 0.1,
      seed: mode === "text" ? 2 : 1,
    });
    const trafficEnd = Date.now();
    lap("traffic");
    assert.equal(traffic.sent.length, REQUESTS);
    const noResponse = traffic.sent.filter((r) => r.status === 0);
    assert.deepEqual(noResponse, [], "every request got a response");

    // Every target scraped (at least) twice after the last response.
    const scraped = await poll(20_000, async () => {
      const ts = await targets(api);
      for (const job of JOBS) {
        const t = ts.find((x) => x.labels.job === job);
        if (t === undefined) return `no target for ${job}`;
        if (Date.parse(t.lastScrape) < trafficEnd + 1000) return `${job} not scraped since traffic`;
      }
    });
    assert.equal(scraped, undefined, scraped);
    lap("scraped after traffic");

    // Targets: both jobs of prometheus.yml, up, no scrape error, scraped more than twice.
    const active = await targets(api);
    assert.deepEqual(
      active.map((t) => t.labels.job).sort(),
      repositoryConfig().scrape_configs.map((j) => j.job_name).sort(),
    );
    for (const t of active) {
      assert.equal(t.health, "up", `${t.labels.job}: ${t.lastError}`);
      assert.equal(t.lastError, "", t.labels.job);
      assert.ok(t.scrapeUrl.startsWith(`http://${proxy.target}/`), t.scrapeUrl);
      const n = await scalarOf(api, `count_over_time(up{job="${t.labels.job}"}[5m])`);
      assert.ok(n >= 2, `${t.labels.job} scraped ${n} times`);
    }

    // Rules: every rule of rules/*.yml loaded and evaluating without error.
    const loaded = await rules(api);
    const broken = loaded.filter((r) => r.health !== "ok" || (r.lastError ?? "") !== "");
    assert.deepEqual(broken, [], "rules with errors");
    for (const name of recordingRuleNames()) {
      assert.ok(
        loaded.some((r) => r.type === "recording" && r.name === name),
        `rule ${name} loaded`,
      );
    }

    // Every panel expression and every recording rule has data.
    const panels = panelExpressions({ rateInterval: RATE_WINDOW });
    const recorded = recordingRuleNames();
    let empty: string[] = [];
    const filled = await poll(30_000, async () => {
      empty = [];
      for (const p of panels) {
        const result: ApiSeries[] = p.instant
          ? await query(api, p.expr)
          : await queryRange(api, p.expr, 20, 1);
        if (result.length === 0) empty.push(`${p.dashboard} / ${p.panel} (${p.refId}): ${p.expr}`);
      }
      for (const name of recorded) {
        if ((await query(api, name)).length === 0) empty.push(`recording rule ${name}`);
      }
      return empty.length === 0 ? undefined : `${empty.length} empty`;
    });
    assert.equal(filled, undefined, `expressions without data:\n  ${empty.join("\n  ")}`);
    lap("panels");

    // Counters Prometheus stored equal what was sent.
    const expected = expectations(traffic.sent, fake);
    for (const [selector, value] of ingested) expected.values.set(selector, value);
    assert.deepEqual(expected.statusErrors, [], "responses with another status than the route's");
    assert.equal(
      fake.calls.length,
      traffic.sent.filter((r) => r.path.startsWith("/api/llm/chat")).length,
      "every LLM request reached the fake API once",
    );
    const wrong: string[] = [];
    for (const [selector, value] of expected.values) {
      const got = await scalarOf(api, selector).catch((e: Error) => e.message);
      if (got !== value) wrong.push(`${selector}: Prometheus has ${got}, sent ${value}`);
    }
    assert.deepEqual(wrong, [], "stored values differ from what was sent");
    lap("counters");

    // The format each scrape was served in.
    const scrapes = proxy.relayed.filter((s) =>
      s.path === "/metrics" || s.path === "/custom_metrics"
    );
    for (const path of ["/metrics", "/custom_metrics"]) {
      assert.ok(
        scrapes.filter((s) => s.path === path).length >= 2,
        `${path} scraped through the proxy`,
      );
    }
    for (const s of scrapes) {
      assert.equal(s.status, 200, s.path);
      // Prometheus 2.42 always asks for OpenMetrics first.
      assert.match(s.acceptReceived ?? "", /^application\/openmetrics-text;version=1\.0\.0/);
      if (mode === "text") {
        assert.equal(s.acceptForwarded, TEXT_ACCEPT);
        assert.equal(s.contentType, TEXT_TYPE, s.path);
      } else {
        assert.equal(s.acceptForwarded, s.acceptReceived);
        assert.equal(s.contentType, OM_TYPE, s.path);
      }
    }
    lap("formats");
    console.log(`e2e ${mode}: ${timings.join(", ")}`);
  } finally {
    await prometheus?.stop();
    await proxy?.close();
    if (main !== undefined) await stopMain(main);
    await fake?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

// The skip is on each test, not on the suite: Bun hides skipped suites with their reason.
describe("end to end: main.ts --demo, demo traffic, a real Prometheus", () => {
  it("OpenMetrics (Prometheus' own Accept): up, every panel and rule filled, counters exact", {
    skip,
  }, async () => {
    await endToEnd("openmetrics");
  });

  it("text 0.0.4 (Accept rewritten by the scrape proxy): the same checks", { skip }, async () => {
    await endToEnd("text");
  });
});

// Bun prints a skipped test's name but not its reason: this line names it.
if (skip) it(`end-to-end tests skipped: ${skip}`, { skip: true }, () => {});
