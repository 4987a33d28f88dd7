/**
 * The operator files: prometheus.yml, the recording and alerting rules with
 * their promtool unit tests, the Grafana dashboards and provisioning files.
 * promtool (Debian's `prometheus` package) judges the Prometheus side; the
 * dashboards are checked for structure, for the panels the issue asks for,
 * and for PromQL that reads only metrics the exporter serves.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promtoolSkip } from "../_support/promtool.ts";
import {
  allPanels,
  CATALOGUE,
  CUSTOM_CATALOGUE,
  DASHBOARD_FILES,
  GATEWAY_DASHBOARD_FILE,
  type GrafanaDashboard,
  type GrafanaPanel,
  isKnownSeries,
  loadDashboard,
  loadRules,
  metricNames,
  optionalRuleFiles,
  panelExpressions,
  recordingRuleNames,
  REPO_ROOT,
  ruleFiles,
  substitute,
} from "./_dashboards.ts";
import { parseYaml, type YamlValue } from "./_yaml.ts";
import { withTempDir } from "./_temp.ts";

const skip = promtoolSkip;
// promtool test rules takes a second or two per run on a busy machine.
const slow = { skip, timeout: 120_000 };

function promtool(args: string[], cwd = REPO_ROOT): { status: number | null; out: string } {
  const r = spawnSync("promtool", args, { cwd, encoding: "utf8", timeout: 120_000 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function read(path: string): string {
  return readFileSync(join(REPO_ROOT, path), "utf8");
}

function yaml(path: string): Record<string, YamlValue> {
  return parseYaml(read(path)) as Record<string, YamlValue>;
}

const RULE_TEST_FILES = [
  "rules/tests/securetrack.alerts_test.yml",
  "rules/tests/securetrack.recording_test.yml",
  "rules/tests/securetrack.gateway_test.yml",
  "rules/tests/securetrack.ingest_test.yml",
  "rules/tests/securetrack.ingest-silent_test.yml",
];
/** Every rule file: those prometheus.yml loads, and the opt-in ones of rules/optional/. */
const ALL_RULE_FILES = [...ruleFiles(), ...optionalRuleFiles()];
const JOBS = ["securetrack", "securetrack-custom"];

/** The metric names `expr` reads, recording rules expanded to what they read. */
function sourceMetrics(expr: string, seen = new Set<string>()): Set<string> {
  const rules = new Map(loadRules().filter((r) => r.kind === "record").map((r) => [r.name, r]));
  const out = new Set<string>();
  for (const name of metricNames(expr)) {
    const rule = rules.get(name);
    if (rule === undefined) out.add(name);
    else if (!seen.has(name)) {
      seen.add(name);
      for (const n of sourceMetrics(rule.expr, seen)) out.add(n);
    }
  }
  return out;
}

describe("tests/operations/_yaml.ts (the reader the other tests rely on)", () => {
  it("reads the constructs the operator files use", () => {
    const doc = parseYaml(
      [
        "# comment",
        "a: plain value # trailing comment",
        "b: 'single ''quoted'''",
        'c: "double \\"quoted\\" # not a comment"',
        "empty_list: []",
        'flow: ["x:1", y]',
        "literal: |",
        "  line one",
        "    indented",
        "",
        "folded: >-",
        "  one",
        "  two",
        "",
        "  three",
        "seq:",
        "  - name: first",
        "    rules:",
        "      - record: r",
        "        expr: sum(x)",
        "  - just a string",
        "same_indent:",
        "- 1",
        "nothing:",
      ].join("\n"),
    );
    assert.deepEqual(doc, {
      a: "plain value",
      b: "single 'quoted'",
      c: 'double "quoted" # not a comment',
      empty_list: [],
      flow: ["x:1", "y"],
      literal: "line one\n  indented\n",
      folded: "one two\nthree",
      seq: [{ name: "first", rules: [{ record: "r", expr: "sum(x)" }] }, "just a string"],
      same_indent: ["1"],
      nothing: null,
    });
  });

  it("refuses what it does not read instead of misreading it", () => {
    assert.throws(() => parseYaml("a: &anchor 1"), SyntaxError);
    assert.throws(() => parseYaml("a: 1\n   b: 2"), /line 2/);
    assert.throws(() => parseYaml("a: 1\na: 2"), /duplicate key a/);
    assert.throws(() => parseYaml('a: "open'), /unterminated/);
  });
});

