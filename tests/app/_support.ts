/**
 * Test helpers for the HTTP and server tests: a real HTTP server on
 * 127.0.0.1 (port 0) under whichever runtime runs the test, scrape parsing,
 * and a seeded PRNG.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import type { Registry } from "../../src/core/registry.ts";
import { type Family, parseText, type Sample, seriesKey } from "../_support/parse.ts";
import { taskFlags } from "../../demo/server.ts";
import { mulberry32 } from "../_support/random.ts";
import { GATEWAY_VARIABLES } from "../../app/gateway/settings.ts";

/** A fetch handler as both runtimes call it. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A server started by {@linkcode serveOnLoopback}. */
export interface LoopbackServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly origin: string;
  /** Which runtime's server this is. */
  readonly runtime: "deno" | "bun";
  /** Stops the server (in-flight requests are cut). */
  close(): Promise<void>;
}

interface DenoServeLike {
  serve(
    options: {
      hostname: string;
      port: number;
      onListen(addr: { port: number }): void;
    },
    handler: FetchHandler,
  ): { shutdown(): Promise<void>; finished: Promise<void> };
}

interface BunServeLike {
  serve(options: { hostname: string; port: number; fetch: FetchHandler }): {
    port: number;
    stop(closeActive?: boolean): Promise<void> | void;
  };
}

/** Whether this test runs under Bun. */
export const isBun: boolean = (globalThis as { Bun?: unknown }).Bun !== undefined;
/** Whether this test runs under Deno. */
export const isDeno: boolean = !isBun && (globalThis as { Deno?: unknown }).Deno !== undefined;

/**
 * Starts `handler` on a real server on 127.0.0.1, port 0: `Bun.serve` under
 * Bun, `Deno.serve` under Deno. The caller closes it in `finally`.
 */
export function serveOnLoopback(handler: FetchHandler): Promise<LoopbackServer> {
  const g = globalThis as { Bun?: BunServeLike; Deno?: DenoServeLike };
  if (g.Bun !== undefined) {
    const server = g.Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
    return Promise.resolve({
      origin: `http://127.0.0.1:${server.port}`,
      runtime: "bun",
      close: async () => {
        await server.stop(true);
      },
    });
  }
  if (g.Deno !== undefined) {
    const deno = g.Deno;
    return new Promise((resolve) => {
      const server = deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        onListen({ port }) {
          resolve({
            origin: `http://127.0.0.1:${port}`,
            runtime: "deno",
            close: async () => {
              await server.shutdown();
              await server.finished;
            },
          });
        },
      }, handler);
    });
  }
  throw new Error("serveOnLoopback: neither Deno nor Bun");
}

/** Fetches and reads the whole body, so no connection is left half-read. */
export async function fetchText(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, init);
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

/** Parses a registry's Prometheus text scrape. */
export async function scrape(registry: Registry): Promise<Family[]> {
  return parseText(await registry.metrics());
}

/**
 * The value of the sample `name{labels}` in `families`, or `undefined` if
 * there is no such sample. Label order does not matter.
 */
export function valueIn(
  families: readonly Family[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const key = seriesKey(name, labels);
  for (const f of families) {
    for (const s of f.samples) if (seriesKey(s.name, s.labels) === key) return s.value;
  }
  return undefined;
}

/** Every sample of every family, as series keys (name plus sorted labels). */
export function seriesKeys(families: readonly Family[]): Set<string> {
  const out = new Set<string>();
  for (const f of families) for (const s of f.samples) out.add(seriesKey(s.name, s.labels));
  return out;
}

/** The samples named exactly `name`. */
export function samplesNamed(families: readonly Family[], name: string): Sample[] {
  return families.flatMap((f) => f.samples.filter((s) => s.name === name));
}

/** A seeded generator of floats in [0, 1) (mulberry32), so every run sees the same paths. */
export const seeded: (seed: number) => () => number = mulberry32;

/** A promise with its resolve function outside, for handlers a test releases by hand. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((r) => open = r);
  return { promise, open };
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `probe` (every 20 ms) until it returns true; fails naming `what`
 * after `ms` (a deadline far beyond the expected time: it is there only so
 * that a broken promise fails instead of hanging).
 */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Whether a new TCP connection to `origin` (`http://HOST:PORT`) is refused
 * (Deno only). A connection that is accepted is closed again at once.
 */
export async function refusesConnections(origin: string): Promise<boolean> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) throw new Error("refusesConnections runs under Deno only");
  const { hostname, port } = new URL(origin);
  try {
    const conn = await deno.connect({ hostname, port: Number(port) });
    conn.close();
    return false;
  } catch (error) {
    if (error instanceof deno.errors.ConnectionRefused) return true;
    throw error;
  }
}

