/**
 * The scale-out guide (docs/scale-out.md), checked: with several replicas,
 * every recording rule and every dashboard query must give one answer for the
 * service, not one per replica (`instance`). promtool evaluates each of them
 * over the recording rules' unit-test input with every series written by two
 * more replicas, and `count(count by (instance) (EXPR)) > 1` must be empty;
 * the few panels that show one line per replica on purpose (per-process
 * views, named in the guide) must keep `instance`, and every series a panel
 * query answers must have a legend of its own (a legend without `instance`
 * on a per-replica query shows N lines under one name). The panels that read
 * per-process state are checked for their values on three replicas that
 * disagree. Every Prometheus snippet of the guide passes `promtool check config`.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promtoolSkip } from "../_support/promtool.ts";
import {
  legendLabels,
  loadRules,
  metricNames,
  type PanelExpression,
  panelExpressions,
  recordingRuleNames,
  renderLegend,
  REPO_ROOT,
  ruleFiles,
} from "./_dashboards.ts";
import { withTempDir } from "./_temp.ts";

function read(path: string): string {
  return readFileSync(join(REPO_ROOT, path), "utf8");
}

/**
 * The panels that show one series per replica, each for a reason the guide
 * gives: per-target and per-process views (one line per replica is the
 * point: which one is down, which one is hot), and a summary's quantiles
 * (they cannot be added up across processes; the same panel's mean, B, is
 * the service's).
 */
export const PER_REPLICA_PANELS: readonly string[] = [
  "SecureTrack / LLM completion size quantiles / A",
  "SecureTrack HTTP and runtime / CPU usage / A",
  "SecureTrack HTTP and runtime / Resident memory / A",
  "SecureTrack HTTP and runtime / Heap used and total / A",
  "SecureTrack HTTP and runtime / Heap used and total / B",
  "SecureTrack HTTP and runtime / Heap used and total / C",
  "SecureTrack HTTP and runtime / Event-loop lag / A",
  "SecureTrack HTTP and runtime / Runtime version / A",
  "SecureTrack HTTP and runtime / Targets up / A",
  "SecureTrack HTTP and runtime / Samples per scrape / A",
  "SecureTrack HTTP and runtime / Scrape duration / A",
];

/**
 * Series the recording rules' input lacks, for panels that select label
 * values of their own: the event ingestion API's counters (on /metrics), and
 * its requests and their duration under `endpoint="/api/v1/events"`.
 */
const EXTRA_INPUT: readonly (readonly [series: string, values: string])[] = [
  [
    'ingest_batches_total{job="securetrack", instance="localhost:8000", client="fastapi", outcome="accepted"}',
    "0+9x30",
  ],
  [
    'ingest_batches_total{job="securetrack", instance="localhost:8000", client="fastapi", outcome="invalid"}',
    "0+1x30",
  ],
  [
    'ingest_batches_total{job="securetrack", instance="localhost:8000", client="jobs", outcome="busy"}',
    "0+1x30",
  ],
  [
    'ingest_events_total{job="securetrack", instance="localhost:8000", client="fastapi", kind="login"}',
    "0+90x30",
  ],
  [
    'app_requests_total{job="securetrack-custom", instance="localhost:8000", endpoint="/api/v1/events", method="POST", status_code="401"}',
    "0+1x30",
  ],
  ...[["0.1", "0+6x30"], ["1", "0+10x30"], ["+Inf", "0+10x30"]].map(([le, values]) =>
    [
      `app_request_duration_seconds_bucket{job="securetrack-custom", instance="localhost:8000", endpoint="/api/v1/events", method="POST", le="${le}"}`,
      values,
    ] as const
  ),
];

/**
 * The input series of the recording rules' unit tests and
 * {@linkcode EXTRA_INPUT}, plus a series of every other metric `exprs` read
 * (both jobs, a histogram bucket pair), each written by three replicas.
 */