describe("prometheus.yml", () => {
  it("passes promtool check config, with every rule file found", { skip }, () => {
    const r = promtool(["check", "config", "prometheus.yml"]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${ruleFiles().length} rule files found`));
  });

  it("scrapes the document's two endpoints at localhost:8000 every 15 s and loads rules/", () => {
    const cfg = yaml("prometheus.yml");
    assert.equal((cfg.global as Record<string, string>).scrape_interval, "15s");
    assert.deepEqual(cfg.rule_files, ["rules/*.yml"]);
    const jobs = cfg.scrape_configs as Record<string, YamlValue>[];
    const byName = new Map(jobs.map((j) => [j.job_name as string, j]));
    assert.deepEqual([...byName.keys()], JOBS);
    for (
      const [job, path] of [["securetrack", "/metrics"], ["securetrack-custom", "/custom_metrics"]]
    ) {
      const j = byName.get(job) as Record<string, YamlValue>;
      assert.equal(j.metrics_path, path, job);
      assert.equal(j.scrape_interval, "15s", job);
      assert.deepEqual(j.static_configs, [{ targets: ["localhost:8000"] }], job);
    }
    const text = read("prometheus.yml");
    assert.match(text, /#.*targets: \["securetrack:8000"\]/, "container form shown in a comment");
    assert.match(text, /#\s+credentials_file: /, "bearer-token form shown in a comment");
  });

  it("stays valid with the commented bearer-token form switched on", { skip }, () => {
    withTempDir((dir) => {
      const token = join(dir, "token");
      writeFileSync(token, "a-token\n");
      // Uncomment the authorization blocks, pointing them at a file that exists
      // (promtool checks that it does).
      const text = read("prometheus.yml")
        .replace(/^(\s*)# (authorization:)$/gm, "$1$2")
        .replace(/^(\s*)#(\s+type: Bearer)$/gm, "$1$2")
        .replace(/^(\s*)#(\s+credentials_file: ).*$/gm, `$1$2${token}`);
      assert.equal(text.match(/^\s*authorization:$/gm)?.length, 2, "both jobs have the form");
      const cfg = join(dir, "prometheus.yml");
      writeFileSync(
        cfg,
        text.replace('"rules/*.yml"', JSON.stringify(join(REPO_ROOT, "rules/*.yml"))),
      );
      const r = promtool(["check", "config", cfg], dir);
      assert.equal(r.status, 0, r.out);
      const parsed = parseYaml(text) as { scrape_configs: Record<string, YamlValue>[] };
      for (const j of parsed.scrape_configs) {
        assert.deepEqual(j.authorization, { type: "Bearer", credentials_file: token });
      }
    });
  });
});

describe("rules/", () => {
  it(
    "passes promtool check rules; the YAML reader finds as many rules as promtool",
    { skip },
    () => {
      const files = ruleFiles();
      assert.deepEqual(files, [
        "rules/securetrack.alerts.yml",
        "rules/securetrack.gateway.yml",
        "rules/securetrack.ingest.yml",
        "rules/securetrack.recording.yml",
      ]);
      const r = promtool(["check", "rules", ...files]);
      assert.equal(r.status, 0, r.out);
      const counts = [...r.out.matchAll(/SUCCESS: (\d+) rules found/g)].map((m) => Number(m[1]));
      const rules = loadRules();
      assert.deepEqual(counts, files.map((f) => rules.filter((x) => x.file === f).length));
    },
  );

  it("has opt-in rules in rules/optional/ that pass promtool check rules", { skip }, () => {
    const files = optionalRuleFiles();
    assert.deepEqual(files, ["rules/optional/securetrack.ingest-silent.yml"]);
    const r = promtool(["check", "rules", ...files]);
    assert.equal(r.status, 0, r.out);
  });

  it("passes its promtool unit tests", slow, () => {
    const r = promtool(["test", "rules", ...RULE_TEST_FILES]);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out.match(/SUCCESS/g)?.length, RULE_TEST_FILES.length, r.out);
  });

  it("has unit tests that fail when a rule breaks", slow, () => {
    const mutations: [file: string, from: string, to: string][] = [
      // Alerts on every job's targets, not only ours.
      ["rules/securetrack.alerts.yml", 'up{job=~"securetrack|securetrack-custom"} == 0', "up == 0"],
      // Fires on a trickle of traffic.
      ["rules/securetrack.alerts.yml", "* 300 >= 20)", "* 300 >= 0)"],
      // A single burst of 429s fires.
      [
        "rules/securetrack.alerts.yml",
        "expr: job_model:llm_rate_limits:rate5m > 0\n        for: 10m",
        "expr: job_model:llm_rate_limits:rate5m > 0\n        for: 2m",
      ],
      // 4xx counted as server errors.
      ["rules/securetrack.recording.yml", 'status_code=~"5.."', 'status_code=~"[45].."'],
      // A model that never failed has no ratio at all instead of 0.
      [
        "rules/securetrack.recording.yml",
        "\n            or\n              job_model:llm_requests:rate5m * 0",
        "",
      ],
      // Quantiles per method instead of per endpoint.
      [
        "rules/securetrack.recording.yml",
        "sum by (job, endpoint, le)",
        "sum by (job, endpoint, method, le)",
      ],
      // Slow first tokens of a model with a handful of streams page someone.
      ["rules/securetrack.gateway.yml", "* 300 >= 10)", "* 300 >= 0)"],
      // The provider's 429s, passed through, counted as the gateway failing.
      ["rules/securetrack.gateway.yml", 'code=~"502|504"', 'code=~"4..|5.."'],
      // One bad batch, or one cut-off upload that is then retried, fires.
      ["rules/securetrack.ingest.yml", "[15m])) > 2\n", "[15m])) > 0\n"],
      // A rare failure among many good batches fires (the ratio is ignored).
      ["rules/securetrack.ingest.yml", "> 0.01\n", "> 0\n"],
      // The exporter's own refusals (503) blamed on the client.
      [
        "rules/securetrack.ingest.yml",
        'outcome=~"invalid|too_large|unsupported|key_conflict"}',
        'outcome!~"accepted|replayed"}',
      ],
      // Uploads cut off mid-body (a flaky network) counted as the sender's bad batches.
      [
        "rules/securetrack.ingest.yml",
        'outcome=~"invalid|too_large|unsupported|key_conflict"}',
        'outcome=~"invalid|too_large|unsupported|key_conflict|aborted"}',
      ],
      // ... or as the exporter failing.
      [
        "rules/securetrack.ingest.yml",
        'outcome=~"busy|timeout|error"}',
        'outcome=~"busy|timeout|error|aborted"}',
      ],
      // The rejections summed over clients: the alert cannot say whose batches fail.
      [
        "rules/securetrack.ingest.yml",
        "/ on (job, client) group_left ()",
        "/ on (job) group_left ()",
      ],
      // A trickle of failing batches says the exporter is failing.
      ["rules/securetrack.ingest.yml", "* 300 >= 10)", "* 300 >= 0)"],
      // The opt-in silence alert: a client whose one batch after a restart is a new
      // series (uncounted by increase()) called silent.
      [
        "rules/optional/securetrack.ingest-silent.yml",
        'unless ingest_batches_total{job="securetrack"} offset 6h',
        'unless ingest_batches_total{job="securetrack"}',
      ],
      // ... a client added to the tokens an hour ago called silent for 6 hours.
      [
        "rules/optional/securetrack.ingest-silent.yml",
        '            and on (job, client)\n            max by (job, client) (ingest_clients{job="securetrack", client=~"fastapi|jobs"} offset 6h)\n',
        "",
      ],
      // ... firing on the first evaluation past the window.
      ["rules/optional/securetrack.ingest-silent.yml", "        for: 30m\n", "        for: 1m\n"],
      // 401s of the application's own login counted as refused event batches.
      [
        "rules/securetrack.ingest.yml",
        'endpoint="/api/v1/events", status_code="401"',
        'status_code="401"',
      ],
    ];
    for (const [file, from, to] of mutations) {
      withTempDir((dir) => {
        cpSync(join(REPO_ROOT, "rules"), join(dir, "rules"), { recursive: true });
        const original = read(file);
        assert.ok(original.includes(from), `mutation target not found in ${file}: ${from}`);
        writeFileSync(join(dir, file), original.replace(from, to));
        // The alerts' tests load the recording rules too; the recording rules'
        // tests are enough for a recording rule.
        const tests = file.endsWith("recording.yml") ? [RULE_TEST_FILES[1]] : RULE_TEST_FILES;
        const r = promtool(["test", "rules", ...tests], dir);
        assert.notEqual(
          r.status,
          0,
          `unit tests still pass with ${JSON.stringify(from)} -> ${JSON.stringify(to)}`,
        );
        assert.match(r.out, /FAILED/);
      });
    }
  });

  it("has the alerts the issue asks for, each with for:, a severity, a summary and a description", () => {
    const alerts = loadRules(ALL_RULE_FILES).filter((r) => r.kind === "alert");
    const names = alerts.map((a) => a.name);
    for (
      const wanted of [
        "SecureTrackLLMErrorRatioHigh",
        "SecureTrackLLMRateLimited",
        "SecureTrackLLMLatencyHigh",
        "SecureTrackApp5xxRatioHigh",
        "SecureTrackAuthFailuresSpike",
        "SecureTrackTargetDown",
      ]
    ) assert.ok(names.includes(wanted), `missing alert ${wanted}`);
    assert.equal(new Set(names).size, names.length, "alert names are unique");
    for (const a of alerts) {
      assert.match(a.for ?? "", /^\d+[smh]$/, `${a.name}: for:`);
      assert.ok(["critical", "warning"].includes(a.labels.severity), `${a.name}: severity`);
      assert.ok((a.annotations.summary ?? "").length > 10, `${a.name}: summary`);
      // The description must point somewhere: a panel, a log, a page, a setting.
      assert.match(a.annotations.description ?? "", /panel|log|page|heatmap|\bcap\b/i, a.name);
    }
  });

  it("has a firing and a not-firing unit test for every alert", () => {
    const tested = new Map<string, { firing: number; quiet: number }>();
    for (const file of RULE_TEST_FILES) {
      const doc = yaml(file) as { tests: { alert_rule_test?: Record<string, YamlValue>[] }[] };
      for (const t of doc.tests) {
        for (const a of t.alert_rule_test ?? []) {
          const seen = tested.get(a.alertname as string) ?? { firing: 0, quiet: 0 };
          if ((a.exp_alerts as YamlValue[]).length > 0) seen.firing++;
          else seen.quiet++;
          tested.set(a.alertname as string, seen);
        }
      }
    }
    for (const a of loadRules(ALL_RULE_FILES).filter((r) => r.kind === "alert")) {
      const seen = tested.get(a.name);
      assert.ok(seen && seen.firing > 0, `${a.name} has no firing test`);
      assert.ok(seen && seen.quiet > 0, `${a.name} has no not-firing test`);
    }
  });

  it("has a unit test checking the value of every recording rule", () => {
    const exprs: string[] = [];
    for (const file of RULE_TEST_FILES) {
      const doc = yaml(file) as { tests: { promql_expr_test?: Record<string, YamlValue>[] }[] };
      for (const t of doc.tests) {
        for (const e of t.promql_expr_test ?? []) {
          if ((e.exp_samples as YamlValue[]).length > 0) exprs.push(e.expr as string);
        }
      }
    }
    for (const name of recordingRuleNames()) {
      assert.ok(exprs.some((e) => metricNames(e).includes(name)), `${name} is not unit-tested`);
    }
  });

  it("selects only the jobs prometheus.yml scrapes, and only metrics the exporter serves", () => {
    const recorded = recordingRuleNames();
    assert.equal(new Set(recorded).size, recorded.length, "recording rule names are unique");
    for (const r of loadRules(ALL_RULE_FILES)) {
      for (const m of r.expr.matchAll(/\bjob\s*(=~|=)\s*"([^"]*)"/g)) {
        const jobs = m[1] === "=" ? [m[2]] : m[2].split("|");
        for (const j of jobs) assert.ok(JOBS.includes(j), `${r.name}: job "${j}"`);
      }
      const names = metricNames(r.expr);
      assert.ok(names.length > 0, `${r.name}: reads no metric`);
      for (const n of names) {
        assert.ok(isKnownSeries(n, recorded), `${r.name}: unknown metric ${n}`);
      }
      // Raw catalogue metrics need a job selector, so another job's series of the
      // same name cannot leak in.
      for (const n of names.filter((x) => !recorded.includes(x))) {
        assert.match(r.expr, new RegExp(`\\b${n}\\{[^}]*\\bjob\\s*=~?\\s*"`), `${r.name}: ${n}`);
      }
    }
  });

  it("computes quantiles from rate() of buckets summed by le", () => {
    for (const r of loadRules().filter((x) => x.expr.includes("histogram_quantile"))) {
      assert.match(
        r.expr,
        /histogram_quantile\(\s*0\.\d+,\s*sum by \([^)]*\ble\b[^)]*\) \(rate\(\w+_bucket\{[^}]*\}\[5m\]\)\)\s*\)/,
        r.name,
      );
    }
  });
});

