/**
 * "One thread per core" (README, Configuration): `deno task start` runs
 * `WORKERS` threads, else `DENO_JOBS`, else one per core
 * (`navigator.hardwareConcurrency`); `--workers` beats them all. The
 * threads are counted, not read from the log line: every thread reports its
 * runtime gauges with its own `worker` label, and the scrapes must show
 * exactly that many (a single thread has no `worker` label at all).
 *
 * Deno only.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { parseText } from "../_support/parse.ts";
import { fetchText, type MainProcess, samplesNamed, startMain } from "../app/_support.ts";
import { DENO_ONLY, isDeno, scrapeFresh, waitForCluster } from "./_support.ts";

const CORES = navigator.hardwareConcurrency ?? 1;

/** Whether `taskset` (util-linux) can run a command on one CPU here. */
const TASKSET = isDeno && spawnSync("taskset", ["-c", "0", "true"]).status === 0;

/**
 * Asserts that `main` serves with exactly `threads` threads: the log line,
 * and `threads` distinct `worker` labels in 3 scrapes in a row (and never
 * more: waitForCluster fails on any other number); one thread: no label.
 */
async function assertThreads(main: MainProcess, threads: number, what: string): Promise<void> {
  if (threads === 1) {
    assert.doesNotMatch(main.stderr(), /threads$/m, what);
    const heap = samplesNamed(
      parseText((await fetchText(main.origin + "/metrics")).body),
      "deno_heap_size_used_bytes",
    );
    assert.deepEqual(heap.map((s) => s.labels), [{}], `${what}: one thread, no worker label`);
    return;
  }
  assert.match(main.stderr(), new RegExp(`with ${threads} threads$`, "m"), what);
  await waitForCluster(main.origin, threads, 3);
  const metrics = await scrapeFresh(main.origin, "/metrics");
  const workers = new Set(samplesNamed(metrics, "deno_version_info").map((s) => s.labels.worker));
  assert.equal(workers.size, threads, `${what}: workers ${[...workers]}`);
}

async function withMain(
  args: string[],
  env: Record<string, string>,
  body: (main: MainProcess) => Promise<void>,
  prefix: readonly string[] = [],
): Promise<void> {
  const main = await startMain(args, env, prefix);
  try {
    await body(main);
  } finally {
    await main.kill();
  }
}

describe("deno task start: how many threads", { skip: DENO_ONLY }, () => {
  it(`by default one per core: ${CORES} (navigator.hardwareConcurrency)`, async () => {
    await withMain([], {}, (main) => assertThreads(main, CORES, "default"));
  });

  it("one core visible (taskset -c 0): one thread", {
    skip: !TASKSET && "taskset (util-linux) is not available to pin the process to one CPU",
  }, async () => {
    await withMain([], {}, (main) => assertThreads(main, 1, "taskset -c 0"), [
      "taskset",
      "-c",
      "0",
    ]);
  });

  it("DENO_JOBS=3: three threads, whatever the cores", async () => {
    await withMain([], { DENO_JOBS: "3" }, (main) => assertThreads(main, 3, "DENO_JOBS=3"));
  });

  it("WORKERS=2 wins over DENO_JOBS=3", async () => {
    await withMain(
      [],
      { WORKERS: "2", DENO_JOBS: "3" },
      (main) => assertThreads(main, 2, "WORKERS=2 DENO_JOBS=3"),
    );
  });

  it("--workers 1 wins over WORKERS=3", async () => {
    await withMain(
      ["--workers", "1"],
      { WORKERS: "3" },
      (main) => assertThreads(main, 1, "--workers 1 WORKERS=3"),
    );
  });
});

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`thread count tests skipped: ${DENO_ONLY}`, { skip: true }, () => {});
