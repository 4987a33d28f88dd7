/**
 * The API key never leaves LLMService: not in an error (message, stack,
 * cause), not in a label or a scrape, not in console output, not in the
 * inspected or serialised service — even when the API echoes it back.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Registry } from "../../src/core/registry.ts";
import { LLMError } from "../../src/llm/mod.ts";
import { createTracking } from "../../src/tracking/mod.ts";
import { fakeLLM, refusedUrl } from "../llm/_support.ts";

const KEY = "sk-live-9Zq4-UNIQUE-SECRET-b81e";

/** Every text an error exposes: message, stack, string form, and those of its causes. */
function errorTexts(error: unknown): string[] {
  const out: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    out.push(String(e), inspect(e, { depth: 5 }));
    if (e instanceof Error) {
      out.push(e.message, e.stack ?? "");
      e = e.cause;
    } else {
      e = undefined;
    }
  }
  return out;
}

describe("the API key", () => {
  it("appears in no error, label, scrape, console line or inspected service", async () => {
    // The API quotes the key back, as real APIs do in their 401 messages.
    const api = await fakeLLM((r) => {
      const sent = (r.headers.get("authorization") ?? "").replace(/^Bearer /, "");
      if (r.body.stream) {
        const event = JSON.stringify({ error: { message: `Incorrect API key provided: ${sent}` } });
        return new Response(`data: ${event}\n\n`, {
          headers: { "content-type": "text/event-stream" },
        });
      }
      return Response.json(
        {
          error: { message: `Incorrect API key provided: ${sent}`, type: "invalid_request_error" },
        },
        { status: 401 },
      );
    });
    const logged: string[] = [];
    const methods = ["log", "error", "warn", "info", "debug"] as const;
    const saved = methods.map((m) => console[m]);
    const errors: unknown[] = [];
    const t = createTracking(new Registry());
    try {
      for (const m of methods) {
        console[m] = (...args: unknown[]) =>
          void logged.push(args.map((a) => inspect(a)).join(" "));
      }
      const llm = new t.LLMService({ baseUrl: api.baseUrl, apiKey: KEY, model: "gpt-test" });
      const down = new t.LLMService({
        baseUrl: (await refusedUrl()) + "/v1",
        apiKey: KEY,
        model: "gpt-test",
      });

      for (
        const attempt of [
          () => llm.generateResponse({ prompt: "Hi" }),
          async () => {
            for await (const _ of llm.streamResponse({ prompt: "Hi" })) { /* drain */ }
          },
          () => down.generateResponse({ prompt: "Hi" }),
        ]
      ) {
        try {
          await attempt();
          assert.fail("expected the call to fail");
        } catch (error) {
          errors.push(error);
        }
      }

      // The key did reach the API, and the API did echo it.
      assert.equal(api.received.length, 2);
      assert.equal(api.received[0].headers.get("authorization"), `Bearer ${KEY}`);

      const [unauthorized, streamed, refused] = errors as LLMError[];
      assert.ok(unauthorized instanceof LLMError && unauthorized.type === "http_4xx");
      assert.match(unauthorized.message, /Incorrect API key provided: \[redacted\]/);
      assert.ok(streamed instanceof LLMError && streamed.type === "invalid_response");
      assert.match(streamed.message, /\[redacted\]/);
      assert.ok(refused instanceof LLMError && refused.type === "network");

      const texts = [
        ...errors.flatMap(errorTexts),
        await t.registry.metrics(),
        await t.registry.metrics("openmetrics"),
        inspect(llm, { showHidden: true, depth: Infinity }),
        JSON.stringify(llm),
        String(llm),
        Object.values(llm).map(String).join(" "),
        ...logged,
      ];
      for (const text of texts) {
        assert.ok(!text.includes(KEY), `the key leaked into: ${text.slice(0, 300)}`);
        // Nor a recognisable half of it.
        assert.ok(!text.includes(KEY.slice(8, 22)), `part of the key leaked into: ${text}`);
      }
    } finally {
      methods.forEach((m, i) => console[m] = saved[i]);
      await api.close();
    }
  });
});
