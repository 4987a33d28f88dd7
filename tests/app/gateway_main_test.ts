/**
 * The gateway in `deno task start` (main.ts as a subprocess, with the start
 * task's exact permissions): configured from the environment, on two server
 * threads, metering a call through the fake upstream; and a key file the
 * task may not read, refused in one line at start.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFakeUpstream } from "../../bench/_gateway_upstream.ts";
import { isDeno, runMain, serveOnLoopback, startMain } from "./_support.ts";
import { ALICE, UPSTREAM_KEY, value } from "./_gateway.ts";
import { parseText } from "../_support/parse.ts";

const skip = !isDeno && "main.ts is the Deno entry point; run these under deno test";

describe("main.ts: the gateway", { skip }, () => {
  it("configured from the environment, on 2 threads: forwards, meters, never prints a key", async () => {
    const fake = createFakeUpstream(UPSTREAM_KEY);
    const upstream = await serveOnLoopback(fake.handler);
    let main;
    try {
      main = await startMain(["--workers", "2"], {
        GATEWAY_UPSTREAM_URL: `${upstream.origin}/v1`,
        GATEWAY_UPSTREAM_API_KEY: UPSTREAM_KEY,
        GATEWAY_KEYS: `alice:${ALICE}`,
      });
      const res = await fetch(`${main.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "fake-main",
          messages: [{ role: "user", content: "a b" }],
          max_tokens: 3,
        }),
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).choices[0].message.content, "w0 w1 w2 ");
      // Any thread answers the scrape with the totals of both.
      const m = parseText(await (await fetch(`${main.origin}/custom_metrics`)).text());
      const model = "fake-main-2026-01-01";
      assert.equal(value(m, "llm_tokens_total", { model, type: "completion" }), 3);
      assert.equal(
        value(m, "llm_gateway_tokens_total", { model, type: "prompt", client: "alice" }),
        2,
      );
      assert.match(
        main.stderr(),
        new RegExp(
          `LLM gateway on /v1/chat/completions.* forwarding to ${upstream.origin}/v1 ` +
            `for 1 client key`,
        ),
      );
      for (const secret of [ALICE, UPSTREAM_KEY]) assert.ok(!main.stderr().includes(secret));
    } finally {
      await main?.kill();
      await upstream.close();
    }
  });

  it("a key file outside /run/secrets: exit 2, one line naming the flag that would allow it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gateway-main-"));
    try {
      const keys = join(dir, "keys");
      writeFileSync(keys, `alice:${ALICE}\n`);
      const run = await runMain(["--port", "0"], {
        GATEWAY_UPSTREAM_URL: "http://127.0.0.1:9/v1",
        GATEWAY_KEYS_FILE: keys,
      });
      assert.equal(run.code, 2, run.stderr);
      assert.equal(
        run.stderr.trim(),
        `securetrack-metrics: cannot read the client keys file ${keys}: not permitted; ` +
          `deno task start and deno serve app/worker.ts read only under /run/secrets, else ` +
          `run with --allow-read=${keys} ` +
          `(see --help)`,
      );
      assert.ok(!run.stderr.includes(ALICE));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
