/**
 * Every way of starting main.ts either serves or says in one line what is
 * missing: `deno run -A main.ts` (no --unstable-net: one thread and a
 * notice), `deno run main.ts` (no permissions: exit 2, one line),
 * `bun main.ts` (exit 2, one line), and `deno task start` (threads on every
 * core, as before). Plus the decision itself, `planStart`, as a function.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseConfig, type ServerConfig } from "../../app/config.ts";
import {
  CONFIG_VARIABLES,
  notDenoMessage,
  planStart,
  START_COMMAND,
  START_TASK,
  type StartFacts,
} from "../../app/start.ts";
import {
  type Child,
  fetchText,
  isBun,
  isDeno,
  type MainProcess,
  REPO_ROOT,
  spawnDeno,
  startMain,
  startTaskFlags,
  waitForListening,
} from "./_support.ts";

const DENO_ONLY = !isDeno && "deno run subprocesses; run these under deno test";
const BUN_ONLY = !isBun && "`bun main.ts` needs the bun binary this runs under; run under bun test";
const CORES = navigator.hardwareConcurrency ?? 1;
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)\//;
// What every start gets: a free loopback port, from the environment.
const LOOPBACK = { PORT: "0", HOSTNAME: "127.0.0.1" };

function config(args: string[] = [], env: Record<string, string> = {}): ServerConfig {
  return parseConfig(args, (name) => env[name]);
}

const ALL: StartFacts = {
  unreadable: [],
  canListen: true,
  canSharePort: true,
  canLoadThreads: true,
  cores: 8,
};

describe("planStart", () => {
  it("everything granted: one thread per core, or the threads asked for, and nothing to say", () => {
    assert.deepEqual(planStart(config(), ALL), { ok: true, threads: 8, notice: undefined });
    assert.deepEqual(planStart(config(["--workers", "3"]), ALL), {
      ok: true,
      threads: 3,
      notice: undefined,
    });
    assert.deepEqual(planStart(config(), { ...ALL, cores: 1 }), {
      ok: true,
      threads: 1,
      notice: undefined,
    });
  });

  it("threads by default but no --unstable-net or no read access: one thread, one notice naming the flags", () => {
    const noShare = planStart(config(), { ...ALL, canSharePort: false });
    assert.deepEqual(noShare, {
      ok: true,
      threads: 1,
      notice: "securetrack-metrics: one thread instead of 8 (one per core): threads need " +
        "--unstable-net (to share the port), as `deno task start` gives them",
    });
    const neither = planStart(config(), { ...ALL, canSharePort: false, canLoadThreads: false });
    assert.ok(neither.ok);
    assert.equal(neither.threads, 1);
    assert.match(neither.notice ?? "", /--unstable-net .* and --allow-read=app,src /);
    // One core: no threads were going to run, so nothing is missing.
    assert.deepEqual(planStart(config(), { ...ALL, canSharePort: false, cores: 1 }), {
      ok: true,
      threads: 1,
      notice: undefined,
    });
  });

  it("threads asked for but impossible: not dropped silently, one line and exit 2", () => {
    for (const [args, env] of [[["--workers", "4"], {}], [[], { WORKERS: "4" }]] as const) {
      const plan = planStart(config([...args], env), { ...ALL, canSharePort: false });
      assert.ok(!plan.ok);
      assert.equal(
        plan.message,
        "securetrack-metrics: missing --unstable-net (for 4 threads to share the port): " +
          `start it with \`deno task start\` (${START_COMMAND})`,
      );
    }
  });

  it("missing permissions: one line naming each flag (and the address), then the command that works", () => {
    const plan = planStart(config([], { PORT: "9464" }), {
      ...ALL,
      unreadable: ["HOSTNAME", "DEMO"],
      canListen: false,
    });
    assert.ok(!plan.ok);
    assert.equal(
      plan.message,
      "securetrack-metrics: missing --allow-env=HOSTNAME,DEMO (to read its settings), " +
        "--allow-net (to listen on 0.0.0.0:9464): start it with `deno task start` " +
        `(${START_COMMAND})`,
    );
    assert.ok(!plan.message.includes("\n"));
    const v6 = planStart(config(["--hostname", "::1", "--port", "0"]), {
      ...ALL,
      canListen: false,
    });
    assert.ok(!v6.ok);
    assert.match(v6.message, /--allow-net \(to listen on \[::1\]:0\)/);
  });

  it("the command it names is the start task's, and reads every variable main.ts reads", () => {
    const flags = startTaskFlags(readFileSync(`${REPO_ROOT}deno.json`, "utf8"));
    assert.equal(START_COMMAND, ["deno", "run", ...flags, "main.ts"].join(" "));
    assert.equal(START_TASK, "deno task start");
    const allowEnv = flags.find((f) => f.startsWith("--allow-env="))!.slice(12).split(",");
    for (const v of CONFIG_VARIABLES) assert.ok(allowEnv.includes(v), v);
    // And parseConfig reads exactly those.
    const read = new Set<string>();
    parseConfig([], (name) => void read.add(name));
    assert.deepEqual([...read].sort(), [...CONFIG_VARIABLES].sort());
  });
});

/** Waits for `child` to exit (killing it after 60 s) and returns its exit and output. */
async function ended(child: Child) {
  const killer = setTimeout(() => child.signal("SIGKILL"), 60_000);
  try {
    const exit = await child.exited;
    return { ...exit, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    clearTimeout(killer);
  }
}

/** Lines of `text`, without the empty ones. */
function linesOf(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

/** Checks that `main` serves /metrics and /healthz, then stops on SIGTERM with exit code 0. */
async function servesThenStops(main: MainProcess): Promise<void> {
  const health = await fetchText(main.origin + "/healthz");
  assert.equal(health.status, 200);
  assert.equal(JSON.parse(health.body).status, "ok");
  const metrics = await fetchText(main.origin + "/metrics");
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /^# TYPE http_requests_total counter$/m);
  main.signal("SIGTERM");
  assert.deepEqual(await main.exited, { code: 0, signal: null }, main.stderr());
  assert.match(main.stderr(), /^stopped$/m);
}

/** Runs `deno <args>` with a loopback PORT and HOSTNAME, and waits for its listening line. */
function startDeno(args: string[], env: Record<string, string> = {}): Promise<MainProcess> {
  return waitForListening(
    spawnDeno(args, { ...LOOPBACK, ...env }),
    LISTENING,
    `deno ${args.join(" ")}`,
  );
}

describe("starting main.ts without the start task", { skip: DENO_ONLY }, () => {
  it("deno run -A main.ts: serves on one thread, says why once, and stops on SIGTERM with 0", async () => {
    const main = await startDeno(["run", "-A", "main.ts"]);
    try {
      const notice = `securetrack-metrics: one thread instead of ${CORES} (one per core): ` +
        "threads need --unstable-net (to share the port), as `deno task start` gives them";
      const lines = linesOf(main.stderr());
      if (CORES > 1) assert.equal(lines.filter((l) => l === notice).length, 1, main.stderr());
      else assert.doesNotMatch(main.stderr(), /one thread instead/);
      assert.ok(
        lines.some((l) =>
          /^securetrack-metrics listening on http:\/\/127\.0\.0\.1:\d+\/ \(\/metrics, \/custom_metrics, \/healthz\)$/
            .test(l)
        ),
        main.stderr(),
      );
      assert.doesNotMatch(main.stderr(), /threads$|Unstable API|error/im);
      await servesThenStops(main);
    } finally {
      await main.kill();
    }
  });

  it("deno run --allow-net --allow-env main.ts: one thread, naming both missing flags", async () => {
    const main = await startDeno(["run", "--allow-net", "--allow-env", "main.ts"]);
    try {
      if (CORES > 1) {
        assert.match(
          main.stderr(),
          /^securetrack-metrics: one thread instead of \d+ \(one per core\): threads need --unstable-net \(to share the port\) and --allow-read=app,src \(to load their module\), as `deno task start` gives them$/m,
        );
      }
      await servesThenStops(main);
    } finally {
      await main.kill();
    }
  });

  it("deno run main.ts: exit 2 and one line naming --allow-env, --allow-net and the command that works", async () => {
    const r = await ended(spawnDeno(["run", "main.ts"], LOOPBACK));
    assert.equal(r.code, 2, `exit ${r.code ?? r.signal}; stderr: ${r.stderr}`);
    const lines = linesOf(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(
      lines[0],
      `securetrack-metrics: missing --allow-env=${CONFIG_VARIABLES.join(",")} (to read its ` +
        "settings), --allow-net (to listen on 0.0.0.0:8000): start it with `deno task start` " +
        `(${START_COMMAND})`,
    );
    assert.doesNotMatch(r.stderr, /^\s+at /m, "a stack trace");
    assert.equal(r.stdout, "");
  });

  it("deno run --allow-env main.ts: the line names --allow-net and the address from PORT and HOSTNAME", async () => {
    const r = await ended(spawnDeno(["run", "--allow-env", "main.ts"], {
      PORT: "9464",
      HOSTNAME: "127.0.0.1",
    }));
    assert.equal(r.code, 2, r.stderr);
    const lines = linesOf(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      /^securetrack-metrics: missing --allow-net \(to listen on 127\.0\.0\.1:9464\): start it with `deno task start`/,
    );
  });

  it("deno run -A main.ts --workers 2: threads asked for cannot share the port: exit 2, one line", async () => {
    const r = await ended(spawnDeno(["run", "-A", "main.ts", "--workers", "2"], LOOPBACK));
    assert.equal(r.code, 2, `exit ${r.code ?? r.signal}; stderr: ${r.stderr}`);
    const lines = linesOf(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      /^securetrack-metrics: missing --unstable-net \(for 2 threads to share the port\): start it with `deno task start`/,
    );
  });

  it("deno run main.ts --help needs no permission", async () => {
    const r = await ended(spawnDeno(["run", "main.ts", "--help"], {}));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: deno task start/);
    assert.equal(r.stderr, "");
  });
});

describe("a port already taken", { skip: DENO_ONLY }, () => {
  const taken = (flags: string[]) => async () => {
    const D = (globalThis as unknown as { Deno: typeof Deno }).Deno;
    const listener = D.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (listener.addr as Deno.NetAddr).port;
      const r = await ended(spawnDeno(["run", ...flags, "main.ts"], {
        PORT: String(port),
        HOSTNAME: "127.0.0.1",
      }));
      assert.equal(r.code, 1, `exit ${r.code ?? r.signal}; stderr: ${r.stderr}`);
      const line = new RegExp(
        `^securetrack-metrics: cannot listen on 127\\.0\\.0\\.1:${port}: AddrInUse: Address already in use`,
      );
      assert.equal(linesOf(r.stderr).filter((l) => line.test(l)).length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /^\s+at /m, "a stack trace");
      assert.doesNotMatch(r.stderr, /Uncaught/);
    } finally {
      listener.close();
    }
  };
  it("with the start task's flags (threads): exit 1, one line naming the address", () =>
    taken(startTaskFlags(readFileSync(`${REPO_ROOT}deno.json`, "utf8")))());
  it("deno run -A main.ts (one thread): exit 1, one line naming the address", () =>
    taken(["-A"])());
});

describe("deno task start is unchanged", { skip: DENO_ONLY }, () => {
  it("one thread per core, nothing said about threads missing", async () => {
    const main = await startMain([], {});
    try {
      if (CORES > 1) assert.match(main.stderr(), new RegExp(`with ${CORES} threads$`, "m"));
      assert.doesNotMatch(main.stderr(), /one thread instead|missing/);
      await servesThenStops(main);
    } finally {
      await main.kill();
    }
  });
});

describe("bun main.ts", { skip: BUN_ONLY }, () => {
  it("exit 2 and one line naming `deno task start`, no stack trace", async () => {
    const child = spawn(process.execPath, ["main.ts"], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...LOOPBACK, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => out += d);
    child.stderr!.on("data", (d) => err += d);
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      assert.equal(code, 2, `exit ${code} (killed after 60 s if still running); stderr: ${err}`);
      assert.deepEqual(linesOf(err), [notDenoMessage("Bun")]);
      assert.equal(
        notDenoMessage("Bun"),
        "securetrack-metrics: main.ts runs on Deno, not Bun: start it with `deno task start`",
      );
      assert.equal(out, "");
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

// Bun hides skipped suites; these lines name why they did not run.
if (!isDeno) it(`deno run subprocess tests skipped: ${DENO_ONLY}`, { skip: true }, () => {});
if (!isBun) it(`bun main.ts test skipped: ${BUN_ONLY}`, { skip: true }, () => {});
