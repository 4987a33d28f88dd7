/**
 * `deno task demo`: the traffic generator against a stand-in of the demo
 * routes (both runtimes), the fake chat-completions API against the real
 * `LLMService` (Deno), the command line, and the task itself run with its
 * own permission flags, starting main.ts (Deno).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  ACTIONS,
  AUTH_FAILURE_REASONS,
  countTraffic,
  FEATURES,
  NOT_FOUND_PATHS,
  runTraffic,
  summarize,
  WORKSPACE_USERS,
} from "../../demo/traffic.ts";
import { directive, parseDirective, startFakeLLM } from "../../demo/fake_llm.ts";
import { parseDemoArgs } from "../../demo/main.ts";
import { taskFlags } from "../../demo/server.ts";
import { Registry } from "../../src/mod.ts";
import { createMetrics, LLMService } from "../../src/tracking/mod.ts";
import { LLMError } from "../../src/llm/mod.ts";
import { isDeno, REPO_ROOT, serveOnLoopback, sleep } from "../app/_support.ts";

const denoOnly = !isDeno && "the fake LLM API and the demo task run under Deno only";

/**
 * A stand-in for the `--demo` routes: answers as they do, keeps the session
 * count the way `app_active_sessions` would without its clamp at zero, and
 * holds each login for a while so that a logout sent too early would overtake it.
 */
function demoStandIn() {
  const state = {
    sessions: 0,
    lowest: 0,
    workspaces: new Map<string, number>(),
    paths: [] as string[],
  };
  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const q = url.searchParams;
    state.paths.push(url.pathname + url.search);
    const p = url.pathname;
    if (p === "/api/login") {
      if (q.get("ok") === "0") return new Response("no", { status: 401 });
      await sleep(5 + Math.random() * 20);
      state.sessions++;
      return Response.json({ ok: true });
    }
    if (p === "/api/logout") {
      state.sessions--;
      state.lowest = Math.min(state.lowest, state.sessions);
      return Response.json({ ok: true });
    }
    if (p === "/api/register") return Response.json({ ok: true });
    if (p.startsWith("/api/features/")) {
      await sleep(Number(q.get("ms") ?? 0));
      return q.get("fail") === "1" ? new Response("boom", { status: 500 }) : Response.json({});
    }
    if (p.startsWith("/api/actions/")) {
      await sleep(Number(q.get("ms") ?? 0));
      return Response.json({});
    }
    if (p.startsWith("/api/workspaces/")) {
      state.workspaces.set(decodeURIComponent(p.split("/")[3]), Number(q.get("bytes")));
      return Response.json({});
    }
    if (p === "/api/llm/chat") {
      const d = parseDirective(q.get("prompt") ?? "");
      return d.status === 200 ? Response.json({}) : new Response("llm", { status: 500 });
    }
    return new Response("not found", { status: 404 });
  };
  return { state, handler };
}

