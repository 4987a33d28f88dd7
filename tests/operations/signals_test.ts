/**
 * Signals through every launcher the README names (issue 15): SIGTERM or
 * SIGINT sent to the top process of `deno task start`, of the npm-only
 * command (`exec "$(npx -y deno@2.9.6 eval …)" task start`), of
 * `deno task demo --start` and of `deno serve --parallel app/worker.ts`
 * drains a request in flight, exits 0, and leaves no process behind and no
 * port bound. And what the README says about npm's own launcher: SIGTERM to
 * `npx -y deno@2.9.6 task start` ends npm and leaves the server running.
 *
 * Each launcher runs under `setsid`, so it leads a session of its own:
 * "no process behind" is "no process left in that session" (read from
 * /proc). Real signals, real connections on 127.0.0.1; waits by condition.
 * Deno only (the launchers are Deno's).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  type Child,
  fetchText,
  isDeno,
  refusesConnections,
  slowRequest,
  spawnCommand,
  spawnDeno,
  waitFor,
  waitForListening,
  workerModuleFlags,
} from "../app/_support.ts";
import { probeTool, skipWithout } from "../_support/tools.ts";
import { waitForCluster } from "../cluster/_support.ts";

const denoOnly = !isDeno && "the launchers are Deno's; run these under deno test";

/** npm's launcher, from npm's cache only (`.ci/run` has just used it; no registry here). */
const NPX_DENO = ["-y", "deno@2.9.6"];
const NPX_ENV = { npm_config_offline: "true" };

/**
 * The README's command for a machine with only Node and npm: npx finds (or
 * fetches) the Deno binary and prints its path, and the shell `exec`s it, so
 * `deno task start` itself is the top process and passes signals on.
 */
export const NPX_EXEC_START = `exec "$(npx ${NPX_DENO.join(" ")} eval ` +
  `'console.log(Deno.execPath())')" task start`;

const npxMissing = isDeno ? probeTool("npx", ["--offline", ...NPX_DENO, "--version"]) : "";
const npxSkip = denoOnly || skipWithout(npxMissing);

/**
 * The processes in session `sid` (its leader included), from `ps`: Deno 2.9
 * reads /proc only with --allow-all, which the README's test command does not
 * grant; --allow-run does cover `ps`.
 */
function sessionProcesses(sid: number): { pid: number; args: string }[] {
  const ps = spawnSync("ps", ["-e", "-o", "pid=,sid=,args="], { encoding: "utf8" });
  if (ps.error || ps.status !== 0) {
    throw new Error(`ps -e -o pid=,sid=,args= failed: ${ps.error?.message ?? ps.stderr}`);
  }
  const out: { pid: number; args: string }[] = [];
  for (const line of ps.stdout.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s?(.*)$/.exec(line);
    if (m && Number(m[2]) === sid) out.push({ pid: Number(m[1]), args: m[3] });
  }
  return out;
}

/** The process ids in session `sid` (its leader included). */
function sessionMembers(sid: number): number[] {
  return sessionProcesses(sid).map((p) => p.pid);
}

/** What each process in session `sid` runs, for a failure message. */
function describeSession(sid: number): string {
  return sessionProcesses(sid).map((p) => `${p.pid}: ${p.args}`).join("\n");
}

