// Clients nobody here wrote: Python's standard library (urllib, as a FastAPI
// app would send events) and curl, against POST /api/v1/events on a real
// loopback server; what they sent is read back through a real scrape.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "../../src/mod.ts";
import { createExporter } from "../../app/exporter.ts";
import { INGEST_PATH } from "../../app/ingest.ts";
import { silentLog } from "../../app/log.ts";
import { parseText } from "../_support/parse.ts";
import { probeTool, skipWithout } from "../_support/tools.ts";
import { fetchText, type LoopbackServer, REPO_ROOT, serveOnLoopback, valueIn } from "./_support.ts";

const TOKEN = "fastapi-token-0123456789";
const PYTHON = "/usr/bin/python3";

/**
 * Runs a command without blocking this process (its server must answer the
 * child): resolves with its exit code and output, killing it after 60 s.
 */
function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: 60_000, env: { PATH: "/usr/bin:/bin", ...env }, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

async function start(): Promise<{ server: LoopbackServer; url: string }> {
  const exporter = createExporter({
    registry: new Registry(),
    customRegistry: new Registry(),
    log: silentLog,
    ingest: { tokens: [{ name: "fastapi", token: TOKEN }] },
  });
  const server = await serveOnLoopback(exporter.fetch);
  return { server, url: server.origin + INGEST_PATH };
}

async function scrape(server: LoopbackServer) {
  return parseText((await fetchText(`${server.origin}/custom_metrics`)).body);
}

// What a FastAPI service would run: urllib only, a batch with an
// Idempotency-Key, retried with the same key, and a bad batch's 400 read.
const PYTHON_CLIENT = String.raw`
import json, os, sys, urllib.error, urllib.request, uuid

URL = os.environ["INGEST_URL"]
TOKEN = os.environ["INGEST_TOKEN"]

def lower(headers):
    return {name.lower(): value for name, value in headers.items()}

def send(events, key=None):
    body = json.dumps(events).encode()
    headers = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(URL, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, lower(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, lower(error.headers), json.load(error)

batch = [
    {"kind": "feature_run", "feature": "threat_analysis", "seconds": 0.25},
    {"kind": "feature_run", "feature": "threat_analysis", "seconds": 2.5, "error_type": "ValueError"},
    {"kind": "login"},
    {"kind": "session_start"},
    {"kind": "user_action", "action": "document_upload", "seconds": None},
    {"kind": "app_request", "endpoint": "/threats/{id}", "method": "GET", "status_code": 200, "seconds": 0.012},
    {"kind": "llm_call", "model": "gpt-4o-mini", "endpoint": "chat", "seconds": 0.8,
     "prompt_tokens": 12, "completion_tokens": 34},
]
key = str(uuid.uuid4())
results = {
    "first": send(batch, key),
    "retry": send(batch, key),
    "bad": send([{"kind": "login"}, {"kind": "feature_run", "feature": "", "seconds": 1},
                 {"kind": "feature_run", "feature": "f", "seconds": "fast"}]),
    "unauthorized": None,
}
TOKEN = "not-the-token-0123456789"
results["unauthorized"] = send([{"kind": "login"}])
json.dump(results, sys.stdout)
`;

/** The README's FastAPI snippet: the python block after "**From FastAPI**". */
function readmeSnippet(): string {
  const readme = readFileSync(`${REPO_ROOT}README.md`, "utf8");
  const after = readme.slice(readme.indexOf("**From FastAPI**"));
  const block = /```python\n([\s\S]*?)```/.exec(after);
  assert.ok(block, "the README has its FastAPI snippet");
  return block[1];
}

// A stand-in for FastAPI (not installed here): the app's middleware
// decorator hands the function back, so the snippet's middleware can be called.
const FAKE_FASTAPI = `
class Request:
    pass

class FastAPI:
    def middleware(self, kind):
        assert kind == "http"
        return lambda fn: fn
`;

// Drives the snippet: an event queued by hand and one request through its
// middleware, then waits (by condition) until the exporter shows both.
const DRIVE_SNIPPET = String.raw`
import asyncio, sys
events.put({"kind": "login"})

class Route: path = "/threats/{id}"
class FakeRequest:
    scope = {"route": Route()}
    method = "GET"
class FakeResponse: status_code = 201
async def call_next(request):
    return FakeResponse()
assert asyncio.run(track_requests(FakeRequest(), call_next)).status_code == 201

want = ['user_logins_total 1', 'app_requests_total{endpoint="/threats/{id}",method="GET",status_code="201"} 1']
deadline = time.time() + 60
while time.time() < deadline:
    text = urllib.request.urlopen(os.environ["METRICS_URL"], timeout=10).read().decode()
    if all(line in text for line in want):
        sys.exit(0)
    time.sleep(0.05)
sys.exit("the events did not arrive within 60 s")
`;

const missingPython = probeTool(PYTHON, ["-c", "import urllib.request, json, uuid"]);
const missingCurl = probeTool("curl", ["--version"]);