describe("demo traffic generator", () => {
  it("sends exactly --requests requests, every kind and outcome, sessions never below 0", async () => {
    const { state, handler } = demoStandIn();
    const server = await serveOnLoopback(handler);
    try {
      const result = await runTraffic({
        url: server.origin,
        requests: 400,
        rate: 0,
        concurrency: 8,
        latencyScale: 0.02,
        seed: 7,
      });
      assert.equal(result.sent.length, 400);
      assert.equal(state.paths.length, 400, "the server saw each request once");
      assert.equal(state.lowest, 0, "a logout overtook its login");
      assert.equal(state.sessions, result.sessionsOpen);
      assert.ok(result.sent.every((r) => r.status !== 0), "every request answered");

      const c = countTraffic(result.sent);
      for (const [kind, n] of Object.entries(c.byKind)) assert.ok(n > 0, `no ${kind} request`);
      for (const { reason } of AUTH_FAILURE_REASONS) {
        assert.ok(c.authFailuresByReason[reason] > 0, `no failed login for ${reason}`);
      }
      const paths = result.sent.map((r) => r.path);
      for (const f of FEATURES) {
        assert.ok(paths.some((p) => p.startsWith(`/api/features/${f.name}?`)), f.name);
      }
      for (const a of ACTIONS) {
        assert.ok(paths.some((p) => p.startsWith(`/api/actions/${a.type}?`)), a.type);
      }
      assert.deepEqual([...state.workspaces.keys()].sort(), [...WORKSPACE_USERS].sort());
      assert.ok(c.failedFeatures > 0 && c.llmRateLimited > 0 && c.llmServerErrors > 0);
      assert.ok(c.llmStreamed > 0 && c.llmStreamed < c.byKind.llm);
      assert.ok(paths.some((p) => NOT_FOUND_PATHS.includes(p)));
      const scores = paths.flatMap((p) => {
        const s = new URL(p, "http://x").searchParams.get("complexity");
        return s === null ? [] : [Number(s)];
      });
      assert.ok(
        scores.length > 0 && scores.every((s) => Number.isInteger(s) && s >= 0 && s <= 100),
      );

      // The last size sent for each workspace is the one the server kept.
      const last = new Map<string, number>();
      for (const r of result.sent.filter((x) => x.kind === "workspace")) {
        const url = new URL(r.path, "http://x");
        last.set(
          decodeURIComponent(url.pathname.split("/")[3]),
          Number(url.searchParams.get("bytes")),
        );
      }
      assert.deepEqual(last, state.workspaces);

      const summary = summarize(result, server.origin);
      assert.match(summary, /^demo traffic: 400 requests in /);
      assert.match(summary, new RegExp(`${c.byKind.login} logins, ${c.byKind.logout} logouts`));
    } finally {
      await server.close();
    }
  });

  it("is reproducible: the same seed sends the same requests", async () => {
    const { handler } = demoStandIn();
    const server = await serveOnLoopback(handler);
    try {
      // Requests in flight together arrive in any order: compare them sorted.
      const run = () =>
        runTraffic({
          url: server.origin,
          requests: 80,
          rate: 0,
          concurrency: 1,
          seed: 3,
          latencyScale: 0,
        });
      const a = (await run()).sent.map((r) => r.path).sort();
      const b = (await run()).sent.map((r) => r.path).sort();
      assert.deepEqual(a, b);
    } finally {
      await server.close();
    }
  });

  it("stops at the duration, paced by the rate", async () => {
    const { state, handler } = demoStandIn();
    const server = await serveOnLoopback(handler);
    try {
      const result = await runTraffic({
        url: server.origin,
        durationSeconds: 0.5,
        rate: 20,
        concurrency: 4,
        latencyScale: 0,
      });
      // Pacing hands out one start every 50 ms: at most 11 fit in 0.5 s (a slow machine sends fewer).
      assert.ok(result.sent.length >= 1 && result.sent.length <= 11, `${result.sent.length} sent`);
      assert.equal(state.paths.length, result.sent.length);
    } finally {
      await server.close();
    }
  });

  it("records a request that got no answer with status 0, and an abort stops the run", async () => {
    const server = await serveOnLoopback(() => new Response("x"));
    const origin = server.origin;
    await server.close();
    const refused = await runTraffic({ url: origin, requests: 3, rate: 0, concurrency: 1 });
    assert.equal(refused.sent.length, 3);
    assert.ok(refused.sent.every((r) => r.status === 0 && typeof r.error === "string"));

    const stop = new AbortController();
    stop.abort();
    const aborted = await runTraffic({ url: origin, requests: 50, signal: stop.signal });
    assert.equal(aborted.sent.length, 0);
  });

  it("refuses bad options", async () => {
    await assert.rejects(runTraffic({ url: "127.0.0.1:8000" }), TypeError);
    await assert.rejects(runTraffic({ url: "http://127.0.0.1:1", concurrency: 0 }), RangeError);
    await assert.rejects(runTraffic({ url: "http://127.0.0.1:1", rate: -1 }), RangeError);
  });
});

describe("demo command line", () => {
  it("defaults to the start task's address and bounds the run", () => {
    const a = parseDemoArgs([]);
    assert.equal(a.url, "http://127.0.0.1:8000");
    assert.equal(a.start, false);
    assert.equal(a.durationSeconds, undefined);
    assert.equal(parseDemoArgs(["--requests=25"]).requests, 25);
    assert.equal(parseDemoArgs(["--start", "--port", "8000"]).port, 8000);
    assert.equal(parseDemoArgs(["--url", "http://localhost:9000/"]).url, "http://localhost:9000");
    assert.equal(parseDemoArgs(["--url", "http://[::1]:9000"]).url, "http://[::1]:9000");
  });

  it("refuses anything but loopback, and bad values, naming the flag", () => {
    for (
      const url of ["http://10.0.0.1:8000", "http://example.com", "https://127.0.0.1:8000", "nope"]
    ) {
      assert.throws(() => parseDemoArgs(["--url", url]), /--url/, url);
    }
    assert.throws(() => parseDemoArgs(["--requests", "-1"]), /--requests/);
    assert.throws(() => parseDemoArgs(["--requests", "2.5"]), /--requests/);
    assert.throws(() => parseDemoArgs(["--duration", "0"]), /--duration/);
    assert.throws(() => parseDemoArgs(["--concurrency", "0"]), /--concurrency/);
    assert.throws(() => parseDemoArgs(["--port", "8000"]), /--port needs --start/);
    assert.throws(() => parseDemoArgs(["--start", "--url", "http://127.0.0.1:1"]), /exclude/);
    assert.throws(() => parseDemoArgs(["--bogus"]), /unknown argument "--bogus"/);
    assert.throws(() => parseDemoArgs(["--rate"]), /--rate needs a value/);
  });

  it("fake directives round-trip", () => {
    assert.deepEqual(parseDirective(`hello ${directive({ status: 429, ms: 12, words: 3 })}`), {
      status: 429,
      ms: 12,
      words: 3,
    });
    assert.deepEqual(parseDirective("no directive"), {
      status: 200,
      ms: undefined,
      words: undefined,
    });
    assert.equal(parseDirective("[fake:status=99,ms=x]").status, 200);
  });
});