function replicatedInput(exprs: readonly Checked[]): string {
  const text = read("rules/tests/securetrack.recording_test.yml");
  const lines: string[] = [];
  let inInput = false;
  for (const line of text.split("\n")) {
    if (/^\s+input_series:$/.test(line)) {
      inInput = lines.length === 0;
      continue;
    }
    if (!inInput) continue;
    if (/^\s+(alert_rule_test|promql_expr_test|eval_time|name|interval):/.test(line)) break;
    const series = /^\s+- series: '(.*)'\s*$/.exec(line);
    if (series !== null) {
      lines.push(series[1]);
      continue;
    }
    const values = /^\s+values: "([^"]*)"/.exec(line);
    if (values !== null) lines.push(`VALUES ${values[1]}`);
  }
  for (const [series, values] of EXTRA_INPUT) lines.push(series, `VALUES ${values}`);
  const given = new Set(lines.filter((_, i) => i % 2 === 0).map((l) => l.split("{")[0]));
  const recorded = new Set(recordingRuleNames());
  for (const name of new Set(exprs.flatMap((e) => metricNames(e.expr)))) {
    if (given.has(name) || recorded.has(name)) continue;
    for (const job of ["securetrack", "securetrack-custom"]) {
      const base = `job="${job}", instance="localhost:8000"`;
      if (name.endsWith("_bucket")) {
        // The label sets of its _count, if the input has it, so that a ratio of the two matches.
        const count = `${name.slice(0, -"_bucket".length)}_count{`;
        const sets = lines.filter((l, i) => i % 2 === 0 && l.startsWith(count))
          .map((l) => l.slice(count.length, -1));
        if (job !== "securetrack" || sets.length === 0) sets.push(base);
        for (const set of sets) {
          lines.push(`${name}{${set}, le="0.5"}`, "VALUES 0+20x30");
          lines.push(`${name}{${set}, le="1"}`, "VALUES 0+30x30");
          lines.push(`${name}{${set}, le="+Inf"}`, "VALUES 0+60x30");
        }
      } else lines.push(`${name}{${base}}`, name === "up" ? "VALUES 1x30" : "VALUES 0+60x30");
    }
  }
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const [series, values] = [lines[i], lines[i + 1].slice(7)];
    for (const replica of ["", "replica-b:8000", "replica-c:8000"]) {
      const s = replica === ""
        ? series
        : series.replace(/instance="[^"]*"/, `instance="${replica}"`);
      out.push(`      - series: '${s}'\n        values: "${values}"`);
    }
  }
  return out.join("\n");
}

interface Checked {
  what: string;
  expr: string;
}

/**
 * Runs `check` (PromQL around `EXPR`, which must come out empty) for each of
 * `exprs`; returns those for which it did not.
 */
function failing(exprs: readonly Checked[], check: string): Checked[] {
  const wrap = (e: Checked) => check.replace("EXPR", e.expr);
  return withTempDir((dir) => {
    const evals = exprs.map((e) =>
      `      - expr: ${JSON.stringify(wrap(e))}\n` +
      `        eval_time: 20m\n        exp_samples: []`
    ).join("\n");
    const file = join(dir, "replicas_test.yml");
    writeFileSync(
      file,
      `rule_files:\n${
        ruleFiles().map((f) => `  - ${JSON.stringify(join(REPO_ROOT, f))}`).join("\n")
      }\n` +
        `evaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n${
          replicatedInput(exprs)
        }\n` +
        `    promql_expr_test:\n${evals}\n`,
    );
    const r = spawnSync("promtool", ["test", "rules", file], {
      encoding: "utf8",
      timeout: 300_000,
    });
    const out = `${r.stdout}${r.stderr}`;
    if (r.status === 0) return [];
    assert.match(out, /expr: /, out.slice(0, 2000));
    return exprs.filter((e) => out.includes(`expr: ${JSON.stringify(wrap(e))}`));
  });
}

