// deno-lint-ignore-file require-await -- stand-ins for async LLM clients and features are trivial
/**
 * The catalogue against the user's document: the five tables of
 * `metrics-system.md` are parsed, and every name, type, HELP text and label
 * set (in order) is checked against a scrape taken after every helper ran
 * once.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Registry } from "../../src/core/registry.ts";
import { DEFAULT_BUCKETS } from "../../src/core/buckets.ts";
import { Gauge } from "../../src/core/gauge.ts";
import {
  ANALYSIS_COMPLEXITY_BUCKETS,
  createMetrics,
  createTracking,
  customRegistry,
  FEATURE_DURATION_BUCKETS,
  LLM_DURATION_BUCKETS,
  type Tracking,
  USER_ACTION_DURATION_BUCKETS,
} from "../../src/tracking/mod.ts";
import { type Family, parseOpenMetrics, parseText } from "../_support/parse.ts";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";
import { completion, fakeLLM, sse } from "../llm/_support.ts";

interface Row {
  section: string;
  name: string;
  type: string;
  help: string;
  labels: string[];
}

const SHARED = fileURLToPath(new URL("../../../shared/spec/metrics-system.md", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../fixtures/metrics-system.md", import.meta.url));
/** The fixture copy starts with this line, which keeps `deno fmt` from rewriting it. */
const FMT_IGNORE = "<!-- deno-fmt-ignore-file -->\n";

/** The document: the shared copy beside the clone, else the fixture copy. */
function documentText(): string {
  return existsSync(SHARED)
    ? readFileSync(SHARED, "utf8")
    : readFileSync(FIXTURE, "utf8").replace(FMT_IGNORE, "");
}

/** The metric tables of the document, row by row, with the heading each sits under. */
function parseTables(markdown: string): Row[] {
  const rows: Row[] = [];
  let section = "";
  for (const line of markdown.split("\n")) {
    const heading = /^###\s+(.+?)\s*$/.exec(line);
    if (heading) section = heading[1];
    if (!line.startsWith("|")) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (cells.length !== 4 || cells[0] === "Metric" || /^-+$/.test(cells[0])) continue;
    const unquote = (s: string) => s.replace(/^`|`$/g, "");
    rows.push({
      section,
      name: unquote(cells[0]),
      type: cells[1].toLowerCase(),
      help: cells[2],
      labels: cells[3] === "-" ? [] : cells[3].split(",").map((l) => unquote(l.trim())),
    });
  }
  return rows;
}

/** Calls every helper of `t` once (the LLM ones against a real fake API). */
async function exerciseEveryHelper(t: Tracking): Promise<void> {
  const api = await fakeLLM((r) =>
    r.body.stream
      ? sse(["str", "eam"], { prompt_tokens: 3, completion_tokens: 2 })
      : completion("hello", { prompt_tokens: 5, completion_tokens: 1 })
  );
  try {
    const llm = new t.LLMService({ baseUrl: api.baseUrl, model: "gpt-4o" });
    await llm.generateResponse({ prompt: "Hi" });
    for await (const _ of llm.streamResponse({ prompt: "Hi" })) { /* drain */ }
  } finally {
    await api.close();
  }
  // An error and a rate limit, so the error families have samples too.
  await t.trackLLMCall({ model: "gpt-4o", endpoint: "chat" }, () => {
    throw Object.assign(new Error("slow down"), { status: 429 });
  }).catch(() => {});
  class Analyzer {
    @t.trackLLM({ model: "gpt-4o", endpoint: "chat" })
    async ask(): Promise<string> {
      return "ok";
    }
    @t.trackFeatureAsync("data_flow_analysis")
    async analyze(): Promise<number> {
      return 1;
    }
  }
  await new Analyzer().ask();
  await new Analyzer().analyze();
  {
    using _f = new t.FeatureMetrics("threat_analysis");
  }
  try {
    t.trackFeature("report_generation", () => {
      throw new SyntaxError("bad template");
    });
  } catch { /* expected */ }
  t.trackSessionStart();
  t.trackUserLogin();
  t.trackUserRegistration();
  t.trackAuthFailure("invalid_password");
  t.trackUserAction("export_report");
  {
    using _a = new t.UserActionTimer("document_upload");
  }
  t.setWorkspaceSize("user-1", 2048);
  t.observeAnalysisComplexity("threat_model", 42);
  t.trackAppRequest({ endpoint: "/api/analyses", method: "POST", statusCode: 201, seconds: 0.2 });
  t.trackAppError({ endpoint: "/api/analyses", errorType: "ValidationError" });
}

/** Sample names of a family of type `type` named `name`. */
function sampleNames(name: string, type: string): string[] {
  switch (type) {
    case "histogram":
      return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
    case "summary":
      return [name, `${name}_sum`, `${name}_count`];
    default:
      return [name];
  }
}

const rows = parseTables(documentText());

