/**
 * Durations are recorded in seconds: every helper that times something,
 * against known delays. The other tracking tests leave `_seconds_sum` and
 * `_seconds_bucket` out (a measured time is not known in advance), so
 * milliseconds recorded as seconds would pass them; here each slow call
 * waits at least 200 ms (by the clock the helpers use) and each fast one
 * does nothing, and the histogram must say so in seconds (see
 * `assertSeconds`: sum at least 0.2 s per slow call and at most 5 s per
 * call, the 0.1 s bucket holding only the fast calls).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { createTracking, type Tracking } from "../../src/tracking/mod.ts";
import { completion, fakeLLM, sse } from "../llm/_support.ts";
import { assertSeconds, histogramOf, scrape, sleepAtLeast } from "./_support.ts";

const SLOW_MS = 200;
const SLOW = { slowSeconds: SLOW_MS / 1000 };
/**
 * These tests wait for their delays (up to 1 s in all on an idle machine):
 * far more than Bun's default 5 s per test allows on a loaded one.
 */
const WAITS = { timeout: 60_000 };

function fresh(): Tracking {
  return createTracking(new Registry());
}

describe("LLM call durations are seconds", () => {
  it("LLMService.generateResponse: a 200 ms API and an immediate one", WAITS, async () => {
    let slow = true;
    const api = await fakeLLM(async () => {
      if (slow) await sleepAtLeast(SLOW_MS);
      return completion("ok", { prompt_tokens: 1, completion_tokens: 1 });
    });
    try {
      const t = fresh();
      const llm = new t.LLMService({ baseUrl: api.baseUrl, model: "m", apiKey: "" });
      await llm.generateResponse({ prompt: "slow" });
      slow = false;
      await llm.generateResponse({ prompt: "fast" });
      const h = histogramOf(await scrape(t.registry), "llm_request_duration_seconds", {
        model: "m",
        endpoint: "chat",
      });
      assertSeconds(h, { ...SLOW, slow: 1, fast: 1 }, "llm_request_duration_seconds{chat}");
    } finally {
      await api.close();
    }
  });

  it(
    "LLMService.streamResponse: a stream whose body comes after 200 ms, and one at once",
    WAITS,
    async () => {
      let slow = true;
      const api = await fakeLLM(() => {
        const res = sse(["a", "b"], { prompt_tokens: 1, completion_tokens: 2 });
        if (!slow) return res;
        // Headers at once, the events 200 ms later: the call lasts until the stream ends.
        const late = new TransformStream<Uint8Array, Uint8Array>({
          start: () => sleepAtLeast(SLOW_MS),
        });
        return new Response(res.body!.pipeThrough(late), { headers: res.headers });
      });
      try {
        const t = fresh();
        const llm = new t.LLMService({ baseUrl: api.baseUrl, model: "m", apiKey: "" });
        const chunks: string[] = [];
        for await (const chunk of llm.streamResponse({ prompt: "slow" })) chunks.push(chunk);
        slow = false;
        for await (const chunk of llm.streamResponse({ prompt: "fast" })) chunks.push(chunk);
        assert.deepEqual(chunks, ["a", "b", "a", "b"]);
        const h = histogramOf(await scrape(t.registry), "llm_request_duration_seconds", {
          model: "m",
          endpoint: "chat_stream",
        });
        assertSeconds(
          h,
          { ...SLOW, slow: 1, fast: 1 },
          "llm_request_duration_seconds{chat_stream}",
        );
      } finally {
        await api.close();
      }
    },
  );

  it(
    "trackLLMCall and @trackLLM: 200 ms calls (one failing) and immediate ones",
    WAITS,
    async () => {
      const t = fresh();
      const labels = { model: "m", endpoint: "chat" };
      await t.trackLLMCall(labels, async () => {
        await sleepAtLeast(SLOW_MS);
        return "slow";
      });
      await assert.rejects(
        t.trackLLMCall(labels, async () => {
          await sleepAtLeast(SLOW_MS);
          throw Object.assign(new Error("busy"), { status: 503 });
        }),
        /busy/,
      );
      await t.trackLLMCall(labels, () => "fast");
      class Assistant {
        @t.trackLLM(labels)
        async ask(ms: number): Promise<string> {
          if (ms > 0) await sleepAtLeast(ms);
          return "answer";
        }
      }
      await new Assistant().ask(SLOW_MS);
      await new Assistant().ask(0);
      const h = histogramOf(await scrape(t.registry), "llm_request_duration_seconds", labels);
      assertSeconds(h, { ...SLOW, slow: 3, fast: 2 }, "llm_request_duration_seconds");
    },
  );
});