describe("ingestion clients", () => {
  it("Python's urllib: a batch, its retry counted once, a bad batch's reasons", {
    skip: skipWithout(missingPython),
  }, async () => {
    const { server, url } = await start();
    try {
      const r = await run(PYTHON, ["-c", PYTHON_CLIENT], {
        INGEST_URL: url,
        INGEST_TOKEN: TOKEN,
      });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      const [status, headers, body] = out.first;
      assert.equal(status, 200);
      assert.match(headers["content-type"], /^application\/json/);
      assert.deepEqual(body, {
        accepted: 7,
        counts: {
          feature_run: 2,
          login: 1,
          session_start: 1,
          user_action: 1,
          app_request: 1,
          llm_call: 1,
        },
      });
      assert.equal(out.retry[0], 200);
      assert.equal(out.retry[1]["idempotent-replayed"], "true");
      assert.equal(out.retry[2].replayed, true);
      assert.equal(out.bad[0], 400);
      assert.deepEqual(out.bad[2].invalid.map((b: { index: number }) => b.index), [1, 2]);
      assert.match(out.bad[2].invalid[0].reason, /"feature" must be a non-empty string/);
      assert.match(out.bad[2].invalid[1].reason, /"seconds" must be a number, got "fast"/);
      assert.equal(out.unauthorized[0], 401);

      const f = await scrape(server);
      assert.equal(valueIn(f, "feature_usage_total", { feature_name: "threat_analysis" }), 2);
      assert.equal(
        valueIn(f, "feature_errors_total", {
          feature_name: "threat_analysis",
          error_type: "ValueError",
        }),
        1,
      );
      assert.equal(valueIn(f, "user_logins_total"), 1);
      assert.equal(valueIn(f, "app_active_sessions"), 1);
      assert.equal(valueIn(f, "user_action_total", { action_type: "document_upload" }), 1);
      assert.equal(
        valueIn(f, "app_requests_total", {
          endpoint: "/threats/{id}",
          method: "GET",
          status_code: "200",
        }),
        1,
      );
      assert.equal(
        valueIn(f, "llm_tokens_total", { model: "gpt-4o-mini", type: "completion" }),
        34,
      );
    } finally {
      await server.close();
    }
  });

  it("the README's FastAPI snippet sends its events (FastAPI stood in for)", {
    skip: skipWithout(missingPython),
  }, async () => {
    const { server, url } = await start();
    const dir = mkdtempSync(join(tmpdir(), "ingest-fastapi-"));
    try {
      mkdirSync(join(dir, "fastapi"));
      writeFileSync(join(dir, "fastapi", "__init__.py"), FAKE_FASTAPI);
      const r = await run(PYTHON, ["-c", readmeSnippet() + DRIVE_SNIPPET], {
        PYTHONPATH: dir,
        METRICS_INGEST_URL: url,
        METRICS_INGEST_TOKEN: TOKEN,
        METRICS_URL: `${server.origin}/custom_metrics`,
      });
      assert.equal(r.code, 0, r.stderr);
      const f = await scrape(server);
      assert.equal(valueIn(f, "user_logins_total"), 1);
      assert.equal(
        valueIn(f, "app_request_duration_seconds_count", {
          endpoint: "/threats/{id}",
          method: "GET",
        }),
        1,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });

  it(
    "curl: NDJSON from the command line, and its errors",
    { skip: skipWithout(missingCurl) },
    async () => {
      const { server, url } = await start();
      try {
        const curl = (body: string, ...extra: string[]) =>
          run("curl", [
            "-sS",
            "-w",
            "\n%{http_code}",
            "-H",
            `Authorization: Bearer ${TOKEN}`,
            "-H",
            "Content-Type: application/x-ndjson",
            ...extra,
            "--data-binary",
            body,
            url,
          ]);
        const ndjson = '{"kind":"registration"}\n{"kind":"login"}\n' +
          '{"kind":"auth_failure","reason":"invalid_password"}\n' +
          '{"kind":"workspace_size","user_id":"u-1","bytes":1048576}\n';
        const ok = await curl(ndjson, "-H", "Idempotency-Key: curl-batch-1");
        assert.equal(ok.code, 0, ok.stderr);
        const [okBody, okStatus] = ok.stdout.split("\n").filter((l) => l !== "");
        assert.equal(okStatus, "200");
        assert.equal(JSON.parse(okBody).accepted, 4);
        const again = await curl(ndjson, "-H", "Idempotency-Key: curl-batch-1");
        assert.match(again.stdout, /"replayed":true/);
        const bad = await curl('{"kind":"login"}\n{"kind":"login"\n{"kind":"nap"}\n');
        const [badBody, badStatus] = bad.stdout.split("\n").filter((l) => l !== "");
        assert.equal(badStatus, "400");
        const invalid = JSON.parse(badBody).invalid;
        assert.deepEqual(invalid.map((b: { line: number }) => b.line), [2, 3]);
        assert.match(invalid[0].reason, /^not valid JSON/);
        assert.match(invalid[1].reason, /^unknown kind "nap"/);
        const plain = await run("curl", [
          "-sS",
          "-w",
          "\n%{http_code}",
          "-H",
          `Authorization: Bearer ${TOKEN}`,
          "--data-binary",
          ndjson,
          url,
        ]);
        // curl's default type, application/x-www-form-urlencoded, is never guessed at.
        assert.match(plain.stdout, /unsupported_media_type[\s\S]*\n415$/);

        const f = await scrape(server);
        assert.equal(valueIn(f, "user_registrations_total"), 1);
        assert.equal(valueIn(f, "user_logins_total"), 1);
        assert.equal(valueIn(f, "user_auth_failures_total", { reason: "invalid_password" }), 1);
        assert.equal(valueIn(f, "workspace_size_bytes", { user_id: "u-1" }), 1048576);
      } finally {
        await server.close();
      }
    },
  );
});