// ---------------------------------------------------------------------------
// main.ts as a subprocess (Deno only: main.ts is the Deno entry point).

/** The repository root (where deno.json and main.ts are). */
export const REPO_ROOT: string = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/**
 * The permission flags of the `start` task in deno.json: the words between
 * `deno run` and `main.ts`, so the subprocess tests follow the task.
 */
export function startTaskFlags(denoJson: string): string[] {
  return taskFlags(denoJson, "start", "main.ts");
}

/**
 * The flags `app/worker.ts` documents for `deno serve --parallel` (its
 * module doc's sh block, the words between `--parallel` and the module,
 * without `--port`), so the tests run it as the documentation says.
 */
export function workerModuleFlags(): string[] {
  const source = readFileSync(`${REPO_ROOT}app/worker.ts`, "utf8");
  const block = /```sh\n([\s\S]*?)```/.exec(source)?.[1];
  if (block === undefined) throw new Error("app/worker.ts: no sh block in its module doc");
  const words = block.split("\n").map((l) => l.replace(/^\s*\*\s?/, "")).join(" ")
    .replaceAll("\\", " ").split(/\s+/).filter((w) => w !== "");
  const from = words.indexOf("--parallel");
  const to = words.indexOf("app/worker.ts");
  if (from < 0 || to < from) throw new Error(`unexpected command in worker.ts: ${block}`);
  const flags = words.slice(from + 1, to);
  const port = flags.indexOf("--port");
  if (port >= 0) flags.splice(port, 2);
  return flags;
}

/** A running `main.ts`. */
export interface MainProcess {
  /** `http://127.0.0.1:PORT`, from the line main.ts printed. */
  readonly origin: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Sends a signal. */
  signal(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void;
  /** Settles with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Kills it (SIGKILL) if it still runs, and waits for it. */
  kill(): Promise<void>;
}

/** How `runMain` ended: exit status and output. */
export interface MainRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** The environment for a server child: ours without the variables that configure it, plus `env`. */
function childEnv(env: Record<string, string>): Record<string, string> {
  const drop = [
    "PORT",
    "HOSTNAME",
    "METRICS_AUTH_TOKEN",
    "METRICS_AUTH_TOKEN_FILE",
    "DEMO",
    "WORKERS",
    "DENO_JOBS",
    "INGEST_TOKENS",
    "INGEST_TOKENS_FILE",
    "NATIVE_HISTOGRAMS",
    ...GATEWAY_VARIABLES,
  ];
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !drop.includes(k)) base[k] = v;
  }
  return { ...base, NO_COLOR: "1", ...env };
}

/** A child process: its output so far and how it ended. */
export interface Child {
  /** Its process id. */
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Settles once it has exited and its output is read to the end. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  signal(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void;
  running(): boolean;
}

/**
 * Runs `deno <args>` (or `<prefix> deno <args>`) in the repository root with
 * `env` (on top of ours, less the server settings) and collects its output.
 *
 * Deno.Command, not node:child_process: in Deno 2.9 a node ChildProcess
 * reports a child that handled SIGTERM and exited 0 as killed by SIGTERM.
 */
export function spawnDeno(
  args: string[],
  env: Record<string, string>,
  prefix: readonly string[] = [],
): Child {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) throw new Error("these subprocesses run under Deno only");
  // With a prefix (e.g. ["taskset", "-c", "0"]) deno runs under that command.
  const [command, ...before] = [...prefix, deno.execPath()];
  return spawnCommand(command, [...before, ...args], env);
}

/**
 * Runs `command args` as {@linkcode spawnDeno} runs deno: in the repository
 * root, with `env` on top of ours less the server settings, output collected.
 */
