/**
 * Reads the Grafana dashboards of `grafana/dashboards/` and the rule files of
 * `rules/`, and lists every PromQL expression they hold, with Grafana's
 * variables filled in, so that tests can hand them to promtool or to a real
 * Prometheus. Also: the catalogue of metric names the exporter serves, and a
 * PromQL scanner that finds the metric names an expression reads.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseYaml, type YamlValue } from "./_yaml.ts";

/** The repository's root directory. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** The dashboards, relative to the repository root. */
export const DASHBOARD_FILES: readonly string[] = [
  "grafana/dashboards/securetrack.json",
  "grafana/dashboards/securetrack-http.json",
];

/**
 * The LLM gateway's dashboard: apart from {@linkcode DASHBOARD_FILES}, whose
 * every panel the end-to-end test fills with the demo's traffic (which does
 * not go through the gateway).
 */
export const GATEWAY_DASHBOARD_FILE = "grafana/dashboards/securetrack-gateway.json";

/** One query of a panel. */
export interface GrafanaTarget {
  refId: string;
  expr?: string;
  instant?: boolean;
  range?: boolean;
  format?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
  /** Whether Grafana asks for the query's exemplars too. */
  exemplar?: boolean;
}

/** A panel (rows included: `type: "row"`, with collapsed children in `panels`). */
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  collapsed?: boolean;
}

/** A dashboard variable. */
export interface GrafanaVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  includeAll?: boolean;
  allValue?: string;
  multi?: boolean;
  datasource?: { type?: string; uid?: string };
}

/** The parts of a dashboard the tests read. */
export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
}

/** Reads and parses one dashboard (`file` relative to the repository root). */
export function loadDashboard(file: string): GrafanaDashboard {
  return JSON.parse(readFileSync(join(REPO_ROOT, file), "utf8")) as GrafanaDashboard;
}

/** Every panel of `dashboard` in order, rows and panels nested in collapsed rows included. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  const out: GrafanaPanel[] = [];
  for (const p of dashboard.panels) {
    out.push(p);
    for (const child of p.panels ?? []) out.push(child);
  }
  return out;
}

/** How Grafana's variables are filled in. */
export interface Substitutions {
  /**
   * `$__rate_interval`; default `"1m"` (Grafana's value for a 15 s scrape
   * interval: four scrapes). Keep it at least four scrape intervals, or rate()
   * may find fewer than two samples and return nothing.
   */
  rateInterval?: string;
  /** `$__interval`; default `"15s"`. */
  interval?: string;
  /** `$__range`; default `"1h"`. */
  range?: string;
  /** Dashboard variables by name; default: a variable's "All" value (its `allValue`). */
  variables?: Record<string, string>;
}

/**
 * Fills in Grafana's variables in `expr`: `$name`, `${name}`, `${name:format}`
 * and `[[name]]`, for the built-in intervals and `dashboard`'s variables.
 * Throws a TypeError for a variable it does not know, so a typo in a panel
 * cannot slip through as a literal `$modle`.
 */
export function substitute(
  expr: string,
  dashboard: GrafanaDashboard,
  subs: Substitutions = {},
): string {
  const values: Record<string, string> = {
    __rate_interval: subs.rateInterval ?? "1m",
    __interval: subs.interval ?? "15s",
    __range: subs.range ?? "1h",
  };
  for (const v of dashboard.templating.list) {
    if (v.type === "datasource") continue;
    const given = subs.variables?.[v.name];
    if (given !== undefined) values[v.name] = given;
    else if (v.includeAll && v.allValue !== undefined) values[v.name] = v.allValue;
  }
  return expr.replace(
    /\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g,
    (whole, a?: string, b?: string, c?: string) => {
      const name = (a ?? b ?? c) as string;
      if (/^\d+$/.test(name)) return whole; // "$1" in a label_replace replacement
      const value = values[name];
      if (value === undefined) {
        throw new TypeError(
          `dashboard "${dashboard.title}": unknown variable "${name}" in ${JSON.stringify(expr)}`,
        );
      }
      return value;
    },
  );
}

/** One query of one panel, variables filled in. */
export interface PanelExpression {
  /** Dashboard file, relative to the repository root. */
  file: string;
  /** Dashboard title. */
  dashboard: string;
  /** Panel title. */
  panel: string;
  /** The target's refId. */
  refId: string;
  /** The expression as written in the dashboard. */
  raw: string;
  /** The expression with every variable filled in. */
  expr: string;
  /** Whether Grafana runs it as an instant query (else as a range query). */
  instant: boolean;
  /** Whether Grafana asks for its exemplars too (shown on the panel). */
  exemplar: boolean;
  /** The target's legend (`{{label}}` filled in per series by Grafana); `undefined` if none. */
  legend?: string;
  /**
   * Whether the panel reads native histograms (its description says it needs
   * `--enable-feature=native-histograms`): empty on a Prometheus without the
   * flag, so checked by tests/e2e/native_panels_test.ts instead.
   */
  native: boolean;
}

