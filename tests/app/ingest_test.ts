// POST /api/v1/events on a real loopback server (Deno.serve or Bun.serve):
// every event kind recorded as its helper records it, read back through a
// real scrape of /custom_metrics; auth, content types, limits, bad batches
// (all or nothing, each bad event listed) and Idempotency-Key.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/mod.ts";
import { createExporter } from "../../app/exporter.ts";
import { INGEST_PATH, ingestHandler, type IngestOptions } from "../../app/ingest.ts";
import { createTracking } from "../../src/tracking/mod.ts";
import { silentLog } from "../../app/log.ts";
import { parseText } from "../_support/parse.ts";
import {
  fetchText,
  type LoopbackServer,
  samplesNamed,
  serveOnLoopback,
  valueIn,
} from "./_support.ts";

const TOKEN = "ingest-token-0123456789";
const OTHER = "other-token-9876543210";
const METRICS = "metrics-token-abcdef0123";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const JSON_BODY = { ...AUTH, "Content-Type": "application/json" };

/** An exporter with ingestion on its own registries, on a loopback server. */
async function start(options: Partial<IngestOptions> = {}) {
  const registry = new Registry();
  const customRegistry = new Registry();
  const exporter = createExporter({
    registry,
    customRegistry,
    authToken: METRICS,
    log: silentLog,
    ingest: {
      tokens: [{ name: "fastapi", token: TOKEN }, { name: "beacon", token: OTHER }],
      ...options,
    },
  });
  const server = await serveOnLoopback(exporter.fetch);
  return { server, registry, customRegistry, url: server.origin + INGEST_PATH };
}

async function post(url: string, body: string, headers: Record<string, string> = JSON_BODY) {
  const res = await fetchText(url, { method: "POST", headers, body });
  return { status: res.status, headers: res.headers, json: JSON.parse(res.body) };
}

/** /custom_metrics scraped over HTTP, as Prometheus would. */
async function scrape(server: LoopbackServer) {
  const res = await fetchText(`${server.origin}/custom_metrics`, {
    headers: { Authorization: `Bearer ${METRICS}` },
  });
  assert.equal(res.status, 200);
  return parseText(res.body);
}

async function stopping<T>(server: LoopbackServer, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await server.close();
  }
}

const EVERY_KIND = [
  { kind: "feature_run", feature: "threat_analysis", seconds: 1.5 },
  { kind: "feature_run", feature: "threat_analysis", seconds: 0.5, error_type: "TimeoutError" },
  { kind: "session_start" },
  { kind: "session_start" },
  { kind: "session_end" },
  { kind: "login" },
  { kind: "registration" },
  { kind: "auth_failure", reason: "invalid_password" },
  { kind: "user_action", action: "document_upload", seconds: 2 },
  { kind: "user_action", action: "document_upload" },
  { kind: "workspace_size", user_id: "u1", bytes: 4096 },
  { kind: "workspace_size", user_id: "u2", bytes: 10 },
  { kind: "workspace_removed", user_id: "u2" },
  { kind: "analysis_complexity", analysis_type: "threat_model", score: 42 },
  {
    kind: "app_request",
    endpoint: "/api/items/:id",
    method: "get",
    status_code: 200,
    seconds: 0.02,
  },
  { kind: "app_error", endpoint: "/api/items/:id", error_type: "db_unavailable" },
  {
    kind: "llm_call",
    model: "gpt-4o",
    endpoint: "chat",
    seconds: 1.2,
    prompt_tokens: 100,
    completion_tokens: 20,
    completion_bytes: 80,
  },
  { kind: "llm_call", model: "gpt-4o", endpoint: "chat", seconds: 0.1, error_type: "rate_limited" },
];