const main = loadDashboard(DASHBOARD_FILES[0]);
const http = loadDashboard(DASHBOARD_FILES[1]);
const gateway = loadDashboard(GATEWAY_DASHBOARD_FILE);
const dashboards: [string, GrafanaDashboard][] = [
  [DASHBOARD_FILES[0], main],
  [DASHBOARD_FILES[1], http],
  [GATEWAY_DASHBOARD_FILE, gateway],
];
const PANEL_TYPES = ["timeseries", "stat", "heatmap", "bargauge", "table"];

/** Row title of each panel (the last row panel before it). */
function rowsOf(d: GrafanaDashboard): Map<string, { row: string; panel: GrafanaPanel }> {
  const out = new Map<string, { row: string; panel: GrafanaPanel }>();
  let row = "";
  for (const p of allPanels(d)) {
    if (p.type === "row") row = p.title;
    else out.set(p.title, { row, panel: p });
  }
  return out;
}

describe("grafana/dashboards", () => {
  it("are Grafana dashboards: schema 39, unique uids and panel ids, panels that do not overlap", () => {
    assert.equal(new Set([main.uid, http.uid, gateway.uid]).size, 3);
    for (const [file, d] of dashboards) {
      assert.equal(d.schemaVersion, 39, file);
      assert.match(d.uid, /^[a-z0-9-]{1,40}$/, file);
      const panels = allPanels(d);
      const ids = panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${file}: panel ids are unique`);
      const titles = panels.filter((p) => p.type !== "row").map((p) => p.title);
      assert.equal(new Set(titles).size, titles.length, `${file}: panel titles are unique`);
      for (const [k, a] of panels.entries()) {
        const g = a.gridPos;
        assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${file}: ${a.title} fits`);
        for (const b of panels.slice(k + 1)) {
          const h = b.gridPos;
          const apart = g.x + g.w <= h.x || h.x + h.w <= g.x || g.y + g.h <= h.y ||
            h.y + h.h <= g.y;
          assert.ok(apart, `${file}: "${a.title}" overlaps "${b.title}"`);
        }
      }
    }
  });

  it("take their data source from a ${datasource} variable, nowhere hard-coded", () => {
    for (const [file, d] of dashboards) {
      const v = d.templating.list.find((x) => x.name === "datasource");
      assert.equal(v?.type, "datasource", file);
      assert.equal(v?.query, "prometheus", file);
      for (const p of allPanels(d).filter((x) => x.type !== "row")) {
        assert.deepEqual(p.datasource, { type: "prometheus", uid: "${datasource}" }, p.title);
        for (const t of p.targets ?? []) {
          assert.deepEqual(t.datasource, { type: "prometheus", uid: "${datasource}" }, p.title);
        }
      }
      for (const x of d.templating.list.filter((x) => x.type === "query")) {
        assert.deepEqual(x.datasource, { type: "prometheus", uid: "${datasource}" }, x.name);
      }
      // No other data source uid anywhere (the built-in annotation source aside).
      const uids = [...read(file).matchAll(/"uid":\s*"([^"]*)"/g)].map((m) => m[1]);
      for (const uid of uids) {
        assert.ok([d.uid, "${datasource}", "-- Grafana --"].includes(uid), `${file}: uid ${uid}`);
      }
    }
  });

  it("have panels of known types, each with a query that has an expression", () => {
    for (const [file, d] of dashboards) {
      for (const p of allPanels(d).filter((x) => x.type !== "row")) {
        assert.ok(PANEL_TYPES.includes(p.type), `${file}: ${p.title} is a ${p.type}`);
        assert.ok((p.targets ?? []).length > 0, `${file}: ${p.title} has no query`);
        const refIds = (p.targets ?? []).map((t) => t.refId);
        assert.equal(new Set(refIds).size, refIds.length, `${p.title}: refIds are unique`);
        for (const t of p.targets ?? []) {
          assert.ok((t.expr ?? "").trim().length > 0, `${file}: ${p.title} ${t.refId} has no expr`);
        }
        if (p.type === "heatmap") {
          for (const t of p.targets ?? []) {
            assert.equal(t.format, "heatmap", p.title);
            assert.match(t.expr ?? "", /^sum by \(le\) \(rate\(\w+_bucket\{/, p.title);
          }
        }
      }
    }
  });

  it("read only metrics the exporter serves, recording rules and Prometheus' scrape series", () => {
    const recorded = recordingRuleNames();
    const exprs = panelExpressions();
    assert.ok(exprs.length >= 40, `${exprs.length} expressions`);
    for (const e of exprs) {
      const names = metricNames(e.expr);
      assert.ok(names.length > 0, `${e.panel}: reads no metric: ${e.expr}`);
      for (const n of names) assert.ok(isKnownSeries(n, recorded), `${e.panel}: unknown ${n}`);
      for (const m of e.expr.matchAll(/\bjob\s*(=~|=)\s*"([^"]*)"/g)) {
        const jobs = m[1] === "=" ? [m[2]] : m[2].split("|");
        for (const j of jobs) assert.ok(JOBS.includes(j), `${e.panel}: job "${j}"`);
      }
    }
    for (const [, d] of dashboards) {
      for (const v of d.templating.list.filter((x) => x.type === "query")) {
        const q = typeof v.query === "string" ? v.query : v.query?.query ?? "";
        const m = /^label_values\((\w+)\{[^}]*\},\s*(\w+)\)$/.exec(q);
        assert.ok(m !== null, `${v.name}: ${q}`);
        assert.ok(Object.hasOwn(CATALOGUE, m[1]), `${v.name}: ${m[1]}`);
        assert.equal(v.definition, q, `${v.name}: definition`);
      }
    }
  });

  it("have the document's four rows, with every panel the issue names", () => {
    const rows = main.panels.filter((p) => p.type === "row").map((p) => p.title);
    assert.deepEqual(rows, [
      "LLM API usage",
      "Application performance",
      "Feature usage",
      "User metrics",
    ]);
    // [row, title, panel type, metrics it must read (recording rules expanded)]
    const wanted: [string, string, string, string[]][] = [
      ["LLM API usage", "LLM requests over time", "timeseries", ["llm_requests_total"]],
      ["LLM API usage", "LLM tokens by model and type", "timeseries", ["llm_tokens_total"]],
      ["LLM API usage", "LLM request duration", "heatmap", ["llm_request_duration_seconds_bucket"]],
      ["LLM API usage", "LLM rate limits", "timeseries", ["llm_rate_limits_total"]],
      ["LLM API usage", "LLM completion size quantiles", "timeseries", [
        "llm_completion_size_bytes",
      ]],
      [
        "Application performance",
        "Request duration by endpoint",
        "timeseries",
        ["app_request_duration_seconds_bucket"],
      ],
      ["Application performance", "Application errors by type", "timeseries", ["app_errors_total"]],
      ["Application performance", "Active sessions", "stat", ["app_active_sessions"]],
      ["Feature usage", "Top features", "bargauge", ["feature_usage_total"]],
      [
        "Feature usage",
        "Average feature execution time",
        "timeseries",
        ["feature_duration_seconds_sum", "feature_duration_seconds_count"],
      ],
      ["Feature usage", "Feature error rate", "timeseries", [
        "feature_errors_total",
        "feature_usage_total",
      ]],
      ["User metrics", "New users over time", "timeseries", ["user_registrations_total"]],
      ["User metrics", "Active users", "timeseries", ["app_active_sessions"]],
      ["User metrics", "Authentication failures by reason", "timeseries", [
        "user_auth_failures_total",
      ]],
    ];
    const byTitle = rowsOf(main);
    for (const [row, title, type, metrics] of wanted) {
      const found = byTitle.get(title);
      assert.ok(found, `missing panel "${title}"`);
      assert.equal(found.row, row, `"${title}" row`);
      assert.equal(found.panel.type, type, `"${title}" type`);
      const read = new Set<string>();
      for (const t of found.panel.targets ?? []) {
        for (const n of sourceMetrics(substitute(t.expr ?? "", main))) read.add(n);
      }
      for (const m of metrics) assert.ok(read.has(m), `"${title}" does not read ${m}`);
    }
    // Every catalogue metric of /custom_metrics is on the dashboard somewhere.
    const read = new Set<string>();
    for (const e of panelExpressions().filter((x) => x.file === DASHBOARD_FILES[0])) {
      for (const n of sourceMetrics(e.expr)) read.add(n.replace(/_(bucket|sum|count)$/, ""));
    }
    assert.equal(Object.keys(CUSTOM_CATALOGUE).length, 20);
    for (const m of Object.keys(CUSTOM_CATALOGUE)) assert.ok(read.has(m), `no panel reads ${m}`);
  });

  it("show the /metrics side: HTTP traffic, latency, in-progress, process and runtime", () => {
    const wanted: [string, string[]][] = [
      ["Requests by handler and status", ["http_requests_total"]],
      ["Latency p50 / p95 / p99", ["http_request_duration_highr_seconds_bucket"]],
      ["Latency heatmap", ["http_request_duration_highr_seconds_bucket"]],
      ["Mean latency by handler", ["http_request_duration_seconds_sum"]],
      ["In-progress requests", ["http_requests_inprogress"]],
      ["CPU usage", ["process_cpu_seconds_total"]],
      ["Resident memory", ["process_resident_memory_bytes"]],
      ["Heap used and total", ["deno_heap_size_used_bytes", "deno_heap_size_total_bytes"]],
      ["Event-loop lag", ["deno_eventloop_lag_seconds"]],
      ["Series cap overflows", ["metrics_series_overflow_total"]],
    ];
    const byTitle = rowsOf(http);
    for (const [title, metrics] of wanted) {
      const found = byTitle.get(title);
      assert.ok(found, `missing panel "${title}"`);
      const read = new Set<string>();
      for (const t of found.panel.targets ?? []) {
        for (const n of sourceMetrics(substitute(t.expr ?? "", http))) read.add(n);
      }
      for (const m of metrics) assert.ok(read.has(m), `"${title}" does not read ${m}`);
    }
    // Only metrics that exist without full /proc access: the e2e test runs the
    // server with the start task's permissions.
    for (const e of panelExpressions().filter((x) => x.file === DASHBOARD_FILES[1])) {
      for (const n of ["process_virtual_memory_bytes", "process_open_fds", "process_max_fds"]) {
        assert.ok(!metricNames(e.expr).includes(n), `${e.panel} reads ${n}`);
      }
    }
  });

  it("use every recording rule, in a panel or an alert", () => {
    const used = new Set<string>();
    for (const e of panelExpressions()) for (const n of metricNames(e.expr)) used.add(n);
    for (const r of loadRules().filter((x) => x.kind === "alert")) {
      for (const n of metricNames(r.expr)) used.add(n);
    }
    for (const name of recordingRuleNames()) assert.ok(used.has(name), `${name} is unused`);
  });

  it("are valid PromQL once the variables are filled in (promtool)", { skip }, () => {
    const exprs = panelExpressions({ rateInterval: "30s", range: "15m", interval: "5s" });
    for (const e of exprs) assert.ok(!e.expr.includes("$"), `${e.panel}: ${e.expr}`);
    withTempDir((dir) => {
      const file = join(dir, "panels.yml");
      const rules = exprs.map((e, k) =>
        `      - record: panel_expr_${k}\n        expr: ${JSON.stringify(e.expr)}`
      );
      writeFileSync(file, `groups:\n  - name: panels\n    rules:\n${rules.join("\n")}\n`);
      const r = promtool(["check", "rules", file], dir);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, new RegExp(`SUCCESS: ${exprs.length} rules found`));
      // promtool does parse: a broken expression is refused.
      writeFileSync(
        file,
        `groups:\n  - name: panels\n    rules:\n      - record: x\n        expr: "sum(rate(x[5m])"\n`,
      );
      assert.notEqual(promtool(["check", "rules", file], dir).status, 0);
    });
  });
});