describe("feature durations are seconds", () => {
  it("trackFeature: a 200 ms async run, a failing one and an immediate one", WAITS, async () => {
    const t = fresh();
    await t.trackFeature("f", () => sleepAtLeast(SLOW_MS));
    await assert.rejects(
      t.trackFeature("f", async () => {
        await sleepAtLeast(SLOW_MS);
        throw new RangeError("late failure");
      }),
      RangeError,
    );
    t.trackFeature("f", () => 1);
    const h = histogramOf(await scrape(t.registry), "feature_duration_seconds", {
      feature_name: "f",
    });
    assertSeconds(h, { ...SLOW, slow: 2, fast: 1 }, "feature_duration_seconds{trackFeature}");
  });

  it(
    "FeatureMetrics: a 200 ms using block and an immediate one; end() returns the same seconds",
    WAITS,
    async () => {
      const t = fresh();
      let returned = -1;
      {
        using feature = new t.FeatureMetrics("g");
        await sleepAtLeast(SLOW_MS);
        returned = feature.end();
      }
      {
        using _feature = new t.FeatureMetrics("g");
      }
      const h = histogramOf(await scrape(t.registry), "feature_duration_seconds", {
        feature_name: "g",
      });
      assertSeconds(h, { ...SLOW, slow: 1, fast: 1 }, "feature_duration_seconds{FeatureMetrics}");
      assert.ok(returned >= SLOW.slowSeconds && returned <= 5, `end() returned ${returned}`);
      // The sum is the slow run's seconds plus the fast run's (under 0.1 s).
      assert.ok(h.sum >= returned && h.sum < returned + 0.1, `sum ${h.sum}, end() ${returned}`);
    },
  );

  it("trackFeatureAsync, as a wrapper and as a method decorator", WAITS, async () => {
    const t = fresh();
    const wrapped = t.trackFeatureAsync("h")(async (ms: number) => {
      if (ms > 0) await sleepAtLeast(ms);
      return ms;
    });
    class Analyzer {
      @t.trackFeatureAsync("h")
      async analyze(ms: number): Promise<number> {
        if (ms > 0) await sleepAtLeast(ms);
        return ms;
      }
    }
    assert.equal(await wrapped(SLOW_MS), SLOW_MS);
    assert.equal(await wrapped(0), 0);
    assert.equal(await new Analyzer().analyze(SLOW_MS), SLOW_MS);
    const h = histogramOf(await scrape(t.registry), "feature_duration_seconds", {
      feature_name: "h",
    });
    assertSeconds(h, { ...SLOW, slow: 2, fast: 1 }, "feature_duration_seconds{trackFeatureAsync}");
  });
});

describe("user action durations are seconds", () => {
  it(
    "UserActionTimer: a 200 ms action and an immediate one; end() returns the same seconds",
    WAITS,
    async () => {
      const t = fresh();
      let returned = -1;
      {
        using timer = new t.UserActionTimer("upload");
        await sleepAtLeast(SLOW_MS);
        returned = timer.end();
      }
      {
        using _timer = new t.UserActionTimer("upload");
      }
      const h = histogramOf(await scrape(t.registry), "user_action_duration_seconds", {
        action_type: "upload",
      });
      assertSeconds(h, { ...SLOW, slow: 1, fast: 1 }, "user_action_duration_seconds");
      assert.ok(returned >= SLOW.slowSeconds && returned <= 5, `end() returned ${returned}`);
      assert.ok(h.sum >= returned && h.sum < returned + 0.1, `sum ${h.sum}, end() ${returned}`);
    },
  );
});