/** SIGKILLs whatever is left in session `sid` (only what this test started is in it). */
function killSession(sid: number): void {
  for (const pid of sessionMembers(sid)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/**
 * Waits (at most 60 s) for the launcher itself to exit, then returns what is
 * left in its session (killed, so that its output ends) and how it exited.
 */
async function ended(
  child: Child,
  sid: number,
): Promise<{ left: string; exit: { code: number | null; signal: string | null } }> {
  let left = "";
  try {
    await waitFor("the launcher to exit", () => !child.running(), 60_000);
  } finally {
    // Whatever is left holds its output open: describe it, then end it.
    left = describeSession(sid);
    killSession(sid);
  }
  return { left, exit: await child.exited };
}

/** The server settings of a launched exporter: any free port on loopback, demo routes on. */
const SERVER_ENV = { PORT: "0", HOSTNAME: "127.0.0.1", WORKERS: "2", DEMO: "1" };
const MAIN_LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)\//;

interface Launcher {
  name: string;
  skip: string | false;
  start(): Child;
  /** Its line saying where the server listens; the first group is the origin. */
  listening: RegExp;
  /** A line of the server's that says it drained, when it prints one. */
  drained?: RegExp;
  /** Waits until it is ready for a signal, past its listening line. */
  ready?: (origin: string) => Promise<unknown>;
}

const LAUNCHERS: Launcher[] = [
  {
    name: "deno task start",
    skip: denoOnly,
    start: () => spawnDeno(["task", "start"], SERVER_ENV, ["setsid"]),
    listening: MAIN_LISTENING,
    drained: /^stopped$/m,
  },
  {
    name: "the npm-only command (sh -c 'exec \"$(npx … eval …)\" task start')",
    skip: npxSkip,
    start: () =>
      spawnCommand("setsid", ["sh", "-c", NPX_EXEC_START], { ...SERVER_ENV, ...NPX_ENV }),
    listening: MAIN_LISTENING,
    drained: /^stopped$/m,
  },
  {
    name: "deno task demo --start",
    skip: denoOnly,
    // One simulated user, fast and far apart: the test's own slow request is the one in flight.
    start: () =>
      spawnDeno(
        [
          "task",
          "demo",
          "--start",
          "--duration",
          "600",
          "--rate",
          "0.01",
          "--concurrency",
          "1",
          "--latency-scale",
          "0.01",
        ],
        {},
        ["setsid"],
      ),
    listening: /demo: started (http:\/\/127\.0\.0\.1:\d+) \(main\.ts --demo\)/,
  },
  {
    name: "deno serve --parallel app/worker.ts",
    skip: denoOnly,
    start: () =>
      spawnDeno(
        [
          "serve",
          "--parallel",
          "--port",
          "0",
          "--host",
          "127.0.0.1",
          ...workerModuleFlags(),
          "app/worker.ts",
        ],
        { DENO_JOBS: "2", DEMO: "1" },
        ["setsid"],
      ),
    listening: /Listening on (http:\/\/127\.0\.0\.1:\d+)\//,
    // `deno serve` says "Listening" when its first worker listens. A signal
    // while the others still start is not handled (Deno 2.9.6, with a
    // one-line module too): it dies of the signal or hangs. So: once every
    // worker has joined the cluster (the README says so).
    ready: (origin) => waitForCluster(origin, 2),
  },
];

describe("SIGTERM and SIGINT to a launcher's top process: drain, exit 0, nothing left", () => {
  for (const launcher of LAUNCHERS) {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      it(`${launcher.name}, ${sig}`, { skip: launcher.skip, timeout: 180_000 }, async () => {
        const child = launcher.start();
        // setsid execs in place: the launcher's pid is its session's id.
        const sid = child.pid;
        try {
          const server = await waitForListening(child, launcher.listening, launcher.name);
          await launcher.ready?.(server.origin);
          const slow = await slowRequest(server, 3_000);
          child.signal(sig);
          const { left, exit } = await ended(child, sid);
          assert.equal(left, "", "processes left behind");
          assert.deepEqual(exit, { code: 0, signal: null });
          const res = await slow.result;
          assert.deepEqual(
            "status" in res ? { status: res.status, ok: JSON.parse(res.body).ok } : res,
            { status: 200, ok: true },
            "the request in flight must finish",
          );
          if (launcher.drained) assert.match(child.stderr(), launcher.drained);
          assert.ok(await refusesConnections(server.origin), `${server.origin} still bound`);
        } catch (error) {
          if (error instanceof Error) {
            error.message += `\nstdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`;
          }
          throw error;
        } finally {
          killSession(sid);
          await child.exited;
        }
      });
    }
  }
});

describe("npm's launcher does not pass signals on (what the README says)", () => {
  it("SIGTERM to `npx -y deno@2.9.6 task start` ends npm; the server keeps serving", {
    skip: npxSkip,
    timeout: 180_000,
  }, async () => {
    const child = spawnCommand(
      "setsid",
      ["npx", ...NPX_DENO, "task", "start"],
      { ...SERVER_ENV, ...NPX_ENV },
    );
    const sid = child.pid;
    try {
      const server = await waitForListening(child, MAIN_LISTENING, "npx deno task start");
      child.signal("SIGTERM");
      await waitFor("npm to exit", () => !child.running(), 60_000);
      // npm has gone; what it started has not, and still answers.
      assert.notEqual(sessionMembers(sid).length, 0, "nothing left: npm passed the signal on");
      const health = await fetchText(server.origin + "/healthz");
      assert.equal(health.status, 200);
      assert.doesNotMatch(child.stderr(), /received: draining/);
    } finally {
      killSession(sid);
      await child.exited;
    }
  });
});

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`launcher signal tests skipped: ${denoOnly}`, { skip: true }, () => {});