/** How many rules and panel queries may be empty on the input (see the tests). */
const MAX_EMPTY_RULES = 0;
const MAX_EMPTY_PANELS = 0;

/** Those of `exprs` that answer one series per replica. */
const perReplica = (exprs: readonly Checked[]) =>
  failing(exprs, "count(count by (instance) (EXPR)) > 1");
/** Those of `exprs` that answer nothing on the input (the check says nothing of them). */
const empty = (exprs: readonly Checked[]) => {
  const nonEmpty = new Set(failing(exprs, "count(EXPR)").map((e) => e.what));
  return exprs.filter((e) => !nonEmpty.has(e.what));
};

describe("several replicas: one answer per service, not per replica", () => {
  it("the check sees a per-replica expression (it can fail)", {
    skip: promtoolSkip,
    timeout: 300_000,
  }, () => {
    const raw = {
      what: "raw counter",
      expr: 'rate(llm_requests_total{job="securetrack-custom"}[5m])',
    };
    const summed = {
      what: "summed",
      expr: 'sum(rate(llm_requests_total{job="securetrack-custom"}[5m]))',
    };
    assert.deepEqual(perReplica([raw, summed]).map((e) => e.what), ["raw counter"]);
  });

  it(
    "every recording rule aggregates over instances",
    { skip: promtoolSkip, timeout: 300_000 },
    () => {
      const rules = loadRules().filter((r) => r.kind === "record");
      assert.ok(rules.length > 20);
      const exprs = rules.map((r) => ({ what: r.name, expr: r.expr }));
      assert.deepEqual(perReplica(exprs).map((e) => e.what), []);
      // The check says nothing of a rule that is empty on the input: at most a few are.
      const none = empty(exprs).map((e) => e.what);
      assert.ok(none.length <= MAX_EMPTY_RULES, `empty on the input: ${none.join(", ")}`);
    },
  );

  it("every dashboard query aggregates over instances, but the per-replica panels", {
    skip: promtoolSkip,
    timeout: 300_000,
  }, () => {
    const exprs = panelExpressions({ rateInterval: "5m" });
    assert.ok(exprs.length > 20);
    const checked = exprs.map((e) => ({
      what: `${e.dashboard} / ${e.panel} / ${e.refId}`,
      expr: e.expr,
    }));
    assert.deepEqual(perReplica(checked).map((e) => e.what), PER_REPLICA_PANELS);
    const none = empty(checked).map((e) => e.what);
    assert.ok(none.length <= MAX_EMPTY_PANELS, `empty on the input: ${none.join("; ")}`);
  });
});

/** `legend`'s check: the series of `EXPR` that share a legend (none may). */
function legendCheck(e: PanelExpression): Checked {
  const labels = legendLabels(e.legend ?? "");
  return {
    what: `${e.dashboard} / ${e.panel} / ${e.refId}`,
    expr: labels.length === 0 ? `count(${e.expr})` : `count by (${labels.join(", ")}) (${e.expr})`,
  };
}

describe("several replicas: every series of a panel has a legend of its own", () => {
  it("the check sees a legend shared by the replicas (it can fail)", {
    skip: promtoolSkip,
    timeout: 300_000,
  }, () => {
    const expr =
      'sum by (instance, model) (rate(llm_requests_total{job="securetrack-custom"}[5m]))';
    const base = { file: "", dashboard: "d", refId: "A", raw: expr, expr };
    const flags = { instant: false, exemplar: false, native: false };
    const shared = legendCheck({ ...base, ...flags, panel: "shared", legend: "{{model}}" });
    const own = legendCheck({ ...base, ...flags, panel: "own", legend: "{{instance}} {{model}}" });
    assert.deepEqual(failing([shared, own], "EXPR > 1").map((e) => e.what), ["d / shared / A"]);
  });

  it("every dashboard query, on three replicas' data", {
    skip: promtoolSkip,
    timeout: 300_000,
  }, () => {
    // "__auto" (Grafana names each series by all its labels) and no legend are unique already.
    const exprs = panelExpressions({ rateInterval: "5m" })
      .filter((e) => e.legend !== undefined && e.legend !== "" && e.legend !== "__auto");
    assert.ok(exprs.length > 40, `${exprs.length} expressions`);
    assert.deepEqual(failing(exprs.map(legendCheck), "EXPR > 1").map((e) => e.what), []);
  });
});