describe("POST /api/v1/events", () => {
  it("records every kind as its helper would, with counts in the answer", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const res = await post(url, JSON.stringify(EVERY_KIND));
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, {
        accepted: EVERY_KIND.length,
        counts: {
          feature_run: 2,
          session_start: 2,
          session_end: 1,
          login: 1,
          registration: 1,
          auth_failure: 1,
          user_action: 2,
          workspace_size: 2,
          workspace_removed: 1,
          analysis_complexity: 1,
          app_request: 1,
          app_error: 1,
          llm_call: 2,
        },
      });
      const f = await scrape(server);
      const checks: [string, Record<string, string>, number][] = [
        ["feature_usage_total", { feature_name: "threat_analysis" }, 2],
        ["feature_duration_seconds_sum", { feature_name: "threat_analysis" }, 2],
        [
          "feature_errors_total",
          { feature_name: "threat_analysis", error_type: "TimeoutError" },
          1,
        ],
        ["app_active_sessions", {}, 1],
        ["user_logins_total", {}, 1],
        ["user_registrations_total", {}, 1],
        ["user_auth_failures_total", { reason: "invalid_password" }, 1],
        ["user_action_total", { action_type: "document_upload" }, 2],
        ["user_action_duration_seconds_count", { action_type: "document_upload" }, 1],
        ["workspace_size_bytes", { user_id: "u1" }, 4096],
        ["analysis_complexity_bucket", { analysis_type: "threat_model", le: "50" }, 1],
        ["analysis_complexity_bucket", { analysis_type: "threat_model", le: "40" }, 0],
        [
          "app_requests_total",
          { endpoint: "/api/items/:id", method: "GET", status_code: "200" },
          1,
        ],
        ["app_errors_total", { endpoint: "/api/items/:id", error_type: "db_unavailable" }, 1],
        ["llm_requests_total", { model: "gpt-4o", endpoint: "chat" }, 2],
        ["llm_request_duration_seconds_count", { model: "gpt-4o", endpoint: "chat" }, 2],
        ["llm_tokens_total", { model: "gpt-4o", type: "prompt" }, 100],
        ["llm_tokens_total", { model: "gpt-4o", type: "completion" }, 20],
        ["llm_completion_size_bytes_count", { model: "gpt-4o" }, 1],
        ["llm_errors_total", { model: "gpt-4o", error_type: "rate_limited" }, 1],
        ["llm_rate_limits_total", { model: "gpt-4o" }, 1],
      ];
      for (const [name, labels, value] of checks) {
        assert.equal(valueIn(f, name, labels), value, `${name} ${JSON.stringify(labels)}`);
      }
      assert.equal(valueIn(f, "workspace_size_bytes", { user_id: "u2" }), undefined);
    });
  });

  it("takes NDJSON, skipping blank lines, and null as an absent optional field", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const body = '{"kind":"login"}\r\n\n{"kind":"user_action","action":"x","seconds":null}\n';
      for (const type of ["application/x-ndjson", "application/ndjson; charset=utf-8"]) {
        const res = await post(url, body, { ...AUTH, "Content-Type": type });
        assert.equal(res.status, 200, type);
        assert.deepEqual(res.json, { accepted: 2, counts: { login: 1, user_action: 1 } });
      }
      const f = await scrape(server);
      assert.equal(valueIn(f, "user_logins_total"), 2);
      assert.equal(
        valueIn(f, "user_action_duration_seconds_count", { action_type: "x" }),
        undefined,
      );
    });
  });

  it("a bad batch is a 400 listing each bad event, and records nothing", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const batch = [
        { kind: "login" },
        { kind: "teleport" },
        { kind: "feature_run", feature: "f", seconds: -1 },
        { kind: "feature_run", feature: 7, seconds: 1 },
        { kind: "auth_failure" },
        { kind: "login", user: "bob" },
        "login",
        { kind: "app_request", endpoint: "/", method: "GET", status_code: 99, seconds: 0 },
        { kind: "llm_call", model: "m", endpoint: "chat", seconds: 1, prompt_tokens: 1.5 },
        { kind: "llm_call", model: "m", endpoint: "chat", seconds: 1, error_type: "oops" },
        {
          kind: "llm_call",
          model: "m",
          endpoint: "chat",
          seconds: 1,
          error_type: "timeout",
          prompt_tokens: 3,
        },
        { kind: "workspace_size", user_id: "", bytes: 1 },
        { kind: "session_start" },
      ];
      const res = await post(url, JSON.stringify(batch));
      assert.equal(res.status, 400);
      assert.equal(res.json.error, "invalid_events");
      assert.equal(res.json.invalid_count, 11);
      assert.match(res.json.message, /11 events are not valid; nothing was recorded/);
      const reasons = new Map<number, string>(
        res.json.invalid.map((b: { index: number; reason: string }) => [b.index, b.reason]),
      );
      assert.deepEqual([...reasons.keys()], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      assert.match(reasons.get(1)!, /^unknown kind "teleport" \(known: feature_run, /);
      assert.match(reasons.get(2)!, /^feature_run: "seconds" must be a finite number >= 0, got -1/);
      assert.match(
        reasons.get(3)!,
        /^feature_run: "feature" must be a non-empty string, got number 7/,
      );
      assert.match(reasons.get(4)!, /^auth_failure: "reason" is missing/);
      assert.match(reasons.get(5)!, /^login: unknown field "user" \(it takes no fields\)/);
      assert.match(reasons.get(6)!, /^an event must be a JSON object, got "login"/);
      assert.match(
        reasons.get(7)!,
        /"status_code" must be an integer from 100 to 599, got number 99/,
      );
      assert.match(reasons.get(8)!, /"prompt_tokens" must be an integer >= 0, got number 1.5/);
      assert.match(
        reasons.get(9)!,
        /"error_type" must be one of timeout, .*rate_limited.*, got "oops"/,
      );
      assert.match(reasons.get(10)!, /prompt_tokens given with error_type/);
      assert.match(reasons.get(11)!, /"user_id" must be a non-empty string, got ""/);
      // Nothing of it, not even the good events, was recorded.
      const f = await scrape(server);
      assert.equal(valueIn(f, "user_logins_total"), 0);
      assert.equal(valueIn(f, "app_active_sessions"), 0);
    });
  });

  it("lists at most 100 bad events, with the total", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const res = await post(url, JSON.stringify(Array.from({ length: 250 }, () => ({}))));
      assert.equal(res.status, 400);
      assert.equal(res.json.invalid_count, 250);
      assert.equal(res.json.invalid.length, 100);
      assert.equal(res.json.truncated, true);
      assert.match(res.json.invalid[0].reason, /"kind" must be a string, got undefined/);
    });
  });

  it("malformed JSON, a non-array, bad NDJSON lines and bad UTF-8 are 400s naming the fault", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      let res = await post(url, '[{"kind":"login"');
      assert.equal(res.status, 400);
      assert.equal(res.json.error, "invalid_json");
      assert.match(res.json.message, /^the body is not valid JSON: /);
      res = await post(url, '{"kind":"login"}');
      assert.equal(res.status, 400);
      assert.match(res.json.message, /must be a JSON array of events .*application\/x-ndjson/);
      res = await post(url, '{"kind":"login"}\n{"kind":\n\n{"kind":"login"}', {
        ...AUTH,
        "Content-Type": "application/x-ndjson",
      });
      assert.equal(res.status, 400);
      assert.deepEqual(
        res.json.invalid.map((b: { index: number; line: number }) => [b.index, b.line]),
        [[1, 2]],
      );
      assert.match(res.json.invalid[0].reason, /^not valid JSON: /);
      const bad = await fetchText(url, {
        method: "POST",
        headers: JSON_BODY,
        body: new Uint8Array([0x5b, 0xff, 0x5d]),
      });
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.body).error, "invalid_utf8");
      const f = await scrape(server);
      assert.equal(valueIn(f, "user_logins_total"), 0);
    });
  });

  it("auth: ingestion tokens only, never the metrics token; off without tokens", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      for (const authorization of [undefined, `Bearer ${METRICS}`, `Bearer ${TOKEN}x`]) {
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        if (authorization !== undefined) headers.Authorization = authorization;
        const res = await post(url, '[{"kind":"login"}]', headers);
        assert.equal(res.status, 401, String(authorization));
        assert.equal(res.json.error, "unauthorized");
        assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="ingest"');
        assert.ok(!JSON.stringify(res.json).includes(TOKEN));
      }
      const ok = await post(url, '[{"kind":"login"}]', {
        Authorization: `Bearer ${OTHER}`,
        "Content-Type": "application/json",
      });
      assert.equal(ok.status, 200);
      // And the ingestion token opens no metrics endpoint.
      const metrics = await fetchText(`${server.origin}/custom_metrics`, { headers: AUTH });
      assert.equal(metrics.status, 401);
    });
    const off = await serveOnLoopback(
      createExporter({ registry: new Registry(), customRegistry: new Registry(), log: silentLog })
        .fetch,
    );
    await stopping(off, async () => {
      const res = await fetchText(off.origin + INGEST_PATH, {
        method: "POST",
        headers: JSON_BODY,
        body: "[]",
      });
      assert.equal(res.status, 404);
    });
  });

  it("ingest_clients: 1 per configured client from the start, by name, never a token", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const metrics = async () => {
        const res = await fetchText(`${server.origin}/metrics`, {
          headers: { Authorization: `Bearer ${METRICS}` },
        });
        assert.equal(res.status, 200);
        return res.body;
      };
      const clients = (text: string) =>
        Object.fromEntries(
          samplesNamed(parseText(text), "ingest_clients").map((x) => [x.labels.client, x.value]),
        );
      // Before any batch: no counter series yet, but both clients are there.
      const before = await metrics();
      assert.deepEqual(clients(before), { fastapi: 1, beacon: 1 });
      assert.match(before, /^# TYPE ingest_clients gauge$/m);
      // Traffic, good and bad, unknown tokens included, adds no client.
      await post(url, '[{"kind":"login"}]');
      await post(url, '[{"kind":"nope"}]');
      await post(url, "[]", { ...JSON_BODY, Authorization: "Bearer stranger-0123456789abcdef" });
      const after = await metrics();
      assert.deepEqual(clients(after), { fastapi: 1, beacon: 1 });
      for (const text of [before, after]) {
        assert.ok(!text.includes(TOKEN) && !text.includes(OTHER), "a token on /metrics");
        assert.ok(!text.includes("stranger-0123456789abcdef"), "a presented token on /metrics");
      }
    });
  });

  it("ingest_clients: every configured client has its series, past the default series cap", async () => {
    // 10,001 clients: one more than a metric's default cap of 10,000 series.
    const tokens = Array.from({ length: 10_001 }, (_, i) => ({
      name: `client-${i}`,
      token: `token-${String(i).padStart(6, "0")}-0123456789`,
    }));
    const registry = new Registry();
    ingestHandler(createTracking(new Registry()), { tokens, registry });
    const f = parseText(await registry.metrics());
    const series = samplesNamed(f, "ingest_clients");
    assert.equal(series.length, tokens.length);
    assert.ok(series.every((x) => x.value === 1 && x.labels.client.startsWith("client-")));
    assert.equal(series.filter((x) => x.labels.client === "__overflow__").length, 0);
    assert.equal(samplesNamed(f, "metrics_series_overflow_total").length, 0);
  });

  it("other methods are 405; other content types are 415", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const get = await fetchText(url, { headers: AUTH });
      assert.equal(get.status, 405);
      assert.equal(get.headers.get("allow"), "POST");
      for (
        const type of [
          undefined,
          "text/plain",
          "application/json; charset=latin1",
          "multipart/form-data",
        ]
      ) {
        const headers: Record<string, string> = { ...AUTH };
        if (type !== undefined) headers["Content-Type"] = type;
        const res = await post(url, '[{"kind":"login"}]', headers);
        assert.equal(res.status, 415, String(type));
        assert.equal(res.json.error, "unsupported_media_type");
        assert.match(res.json.message, /application\/json .* application\/x-ndjson/);
      }
    });
  });

  it("limits: more events than maxEvents or more bytes than maxBodyBytes are 413s", async () => {
    const { server, url } = await start({ maxEvents: 10, maxBodyBytes: 1000 });
    await stopping(server, async () => {
      const eleven = JSON.stringify(Array.from({ length: 11 }, () => ({ kind: "login" })));
      let res = await post(url, eleven);
      assert.equal(res.status, 413);
      assert.equal(res.json.error, "batch_too_large");
      assert.match(res.json.message, /11 events, more than the limit of 10/);
      res = await post(url, Array(11).fill('{"kind":"login"}').join("\n"), {
        ...AUTH,
        "Content-Type": "application/x-ndjson",
      });
      assert.equal(res.status, 413);
      assert.equal(res.json.error, "batch_too_large");
      // Content-Length says so: refused before reading.
      res = await post(url, `[${" ".repeat(1000)}]`);
      assert.equal(res.status, 413);
      assert.equal(res.json.error, "body_too_large");
      assert.match(res.json.message, /larger than the limit of 1000 bytes/);
      // No Content-Length (a stream): refused when the count passes the limit.
      const chunks = [new TextEncoder().encode("["), new Uint8Array(2000).fill(0x20)];
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(next);
        },
      });
      const streamed = await fetchText(url, {
        method: "POST",
        headers: JSON_BODY,
        body: stream,
        duplex: "half",
      } as RequestInit);
      assert.equal(streamed.status, 413);
      // Ten fit.
      res = await post(url, JSON.stringify(Array.from({ length: 10 }, () => ({ kind: "login" }))));
      assert.equal(res.status, 200);
      assert.equal(valueIn(await scrape(server), "user_logins_total"), 10);
    });
  });

  it("label values are cut to 128 characters and held by the series cap, as the helpers do", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const long = "r".repeat(300);
      const res = await post(url, JSON.stringify([{ kind: "auth_failure", reason: long }]));
      assert.equal(res.status, 200);
      // 10,002 more distinct reasons: the default cap (10,000 series) folds the last few.
      for (let batch = 0; batch < 2; batch++) {
        const events = Array.from({ length: 5_001 }, (_, i) => ({
          kind: "auth_failure",
          reason: `reason-${batch}-${i}`,
        }));
        assert.equal((await post(url, JSON.stringify(events))).status, 200);
      }
      const f = await scrape(server);
      assert.equal(valueIn(f, "user_auth_failures_total", { reason: "r".repeat(128) }), 1);
      // Every one of the 10,003 events is counted: in its own series or, past the cap, folded.
      const real = samplesNamed(f, "user_auth_failures_total").length - 1;
      assert.ok(real >= 9_999 && real <= 10_000, String(real));
      assert.equal(
        valueIn(f, "user_auth_failures_total", { reason: "__overflow__" }),
        10_003 - real,
      );
    });
  });

  it("Idempotency-Key: a retry answers the first outcome and records nothing more", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const batch = JSON.stringify([{ kind: "login" }, { kind: "login" }]);
      const headers = { ...JSON_BODY, "Idempotency-Key": "batch-0001" };
      const first = await post(url, batch, headers);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("idempotent-replayed"), null);
      for (const key of ["batch-0001", '"batch-0001"']) {
        const again = await post(url, batch, { ...headers, "Idempotency-Key": key });
        assert.equal(again.status, 200);
        assert.equal(again.headers.get("idempotent-replayed"), "true");
        assert.deepEqual(again.json, { accepted: 2, counts: { login: 2 }, replayed: true });
      }
      // The same key with another body is a client bug: 422, nothing recorded.
      const reused = await post(url, '[{"kind":"login"}]', headers);
      assert.equal(reused.status, 422);
      assert.equal(reused.json.error, "idempotency_key_reused");
      // Keys are per client: the other client's same key is its own batch.
      const other = await post(url, batch, {
        ...headers,
        Authorization: `Bearer ${OTHER}`,
      });
      assert.equal(other.status, 200);
      assert.equal(other.headers.get("idempotent-replayed"), null);
      assert.equal(valueIn(await scrape(server), "user_logins_total"), 4);
      // The API's own counters, on /metrics, by client name (never by token).
      const own = await fetchText(`${server.origin}/metrics`, {
        headers: { Authorization: `Bearer ${METRICS}` },
      });
      const m = parseText(own.body);
      const batches = (client: string, outcome: string) =>
        valueIn(m, "ingest_batches_total", { client, outcome });
      assert.equal(batches("fastapi", "accepted"), 1);
      assert.equal(batches("fastapi", "replayed"), 2);
      assert.equal(batches("fastapi", "key_conflict"), 1);
      assert.equal(batches("beacon", "accepted"), 1);
      assert.equal(valueIn(m, "ingest_events_total", { client: "fastapi", kind: "login" }), 2);
      assert.equal(valueIn(m, "ingest_events_total", { client: "beacon", kind: "login" }), 2);
      assert.ok(!own.body.includes(TOKEN) && !own.body.includes(OTHER));
    });
  });

  it("Idempotency-Key: a failed batch is not kept, a bad key is a 400", async () => {
    const { server, url } = await start();
    await stopping(server, async () => {
      const headers = { ...JSON_BODY, "Idempotency-Key": "k-2" };
      assert.equal((await post(url, '[{"kind":"nope"}]', headers)).status, 400);
      // A failed batch fixed and sent with the same key is new.
      assert.equal((await post(url, '[{"kind":"login"}]', headers)).status, 200);
      for (const bad of ["", "a b", "x".repeat(256), "é"]) {
        const res = await fetchText(url, {
          method: "POST",
          headers: { ...JSON_BODY, "Idempotency-Key": bad },
          body: "[]",
        });
        assert.equal(res.status, 400, JSON.stringify(bad));
        assert.equal(JSON.parse(res.body).error, "invalid_idempotency_key");
      }
      assert.equal(valueIn(await scrape(server), "user_logins_total"), 1);
    });
  });
});