/** The phrase that marks a panel as reading native histograms. */
export const NATIVE_PANEL_MARK = "--enable-feature=native-histograms";

/**
 * Every panel expression of `files` (default: both dashboards), variables
 * filled in per `subs`: those of classic panels, or with `native` those of
 * the native-histogram panels (see {@linkcode PanelExpression.native}).
 */
export function panelExpressions(
  subs: Substitutions = {},
  native = false,
  files: readonly string[] = DASHBOARD_FILES,
): PanelExpression[] {
  const out: PanelExpression[] = [];
  for (const file of files) {
    const d = loadDashboard(file);
    for (const p of allPanels(d)) {
      const isNative = (p.description ?? "").includes(NATIVE_PANEL_MARK);
      if (isNative !== native) continue;
      for (const t of p.targets ?? []) {
        if (t.expr === undefined) continue;
        out.push({
          file,
          dashboard: d.title,
          panel: p.title,
          refId: t.refId,
          raw: t.expr,
          expr: substitute(t.expr, d, subs),
          instant: t.instant === true,
          exemplar: t.exemplar === true,
          legend: t.legendFormat,
          native: isNative,
        });
      }
    }
  }
  return out;
}

/** A recording or alerting rule. */
export interface Rule {
  /** Rule file, relative to the repository root. */
  file: string;
  /** Group name. */
  group: string;
  kind: "record" | "alert";
  /** The recorded series' name, or the alert's name. */
  name: string;
  expr: string;
  /** `for:` of an alert (`undefined` if absent). */
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * The label names a Grafana legend reads (`{{instance}} {{model}}` →
 * `["instance", "model"]`), in order, without duplicates.
 */
export function legendLabels(legend: string): string[] {
  const out: string[] = [];
  for (const m of legend.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) {
    if (!out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

/** `legend` as Grafana shows it for a series with `labels` (a missing label is empty). */
export function renderLegend(legend: string, labels: Readonly<Record<string, string>>): string {
  return legend.replace(
    /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g,
    (_, name: string) => labels[name] ?? "",
  );
}

/**
 * The opt-in rule files (`rules/optional/*.yml`), relative to the root,
 * sorted: loaded by neither prometheus.yml nor the PrometheusRule until an
 * operator copies one into `rules/`.
 */
export function optionalRuleFiles(): string[] {
  return readdirSync(join(REPO_ROOT, "rules/optional"))
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort()
    .map((f) => `rules/optional/${f}`);
}

/** The rule files loaded by prometheus.yml (`rules/*.yml`), relative to the root, sorted. */
export function ruleFiles(): string[] {
  return readdirSync(join(REPO_ROOT, "rules"))
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort()
    .map((f) => `rules/${f}`);
}

function asRecord(v: YamlValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v !== null && v !== undefined && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) out[k] = String(x);
  }
  return out;
}

/** Every rule of every rule file, in file and group order. */
export function loadRules(files: readonly string[] = ruleFiles()): Rule[] {
  const out: Rule[] = [];
  for (const file of files) {
    const doc = parseYaml(readFileSync(join(REPO_ROOT, file), "utf8")) as {
      groups: { name: string; rules: Record<string, YamlValue>[] }[];
    };
    for (const g of doc.groups) {
      for (const r of g.rules) {
        const kind = typeof r.record === "string" ? "record" : "alert";
        out.push({
          file,
          group: g.name,
          kind,
          name: String(kind === "record" ? r.record : r.alert),
          expr: String(r.expr).trim(),
          for: typeof r.for === "string" ? r.for : undefined,
          labels: asRecord(r.labels),
          annotations: asRecord(r.annotations),
        });
      }
    }
  }
  return out;
}

/** Names of the recording rules (the series they record). */
export function recordingRuleNames(): string[] {
  return loadRules().filter((r) => r.kind === "record").map((r) => r.name);
}

/** How each metric of the exporter is exposed. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary";

/** The user's document's 20 metrics, served at `/custom_metrics` (job `securetrack-custom`). */
export const CUSTOM_CATALOGUE: Readonly<Record<string, MetricType>> = {
  llm_requests_total: "counter",
  llm_tokens_total: "counter",
  llm_request_duration_seconds: "histogram",
  llm_completion_size_bytes: "summary",
  llm_errors_total: "counter",
  llm_rate_limits_total: "counter",
  app_requests_total: "counter",
  app_request_duration_seconds: "histogram",
  app_active_sessions: "gauge",
  app_errors_total: "counter",
  feature_usage_total: "counter",
  feature_duration_seconds: "histogram",
  feature_errors_total: "counter",
  user_registrations_total: "counter",
  user_logins_total: "counter",
  user_auth_failures_total: "counter",
  user_action_total: "counter",
  user_action_duration_seconds: "histogram",
  workspace_size_bytes: "gauge",
  analysis_complexity: "histogram",
};

/**
 * Served at `/metrics` (job `securetrack`): prometheus-fastapi-instrumentator's
 * names, process and Deno runtime metrics. `process_virtual_memory_bytes`,
 * `process_open_fds` and `process_max_fds` only exist when the server can read
 * /proc.
 */
export const HTTP_CATALOGUE: Readonly<Record<string, MetricType>> = {
  http_requests_total: "counter",
  http_request_size_bytes: "summary",
  http_response_size_bytes: "summary",
  http_request_duration_highr_seconds: "histogram",
  http_request_duration_seconds: "histogram",
  http_requests_inprogress: "gauge",
  process_cpu_seconds_total: "counter",
  process_resident_memory_bytes: "gauge",
  process_start_time_seconds: "gauge",
  process_virtual_memory_bytes: "gauge",
  process_open_fds: "gauge",
  process_max_fds: "gauge",
  deno_heap_size_used_bytes: "gauge",
  deno_heap_size_total_bytes: "gauge",
  deno_external_memory_bytes: "gauge",
  deno_eventloop_lag_seconds: "gauge",
  deno_version_info: "gauge",
};

/** The LLM gateway's own families, beside the catalogue on `/custom_metrics` when it is on. */
export const GATEWAY_CATALOGUE: Readonly<Record<string, MetricType>> = {
  gen_ai_server_time_to_first_token_seconds: "histogram",
  gen_ai_server_time_per_output_token_seconds: "histogram",
  llm_gateway_requests_total: "counter",
  llm_gateway_tokens_total: "counter",
};

/**
 * The event ingestion API's own metrics (app/ingest.ts), on `/metrics` (job
 * `securetrack`) when ingestion is on.
 */
export const INGEST_CATALOGUE: Readonly<Record<string, MetricType>> = {
  ingest_batches_total: "counter",
  ingest_events_total: "counter",
  ingest_clients: "gauge",
};

/** Every metric the exporter serves: both endpoints, plus the registries' own counters. */
export const CATALOGUE: Readonly<Record<string, MetricType>> = {
  ...CUSTOM_CATALOGUE,
  ...HTTP_CATALOGUE,
  ...GATEWAY_CATALOGUE,
  ...INGEST_CATALOGUE,
  metrics_series_overflow_total: "counter",
  metrics_collect_errors_total: "counter",
};

/** Series Prometheus itself adds to every scrape. */
export const SCRAPE_SERIES: readonly string[] = [
  "up",
  "scrape_duration_seconds",
  "scrape_samples_scraped",
  "scrape_samples_post_metric_relabeling",
  "scrape_series_added",
];

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "inf",
  "nan",
]);