/** One expected sample: its labels as promtool writes them, and its value. */
type Sample = readonly [labels: string, value: number];

/**
 * Evaluates each of `exprs` at 20m on `input` (series written a minute
 * apart) with promtool, and expects exactly `samples` (values rounded to
 * 1e-6, as the recording rules' tests read them). Returns promtool's
 * complaint, or `undefined` when every expression gave its samples.
 */
function evaluate(
  input: readonly (readonly [string, string])[],
  exprs: readonly { expr: string; samples: readonly Sample[] }[],
): string | undefined {
  return withTempDir((dir) => {
    const series = input.map(([s, v]) => `      - series: '${s}'\n        values: "${v}"`);
    const evals = exprs.map(({ expr, samples }) =>
      `      - expr: ${JSON.stringify(`round((${expr}) * 1e6) / 1e6`)}\n` +
      `        eval_time: 20m\n        exp_samples:\n` +
      samples.map(([labels, value]) =>
        `          - labels: ${JSON.stringify(labels)}\n            value: ${value}`
      ).join("\n")
    );
    const file = join(dir, "per_process_test.yml");
    writeFileSync(
      file,
      `evaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n` +
        `${series.join("\n")}\n    promql_expr_test:\n${evals.join("\n")}\n`,
    );
    const r = spawnSync("promtool", ["test", "rules", file], {
      encoding: "utf8",
      timeout: 120_000,
    });
    return r.status === 0 ? undefined : `${r.stdout}${r.stderr}`;
  });
}

/** The query of `panel`'s target `refId` on the main dashboard, variables at "All". */
function panelQuery(panel: string, refId: string): PanelExpression {
  const found = panelExpressions({ rateInterval: "5m" })
    .find((e) => e.panel === panel && e.refId === refId);
  assert.ok(found, `no target ${refId} in panel "${panel}"`);
  return found;
}

