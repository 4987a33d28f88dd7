/**
 * `deno task demo`: realistic traffic for the exporter's demo routes, so that
 * every metric of the catalogue moves and every dashboard panel fills.
 *
 * Drives a running server (`deno task start --demo`, at `--url`), or, with
 * `--start`, starts one itself beside a built-in fake LLM API, and stops
 * both at the end. See {@linkcode USAGE}.
 *
 * @module
 */

import { FAKE_LLM_API_KEY, type FakeLLMServer, startFakeLLM } from "./fake_llm.ts";
import { type DemoServer, startDemoServer } from "./server.ts";
import { runTraffic, type SentRequest, summarize } from "./traffic.ts";

/** `--help` text. */
export const USAGE: string = `Usage: deno task demo [options]

Sends realistic traffic to the SecureTrack exporter's demo routes (logins,
registrations, features, user actions, workspaces, LLM calls, unknown URLs)
so that every metric moves, then prints a summary. Loopback only.

  --url URL            server to drive (default http://127.0.0.1:8000); it must run
                       with --demo: deno task start --demo
  --start              start the server itself (main.ts --demo, the start task's
                       permissions) with a built-in fake LLM API, and stop both at the end
  --port N             with --start: port for the server (default 0: a free one; use
                       8000 to let prometheus.yml scrape it)
  --model NAME         with --start: LLM_MODEL of the server (default gpt-4o-mini)
  --duration S         stop after S seconds (default 60; no limit with --requests)
  --requests N         stop after N requests
  --rate R             requests per second over all users, 0 = no pause (default 20)
  --concurrency N      simulated users at once (default 8)
  --latency-scale F    factor on simulated feature, action and LLM times (default 1)
  --seed N             seed of the random choices (default 1)
  --verbose            with --start: show the server's output
  --help               print this text

Against a server you started yourself, LLM calls go to its LLM_BASE_URL; with
--start they go to the fake API, which answers some of them with 429 and 500.
`;

/** Parsed command line. */
export interface DemoArgs {
  url: string;
  start: boolean;
  port: number;
  model: string;
  durationSeconds: number | undefined;
  requests: number | undefined;
  rate: number;
  concurrency: number;
  latencyScale: number;
  seed: number;
  verbose: boolean;
  help: boolean;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

function number(flag: string, value: string, min: number, integer: boolean): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    const what = integer ? "an integer" : "a number";
    throw new RangeError(`${flag}: expected ${what} >= ${min}, got "${value}"`);
  }
  return n;
}

/**
 * Parses the command line. Throws a `RangeError` or `TypeError` naming the
 * flag for a bad value, an unknown flag, or a `--url` that is not loopback.
 *
 * @example
 * ```ts
 * import { parseDemoArgs } from "./main.ts";
 * console.log(parseDemoArgs(["--requests", "50"]).requests); // 50
 * ```
 */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const args: DemoArgs = {
    url: "http://127.0.0.1:8000",
    start: false,
    port: 0,
    model: "gpt-4o-mini",
    durationSeconds: undefined,
    requests: undefined,
    rate: 20,
    concurrency: 8,
    latencyScale: 1,
    seed: 1,
    verbose: false,
    help: false,
  };
  let urlGiven = false;
  let portGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    if (["--start", "--verbose", "--help", "-h"].includes(flag)) {
      if (eq >= 0) throw new TypeError(`${flag} takes no value`);
      if (flag === "--start") args.start = true;
      else if (flag === "--verbose") args.verbose = true;
      else args.help = true;
      continue;
    }
    const valued = [
      "--url",
      "--port",
      "--model",
      "--duration",
      "--requests",
      "--rate",
      "--concurrency",
      "--latency-scale",
      "--seed",
    ];
    if (!valued.includes(flag)) throw new TypeError(`unknown argument "${flag}" (see --help)`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new TypeError(`${flag} needs a value`);
    switch (flag) {
      case "--url":
        args.url = value;
        urlGiven = true;
        break;
      case "--port":
        args.port = number(flag, value, 0, true);
        if (args.port > 65535) throw new RangeError(`--port: expected 0-65535, got "${value}"`);
        portGiven = true;
        break;
      case "--model":
        if (value === "") throw new TypeError("--model needs a non-empty name");
        args.model = value;
        break;
      case "--duration":
        args.durationSeconds = number(flag, value, 0, false);
        if (args.durationSeconds === 0) throw new RangeError("--duration: must be > 0");
        break;
      case "--requests":
        args.requests = number(flag, value, 0, true);
        break;
      case "--rate":
        args.rate = number(flag, value, 0, false);
        break;
      case "--concurrency":
        args.concurrency = number(flag, value, 1, true);
        break;
      case "--latency-scale":
        args.latencyScale = number(flag, value, 0, false);
        break;
      case "--seed":
        args.seed = number(flag, value, 0, true);
        break;
    }
  }
  if (args.start && urlGiven) throw new TypeError("--url and --start exclude each other");
  if (portGiven && !args.start) throw new TypeError("--port needs --start (use --url otherwise)");
  let url: URL;
  try {
    url = new URL(args.url);
  } catch {
    throw new TypeError(`--url: not a URL: "${args.url}"`);
  }
  if (url.protocol !== "http:" || !LOOPBACK.has(url.hostname)) {
    throw new TypeError(
      `--url: only http:// on loopback (127.0.0.1, localhost, [::1]), got "${args.url}"`,
    );
  }
  args.url = url.origin;
  return args;
}

