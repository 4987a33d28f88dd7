/**
 * The LLM gateway's operator files: its dashboard has the time-to-first-token
 * and gateway panels, reading every family the gateway registers, and the
 * catalogue the operations tests check names against is what the gateway
 * really serves. (The generic checks of every dashboard and rule file, and
 * the promtool runs, are in files_test.ts.)
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promtoolSkip } from "../_support/promtool.ts";
import { Registry } from "../../src/core/registry.ts";
import { createGatewayMetrics } from "../../app/gateway/metrics.ts";
import {
  allPanels,
  DASHBOARD_FILES,
  GATEWAY_CATALOGUE,
  GATEWAY_DASHBOARD_FILE,
  isKnownSeries,
  loadDashboard,
  loadRules,
  metricNames,
  panelExpressions,
  recordingRuleNames,
  REPO_ROOT,
  substitute,
} from "./_dashboards.ts";

const FILE = GATEWAY_DASHBOARD_FILE;
const board = loadDashboard(FILE);

/** The source metrics each panel reads, by title. */
function reads(): Map<string, { type: string; metrics: Set<string> }> {
  const out = new Map<string, { type: string; metrics: Set<string> }>();
  for (const p of allPanels(board).filter((x) => x.type !== "row")) {
    const metrics = new Set<string>();
    for (const t of p.targets ?? []) {
      for (const n of metricNames(substitute(t.expr ?? "", board))) metrics.add(n);
    }
    out.set(p.title, { type: p.type, metrics });
  }
  return out;
}

describe("the gateway dashboard", () => {
  it("is not among the dashboards the end-to-end test fills with demo traffic", () => {
    // The demo's traffic does not go through the gateway; files_test.ts still
    // runs its structural checks on this dashboard too.
    assert.ok(!DASHBOARD_FILES.includes(FILE));
  });

  it("reads only metrics the exporter serves, from its job, in valid PromQL (promtool)", {
    skip: promtoolSkip,
  }, () => {
    const exprs = panelExpressions(
      { rateInterval: "30s", range: "15m", interval: "5s" },
      false,
      [FILE],
    );
    assert.ok(exprs.length >= 10, `${exprs.length} expressions`);
    const recorded = recordingRuleNames();
    for (const e of exprs) {
      assert.ok(!e.expr.includes("$"), `${e.panel}: ${e.expr}`);
      const names = metricNames(e.expr);
      assert.ok(names.length > 0, e.panel);
      for (const n of names) {
        assert.ok(isKnownSeries(n, recorded), `${e.panel}: unknown ${n}`);
        assert.match(e.expr, new RegExp(`\\b${n}\\{[^}]*\\bjob="securetrack-custom"`), e.panel);
      }
    }
    const dir = mkdtempSync(join(tmpdir(), "securetrack-gateway-ops-"));
    try {
      const file = join(dir, "panels.yml");
      const rules = exprs.map((e, k) =>
        `      - record: panel_expr_${k}\n        expr: ${JSON.stringify(e.expr)}`
      );
      writeFileSync(file, `groups:\n  - name: panels\n    rules:\n${rules.join("\n")}\n`);
      const r = spawnSync("promtool", ["check", "rules", file], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("has the time-to-first-token and gateway panels", () => {
    const rows = board.panels.filter((p) => p.type === "row").map((p) => p.title);
    assert.deepEqual(rows, ["Time to first token", "Gateway"]);
    const wanted: [string, string, string][] = [
      [
        "Time to first token p50 / p95 / p99",
        "timeseries",
        "gen_ai_server_time_to_first_token_seconds_bucket",
      ],
      [
        "Time to first token heatmap",
        "heatmap",
        "gen_ai_server_time_to_first_token_seconds_bucket",
      ],
      [
        "Time to first token p95 by model",
        "timeseries",
        "gen_ai_server_time_to_first_token_seconds_bucket",
      ],
      [
        "Time per output token p50 / p95",
        "timeseries",
        "gen_ai_server_time_per_output_token_seconds_bucket",
      ],
      ["Gateway requests by endpoint and status", "timeseries", "llm_gateway_requests_total"],
      ["Upstream failures by type", "timeseries", "llm_errors_total"],
      ["Tokens by client", "timeseries", "llm_gateway_tokens_total"],
      ["Rejected requests", "timeseries", "llm_gateway_requests_total"],
      ["Tokens by client over the range", "bargauge", "llm_gateway_tokens_total"],
    ];
    const panels = reads();
    for (const [title, type, metric] of wanted) {
      const p = panels.get(title);
      assert.ok(p, `missing panel "${title}"`);
      assert.equal(p.type, type, title);
      assert.ok(p.metrics.has(metric), `"${title}" does not read ${metric}`);
    }
  });

  it("reads every family the gateway registers, and the catalogue says what it registers", async () => {
    const registry = new Registry();
    createGatewayMetrics(registry, true);
    const served = new Map<string, string>();
    for (const line of (await registry.metrics()).split("\n")) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m !== null) served.set(m[1], m[2]);
    }
    assert.deepEqual(Object.fromEntries(served), GATEWAY_CATALOGUE);
    const read = new Set<string>();
    for (const p of reads().values()) {
      for (const n of p.metrics) read.add(n.replace(/_(bucket|sum|count)$/, ""));
    }
    for (const name of Object.keys(GATEWAY_CATALOGUE)) {
      assert.ok(read.has(name), `no panel reads ${name}`);
    }
  });

  it("each gateway alert points at a panel of this dashboard that exists", () => {
    const titles = new Set(reads().keys());
    const alerts = loadRules().filter((r) => r.file === "rules/securetrack.gateway.yml");
    assert.equal(alerts.length, 3);
    for (const a of alerts) {
      const named = [...(a.annotations.description ?? "").matchAll(/"([^"]+)" panel/g)].map((m) =>
        m[1]
      );
      assert.ok(named.length > 0, `${a.name} names no panel`);
      for (const t of named) assert.ok(titles.has(t), `${a.name}: no panel "${t}"`);
    }
  });
});
