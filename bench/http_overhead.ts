/**
 * What `instrument()` costs a server, measured under load on loopback:
 *
 * 1. Requests per second of a trivial handler, `(req) => new Response("ok")`,
 *    served by `Deno.serve` (a) as is and (b) wrapped in `instrument()`.
 *    Each run starts a fresh server subprocess (`_http_server.ts`), warms it
 *    up under load, then measures; runs never overlap. Rounds alternate in
 *    ABBA order (a b, b a, a b, …) so a slow drift of the machine's speed
 *    falls on both sides alike. Reported: the median requests per second of
 *    each side, the overhead `1 − b/a` of the medians, its value in each
 *    round, and the server's CPU time per request (user + system, all its
 *    threads, read from the server itself), which other load on the machine
 *    disturbs far less than the request rate.
 * 2. Scrape latency of `/metrics` serving 10,000 labelled counter series
 *    (plus the HTTP metrics), from a scraper on one keep-alive connection, one
 *    scrape every 100 ms (after the previous one finished), first with the
 *    server idle, then while the load generator keeps hitting `/`. Each
 *    scrape is done twice, uncompressed and gzip (as Prometheus asks).
 *
 * `--profile` measures instead what each ingredient of `instrument()` costs:
 * the plain handler, then `instrument()` rebuilt step by step, one ingredient
 * more at each step (see `PROFILE_MODES` in `_http_server.ts`), then
 * `instrument()` itself. These
 * differences (a microsecond or two) are smaller than what other work on a
 * shared machine does to separate runs, so all variants run in one server
 * process under one continuous load, switched every 0.5 s in turn, for
 * `--duration` seconds each: whatever disturbs the machine falls on all of
 * them alike, and each variant is compared with the plain slice of the same
 * cycle.
 *
 * The load generator is `wrk` (Debian: `apt-get install -y wrk`), one thread
 * and 32 keep-alive connections by default. Without `wrk` on the PATH, or
 * with `--client=deno`, it is `_http_client.ts` in a Deno subprocess, a raw
 * HTTP/1.1 client (not `fetch`, which costs far more CPU per request). It
 * runs out of CPU before the server does (about 40,000 requests/s here,
 * against wrk's 100,000), so its requests per second hardly differ between
 * the two handlers; the server CPU per request still tells them apart.
 *
 * On a 2-core machine the load generator and the server share the CPU: wrk
 * (one thread) takes most of one core, the server's main thread the other,
 * and both compete with Deno's own helper threads and anything else running.
 * The absolute requests per second are therefore lower than the server could
 * do alone. `--pin` puts the server on CPU 0 and the load generator on CPU 1
 * (`taskset`), which keeps them apart but also crowds the server's helper
 * threads onto its one core. Check `uptime` first: other work on the machine
 * moves the request rate more than the instrumentation does.
 *
 * Run: `deno task bench:http [--duration=8] [--warmup=2] [--rounds=3]
 * [--connections=32] [--scrapes=50] [--client=wrk|deno] [--pin] [--profile]
 * [--json]`. With the defaults it takes about 100 seconds. It prints a
 * Markdown table for the README (or, with `--json`, the same figures as JSON)
 * on stdout and its progress on stderr. Only 127.0.0.1 is used; every
 * subprocess is killed when the script ends, normally or not.
 *
 * @module
 */

import { HttpConnection, type HttpResponse, type LoadResult } from "./_http_client.ts";
import { type Mode, PROFILE_VARIANTS } from "./_http_server.ts";