/**
 * The metric names `expr` reads, in order of appearance, without duplicates:
 * every identifier that is not a function or aggregation (followed by `(`), a
 * keyword, a label name (inside `{}` or a `by (...)` list), a string, a
 * duration or a number.
 */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/#[^\n]*/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " ")
    .replace(/\boffset\s+-?[0-9a-z]+/gi, " ")
    .replace(/\b0x[0-9a-f]+\b/gi, " ")
    .replace(/(?<![\w:])\d+(?:\.\d*)?(?:e[+-]?\d+)?|(?<![\w:])\.\d+(?:e[+-]?\d+)?/gi, " ");
  const out: string[] = [];
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = s.slice(m.index + m[0].length).trimStart();
    if (after.startsWith("(")) continue;
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    if (!out.includes(m[0])) out.push(m[0]);
  }
  return out;
}

/**
 * Whether `name` is a series the exporter or Prometheus provides, or one of
 * `recorded` (recording rule names): a catalogue name, a histogram's
 * `_bucket`/`_sum`/`_count`, a summary's quantiles, `_sum` or `_count`.
 */
export function isKnownSeries(name: string, recorded: readonly string[]): boolean {
  if (recorded.includes(name) || SCRAPE_SERIES.includes(name)) return true;
  if (Object.hasOwn(CATALOGUE, name)) return CATALOGUE[name] !== "histogram";
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m === null || !Object.hasOwn(CATALOGUE, m[1])) return false;
  const type = CATALOGUE[m[1]];
  return type === "histogram" || (type === "summary" && m[2] !== "bucket");
}