/** Checks that `url` serves the demo routes; throws an Error saying what to do otherwise. */
async function preflight(url: string): Promise<void> {
  let index: string;
  try {
    const response = await fetch(url + "/", { signal: AbortSignal.timeout(5000) });
    index = await response.text();
  } catch (error) {
    throw new Error(
      `no server at ${url} (${error instanceof Error ? error.message : error}): start one with ` +
        "`deno task start --demo`, or let the demo start its own: `deno task demo --start`",
    );
  }
  if (!index.includes("/api/login")) {
    throw new Error(
      `${url} serves no demo routes: restart it with --demo (deno task start --demo)`,
    );
  }
}

/** Runs the demo; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(argv);
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }

  const stop = new AbortController();
  // SIGTERM as well as SIGINT: a process manager stops it with SIGTERM, and
  // the server it started (--start) must not outlive it.
  const onSignal = () => {
    console.error("demo: interrupted, stopping");
    stop.abort();
  };
  for (const signal of SIGNALS) Deno.addSignalListener(signal, onSignal);
  let fake: FakeLLMServer | undefined;
  let server: DemoServer | undefined;
  try {
    let url = args.url;
    if (args.start) {
      fake = await startFakeLLM({ apiKey: FAKE_LLM_API_KEY });
      server = await startDemoServer({
        port: args.port,
        llm: { baseUrl: fake.baseUrl, model: args.model, apiKey: FAKE_LLM_API_KEY },
        verbose: args.verbose,
      });
      url = server.url;
      console.log(`demo: started ${url} (main.ts --demo), fake LLM API at ${fake.baseUrl}`);
    }
    await preflight(url);
    const bound = args.requests !== undefined
      ? `${args.requests} requests` + (args.durationSeconds ? ` or ${args.durationSeconds} s` : "")
      : `${args.durationSeconds ?? 60} s`;
    console.log(`demo: sending traffic to ${url} for ${bound} (Ctrl-C stops)`);
    let shown = 0;
    const result = await runTraffic({
      url,
      requests: args.requests,
      durationSeconds: args.durationSeconds,
      rate: args.rate,
      concurrency: args.concurrency,
      latencyScale: args.latencyScale,
      seed: args.seed,
      signal: stop.signal,
      onResponse: (r: SentRequest) => {
        if (r.status === 0 && shown++ < 3) console.error(`demo: ${r.method} ${r.path}: ${r.error}`);
      },
    });
    console.log(summarize(result, url));
    // Nothing answered: the server is not there (an interruption that cut the
    // requests in flight is no failure: it exits 0 like a finished run).
    if (
      !stop.signal.aborted && result.sent.length > 0 && result.sent.every((r) => r.status === 0)
    ) return 1;
    return 0;
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    for (const signal of SIGNALS) Deno.removeSignalListener(signal, onSignal);
    await server?.close();
    await fake?.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
