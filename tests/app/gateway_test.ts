/**
 * The LLM gateway driven by the official OpenAI SDK (npm `openai`) against a
 * fake upstream on loopback: chat, streams (with and without the client
 * asking for usage), embeddings, models, a 429 and a 500 passing through,
 * and the exact `llm_*` totals read back through a real scrape of
 * `/custom_metrics`. Then the gateway's own errors: 401 (and no key in any
 * log line or scrape), 413, 502 and 504.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ALICE, BOB, OpenAI, startGateway, UPSTREAM_KEY, value } from "./_gateway.ts";
import { samplesNamed } from "./_support.ts";

const MODEL = "fake-1";
const ANSWERED = "fake-1-2026-01-01";
const PROMPT = [{ role: "user" as const, content: "three words here" }];

describe("gateway: the OpenAI SDK through the gateway", () => {
  it("chat: the answer, the upstream key sent instead of the client's, the body unchanged, exact metrics", async () => {
    const rig = await startGateway();
    try {
      const res = await rig.client().chat.completions.create({
        model: MODEL,
        messages: PROMPT,
        max_tokens: 4,
      });
      assert.equal(res.choices[0].message.content, "w0 w1 w2 w3 ");
      assert.equal(res.model, ANSWERED);
      assert.deepEqual(res.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
      assert.deepEqual(rig.fake.log.authorizations, [`Bearer ${UPSTREAM_KEY}`]);
      assert.deepEqual(rig.fake.log.bodies, [{ model: MODEL, messages: PROMPT, max_tokens: 4 }]);

      const m = await rig.scrape();
      const chat = { model: ANSWERED, endpoint: "chat" };
      assert.equal(value(m, "llm_requests_total", chat), 1);
      assert.equal(value(m, "llm_request_duration_seconds_count", chat), 1);
      assert.equal(value(m, "llm_tokens_total", { model: ANSWERED, type: "prompt" }), 3);
      assert.equal(value(m, "llm_tokens_total", { model: ANSWERED, type: "completion" }), 4);
      assert.equal(value(m, "llm_completion_size_bytes_count", { model: ANSWERED }), 1);
      assert.equal(value(m, "llm_completion_size_bytes_sum", { model: ANSWERED }), 12);
      const alice = { model: ANSWERED, client: "alice" };
      assert.equal(value(m, "llm_gateway_tokens_total", { ...alice, type: "prompt" }), 3);
      assert.equal(value(m, "llm_gateway_tokens_total", { ...alice, type: "completion" }), 4);
      assert.equal(
        value(m, "llm_gateway_requests_total", { endpoint: "chat", code: "200", client: "alice" }),
        1,
      );
      // Not a stream: no time to first token.
      assert.equal(samplesNamed(m, "gen_ai_server_time_to_first_token_seconds_count").length, 0);
    } finally {
      await rig.close();
    }
  });

  it("stream without include_usage: usage added upstream, its chunk taken out again, tokens counted", async () => {
    const rig = await startGateway();
    try {
      const stream = await rig.client(BOB).chat.completions.create({
        model: MODEL,
        messages: PROMPT,
        max_tokens: 6,
        stream: true,
      });
      let text = "";
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        assert.equal(chunk.usage ?? null, null, "a usage chunk reached a client that did not ask");
        assert.ok(chunk.choices.length > 0, "an empty-choices chunk reached the client");
        text += chunk.choices[0].delta.content ?? "";
      }
      assert.equal(text, "w0 w1 w2 w3 w4 w5 ");
      assert.equal(chunks, 8); // role, 6 tokens, finish
      assert.deepEqual(rig.fake.log.bodies, [{
        model: MODEL,
        messages: PROMPT,
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: true },
      }]);

      const m = await rig.scrape();
      const labels = { model: ANSWERED, endpoint: "chat_stream" };
      assert.equal(value(m, "llm_requests_total", labels), 1);
      assert.equal(value(m, "llm_tokens_total", { model: ANSWERED, type: "prompt" }), 3);
      assert.equal(value(m, "llm_tokens_total", { model: ANSWERED, type: "completion" }), 6);
      assert.equal(value(m, "llm_completion_size_bytes_sum", { model: ANSWERED }), 18);
      assert.equal(
        value(m, "llm_gateway_tokens_total", {
          model: ANSWERED,
          type: "completion",
          client: "bob",
        }),
        6,
      );
      const ttft = { model: ANSWERED };
      assert.equal(value(m, "gen_ai_server_time_to_first_token_seconds_count", ttft), 1);
      assert.equal(value(m, "gen_ai_server_time_per_output_token_seconds_count", ttft), 1);
      assert.equal(
        value(m, "gen_ai_server_time_to_first_token_seconds_bucket", { ...ttft, le: "2560" }),
        1,
      );
    } finally {
      await rig.close();
    }
  });

  it("stream with include_usage: the body goes up unchanged and the usage chunk reaches the client", async () => {
    const rig = await startGateway();
    try {
      const sent = {
        model: MODEL,
        messages: PROMPT,
        max_tokens: 2,
        stream: true as const,
        stream_options: { include_usage: true },
      };
      const stream = await rig.client().chat.completions.create(sent);
      const usages = [];
      for await (const chunk of stream) if (chunk.usage) usages.push(chunk.usage);
      assert.deepEqual(usages, [{ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }]);
      assert.deepEqual(rig.fake.log.bodies, [sent]);
      const m = await rig.scrape();
      assert.equal(value(m, "llm_tokens_total", { model: ANSWERED, type: "completion" }), 2);
    } finally {
      await rig.close();
    }
  });

  it("embeddings and models", async () => {
    const rig = await startGateway();
    try {
      const client = rig.client();
      const res = await client.embeddings.create({
        model: "embed-1",
        input: ["one two", "three four five"],
      });
      assert.equal(res.data.length, 2);
      assert.deepEqual(res.usage, { prompt_tokens: 5, total_tokens: 5 });
      const models = [];
      for await (const model of client.models.list()) models.push(model.id);
      assert.deepEqual(models, ["fake-model"]);

      const m = await rig.scrape();
      const answered = "embed-1-2026-01-01";
      assert.equal(value(m, "llm_requests_total", { model: answered, endpoint: "embeddings" }), 1);
      assert.equal(value(m, "llm_tokens_total", { model: answered, type: "prompt" }), 5);
      assert.equal(value(m, "llm_tokens_total", { model: answered, type: "completion" }), 0);
      // An embedding is no completion: no size observed (as trackLLMCall does it).
      assert.equal(value(m, "llm_completion_size_bytes_count", { model: answered }), 0);
      assert.equal(
        value(m, "llm_gateway_requests_total", {
          endpoint: "models",
          code: "200",
          client: "alice",
        }),
        1,
      );
    } finally {
      await rig.close();
    }
  });

  it("a 429 passes through with its body and Retry-After; counted as rate_limited", async () => {
    const rig = await startGateway();
    try {
      const error = await rig.client().chat.completions.create({
        model: "rate-limited",
        messages: PROMPT,
      }).then(() => assert.fail("no error"), (e) => e);
      assert.ok(error instanceof OpenAI.RateLimitError, String(error));
      assert.equal(error.status, 429);
      assert.equal(error.headers?.get("retry-after"), "7");
      assert.equal(error.headers?.get("x-ratelimit-remaining-requests"), "0");
      assert.match(error.message, /Rate limit reached for requests/);
      const m = await rig.scrape();
      const model = { model: "rate-limited" };
      assert.equal(value(m, "llm_errors_total", { ...model, error_type: "rate_limited" }), 1);
      assert.equal(value(m, "llm_rate_limits_total", model), 1);
      assert.equal(value(m, "llm_requests_total", { ...model, endpoint: "chat" }), 1);
      assert.equal(value(m, "llm_tokens_total", { ...model, type: "prompt" }), 0);
    } finally {
      await rig.close();
    }
  });

  it("a 500 passes through (streamed request too); counted as http_5xx", async () => {
    const rig = await startGateway();
    try {
      for (const stream of [false, true]) {
        const error = await rig.client().chat.completions.create({
          model: "broken",
          messages: PROMPT,
          stream,
        }).then(() => assert.fail("no error"), (e) => e);
        assert.ok(error instanceof OpenAI.InternalServerError, String(error));
        assert.equal(error.status, 500);
        assert.match(error.message, /The server had an error/);
      }
      const m = await rig.scrape();
      const broken = { model: "broken" };
      assert.equal(value(m, "llm_errors_total", { ...broken, error_type: "http_5xx" }), 2);
      assert.equal(value(m, "llm_requests_total", { ...broken, endpoint: "chat" }), 1);
      assert.equal(value(m, "llm_requests_total", { ...broken, endpoint: "chat_stream" }), 1);
      assert.equal(value(m, "llm_rate_limits_total", broken), 0);
    } finally {
      await rig.close();
    }
  });
});

describe("gateway: its own errors", () => {
  it("401 for a missing or unknown key, OpenAI-shaped; no key in any log line or scrape", async () => {
    const wrong = "gw-wrong-0123456789abcdefSECRET";
    const rig = await startGateway();
    try {
      const error = await rig.client(wrong).chat.completions.create({
        model: MODEL,
        messages: PROMPT,
      }).then(() => assert.fail("no error"), (e) => e);
      assert.ok(error instanceof OpenAI.AuthenticationError, String(error));
      assert.equal(error.status, 401);
      assert.equal(error.code, "invalid_api_key");
      assert.ok(!error.message.includes(wrong));

      const bare = await fetch(`${rig.server.origin}/v1/models`);
      assert.equal(bare.status, 401);
      const body = await bare.json();
      assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
      assert.equal(rig.fake.log.authorizations.length, 0, "an unauthenticated call went upstream");

      // A failing upstream makes the gateway log; still no key in it.
      await rig.client().chat.completions.create({ model: "broken", messages: PROMPT }).catch(
        () => {},
      );
      const scrape = await (await fetch(`${rig.server.origin}/custom_metrics`)).text();
      for (const secret of [wrong, ALICE, BOB, UPSTREAM_KEY]) {
        assert.ok(!rig.lines.join("\n").includes(secret), "a key in the log");
        assert.ok(!scrape.includes(secret), "a key in the scrape");
        assert.ok(!scrape.includes(secret.slice(0, 12)), "part of a key in the scrape");
      }
      const m = await rig.scrape();
      assert.equal(
        value(m, "llm_gateway_requests_total", { endpoint: "chat", code: "401", client: "" }),
        1,
      );
      assert.equal(
        value(m, "llm_gateway_requests_total", { endpoint: "models", code: "401", client: "" }),
        1,
      );
    } finally {
      await rig.close();
    }
  });

  it("413 for a body over the limit, declared or streamed; nothing goes upstream", async () => {
    const rig = await startGateway({ maxBodyBytes: 1000 });
    try {
      const big = JSON.stringify({
        model: MODEL,
        messages: [{ role: "user", content: "x".repeat(2000) }],
      });
      const declared = await fetch(`${rig.server.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" },
        body: big,
      });
      assert.equal(declared.status, 413);
      const error = (await declared.json()).error;
      assert.equal(error.code, "request_too_large");
      assert.match(error.message, /over the gateway's limit of 1000 bytes/);

      const bytes = new TextEncoder().encode(big);
      const streamed = await fetch(`${rig.server.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" },
        body: new ReadableStream({
          start(c) {
            for (let i = 0; i < bytes.length; i += 100) c.enqueue(bytes.slice(i, i + 100));
            c.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      assert.equal(streamed.status, 413);
      assert.equal((await streamed.json()).error.code, "request_too_large");
      assert.equal(rig.fake.log.bodies.length, 0);

      // Within the limit it still works.
      const ok = await rig.client().chat.completions.create({ model: MODEL, messages: PROMPT });
      assert.equal(ok.choices[0].message.content, "w0 w1 w2 w3 w4 ");
    } finally {
      await rig.close();
    }
  });

  it("502 when the upstream is unreachable, counted as network", async () => {
    // A port that was just listening and is closed now.
    const gone = await startGateway();
    const origin = gone.upstream.origin;
    await gone.close();
    const rig = await startGateway({}, { upstreamOrigin: origin });
    try {
      const error = await rig.client().chat.completions.create({ model: MODEL, messages: PROMPT })
        .then(() => assert.fail("no error"), (e) => e);
      assert.ok(error instanceof OpenAI.APIError, String(error));
      assert.equal(error.status, 502);
      assert.equal(error.code, "upstream_unreachable");
      const m = await rig.scrape();
      assert.equal(value(m, "llm_errors_total", { model: MODEL, error_type: "network" }), 1);
      assert.equal(rig.lines.filter((l) => l.includes("unreachable")).length, 1);
    } finally {
      await rig.close();
    }
  });

  it("504 when the upstream does not answer in time; the upstream request is aborted", async () => {
    const rig = await startGateway({ timeoutMs: 200 });
    try {
      const error = await rig.client().chat.completions.create({ model: "slow", messages: PROMPT })
        .then(() => assert.fail("no error"), (e) => e);
      assert.ok(error instanceof OpenAI.APIError, String(error));
      assert.equal(error.status, 504);
      assert.equal(error.code, "upstream_timeout");
      await waitUntil(() => rig.fake.log.aborted === 1, "the upstream to see the abort");
      const m = await rig.scrape();
      assert.equal(value(m, "llm_errors_total", { model: "slow", error_type: "timeout" }), 1);
    } finally {
      await rig.close();
    }
  });

  it("405 for a wrong method, with Allow", async () => {
    const rig = await startGateway();
    try {
      const res = await fetch(`${rig.server.origin}/v1/chat/completions`);
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "POST");
      assert.equal((await res.json()).error.code, "method_not_allowed");
    } finally {
      await rig.close();
    }
  });
});

async function waitUntil(probe: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!probe()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
