// deno-lint-ignore-file require-await -- stand-ins for async features are trivial
/**
 * The module-level helpers record into `customRegistry` (checked as deltas:
 * other test files share it when a runner puts them in one process), the
 * document's examples work in their TypeScript form, and `createTracking`
 * keeps other registries apart.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defaultRegistry, Registry } from "../../src/mod.ts";
import {
  createTracking,
  customRegistry,
  FeatureMetrics,
  LLMService,
  observeAnalysisComplexity,
  removeWorkspace,
  setWorkspaceSize,
  trackAppError,
  trackAppRequest,
  trackAuthFailure,
  trackFeature,
  trackFeatureAsync,
  trackLLM,
  trackLLMCall,
  trackSessionEnd,
  trackSessionStart,
  trackUserAction,
  trackUserLogin,
  trackUserRegistration,
  UserActionTimer,
} from "../../src/tracking/mod.ts";
import { changes, delta, expected, scrape } from "./_support.ts";
import { completion, fakeLLM } from "../llm/_support.ts";

describe("module-level helpers", () => {
  it("the document's examples, in TypeScript, record into customRegistry", async () => {
    const api = await fakeLLM(() =>
      completion("Your answer", { prompt_tokens: 4, completion_tokens: 2 })
    );
    try {
      const before = await scrape(customRegistry);

      // Tracking LLM usage
      const llmService = new LLMService({ baseUrl: api.baseUrl, model: "doc-model" });
      const response = await llmService.generateResponse({ prompt: "Your prompt here" });
      assert.equal(response.text, "Your answer");

      // Tracking feature usage: `using` ...
      const analyzeThreats = (input: string[]) => input.map((x) => x.toUpperCase());
      {
        using _feature = new FeatureMetrics("doc_threat_analysis");
        analyzeThreats(["spoofing"]);
      }
      // ... and the decorator, in its wrapper form
      const analyzeDataFlow = trackFeatureAsync("doc_data_flow_analysis")(
        async (diagram: string) => diagram.split("->"),
      );
      await analyzeDataFlow("browser->api");

      // Tracking user sessions
      trackSessionStart();
      trackUserLogin();
      trackSessionEnd();

      // Tracking user actions
      trackUserAction("doc_export_report");
      {
        using _timer = new UserActionTimer("doc_document_upload");
      }

      // app_active_sessions went up and down again: no change.
      const after = await scrape(customRegistry);
      const llm = { model: "doc-model", endpoint: "chat" };
      assert.deepEqual(
        changes(before, after),
        expected([
          ["llm_requests_total", llm, 1],
          ["llm_request_duration_seconds_count", llm, 1],
          ["llm_tokens_total", { model: "doc-model", type: "prompt" }, 4],
          ["llm_tokens_total", { model: "doc-model", type: "completion" }, 2],
          ["llm_completion_size_bytes_count", { model: "doc-model" }, 1],
          ["llm_completion_size_bytes_sum", { model: "doc-model" }, 11],
          ["feature_usage_total", { feature_name: "doc_threat_analysis" }, 1],
          ["feature_duration_seconds_count", { feature_name: "doc_threat_analysis" }, 1],
          ["feature_usage_total", { feature_name: "doc_data_flow_analysis" }, 1],
          ["feature_duration_seconds_count", { feature_name: "doc_data_flow_analysis" }, 1],
          ["user_logins_total", {}, 1],
          ["user_action_total", { action_type: "doc_export_report" }, 1],
          ["user_action_total", { action_type: "doc_document_upload" }, 1],
          ["user_action_duration_seconds_count", { action_type: "doc_document_upload" }, 1],
        ]),
      );
    } finally {
      await api.close();
    }
  });

  it("every other module-level helper records into customRegistry", async () => {
    const before = await scrape(customRegistry);
    class Client {
      @trackLLM({ model: "mod-model", endpoint: "chat" })
      async ask(): Promise<string> {
        return "abc";
      }
    }
    await new Client().ask();
    await trackLLMCall({ model: "mod-model", endpoint: "embeddings" }, async () => [1, 2]);
    trackFeature("mod_feature", () => 1);
    trackUserRegistration();
    trackAuthFailure("mod_reason");
    setWorkspaceSize("mod-user", 10);
    observeAnalysisComplexity("mod_analysis", 55);
    trackAppRequest({ endpoint: "/mod", method: "GET", statusCode: 200, seconds: 0.01 });
    trackAppError({ endpoint: "/mod", errorType: "ModError" });
    const after = await scrape(customRegistry);

    const d = (name: string, labels: Record<string, string> = {}) =>
      delta(before, after, name, labels);
    assert.equal(d("llm_requests_total", { model: "mod-model", endpoint: "chat" }), 1);
    assert.equal(d("llm_completion_size_bytes_sum", { model: "mod-model" }), 3);
    assert.equal(d("llm_requests_total", { model: "mod-model", endpoint: "embeddings" }), 1);
    assert.equal(d("feature_usage_total", { feature_name: "mod_feature" }), 1);
    assert.equal(d("user_registrations_total"), 1);
    assert.equal(d("user_auth_failures_total", { reason: "mod_reason" }), 1);
    assert.equal(
      after.get(JSON.stringify(["workspace_size_bytes", "user_id", "mod-user"]))?.value,
      10,
    );
    assert.equal(d("analysis_complexity_count", { analysis_type: "mod_analysis" }), 1);
    assert.equal(
      d("app_requests_total", { endpoint: "/mod", method: "GET", status_code: "200" }),
      1,
    );
    assert.equal(d("app_errors_total", { endpoint: "/mod", error_type: "ModError" }), 1);
    assert.equal(removeWorkspace("mod-user"), true);
  });

  it("customRegistry is not the default registry", async () => {
    assert.notEqual(customRegistry, defaultRegistry);
    assert.equal(defaultRegistry.get("llm_requests_total"), undefined);
    assert.ok(customRegistry.get("llm_requests_total") !== undefined);
  });
});

describe("createTracking", () => {
  it("binds every helper to its own registry, leaving customRegistry alone", async () => {
    const registry = new Registry();
    const t = createTracking(registry);
    const custom = await scrape(customRegistry);
    t.trackUserLogin();
    t.trackSessionStart();
    {
      using _f = new t.FeatureMetrics("isolated");
    }
    new t.UserActionTimer("isolated").end();
    assert.deepEqual(changes(custom, await scrape(customRegistry)), new Map());
    assert.equal(t.metrics.userLoginsTotal.get(), 1);
    assert.equal(t.metrics.featureUsageTotal.get({ feature_name: "isolated" }), 1);
    assert.equal(t.metrics.userActionTotal.get({ action_type: "isolated" }), 1);
    assert.equal(t.registry, registry);
  });

  it("returns plain closures (destructurable) in a frozen object", () => {
    const t = createTracking(new Registry());
    const { trackUserLogin: login, trackSessionStart: start } = t;
    login();
    start();
    assert.equal(t.metrics.userLoginsTotal.get(), 1);
    assert.equal(t.metrics.appActiveSessions.get(), 1);
    assert.ok(Object.isFrozen(t));
  });

  it("two trackings of one registry share its series", () => {
    const registry = new Registry();
    const a = createTracking(registry);
    const b = createTracking(registry);
    a.trackUserLogin();
    b.trackUserLogin();
    assert.equal(a.metrics.userLoginsTotal.get(), 2);
  });

  it("a bound class still accepts explicit metrics of another catalogue", () => {
    const a = createTracking(new Registry());
    const b = createTracking(new Registry());
    new a.FeatureMetrics("x", { metrics: b.metrics }).end();
    assert.equal(a.metrics.featureUsageTotal.get({ feature_name: "x" }), 0);
    assert.equal(b.metrics.featureUsageTotal.get({ feature_name: "x" }), 1);
  });
});
