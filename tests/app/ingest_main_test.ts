// Ingestion through `deno task start` (main.ts as a subprocess, with the
// start task's permissions): on with INGEST_TOKENS, the idempotency keys
// shared by the server threads of one process, and a tokens file it may not
// read refused in one line.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { isDeno, runMain, startMain } from "./_support.ts";
import { parseText } from "../_support/parse.ts";
import { valueIn, waitFor } from "./_support.ts";

const skip = !isDeno && "main.ts runs on Deno; run these under deno test";
const TOKEN = "main-token-0123456789abc";

/** One POST on a connection of its own (no keep-alive): each may land on another thread. */
function postAlone(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; replayed: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      agent: false,
      headers: { ...headers, Connection: "close", "Content-Length": String(body.length) },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => text += chunk);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          replayed: res.headers["idempotent-replayed"] === "true",
          body: text,
        }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("ingestion in main.ts", { skip }, () => {
  it("with two threads, a batch retried on fresh connections is counted once", async () => {
    const main = await startMain(["--workers", "2"], { INGEST_TOKENS: `fastapi:${TOKEN}` });
    try {
      // Printed right after the listening line.
      await waitFor("the ingestion line", () => /event ingestion at POST/.test(main.stderr()));
      assert.match(main.stderr(), /event ingestion at POST \/api\/v1\/events for fastapi\n/);
      assert.ok(!main.stderr().includes(TOKEN));
      const url = `${main.origin}/api/v1/events`;
      const headers = {
        Authorization: `Bearer ${TOKEN}`,
        "Content-Type": "application/json",
        "Idempotency-Key": "one-batch",
      };
      const batch = JSON.stringify(Array.from({ length: 7 }, () => ({ kind: "login" })));
      // 24 fresh connections: the kernel spreads them over both threads (all
      // on one would be a 1 in 2^23 chance), and every thread must know the key.
      const answers = [];
      for (let i = 0; i < 24; i++) answers.push(await postAlone(url, batch, headers));
      for (const a of answers) assert.equal(a.status, 200, a.body);
      assert.equal(answers.filter((a) => !a.replayed).length, 1);
      // Concurrently too: whichever thread records it, the others answer a
      // replay or "in flight" (409), never a second recording.
      const other = { ...headers, "Idempotency-Key": "another-batch" };
      const racing = await Promise.all(
        Array.from({ length: 12 }, () => postAlone(url, batch, other)),
      );
      for (const a of racing) assert.ok(a.status === 200 || a.status === 409, a.body);
      assert.equal(racing.filter((a) => a.status === 200 && !a.replayed).length, 1);

      const res = await fetch(`${main.origin}/custom_metrics`);
      const f = parseText(await res.text());
      assert.equal(valueIn(f, "user_logins_total"), 14);

      // The configured client on /metrics: 1, not 1 per thread. Read once a
      // scrape holds both threads' batches (24 + 12 of them, however spread).
      let text = "";
      await waitFor("both threads' batches on /metrics", async () => {
        text = await (await fetch(`${main.origin}/metrics`)).text();
        const batches = parseText(text).find((x) => x.name === "ingest_batches_total");
        return (batches?.samples ?? []).reduce((sum, x) => sum + x.value, 0) === 36;
      });
      assert.equal(valueIn(parseText(text), "ingest_clients", { client: "fastapi" }), 1);
      assert.ok(!text.includes(TOKEN), "a token on /metrics");
    } finally {
      await main.kill();
    }
  });

  it("a tokens file outside what the start task may read: one line, exit 2, no token", async () => {
    const r = await runMain(["--ingest-tokens-file", "/etc/ingest-tokens"], {
      HOSTNAME: "127.0.0.1",
      INGEST_TOKENS: "",
    });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /cannot read the ingestion tokens file \/etc\/ingest-tokens: not permitted; deno task start and deno serve app\/worker\.ts read only under \/run\/secrets, else run with --allow-read=\/etc\/ingest-tokens/,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  });

  it("bad INGEST_TOKENS: one line naming the pair, exit 2, no token", async () => {
    const r = await runMain([], {
      HOSTNAME: "127.0.0.1",
      INGEST_TOKENS: `a:${TOKEN},a:${TOKEN}x`,
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /INGEST_TOKENS: entry 2: name a twice/);
    assert.ok(!r.stderr.includes(TOKEN), r.stderr);
  });
});