describe("fake chat-completions API, with the real LLMService", () => {
  it("answers JSON and SSE with usage, 429 with Retry-After, 500, and 401 for a wrong key", {
    skip: denoOnly,
  }, async () => {
    const fake = await startFakeLLM();
    try {
      const registry = new Registry();
      const metrics = createMetrics(registry);
      const llm = new LLMService({
        baseUrl: fake.baseUrl,
        apiKey: fake.apiKey,
        model: "m",
        metrics,
      });
      const answer = await llm.generateResponse({
        prompt: `Hi ${directive({ words: 12, ms: 1 })}`,
      });
      assert.equal(answer.text.split(" ").length, 12);
      assert.equal(answer.usage?.completionTokens, fake.calls[0].completionTokens);
      assert.equal(new TextEncoder().encode(answer.text).length, fake.calls[0].completionBytes);

      let streamed = "";
      const stream = llm.streamResponse({ prompt: `Go ${directive({ words: 30, ms: 5 })}` });
      for await (const chunk of stream) streamed += chunk;
      assert.equal(streamed.split(" ").length, 30);
      assert.equal(fake.calls[1].stream, true);
      assert.ok(fake.calls[1].promptTokens > 0, "usage sent for include_usage");

      const limited = await llm.generateResponse({ prompt: directive({ status: 429, ms: 0 }) })
        .catch((
          e,
        ) => e);
      assert.ok(limited instanceof LLMError);
      assert.equal(limited.type, "rate_limited");
      assert.equal(limited.retryAfterSeconds, 1);
      const failed = await (async () => {
        for await (
          const _ of llm.streamResponse({ prompt: directive({ status: 500, ms: 0 }) })
        ) { /* */ }
      })().catch((e) => e);
      assert.equal((failed as LLMError).type, "http_5xx");

      const wrongKey = new LLMService({
        baseUrl: fake.baseUrl,
        apiKey: "sk-other",
        model: "m",
        metrics,
      });
      const denied = await wrongKey.generateResponse({ prompt: "x" }).catch((e) => e);
      assert.equal((denied as LLMError).type, "http_4xx");

      const text = await registry.metrics();
      assert.match(text, /llm_tokens_total\{model="m",type="prompt"\} \d+/);
      assert.match(text, /llm_rate_limits_total\{model="m"\} 1/);
      assert.match(text, /llm_errors_total\{model="m",error_type="http_5xx"\} 1/);
    } finally {
      await fake.close();
    }
  });
});

describe("deno task demo", () => {
  const flags = () =>
    taskFlags(readFileSync(`${REPO_ROOT}deno.json`, "utf8"), "demo", "demo/main.ts");

  it("has least-privilege flags: loopback network, deno.json, running deno", () => {
    const f = flags();
    assert.ok(!f.includes("-A") && !f.includes("--allow-all"), f.join(" "));
    assert.ok(f.includes("--allow-net=127.0.0.1,localhost,[::1]"), f.join(" "));
    assert.ok(f.includes("--allow-read=deno.json"), f.join(" "));
    assert.ok(f.includes("--allow-run=deno"), f.join(" "));
    assert.ok(!f.some((x) => x.startsWith("--allow-env") || x.startsWith("--allow-write")));
  });

  it("--start: starts main.ts and the fake LLM, sends the requests, stops both, exits 0", {
    skip: denoOnly,
  }, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...flags(),
        "demo/main.ts",
        "--start",
        "--requests",
        "60",
        "--rate",
        "0",
        "--latency-scale",
        "0.05",
      ],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stdout + stderr);
    const started = /started (http:\/\/127\.0\.0\.1:\d+) \(main\.ts --demo\)/.exec(stdout);
    assert.ok(started, stdout);
    assert.match(stdout, /demo traffic: 60 requests in /);
    assert.doesNotMatch(stdout, /got no response/);
    // The server it started is gone.
    await assert.rejects(fetch(started[1] + "/healthz"));
  });

  it(
    "exits 2 for a non-loopback --url and 1 when nothing listens",
    { skip: denoOnly },
    async () => {
      const run = async (...args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", ...flags(), "demo/main.ts", ...args],
          cwd: REPO_ROOT,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
      };
      const far = await run("--url", "http://192.0.2.1:8000");
      assert.equal(far.code, 2);
      assert.match(far.stderr, /only http:\/\/ on loopback/);
      const server = await serveOnLoopback(() => new Response("x"));
      await server.close();
      const none = await run("--url", server.origin, "--requests", "5");
      assert.equal(none.code, 1);
      assert.match(none.stderr, /no server at/);
    },
  );
});
