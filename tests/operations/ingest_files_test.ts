/**
 * The event ingestion API's operator files: the "Event ingestion" row of the
 * HTTP and runtime dashboard reads the API's counters and its requests'
 * durations, its alerts point at panels that exist, and the catalogue the
 * operations tests check names against is what the API really registers.
 * (The generic checks of every dashboard and rule file, the promtool runs and
 * the rules' mutation tests are in files_test.ts; the panels' queries on
 * three replicas in scale_out_test.ts; on a real Prometheus with real
 * batches in tests/e2e/prometheus_test.ts.)
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "../../src/mod.ts";
import { createTracking } from "../../src/tracking/mod.ts";
import { ingestHandler } from "../../app/ingest.ts";
import {
  allPanels,
  DASHBOARD_FILES,
  INGEST_CATALOGUE,
  loadDashboard,
  loadRules,
  metricNames,
  optionalRuleFiles,
  REPO_ROOT,
  ruleFiles,
  substitute,
} from "./_dashboards.ts";

const FILE = "grafana/dashboards/securetrack-http.json";
const board = loadDashboard(FILE);

/** The panels of the "Event ingestion" row, by title, with the metrics each reads. */
function ingestionRow(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let row = "";
  for (const p of allPanels(board)) {
    if (p.type === "row") row = p.title;
    else if (row === "Event ingestion") {
      const metrics = new Set<string>();
      for (const t of p.targets ?? []) {
        for (const n of metricNames(substitute(t.expr ?? "", board))) metrics.add(n);
      }
      out.set(p.title, metrics);
    }
  }
  return out;
}

describe("event ingestion: dashboard and alerts", () => {
  it("the catalogue names exactly the families the API registers", async () => {
    const registry = new Registry();
    const token = "0123456789abcdef0123";
    const ingest = ingestHandler(createTracking(new Registry()), {
      tokens: [{ name: "ops", token }],
      registry,
    });
    const res = await ingest(
      new Request("http://localhost/api/v1/events", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify([{ kind: "login" }]),
      }),
    );
    assert.equal(res.status, 200, await res.text());
    const served = new Map<string, string>();
    for (const line of (await registry.metrics()).split("\n")) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m !== null) served.set(m[1], m[2]);
    }
    assert.deepEqual(Object.fromEntries(served), INGEST_CATALOGUE);
  });

  it("the HTTP and runtime dashboard (filled by the end-to-end test) has the ingestion row", () => {
    assert.ok(DASHBOARD_FILES.includes(FILE));
    const wanted: [string, string[]][] = [
      ["Ingestion batches by outcome", ["ingest_batches_total"]],
      ["Rejected batches by client and reason", ["ingest_batches_total", "app_requests_total"]],
      ["Ingested events by client and kind", ["ingest_events_total"]],
      ["Ingestion batch duration p50 / p95 / p99", ["app_request_duration_seconds_bucket"]],
    ];
    const row = ingestionRow();
    assert.deepEqual([...row.keys()], wanted.map(([title]) => title));
    for (const [title, metrics] of wanted) {
      for (const m of metrics) assert.ok(row.get(title)?.has(m), `"${title}" does not read ${m}`);
    }
    // The requests' own series are those of the ingestion endpoint only.
    for (const p of allPanels(board).filter((x) => ingestionRow().has(x.title))) {
      for (const t of p.targets ?? []) {
        if (/app_request/.test(t.expr ?? "")) {
          assert.match(t.expr ?? "", /endpoint="\/api\/v1\/events"/, p.title);
        }
      }
    }
  });

  it("each ingestion alert points at panels of that dashboard that exist", () => {
    const titles = new Set(allPanels(board).map((p) => p.title));
    const alerts = loadRules([...ruleFiles(), ...optionalRuleFiles()])
      .filter((r) => /^rules\/(optional\/)?securetrack\.ingest/.test(r.file));
    assert.deepEqual(alerts.map((a) => a.name), [
      "SecureTrackIngestBatchesRejected",
      "SecureTrackIngestFailing",
      "SecureTrackIngestUnauthorized",
      "SecureTrackIngestClientSilent",
    ]);
    for (const a of alerts) {
      const text = (a.annotations.description ?? "").replace(/\s+/g, " ");
      const named = [...text.matchAll(/"([^"]+)" panel|the ([A-Z][\w-]+(?: [\w-]+)*) panel/g)]
        .map((m) => m[1] ?? m[2]);
      assert.ok(named.length > 0, `${a.name} names no panel`);
      for (const t of named) assert.ok(titles.has(t), `${a.name}: no panel "${t}"`);
    }
  });

  it("the silence alert is opt-in: in neither prometheus.yml's rules nor the PrometheusRule", () => {
    assert.ok(!loadRules().some((r) => r.name === "SecureTrackIngestClientSilent"));
    const generated = readFileSync(
      join(REPO_ROOT, "deploy/kubernetes/prometheusrule.yaml"),
      "utf8",
    );
    assert.ok(generated.includes("SecureTrackIngestBatchesRejected"));
    assert.ok(!generated.includes("SecureTrackIngestClientSilent"));
  });
});
