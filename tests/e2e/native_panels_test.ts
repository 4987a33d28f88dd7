// The dashboards' native-histogram panels (those whose description says they
// need --enable-feature=native-histograms; tests/e2e/prometheus_test.ts checks
// all the others) proven as the other panels are: every expression, its
// variables filled in, run against a real Prometheus 2.42 started with the
// flag, scraping the catalogue created with nativeHistograms (as job
// securetrack-custom, the job the panels select) while LLM calls and
// application requests are recorded; each must return data, and finite
// quantiles in the range of the durations recorded.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { metricsHandler, Registry } from "../../src/mod.ts";
import { createTracking } from "../../src/tracking/mod.ts";
import { isDeno } from "../app/_support.ts";
import { skipWithout } from "../_support/tools.ts";
import { mulberry32 } from "../_support/random.ts";
import { panelExpressions } from "../operations/_dashboards.ts";
import {
  type ApiSeries,
  oneJobConfig,
  prometheusMissing,
  queryRange,
  sleep,
  withPrometheus,
} from "./_prometheus.ts";

const skip = !isDeno
  ? "starts prometheus with Deno.Command; run this file with deno test"
  : skipWithout(prometheusMissing);

describe("native-histogram dashboard panels on a real Prometheus 2.42", { skip }, () => {
  it("every native panel expression returns data, with quantiles within the durations recorded", async () => {
    const panels = panelExpressions({ rateInterval: "30s" }, true);
    assert.ok(panels.length >= 6, `${panels.length} native panel expressions`);
    const registry = new Registry();
    const tracking = createTracking(registry, { nativeHistograms: true });
    const llm = tracking.metrics.llmRequestDurationSeconds;
    const rand = mulberry32(7);
    // LLM calls of 0.2-5 s, application requests of 1-200 ms, recorded all along.
    const record = () => {
      for (let i = 0; i < 20; i++) {
        llm.observe({ model: "gpt-4o-mini", endpoint: "chat" }, 0.2 + 4.8 * rand());
        tracking.trackAppRequest({
          endpoint: "/api/llm/chat",
          method: "POST",
          statusCode: 200,
          seconds: 0.001 + 0.199 * rand(),
        });
      }
    };
    record();
    const timer = setInterval(record, 200);
    const handler = metricsHandler(registry);
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
    try {
      const config = oneJobConfig("securetrack-custom", `127.0.0.1:${server.addr.port}`);
      await withPrometheus(config, ["--enable-feature=native-histograms"], async (prometheus) => {
        const base = prometheus.url;
        let problems: string[] = [];
        const end = Date.now() + 60_000;
        for (;;) {
          problems = [];
          for (const p of panels) {
            let result: ApiSeries[] = [];
            try {
              result = await queryRange(base, p.expr, 20, 1);
            } catch (error) {
              problems.push(`${p.panel} (${p.refId}): ${(error as Error).message}`);
              continue;
            }
            const last = result.map((s) => Number(s.values?.at(-1)?.[1]));
            const [lo, hi] = p.expr.includes("llm_") ? [0.2, 5] : [0.001, 0.2];
            const inRange = last.length > 0 &&
              last.every((v) => Number.isFinite(v) && v >= lo * 0.9 && v <= hi * 1.1);
            if (!inRange) problems.push(`${p.panel} (${p.refId}): ${JSON.stringify(last)}`);
          }
          if (problems.length === 0 || Date.now() > end) break;
          await sleep(500);
        }
        assert.deepEqual(problems, [], prometheus.output().slice(-2000));
      });
    } finally {
      clearInterval(timer);
      await server.shutdown();
    }
  });
});

// Bun prints a skipped test's name but not its reason: this line names it.
if (skip) it(`native panel tests skipped: ${skip}`, { skip: true }, () => {});
