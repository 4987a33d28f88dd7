// The done-when of the drop-in: a prom-client program (counter, gauge,
// histogram, summary with labels, collectDefaultMetrics, register.metrics(),
// Pushgateway pushes) runs with only its import changed, on the runtime
// running this test (CI runs it under Deno and under Bun). Its output is
// judged by promtool and our parser; its pushes by a loopback Pushgateway
// stand-in that records method, path, content type and body.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";
import { family, parseText, sampleMap, seriesKey } from "../_support/parse.ts";

interface Push {
  method: string;
  path: string;
  contentType: string | undefined;
  body: string;
}

/** A Pushgateway stand-in on 127.0.0.1 that records each request and answers 202. */
async function fakeGateway(): Promise<{ url: string; pushes: Push[]; close(): Promise<void> }> {
  const pushes: Push[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => body += chunk);
    req.on("end", () => {
      pushes.push({
        method: req.method ?? "",
        path: req.url ?? "",
        contentType: req.headers["content-type"],
        body,
      });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pushes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const EXAMPLE = new URL("./_example.ts", import.meta.url).pathname;
const IS_BUN = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** Runs `script` (default: the example) on this runtime; resolves with its exit code and output. */
function runExample(
  gateway: string,
  script = EXAMPLE,
  denoFlags: readonly string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = IS_BUN
    ? ["run", script, gateway]
    : ["run", "--no-prompt", "--allow-net=127.0.0.1", ...denoFlags, script, gateway];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => stdout += d);
  child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d);
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    })
  );
}

describe("a prom-client program with only its import changed", () => {
  it("runs, prints metrics promtool and our parser accept, and pushes them", {
    skip: promtoolSkip,
  }, async () => {
    const gateway = await fakeGateway();
    try {
      const { code, stdout, stderr } = await runExample(gateway.url);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /pushed/);

      const verdict = checkMetrics(stdout);
      assert.equal(verdict.status, 0, `${verdict.stdout}${verdict.stderr}`);
      assert.equal(verdict.stdout + verdict.stderr, "");

      const families = parseText(stdout);
      const samples = sampleMap(families);
      const value = (key: string) => {
        const [, name, body] = /^(\w+)\{(.*)\}$/.exec(key)!;
        const labels = Object.fromEntries(
          [...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
        );
        return samples.get(seriesKey(name, labels))?.value;
      };
      assert.equal(value('http_requests_total{code="200",method="GET"}'), 1);
      assert.equal(value('http_requests_total{code="201",method="POST"}'), 2);
      assert.equal(value('jobs_in_flight{queue="mail"}'), 2);
      assert.equal(value('jobs_in_flight{queue="sms"}'), 1);
      assert.equal(value('http_request_duration_seconds_bucket{le="0.5",route="/users"}'), 1);
      assert.equal(value('http_request_duration_seconds_bucket{le="1",route="/orders"}'), 0);
      assert.equal(value('http_request_duration_seconds_bucket{le="2.5",route="/orders"}'), 1);
      assert.equal(value('http_request_duration_seconds_count{route="/health"}'), 1);
      assert.equal(value('response_size_bytes_count{route="/users"}'), 5);
      assert.equal(value('response_size_bytes_sum{route="/users"}'), 2700);
      const median = value('response_size_bytes{quantile="0.5",route="/users"}')!;
      assert.ok(Math.abs(median - 560) <= 5.6, `median ${median} is not 560 within 1%`);

      // collectDefaultMetrics with prom-client's names, and its `labels` option.
      for (
        const name of [
          "process_cpu_user_seconds_total",
          "process_cpu_system_seconds_total",
          "process_cpu_seconds_total",
          "process_start_time_seconds",
          "process_resident_memory_bytes",
          "nodejs_eventloop_lag_seconds",
          "nodejs_heap_size_total_bytes",
          "nodejs_heap_size_used_bytes",
          "nodejs_external_memory_bytes",
          "nodejs_heap_space_size_used_bytes",
          "nodejs_version_info",
          "nodejs_gc_duration_seconds",
        ]
      ) {
        const f = family(families, name);
        for (const s of f.samples) assert.equal(s.labels.app, "example", `${s.name} lacks app`);
      }
      assert.ok(value('process_resident_memory_bytes{app="example"}')! > 1e6);
      assert.ok(family(families, "nodejs_heap_size_used_bytes").samples[0].value > 0);
      const version = family(families, "nodejs_version_info").samples[0];
      assert.match(version.labels.version, /^v\d+\.\d+\.\d+/);
      assert.equal(version.labels.major, version.labels.version.slice(1).split(".")[0]);

      // Pushes: pushAdd (POST) with a grouping whose value holds a "/"
      // (base64url-encoded, as the Pushgateway documents), push (PUT), delete.
      assert.deepEqual(
        gateway.pushes.map((p) => [p.method, p.path]),
        [
          ["POST", "/metrics/job/example/instance@base64/YS9i"],
          ["PUT", "/metrics/job/example"],
          ["DELETE", "/metrics/job/example"],
        ],
      );
      for (const p of gateway.pushes.slice(0, 2)) {
        assert.equal(p.contentType, "text/plain; version=0.0.4; charset=utf-8");
        const pushed = sampleMap(parseText(p.body));
        const key = seriesKey("http_requests_total", { code: "201", method: "POST" });
        assert.equal(pushed.get(key)?.value, 2);
        assert.equal(checkMetrics(p.body).status, 0);
      }
      assert.equal(gateway.pushes[2].body, "");
    } finally {
      await gateway.close();
    }
  });

  it("is a prom-client program: the same file runs on prom-client 15.1.3 itself", {
    skip: IS_BUN && "prom-client is loaded as an npm: specifier, which only Deno resolves",
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "prom-client-example-"));
    const gateway = await fakeGateway();
    try {
      const script = join(dir, "example.ts");
      const source = readFileSync(EXAMPLE, "utf8");
      assert.match(source, /from "\.\.\/\.\.\/src\/compat\/mod\.ts";/);
      writeFileSync(
        script,
        source.replace('"../../src/compat/mod.ts"', '"npm:prom-client@15.1.3"'),
      );
      // prom-client reads /proc, the environment and os facts for its default metrics.
      const { code, stdout, stderr } = await runExample(gateway.url, script, [
        "--allow-read",
        "--allow-env",
        "--allow-sys",
      ]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^http_requests_total\{method="POST",code="201"\} 2$/m);
      assert.deepEqual(gateway.pushes.map((p) => p.method), ["POST", "PUT", "DELETE"]);
    } finally {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
