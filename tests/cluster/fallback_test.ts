/**
 * Where nothing can be shared: a process on its own (plain `deno run`, Bun,
 * `deno task start` with one worker). `joinCluster` must not throw, must
 * report itself not shared, leave metrics working per process, and keep
 * nothing alive; the single-worker server must not mention sharing at all.
 * The first two tests run under Deno and Bun; the main.ts ones under Deno.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { Counter, Registry } from "../../src/mod.ts";
import { joinCluster } from "../../src/cluster/mod.ts";
import { parseText } from "../_support/parse.ts";
import { fetchText, REPO_ROOT, samplesNamed, sleep, startMain } from "../app/_support.ts";
import { DENO_ONLY, isDeno, waitForCluster } from "./_support.ts";

/** A channel no other test (or server) uses. */
function channel(): string {
  return `securetrack-metrics-fallback-${crypto.randomUUID()}`;
}

describe("joinCluster alone in its process", () => {
  it("does not throw, reports not shared, keeps metrics per process, says at most one line", async () => {
    const logs: string[] = [];
    const registry = new Registry({ log: (m) => logs.push(m) });
    const counter = new Counter({ name: "alone_total", help: "a", registry });
    const cluster = joinCluster({ registries: { default: registry }, channel: channel() });
    try {
      counter.inc(2);
      await sleep(200); // long enough for any peer on the channel to answer (there is none)
      assert.equal(cluster.shared, false);
      assert.equal(cluster.peers, 0);
      assert.match(cluster.worker, /^\S+$/);
      new Counter({ name: "later_total", help: "l", registry }).inc(); // registered after joining
      const text = await registry.metrics();
      assert.match(text, /^alone_total 2$/m);
      assert.match(text, /^later_total 1$/m);
      // Under Deno and Bun 1.4 growable SharedArrayBuffers exist and, with no
      // peer, there is nothing to say; a runtime without them says so once.
      assert.ok(logs.length <= 1, `logged: ${JSON.stringify(logs)}`);
      for (const line of logs) assert.match(line, /each worker reports its own metrics/);
    } finally {
      cluster.close();
    }
  });

  it("a process that joins and never closes the channel still exits by itself", async () => {
    // The runtime running this test runs the child too (`deno run` or `bun`).
    const script = `${REPO_ROOT}tests/cluster/_join_and_leave.ts`;
    const args = isDeno ? ["run", "--no-prompt", script] : [script];
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => out += d);
    child.stderr!.on("data", (d) => err += d);
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    try {
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      assert.equal(code, 0, `exit ${code} (killed after 15 s if still running); stderr: ${err}`);
      const state = JSON.parse(out.trim()) as { shared: boolean; peers: number; value: string };
      assert.deepEqual(state, { shared: false, peers: 0, value: "3" });
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("deno task start: what it says about sharing", { skip: DENO_ONLY }, () => {
  it("WORKERS=1: nothing shared, nothing said about it, runtime gauges without a worker label", async () => {
    const main = await startMain([], { WORKERS: "1", DENO_JOBS: "4" }); // WORKERS wins
    try {
      const { status, body } = await fetchText(main.origin + "/metrics");
      assert.equal(status, 200);
      const heap = samplesNamed(parseText(body), "deno_heap_size_used_bytes");
      assert.equal(heap.length, 1, "one process, one heap series");
      assert.deepEqual(heap[0].labels, {}, "no worker label in one process");
      assert.doesNotMatch(main.stdout() + main.stderr(), /threads/);
      assert.doesNotMatch(main.stderr(), /shar|cop(y|ies)|each worker/i);
    } finally {
      await main.kill();
    }
  });

  it("DENO_JOBS=4: memory is shared (no fallback notice) and start-up notices appear once", async () => {
    const main = await startMain([], { DENO_JOBS: "4", WORKERS: "" });
    try {
      assert.match(main.stderr(), /with 4 threads/);
      // Every thread's runtime series reaches a scrape (the threads meet a few
      // milliseconds after they all listen: the first scrape may come sooner).
      await waitForCluster(main.origin, 4, 3);
      assert.doesNotMatch(main.stderr(), /cop(y|ies) SharedArrayBuffers|not available/);
      const notices = main.stderr().split("\n").filter((l) => l.startsWith("[metrics]"));
      assert.ok(
        notices.length <= 1,
        `the same notice once per thread:\n${notices.join("\n")}`,
      );
    } finally {
      await main.kill();
    }
  });
});

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`main.ts fallback tests skipped: ${DENO_ONLY}`, { skip: true }, () => {});