describe("several replicas: the panels of per-process state, on replicas that disagree", () => {
  const custom = 'job="securetrack-custom"';
  const at = (replica: string) => `${custom}, instance="${replica}:8000"`;

  it("LLM completion size quantiles: each replica's own, told apart; the mean is the service's", {
    skip: promtoolSkip,
    timeout: 120_000,
  }, () => {
    // Each replica's summary: its own median and p90; _sum and _count grow by
    // (100, 1), (900, 3) and (200, 1) a minute: means 100, 300 and 200, while
    // the service's mean is 1200 / 5 = 240 (the mean of the means is 200).
    const replicas = [["a", 100, 400, 100, 1], ["b", 300, 900, 900, 3], [
      "c",
      200,
      500,
      200,
      1,
    ]] as const;
    const input: [string, string][] = [];
    const quantiles: Sample[] = [];
    for (const [r, p50, p90, sum, count] of replicas) {
      for (const [q, v] of [["0.5", p50], ["0.9", p90]] as const) {
        const labels = `{${at(`replica-${r}`)}, model="gpt-4o", quantile="${q}"}`;
        input.push([`llm_completion_size_bytes${labels}`, `${v}x30`]);
        quantiles.push([labels, v]);
      }
      input.push([
        `llm_completion_size_bytes_sum{${at(`replica-${r}`)}, model="gpt-4o"}`,
        `0+${sum}x30`,
      ]);
      input.push([
        `llm_completion_size_bytes_count{${at(`replica-${r}`)}, model="gpt-4o"}`,
        `0+${count}x30`,
      ]);
    }
    // Another job's series of the same name are not ours.
    input.push([
      'llm_completion_size_bytes{job="other", instance="x:1", model="gpt-4o", quantile="0.5"}',
      "5x30",
    ]);
    const a = panelQuery("LLM completion size quantiles", "A");
    const b = panelQuery("LLM completion size quantiles", "B");
    const complaint = evaluate(input, [
      { expr: a.expr, samples: quantiles },
      { expr: b.expr, samples: [['{model="gpt-4o"}', 240]] },
    ]);
    assert.equal(complaint, undefined, complaint);
    // Six lines, six legends: which replica, which model, which quantile.
    const legends = quantiles.map(([labels]) => {
      const parsed = Object.fromEntries(
        [...labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
      );
      return renderLegend(a.legend ?? "", parsed);
    });
    assert.equal(new Set(legends).size, legends.length, legends.join(", "));
    assert.ok(legends.includes("replica-b:8000 gpt-4o q0.9"), legends.join(", "));
    assert.equal(renderLegend(b.legend ?? "", { model: "gpt-4o" }), "gpt-4o mean (all replicas)");
  });

  it("Largest workspaces: each user once, at the largest size a replica last recorded", {
    skip: promtoolSkip,
    timeout: 120_000,
  }, () => {
    // u1 grew to 300 through replica b (a still has its older 100); u2 was
    // written through b and c; u3 only through c.
    const sizes = [
      ["a", "u1", 100],
      ["b", "u1", 300],
      ["b", "u2", 200],
      ["c", "u2", 150],
      ["c", "u3", 50],
    ] as const;
    const input = sizes.map(([r, user, bytes]) =>
      [`workspace_size_bytes{${at(`replica-${r}`)}, user_id="${user}"}`, `${bytes}x30`] as const
    );
    const a = panelQuery("Largest workspaces", "A");
    assert.ok(a.instant);
    const complaint = evaluate(input, [{
      expr: a.expr,
      samples: [['{user_id="u1"}', 300], ['{user_id="u2"}', 200], ['{user_id="u3"}', 50]],
    }]);
    assert.equal(complaint, undefined, complaint);
    assert.equal(a.legend, "{{user_id}}");
  });
});

describe("docs/scale-out.md", () => {
  const guide = read("docs/scale-out.md");
  const snippets = [...guide.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

  it("every Prometheus snippet passes promtool check config", { skip: promtoolSkip }, () => {
    assert.ok(snippets.length >= 3, `${snippets.length} snippets`);
    withTempDir((dir) => {
      const token = join(dir, "token");
      writeFileSync(token, "a-token\n");
      snippets.forEach((text, i) => {
        const file = join(dir, `snippet-${i}.yml`);
        writeFileSync(
          file,
          text.replaceAll(/credentials_file: \S+/g, `credentials_file: ${token}`),
        );
        const r = spawnSync("promtool", ["check", "config", file], { encoding: "utf8" });
        assert.equal(r.status, 0, `snippet ${i}:\n${text}\n${r.stdout}${r.stderr}`);
      });
    });
  });

  it("the federation and remote_write selectors take every recording rule", () => {
    const patterns = [
      /'\{__name__=~"([^"]+)"\}'/.exec(guide)?.[1],
      /regex: "([^"]+)\|up"/.exec(guide)?.[1],
    ];
    for (const pattern of patterns) {
      assert.ok(pattern, "selector not found");
      const re = new RegExp(`^(?:${pattern})$`);
      for (const name of recordingRuleNames()) assert.match(name, re);
      assert.doesNotMatch("llm_requests_total", re);
    }
  });

  it("names every per-replica panel", () => {
    for (const what of PER_REPLICA_PANELS) assert.ok(guide.includes(what.split(" / ")[1]), what);
  });
});