describe("tests/operations/_dashboards.ts", () => {
  it("fills in the intervals and variables, and refuses unknown variables", () => {
    const exprs = panelExpressions({
      rateInterval: "42s",
      range: "3h",
      variables: { model: "gpt-4o" },
    });
    const heat = exprs.find((e) => e.panel === "LLM request duration");
    assert.equal(
      heat?.expr,
      'sum by (le) (rate(llm_request_duration_seconds_bucket{job="securetrack-custom", model=~"gpt-4o"}[42s]))',
    );
    const top = exprs.find((e) => e.panel === "Top features");
    assert.ok(top?.instant);
    assert.match(top?.expr ?? "", /\[3h\]/);
    // By default a variable takes its "All" value.
    const all = panelExpressions().find((e) => e.panel === "LLM error ratio");
    assert.match(all?.expr ?? "", /model=~"\.\*"/);
    assert.throws(() => substitute('rate(x{a=~"$nope"}[5m])', main), /unknown variable "nope"/);
    assert.equal(
      substitute('label_replace(x, "a", "$1", "b", "(.*)")', main),
      'label_replace(x, "a", "$1", "b", "(.*)")',
    );
    assert.equal(substitute("x[${__rate_interval}] [[model]]", main), "x[1m] .*");
  });

  it("finds the metric names of an expression, and only those", () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (job, le) (rate(a_bucket{job="x", le!="1"}[5m] offset 1h))) ' +
          "/ on (job) group_left (model) b:c:rate5m > bool 1e-3 or vector(0) unless absent(up) and d",
      ),
      ["a_bucket", "b:c:rate5m", "up", "d"],
    );
    assert.ok(isKnownSeries("llm_request_duration_seconds_bucket", []));
    assert.ok(isKnownSeries("llm_completion_size_bytes", []));
    assert.ok(!isKnownSeries("llm_completion_size_bytes_bucket", []));
    assert.ok(!isKnownSeries("llm_request_duration_seconds", []), "a histogram has no bare series");
    assert.ok(!isKnownSeries("llm_request_total", []));
  });
});