export function spawnCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
): Child {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) throw new Error("these subprocesses run under Deno only");
  const child = new deno.Command(command, {
    args,
    cwd: REPO_ROOT,
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  let done = false;
  const drain = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) add(chunk);
  };
  const exited = Promise.all([
    child.status,
    drain(child.stdout, (s) => out += s),
    drain(child.stderr, (s) => err += s),
  ]).then(([status]) => {
    done = true;
    return { code: status.signal === null ? status.code : null, signal: status.signal };
  });
  child.status.then(() => done = true);
  return {
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    signal: (s) => {
      try {
        child.kill(s);
      } catch { /* already exited */ }
    },
    running: () => !done,
  };
}

/** main.ts with the start task's flags (under `prefix`, if given). */
function spawnMain(
  args: string[],
  env: Record<string, string>,
  prefix: readonly string[] = [],
): Child {
  const flags = startTaskFlags(readFileSync(`${REPO_ROOT}deno.json`, "utf8"));
  return spawnDeno(["run", ...flags, "main.ts", ...args], env, prefix);
}

/**
 * Waits (at most 60 s) until `child`'s output matches `listening`, whose
 * first group is the origin; then hands back the running server. Kills the
 * child if it exits or stays silent.
 */
export async function waitForListening(
  child: Child,
  listening: RegExp,
  what: string,
): Promise<MainProcess> {
  const kill = async () => {
    if (child.running()) child.signal("SIGKILL");
    await child.exited;
  };
  try {
    const end = Date.now() + 60_000;
    for (;;) {
      // Read both streams: `deno serve` prints its line on one or the other by version.
      const origin = listening.exec(child.stdout() + child.stderr())?.[1];
      if (origin !== undefined) {
        return {
          origin,
          stdout: child.stdout,
          stderr: child.stderr,
          signal: child.signal,
          exited: child.exited,
          kill,
        };
      }
      if (!child.running()) {
        throw new Error(`${what} exited before listening; stderr: ${child.stderr()}`);
      }
      if (Date.now() > end) {
        throw new Error(`${what} printed no listening line in 60 s; stderr: ${child.stderr()}`);
      }
      await sleep(10);
    }
  } catch (error) {
    await kill();
    throw error;
  }
}

/**
 * Starts main.ts (`--port 0`, `HOSTNAME=127.0.0.1`) with the start task's
 * permissions and waits for its "listening on http://HOST:PORT/" line.
 * `prefix` runs it under another command (`taskset -c 0`). Callers `kill()`
 * it in `finally`.
 */
export async function startMain(
  args: string[] = [],
  env: Record<string, string> = {},
  prefix: readonly string[] = [],
): Promise<MainProcess> {
  const child = spawnMain(["--port", "0", ...args], { HOSTNAME: "127.0.0.1", ...env }, prefix);
  return await waitForListening(child, /listening on (http:\/\/127\.0\.0\.1:\d+)\//, "main.ts");
}

/** Runs main.ts to its end (for configurations that must fail); kills it after 60 s. */
export async function runMain(args: string[], env: Record<string, string>): Promise<MainRun> {
  const child = spawnMain(args, env);
  const killer = setTimeout(() => child.signal("SIGKILL"), 60_000);
  try {
    const { code, signal } = await child.exited;
    return { code, signal, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    clearTimeout(killer);
    if (child.running()) child.signal("SIGKILL");
  }
}

/** A request in flight, and whether it has settled yet. */
export interface InFlight {
  readonly result: Promise<{ status: number; body: string } | { error: unknown }>;
  settled(): boolean;
}

/**
 * Sends a request to a demo route (`--demo`) that answers after `ms`
 * milliseconds (the demo clamps at 30,000), and waits until the server
 * counts it in flight (`http_requests_inprogress` holds it and the scrape
 * that reads it; the threads' values are summed).
 */
export async function slowRequest(server: { origin: string }, ms: number): Promise<InFlight> {
  let settled = false;
  const result = fetchText(`${server.origin}/api/actions/shutdown_test?ms=${ms}`).then(
    ({ status, body }) => ({ status, body }),
    (error: unknown) => ({ error }),
  ).finally(() => settled = true);
  await waitFor("the slow request to be in flight", async () => {
    if (settled) throw new Error(`the slow request ended early: ${JSON.stringify(await result)}`);
    const body = (await fetchText(server.origin + "/metrics")).body;
    return (valueIn(parseText(body), "http_requests_inprogress") ?? 0) >= 2;
  });
  return { result, settled: () => settled };
}