describe("the catalogue", () => {
  it("the document has five tables of 6, 4, 3, 3 and 4 metrics", () => {
    const bySection = new Map<string, number>();
    for (const r of rows) bySection.set(r.section, (bySection.get(r.section) ?? 0) + 1);
    assert.deepEqual([...bySection], [
      ["LLM Metrics", 6],
      ["Application-wide Metrics", 4],
      ["Feature-specific Metrics", 3],
      ["User Registration Metrics", 3],
      ["User Activity Metrics", 4],
    ]);
    assert.equal(new Set(rows.map((r) => r.name)).size, 20);
  });

  it("the fixture copy is the document, unchanged", {
    skip: !existsSync(SHARED) && "no shared copy",
  }, () => {
    assert.equal(readFileSync(FIXTURE, "utf8"), FMT_IGNORE + readFileSync(SHARED, "utf8"));
  });

  it("every metric of the tables is in a scrape, with the document's type, HELP and labels in order", async () => {
    const t = createTracking(new Registry());
    await exerciseEveryHelper(t);
    const text = await t.registry.metrics();
    const families: Family[] = parseText(text);

    // Exactly the document's metrics: nothing renamed, nothing missing, nothing extra.
    assert.deepEqual(families.map((f) => f.name).sort(), rows.map((r) => r.name).sort());
    for (const row of rows) {
      assert.ok(text.includes(`# TYPE ${row.name} ${row.type}\n`), `# TYPE line of ${row.name}`);
      assert.ok(text.includes(`# HELP ${row.name} ${row.help}\n`), `# HELP line of ${row.name}`);
      const f = families.find((x) => x.name === row.name)!;
      assert.equal(f.type, row.type, row.name);
      assert.equal(f.help, row.help, row.name);
      assert.ok(f.samples.length > 0, `${row.name} has samples after every helper ran`);
      const allowed = sampleNames(row.name, row.type);
      for (const s of f.samples) {
        assert.ok(allowed.includes(s.name), `${s.name} belongs to ${row.name}`);
        const own = s.labelOrder.filter((l) => l !== "le" && l !== "quantile");
        assert.deepEqual(own, row.labels, `labels of ${s.name}`);
      }
    }
  });

  it("promtool accepts the scrape, in text and OpenMetrics", {
    skip: promtoolSkip,
  }, async () => {
    const t = createTracking(new Registry());
    await exerciseEveryHelper(t);
    const text = await t.registry.metrics();
    const r = checkMetrics(text);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), "", "no lint complaint");
    // And the OpenMetrics rendering parses under the strict rules.
    assert.equal(parseOpenMetrics(await t.registry.metrics("openmetrics")).length, 20);
  });

  it("customRegistry holds all 20 from import on, unused families included", async () => {
    const families = parseText(await customRegistry.metrics());
    for (const row of rows) {
      const f = families.find((x) => x.name === row.name);
      assert.ok(f, `${row.name} in customRegistry`);
      assert.equal(f.type, row.type);
      assert.equal(f.help, row.help);
    }
  });

  it("buckets are the documented layouts", () => {
    const t = createTracking(new Registry());
    const m = t.metrics;
    assert.deepEqual(
      m.llmRequestDurationSeconds.buckets,
      Array.from({ length: 16 }, (_, i) => Number((0.01 * 2 ** i).toFixed(2))),
    );
    assert.deepEqual(m.llmRequestDurationSeconds.buckets, LLM_DURATION_BUCKETS);
    // The OpenTelemetry GenAI reference layout is a prefix: 0.01 ... 81.92.
    assert.deepEqual(LLM_DURATION_BUCKETS.slice(0, 14), [
      0.01,
      0.02,
      0.04,
      0.08,
      0.16,
      0.32,
      0.64,
      1.28,
      2.56,
      5.12,
      10.24,
      20.48,
      40.96,
      81.92,
    ]);
    assert.deepEqual(m.appRequestDurationSeconds.buckets, DEFAULT_BUCKETS);
    assert.deepEqual(m.featureDurationSeconds.buckets, FEATURE_DURATION_BUCKETS);
    assert.deepEqual(m.userActionDurationSeconds.buckets, USER_ACTION_DURATION_BUCKETS);
    assert.equal(Math.max(...m.featureDurationSeconds.buckets), 600);
    assert.deepEqual(m.analysisComplexity.buckets, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    assert.deepEqual(m.analysisComplexity.buckets, ANALYSIS_COMPLEXITY_BUCKETS);
    assert.deepEqual(m.llmCompletionSizeBytes.percentiles, [0.5, 0.9, 0.99]);
  });

  it("caps: workspace_size_bytes has its own, and a second catalogue may not change them", () => {
    const registry = new Registry();
    const m = createMetrics(registry, { workspaceMaxUsers: 3, maxSeries: 50 });
    assert.equal(m.workspaceSizeBytes.maxSeries, 3);
    assert.equal(m.userAuthFailuresTotal.maxSeries, 50);
    assert.equal(createMetrics(new Registry()).workspaceSizeBytes.maxSeries, 10_000);
    // Same caps: shares the series.
    const again = createMetrics(registry, { workspaceMaxUsers: 3, maxSeries: 50 });
    again.userLoginsTotal.inc();
    assert.equal(m.userLoginsTotal.get(), 1);
    assert.throws(
      () => createMetrics(registry, { workspaceMaxUsers: 4, maxSeries: 50 }),
      /workspace_size_bytes is already registered .* workspaceMaxUsers 3, not 4/,
    );
    assert.throws(
      () => createMetrics(registry, { workspaceMaxUsers: 3 }),
      /maxSeries 50, not 10000/,
    );
    assert.throws(() => createMetrics(new Registry(), { workspaceMaxUsers: 0 }), RangeError);
    assert.throws(() => createMetrics(new Registry(), { maxSeries: 1.5 }), RangeError);
  });

  it("a registry holding another metric under a catalogue name is refused", () => {
    const registry = new Registry();
    new Gauge({ name: "user_logins_total", help: "Total number of user logins", registry });
    assert.throws(() => createTracking(registry), TypeError);
  });
});