// ---------------------------------------------------------------- options

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function numberArg(name: string, fallback: number, min: number): number {
  const raw = arg(name);
  const value = raw === undefined ? fallback : Number(raw);
  if (!(value >= min) || !Number.isFinite(value)) {
    throw new RangeError(`--${name} must be a number >= ${min} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

const FLAGS = ["--json", "--pin", "--profile"];
const VALUED = ["duration", "warmup", "rounds", "connections", "scrapes", "client"];
for (const a of Deno.args) {
  const name = a.replace(/^--/, "").split("=")[0];
  if (!(FLAGS.includes(a) || (a.startsWith("--") && a.includes("=") && VALUED.includes(name)))) {
    throw new TypeError(`unknown argument ${JSON.stringify(a)}; see the doc comment of this file`);
  }
}

const DURATION = numberArg("duration", 8, 1);
const WARMUP = numberArg("warmup", 2, 0);
const ROUNDS = Math.round(numberArg("rounds", 3, 1));
const CONNECTIONS = Math.round(numberArg("connections", 32, 1));
const SCRAPES = Math.round(numberArg("scrapes", 50, 1));
const JSON_OUT = Deno.args.includes("--json");
const PIN = Deno.args.includes("--pin");
const PROFILE = Deno.args.includes("--profile");
/** Pause between the end of one scrape and the start of the next. */
const SCRAPE_INTERVAL_MS = 100;
/** The issue's target: at most 5% fewer requests per second. */
const TARGET = 0.05;

const here = new URL(".", import.meta.url);
const serverScript = new URL("_http_server.ts", here).pathname;
const clientScript = new URL("_http_client.ts", here).pathname;

/** The first line a command prints (stdout, else stderr), or `undefined` when it cannot run. */
async function firstLine(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout) || new TextDecoder().decode(stderr);
    return text.split("\n")[0];
  } catch {
    return undefined;
  }
}

const wrkVersion = await firstLine("wrk", ["-v"]); // prints its version and exits 1
const CLIENT = arg("client") ?? (wrkVersion !== undefined ? "wrk" : "deno");
if (CLIENT !== "wrk" && CLIENT !== "deno") throw new RangeError(`--client must be wrk or deno`);
if (CLIENT === "wrk" && wrkVersion === undefined) {
  throw new Error("--client=wrk: wrk is not installed (Debian: apt-get install -y wrk)");
}
if (PIN && await firstLine("taskset", ["-V"]) === undefined) {
  throw new Error("--pin needs taskset (util-linux)");
}

/** The command, run on one CPU when `--pin` is given. */
function pinned(cpu: number, cmd: string, args: string[]): [string, string[]] {
  return PIN ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args];
}

function log(message: string): void {
  console.error(`[bench:http] ${message}`);
}

// ---------------------------------------------------------------- subprocesses

/** Every subprocess still running, so the final `finally` can kill what is left. */
const running = new Set<Deno.ChildProcess>();

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* already exited */ }
  await child.status;
  running.delete(child);
}

/** Splits a text stream into lines. */
function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}

/** A running `_http_server.ts`. */
class Server {
  readonly port: number;
  readonly child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;

  private constructor(port: number, child: Deno.ChildProcess, lines: AsyncIterator<string>) {
    this.port = port;
    this.child = child;
    this.#lines = lines;
  }

  static async start(mode: Mode): Promise<Server> {
    const [cmd, args] = pinned(0, Deno.execPath(), [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      serverScript,
      mode,
    ]);
    const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).spawn();
    running.add(child);
    const out = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
      [Symbol.asyncIterator]();
    const timeout = setTimeout(() => stop(child), 30_000);
    try {
      const first = await out.next();
      if (first.done) throw new Error(`server (${mode}) exited before listening`);
      return new Server(JSON.parse(first.value).port, child, out);
    } finally {
      clearTimeout(timeout);
    }
  }

  /**
   * Asks the server for its CPU time so far (user + system, all threads, in
   * µs); in `profile` mode this also ends the current variant's slice.
   */
  async report(): Promise<{ cpuMicros: number; variant?: string; requests?: number }> {
    this.child.kill("SIGUSR2");
    const line = await this.#lines.next();
    if (line.done) throw new Error("the server exited");
    return JSON.parse(line.value);
  }

  stop(): Promise<void> {
    return stop(this.child);
  }
}

/** One load-generator run against `/`. */
interface LoadRun {
  requestsPerSecond: number;
  requests: number;
  seconds: number;
  /** Socket errors and non-2xx responses. */
  errors: number;
  /** wrk only: latency percentiles in ms. */
  latencyMs?: { p50: number; p99: number };
  /** Server CPU time per request during the run, in µs (set by `measure`). */
  serverCpuMicrosPerRequest?: number;
}

function wrkMs(text: string, label: string): number | undefined {
  const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(text);
  if (m === null) return undefined;
  return Number(m[1]) * ({ us: 1e-3, ms: 1, s: 1e3 } as Record<string, number>)[m[2]];
}

function parseWrk(text: string): LoadRun {
  const requests = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (requests === null || rps === null) throw new Error(`cannot read wrk's output:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const errors = (socket?.slice(1).reduce((n, x) => n + Number(x), 0) ?? 0) +
    Number(non2xx?.[1] ?? 0);
  const seconds = Number(requests[2]) *
    ({ us: 1e-6, ms: 1e-3, s: 1, m: 60 } as Record<string, number>)[requests[3]];
  const p50 = wrkMs(text, "50%");
  const p99 = wrkMs(text, "99%");
  return {
    requestsPerSecond: Number(rps[1]),
    requests: Number(requests[1]),
    seconds,
    errors,
    latencyMs: p50 !== undefined && p99 !== undefined ? { p50, p99 } : undefined,
  };
}

/**
 * Loads `/` for `seconds`, or until `until` settles (then the generator is
 * stopped with SIGINT, on which both wrk and our client report what they did).
 */
async function runLoad(port: number, seconds: number, until?: Promise<unknown>): Promise<LoadRun> {
  const [cmd, args] = CLIENT === "wrk"
    ? pinned(1, "wrk", [
      "-t1",
      `-c${CONNECTIONS}`,
      `-d${Math.ceil(seconds)}s`,
      "--latency",
      `http://127.0.0.1:${port}/`,
    ])
    : pinned(1, Deno.execPath(), [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      clientScript,
      String(port),
      "/",
      String(CONNECTIONS),
      String(seconds),
    ]);
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  running.add(child);
  until?.finally(() => {
    try {
      child.kill("SIGINT");
    } catch { /* already exited */ }
  });
  const { code, stdout, stderr } = await child.output();
  running.delete(child);
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(`${CLIENT} exited with ${code}:\n${text}${new TextDecoder().decode(stderr)}`);
  }
  if (CLIENT === "wrk") return parseWrk(text);
  const r = JSON.parse(text) as LoadResult;
  return { requestsPerSecond: r.requests / r.seconds, ...r };
}

/** A fresh server in `mode`: warm-up, then one measured run with its CPU time. */
async function measure(mode: Mode): Promise<LoadRun> {
  const server = await Server.start(mode);
  try {
    if (WARMUP > 0) await runLoad(server.port, WARMUP);
    const before = (await server.report()).cpuMicros;
    const run = await runLoad(server.port, DURATION);
    run.serverCpuMicrosPerRequest = ((await server.report()).cpuMicros - before) / run.requests;
    log(
      `${mode}: ${run.requestsPerSecond.toFixed(0)} req/s, ` +
        `${run.serverCpuMicrosPerRequest.toFixed(2)} µs server CPU per request` +
        (run.errors > 0 ? ` (${run.errors} errors)` : ""),
    );
    return run;
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- statistics

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}

const median = (xs: number[]) => quantile(xs, 0.5);

function loadAverage(): number[] {
  return Deno.loadavg().map((x) => Math.round(x * 100) / 100);
}

/**
 * The CPU's model name. Read through `cat`: Deno 2.9 lets a script read
 * `/proc` only with `--allow-all`, and this script can run commands anyway.
 */
async function cpuModel(): Promise<string> {
  try {
    const { stdout } = await new Deno.Command("cat", { args: ["/proc/cpuinfo"], stdout: "piped" })
      .output();
    const info = new TextDecoder().decode(stdout);
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1].trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

// ---------------------------------------------------------------- scrapes

type Encoding = "identity" | "gzip";
const ENCODINGS: readonly Encoding[] = ["identity", "gzip"];

interface ScrapeStats {
  encoding: Encoding;
  scrapes: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Bytes of the body on the wire (compressed for gzip). */
  bodyBytes: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function scrape(conn: HttpConnection, encoding: Encoding): Promise<[number, HttpResponse]> {
  const t0 = performance.now();
  const res = await conn.get("/metrics", { "Accept-Encoding": encoding });
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const gzipped = res.headers.get("content-encoding") === "gzip";
  if (gzipped !== (encoding === "gzip")) throw new Error(`/metrics ignored ${encoding}`);
  return [ms, res];
}

/** `count` scrapes of each encoding, alternating, one every `SCRAPE_INTERVAL_MS`. */
async function scrapeSeries(port: number, count: number): Promise<ScrapeStats[]> {
  const conn = await HttpConnection.open(port);
  try {
    const times: Record<Encoding, number[]> = { identity: [], gzip: [] };
    const bytes: Record<Encoding, number> = { identity: 0, gzip: 0 };
    for (let i = 0; i < count; i++) {
      for (const encoding of ENCODINGS) {
        const [ms, res] = await scrape(conn, encoding);
        times[encoding].push(ms);
        bytes[encoding] = res.body.length;
        await sleep(SCRAPE_INTERVAL_MS);
      }
    }
    return ENCODINGS.map((encoding) => ({
      encoding,
      scrapes: count,
      p50Ms: median(times[encoding]),
      p95Ms: quantile(times[encoding], 0.95),
      maxMs: Math.max(...times[encoding]),
      bodyBytes: bytes[encoding],
    }));
  } finally {
    conn.close();
  }
}

/** The series count in a scrape, checked so the table says what was measured. */
async function seriesCount(port: number): Promise<number> {
  const conn = await HttpConnection.open(port);
  try {
    const [, res] = await scrape(conn, "identity");
    const text = new TextDecoder().decode(res.body);
    return text.split("\n").filter((l) => l.startsWith("bench_scrape_total{")).length;
  } finally {
    conn.close();
  }
}

interface ScrapeResult {
  series: number;
  idle: ScrapeStats[];
  loaded: ScrapeStats[];
  /** The load generator's run on `/` while the loaded scrapes ran. */
  load: LoadRun;
}

async function measureScrapes(): Promise<ScrapeResult> {
  const server = await Server.start("scrape");
  try {
    const series = await seriesCount(server.port);
    // Warm up both the request path and the scrape path before timing either.
    if (WARMUP > 0) await runLoad(server.port, WARMUP);
    await scrapeSeries(server.port, 5);
    const idle = await scrapeSeries(server.port, SCRAPES);
    log(`idle scrapes: p50 ${idle.map((s) => s.p50Ms.toFixed(1)).join(" / ")} ms`);
    let done!: () => void;
    const scrapesDone = new Promise<void>((resolve) => done = resolve);
    // wrk needs a duration: a generous one, cut short (SIGINT) when the scrapes are done.
    const loading = runLoad(server.port, 600, scrapesDone);
    let loaded: ScrapeStats[];
    try {
      await sleep(1000); // let the generator open its connections
      loaded = await scrapeSeries(server.port, SCRAPES);
    } finally {
      done();
    }
    const load = await loading;
    log(`loaded scrapes: p50 ${loaded.map((s) => s.p50Ms.toFixed(1)).join(" / ")} ms`);
    return { series, idle, loaded, load };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- the profile

/** Seconds each variant is served before the next takes over. */
const SLICE_SECONDS = 0.5;

interface Slice {
  cycle: number;
  variant: string;
  requests: number;
  seconds: number;
  cpuMicrosPerRequest: number;
}

/** All `PROFILE_VARIANTS` in one server, in turn, under one continuous load. */
async function profileInterleaved(): Promise<Slice[]> {
  const server = await Server.start("profile");
  const n = PROFILE_VARIANTS.length;
  const warmupCycles = Math.max(1, Math.ceil(WARMUP / (SLICE_SECONDS * n)));
  const cycles = Math.max(1, Math.round(DURATION / SLICE_SECONDS));
  const slices: Slice[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => done = resolve);
  const loading = runLoad(server.port, 600, finished);
  try {
    await sleep(500); // let the generator open its connections
    let last = await server.report(); // starts the first slice
    let lastAt = performance.now();
    for (let k = 0; k < (warmupCycles + cycles) * n; k++) {
      await sleep(SLICE_SECONDS * 1000);
      const r = await server.report();
      const now = performance.now();
      const cycle = Math.floor(k / n) - warmupCycles;
      if (cycle >= 0) {
        slices.push({
          cycle,
          variant: r.variant!,
          requests: r.requests!,
          seconds: (now - lastAt) / 1000,
          cpuMicrosPerRequest: (r.cpuMicros - last.cpuMicros) / r.requests!,
        });
      }
      last = r;
      lastAt = now;
    }
  } finally {
    done();
    await loading.catch(() => undefined);
    await server.stop();
  }
  return slices;
}

// ---------------------------------------------------------------- the runs

interface Round {
  round: number;
  runs: Partial<Record<Mode, LoadRun>>;
}

/** Runs `modes` once per round, in ABBA order (reversed every other round). */
async function rounds(modes: readonly Mode[]): Promise<Round[]> {
  const out: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? modes : [...modes].reverse();
    const runs: Round["runs"] = {};
    for (const mode of order) runs[mode] = await measure(mode);
    out.push({ round, runs });
  }
  return out;
}

const startedAt = new Date();
const loadStart = loadAverage();
const estimate = Math.round(
  PROFILE
    ? PROFILE_VARIANTS.length * (DURATION + Math.max(WARMUP, SLICE_SECONDS)) + 2
    : ROUNDS * 2 * (DURATION + WARMUP + 0.5) + WARMUP + (SCRAPES + 5) * 2 * 2 * 0.12 + 3,
);
log(
  `client ${CLIENT}${PIN ? " (pinned)" : ""}, ` +
    (PROFILE ? `${DURATION} s per variant` : `${ROUNDS} rounds of ${DURATION} s`) +
    `, load average ${loadStart.join(", ")}; about ${estimate} s`,
);
if (loadStart[0] > 1) log("warning: load average above 1; other work will skew the numbers");

let measured: Round[] = [];
let scrapes: ScrapeResult | undefined;
let slices: Slice[] = [];
try {
  if (PROFILE) {
    slices = await profileInterleaved();
  } else {
    measured = await rounds(["plain", "instrumented"]);
    scrapes = await measureScrapes();
  }
} finally {
  await Promise.all([...running].map(stop));
}

// ---------------------------------------------------------------- the report

const loadEnd = loadAverage();
const cpu = await cpuModel();
const generator = CLIENT === "wrk"
  ? `wrk -t1 -c${CONNECTIONS} (${wrkVersion?.split(" ")[1] ?? "wrk"})`
  : `_http_client.ts, ${CONNECTIONS} keep-alive connections (${
    wrkVersion === undefined ? "wrk not installed" : "--client=deno"
  })`;

const int = (x: number) => Math.round(x).toLocaleString("en");
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => x >= 10 ? x.toFixed(0) : x.toFixed(1);
const us = (x: number) => `${x.toFixed(2)} µs`;
const signedUs = (x: number) => `${x < 0 ? "−" : "+"}${us(Math.abs(x))}`;
const range = (xs: number[], f: (x: number) => string) =>
  `${f(Math.min(...xs))} … ${f(Math.max(...xs))}`;
const kb = (n: number) => `${(n / 1000).toFixed(0)} kB`;

const environment = {
  date: startedAt.toISOString(),
  deno: Deno.version.deno,
  v8: Deno.version.v8,
  cpu,
  cores: navigator.hardwareConcurrency,
  loadAverage: { start: loadStart, end: loadEnd },
  generator,
  pinned: PIN,
  durationSeconds: DURATION,
  warmupSeconds: WARMUP,
};

function setting(): string {
  return `Measured ${environment.date.slice(0, 10)} with Deno ${environment.deno} ` +
    `(V8 ${environment.v8}) on ${cpu} (${environment.cores} cores; load average at start: ` +
    `${loadStart.join(", ")}; at end: ${loadEnd.join(", ")}). Load generator: ${generator} ` +
    `on loopback; ${
      PIN
        ? "server pinned to CPU 0, load generator to CPU 1"
        : "server and load generator share the cores"
    }. Server CPU per request: user + system time of the whole server process (all threads), ` +
    "over the requests it served.";
}

// ------------------------------------------ plain vs instrumented, scrapes

function overheadReport(): { json: unknown; lines: string[] } {
  const runsOf = (mode: Mode) => measured.map((r) => r.runs[mode]!);
  const rpsOf = (mode: Mode) => runsOf(mode).map((r) => r.requestsPerSecond);
  const cpuOf = (mode: Mode) => runsOf(mode).map((r) => r.serverCpuMicrosPerRequest!);
  const plainRps = median(rpsOf("plain"));
  const instrumentedRps = median(rpsOf("instrumented"));
  const overhead = 1 - instrumentedRps / plainRps;
  const perRound = measured.map((r) =>
    1 - r.runs.instrumented!.requestsPerSecond / r.runs.plain!.requestsPerSecond
  );
  const plainCpu = median(cpuOf("plain"));
  const instrumentedCpu = median(cpuOf("instrumented"));
  const json = {
    ...environment,
    rounds: measured,
    overhead: {
      plainRps,
      instrumentedRps,
      overhead,
      overheadPerRound: perRound,
      plainCpuMicrosPerRequest: plainCpu,
      instrumentedCpuMicrosPerRequest: instrumentedCpu,
      target: TARGET,
      met: overhead <= TARGET,
    },
    scrape: { intervalMs: SCRAPE_INTERVAL_MS, ...scrapes! },
  };

  const latency = (runs: LoadRun[]) => {
    const known = runs.filter((r) => r.latencyMs !== undefined).map((r) => r.latencyMs!);
    if (known.length === 0) return "—";
    return `${ms(median(known.map((l) => l.p50)))} / ${ms(median(known.map((l) => l.p99)))} ms`;
  };
  const row = (label: string, mode: Mode) =>
    `| ${label} | ${int(median(rpsOf(mode)))} | ${range(rpsOf(mode), int)} | ` +
    `${us(median(cpuOf(mode)))} | ${latency(runsOf(mode))} |`;
  const lines = [
    setting() + ` ${DURATION} s per run after ${WARMUP} s of warm-up, each run in a fresh ` +
    `server process, ${ROUNDS} rounds in ABBA order.`,
    "",
    "| trivial handler under `Deno.serve` | requests/s (median) | range over rounds | server CPU per request | latency p50 / p99 |",
    "| --- | ---: | ---: | ---: | ---: |",
    row('plain `(req) => new Response("ok")`', "plain"),
    row("wrapped in `instrument()`", "instrumented"),
    `| **overhead**: 1 − instrumented / plain | **${pct(overhead)}** | per round: ${
      perRound.map(pct).join(", ")
    } | ${signedUs(instrumentedCpu - plainCpu)} | target ≤ ${pct(TARGET)} fewer requests/s: ${
      overhead <= TARGET ? "met" : "**not met**"
    } |`,
    "",
  ];

  const s = scrapes!;
  lines.push(
    `| \`/metrics\` scrape, ${
      int(s.series)
    } counter series + HTTP metrics | body | p50 | p95 | max |`,
    "| --- | ---: | ---: | ---: | ---: |",
  );
  const loadNote = `under load (${int(s.load.requestsPerSecond)} req/s on \`/\` meanwhile)`;
  for (const [label, stats] of [["idle", s.idle], [loadNote, s.loaded]] as const) {
    for (const st of stats) {
      lines.push(
        `| ${label}, ${st.encoding === "gzip" ? "gzip" : "uncompressed"} | ${kb(st.bodyBytes)} | ` +
          `${ms(st.p50Ms)} ms | ${ms(st.p95Ms)} ms | ${ms(st.maxMs)} ms |`,
      );
    }
  }
  lines.push(
    "",
    `${SCRAPES} scrapes per row, one every ${SCRAPE_INTERVAL_MS} ms after the previous one ` +
      "ended, on one keep-alive connection, timed from sending the request to receiving the " +
      "response's last byte.",
  );
  return { json, lines };
}

// ------------------------------------------------------------ the profile

/** What each variant adds to the one before it. */
const INGREDIENTS: Record<string, string> = {
  plain: 'plain `(req) => new Response("ok")`',
  "+async": "+ `async` wrapper (`await handler(req)`)",
  "+route": "+ `request.url`, `request.method`, route lookup",
  "+request-headers": '+ `request.headers.get("content-length")`',
  "+response-headers": '+ `response.headers.get("content-length")`',
  "+clock": "+ two `performance.now()`",
  "+metrics": "+ the seven metric updates",
  instrumented: "`instrument()` itself",
  "instrumented-exemplars":
    "`instrument()` with `exemplars: true` (reads `traceparent`; none sent)",
};

function profileReport(): { json: unknown; lines: string[] } {
  const of = (variant: string) => slices.filter((s) => s.variant === variant);
  const byCycle = (variant: string) =>
    new Map(of(variant).map((s) => [s.cycle, s.cpuMicrosPerRequest]));
  // Differences are paired with the same cycle's slices, so slow phases cancel out.
  const paired = (variant: string, base: string) => {
    const baseline = byCycle(base);
    return of(variant).map((s) => s.cpuMicrosPerRequest - baseline.get(s.cycle)!);
  };
  const rows = PROFILE_VARIANTS.map((variant, k) => {
    const mine = of(variant);
    const overPlain = paired(variant, "plain");
    // `instrument()` is compared with the full rebuild (`+metrics`), each step with the one before.
    const step = k === 0 ? [] : paired(variant, PROFILE_VARIANTS[k - 1]);
    return {
      variant,
      slices: mine.length,
      requestsPerSecond: median(mine.map((s) => s.requests / s.seconds)),
      cpuMicrosPerRequest: median(mine.map((s) => s.cpuMicrosPerRequest)),
      overPlainMicros: median(overPlain),
      overPlainQuartiles: [quantile(overPlain, 0.25), quantile(overPlain, 0.75)],
      stepMicros: k === 0 ? 0 : median(step),
      stepQuartiles: k === 0 ? [0, 0] : [quantile(step, 0.25), quantile(step, 0.75)],
    };
  });
  const plainCpu = rows[0].cpuMicrosPerRequest;
  const lines = [
    setting() + ` All variants in one server process under one continuous load, switched ` +
    `every ${SLICE_SECONDS} s in turn; ${rows[0].slices} slices each after ` +
    `${WARMUP} s of warm-up. Differences are medians over cycles of a slice's CPU per ` +
    "request minus that of the same cycle's other slice (interquartile range in parentheses).",
    "",
    "| handler | requests/s (median) | server CPU per request | over plain | this step |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  const withRange = (x: number, [q1, q3]: number[]) =>
    `${signedUs(x)} (${signedUs(q1)} … ${signedUs(q3)})`;
  for (const r of rows) {
    const plain = r.variant === "plain";
    lines.push(
      `| ${INGREDIENTS[r.variant] ?? r.variant} | ${int(r.requestsPerSecond)} | ` +
        `${us(r.cpuMicrosPerRequest)} | ${
          plain
            ? "—"
            : `${withRange(r.overPlainMicros, r.overPlainQuartiles)}, ${
              pct(r.overPlainMicros / plainCpu)
            }`
        } | ${plain ? "—" : withRange(r.stepMicros, r.stepQuartiles)} |`,
    );
  }
  return { json: { ...environment, sliceSeconds: SLICE_SECONDS, variants: rows, slices }, lines };
}

const { json, lines } = PROFILE ? profileReport() : overheadReport();
if (JSON_OUT) {
  console.log(JSON.stringify(json, null, 2));
} else {
  lines.push("", `Regenerate with \`deno task bench:http${PROFILE ? " --profile" : ""}\`.`);
  console.log(lines.join("\n"));
}