describe("grafana/provisioning", () => {
  it("provisions a Prometheus data source whose interval matches the scrape interval", () => {
    const doc = yaml("grafana/provisioning/datasources/prometheus.yml");
    assert.equal(doc.apiVersion, "1");
    const [ds] = doc.datasources as Record<string, YamlValue>[];
    assert.equal(ds.type, "prometheus");
    assert.equal(ds.url, "http://localhost:9090");
    const cfg = yaml("prometheus.yml");
    assert.equal(
      (ds.jsonData as Record<string, string>).timeInterval,
      (cfg.global as Record<string, string>).scrape_interval,
    );
  });

  it("provisions the dashboards directory as a file provider", () => {
    const doc = yaml("grafana/provisioning/dashboards/securetrack.yml");
    assert.equal(doc.apiVersion, "1");
    const [p] = doc.providers as Record<string, YamlValue>[];
    assert.equal(p.type, "file");
    assert.ok(String((p.options as Record<string, string>).path).startsWith("/"));
    // The mount it documents is this repository's dashboards directory.
    const text = read("grafana/provisioning/dashboards/securetrack.yml");
    assert.ok(text.includes(`./grafana/dashboards:${(p.options as Record<string, string>).path}`));
  });
});

describe("grafana/dashboards: exemplars", () => {
  it("every heatmap of a latency histogram asks for exemplars (trace ids)", () => {
    const latency = /(http_request_duration(_highr)?_seconds|llm_request_duration_seconds)_bucket/;
    const found: string[] = [];
    for (const file of DASHBOARD_FILES) {
      for (const panel of allPanels(loadDashboard(file))) {
        for (const t of panel.targets ?? []) {
          if (t.expr === undefined || !latency.test(t.expr) || t.format !== "heatmap") continue;
          found.push(panel.title);
          assert.equal(t.exemplar, true, `${file}: "${panel.title}" target without exemplar: true`);
        }
      }
    }
    assert.ok(found.length >= 2, `latency heatmaps found: ${found.join(", ")}`);
  });
});
