/**
 * The LLM gateway under load and faults, all on loopback: 50 concurrent
 * streaming clients (the real OpenAI SDK) with exact token totals
 * afterwards, and a client that disconnects mid-stream, which aborts the
 * upstream request (the fake upstream sees its stream cancelled).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ALICE, BOB, startGateway, value } from "./_gateway.ts";
import { waitFor } from "./_support.ts";

describe("gateway under load", () => {
  it("50 concurrent streaming clients: every text whole, the token totals exact", async () => {
    const rig = await startGateway();
    try {
      const clients = 50;
      let prompt = 0;
      let completion = 0;
      let bytes = 0;
      const plans = Array.from({ length: clients }, (_, i) => {
        const words = 1 + (i % 4); // prompt tokens
        const tokens = 1 + (i * 7) % 23; // completion tokens
        prompt += words;
        completion += tokens;
        let text = "";
        for (let t = 0; t < tokens; t++) text += `w${t} `;
        bytes += new TextEncoder().encode(text).byteLength;
        return { content: Array(words).fill("word").join(" "), tokens, text, key: i % 2 };
      });
      const results = await Promise.all(plans.map(async (plan) => {
        const client = rig.client(plan.key === 0 ? ALICE : BOB);
        const stream = await client.chat.completions.create({
          model: "fake-load",
          messages: [{ role: "user", content: plan.content }],
          max_tokens: plan.tokens,
          stream: true,
        });
        let text = "";
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
        return text;
      }));
      assert.deepEqual(results, plans.map((p) => p.text));

      const m = await rig.scrape();
      const model = "fake-load-2026-01-01";
      assert.equal(value(m, "llm_requests_total", { model, endpoint: "chat_stream" }), clients);
      assert.equal(value(m, "llm_tokens_total", { model, type: "prompt" }), prompt);
      assert.equal(value(m, "llm_tokens_total", { model, type: "completion" }), completion);
      assert.equal(value(m, "llm_completion_size_bytes_sum", { model }), bytes);
      assert.equal(value(m, "llm_errors_total", { model, error_type: "aborted" }), 0);
      const perClient = ["alice", "bob"].map((client) =>
        value(m, "llm_gateway_tokens_total", { model, type: "completion", client })
      );
      assert.equal(perClient[0] + perClient[1], completion);
      assert.equal(
        perClient[0],
        plans.filter((p) => p.key === 0).reduce((n, p) => n + p.tokens, 0),
      );
      assert.equal(value(m, "gen_ai_server_time_to_first_token_seconds_count", { model }), clients);
      assert.equal(rig.fake.log.aborted, 0);
    } finally {
      await rig.close();
    }
  });

  it("a client that disconnects mid-stream aborts the upstream request; counted as aborted", async () => {
    const rig = await startGateway();
    try {
      const controller = new AbortController();
      const res = await fetch(`${rig.server.origin}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${ALICE}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ model: "endless", messages: [], stream: true }),
        signal: controller.signal,
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let seen = "";
      // Read until three tokens have come through, then go away.
      while (!seen.includes("w2 ")) {
        const { value: chunk, done } = await reader.read();
        assert.ok(!done, "the endless stream ended");
        seen += decoder.decode(chunk, { stream: true });
      }
      controller.abort();
      await reader.cancel().catch(() => {});
      await waitFor("the upstream to see its stream cancelled", () => rig.fake.log.aborted === 1);
      await waitFor("the call to be counted", async () => {
        const m = await rig.scrape();
        return value(m, "llm_errors_total", {
          model: "endless-2026-01-01",
          error_type: "aborted",
        }) === 1;
      });
      const m = await rig.scrape();
      assert.equal(
        value(m, "llm_requests_total", { model: "endless-2026-01-01", endpoint: "chat_stream" }),
        1,
      );
      assert.equal(
        value(m, "gen_ai_server_time_to_first_token_seconds_count", {
          model: "endless-2026-01-01",
        }),
        1,
      );
    } finally {
      await rig.close();
    }
  });
});
