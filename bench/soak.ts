/**
 * A bounded soak of the exporter (issue 14, item 7): does its memory stay
 * flat under steady mixed traffic, label floods and a scrape every second?
 *
 * 1. Starts the fake LLM API of `demo/fake_llm.ts` in this process, then the
 *    exporter as `deno task start --demo --workers 2` does (the start task's
 *    own flags from deno.json, `main.ts --demo --workers 2`, on 127.0.0.1,
 *    its LLM pointed at the fake): one process, two server threads sharing
 *    the port and their metrics.
 * 2. For `--duration` seconds (default and most 145) sends, all at once:
 *    - `_soak_load.ts` in a subprocess, over keep-alive connections (each
 *      replaced after about 200 requests): first the fill, the floods of
 *      capped labels only, as fast as the server answers, until each flooded
 *      metric has been sent 23,000 new values (1.15 times the caps of both
 *      server threads), for at most `--duration` − 90 s; then `--rate`
 *      requests per second (default 4,000), 25% ordinary (`/`,
 *      `/healthz`, demo features and actions with known names) and 75% label
 *      floods, every one with a label value never sent before: random paths
 *      no route serves (they must stay `handler="none"`), workspace sizes of
 *      random user ids, random feature names, action types and failed-login
 *      reasons (the series caps must fold them: 10,000 series a metric per
 *      server thread);
 *    - `demo/traffic.ts` from this process: simulated users at `--demo-rate`
 *      requests per second (default 20), LLM calls to the fake API included
 *      (some answered 429 or 500 on purpose), sessions, registrations;
 *    - from the end of the fill on, a scrape of `/metrics` and one of
 *      `/custom_metrics` every second, as Prometheus asks (OpenMetrics, gzip,
 *      one keep-alive connection each; not during the fill, which would
 *      otherwise take twice as long on 2 cores);
 *      a tick that finds the previous scrape of that endpoint still running
 *      is skipped and counted, as Prometheus never overlaps two scrapes of
 *      one target;
 *    - every second, the server process's VmRSS from `/proc/<pid>/status`
 *      (read through `cat`: Deno 2.9 lets a script read `/proc` only with
 *      `--allow-all`), and the CPU time of every process involved.
 * 3. The warm-up ends 30 s of scraping after the fill, and not before
 *    `--warmup` (default 45 s): by then every cap of every server thread is
 *    full and the scrapes are as big as they will get, so what follows (at
 *    least 60 s) is steady state, where a leak shows as growth and a cap that
 *    fails to hold as series added. Compares the RSS at the end of the
 *    warm-up (median of its last 15 one-second samples) with the RSS at the
 *    end (median of the last 15): the target is a growth of at most 5%. Also
 *    shown: the lowest sample of each window (the floor after a garbage
 *    collection, where a leak shows first) and the least-squares trend.
 * 4. Checks the scrape that followed the warm-up and the final one: series
 *    per metric family (the cap, `maxSeries`, default 10,000, holds in each
 *    server thread and again in the merged scrape: at most 10,000 series
 *    plus the overflow one), `http_requests_total` with no handler but the
 *    routes and `none`, the calls each cap folded.
 *
 * Bounded: at most `--duration` + about 20 s (start, final scrapes, stop),
 * and a watchdog ends the script 178 s after it started. Every loop stops at
 * the deadline; the server and the load generator are stopped on the way
 * out, normally, on an error, on Ctrl-C (SIGINT) or SIGTERM, or at the
 * watchdog. Only 127.0.0.1 is used.
 *
 * Run: `deno task bench:soak [--duration=145] [--warmup=45] [--rate=4000]
 * [--connections=32] [--demo-rate=20] [--json]`. Progress goes to stderr,
 * a Markdown report for the README (or, with `--json`, the same figures) to
 * stdout. Exit code 0 when every check passed (the 5% target included), 1
 * otherwise.
 *
 * @module
 */

import { startFakeLLM } from "../demo/fake_llm.ts";
import { taskFlags } from "../demo/server.ts";
import { runTraffic, type SentRequest } from "../demo/traffic.ts";
import { DEFAULT_MAX_SERIES } from "../src/mod.ts";
import { HttpConnection } from "./_http_client.ts";
import { KINDS, type LoadReport } from "./_soak_load.ts";

// ---------------------------------------------------------------- options

const SCRIPT_START = performance.now();
/** The whole script ends by then, whatever happens. */
const WATCHDOG_SECONDS = 178;

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function numberArg(name: string, fallback: number, min: number, max: number): number {
  const raw = arg(name);
  const value = raw === undefined ? fallback : Number(raw);
  if (!(value >= min && value <= max)) {
    throw new RangeError(`--${name} must be a number in [${min}, ${max}] (got ${raw})`);
  }
  return value;
}

const VALUED = ["duration", "warmup", "rate", "connections", "demo-rate"];
for (const a of Deno.args) {
  const name = a.replace(/^--/, "").split("=")[0];
  if (!(a === "--json" || (a.startsWith("--") && a.includes("=") && VALUED.includes(name)))) {
    throw new TypeError(`unknown argument ${JSON.stringify(a)}; see the doc comment of this file`);
  }
}

const DURATION = numberArg("duration", 145, 100, 145);
/** At least this much warm-up; more while the fill runs (see the doc comment). */
/** Seconds measured after the warm-up, at least. */
const MIN_MEASURED = 60;
const WARMUP = numberArg("warmup", 45, 10, DURATION - MIN_MEASURED);
/** Seconds of scraping between the end of the fill and the end of the warm-up. */
const SETTLE = 30;
/** The fill stops by then, complete or not, to leave the settling and a minute measured. */
const FILL_DEADLINE = DURATION - MIN_MEASURED - SETTLE;
const RATE = numberArg("rate", 4000, 10, 50_000);
const CONNECTIONS = Math.round(numberArg("connections", 32, 1, 256));
const DEMO_RATE = numberArg("demo-rate", 20, 1, 1000);
const JSON_OUT = Deno.args.includes("--json");
const WORKERS = 2;
/**
 * New label values per capped kind in the fill: 1.15 × the caps of all server threads (new
 * connections spread requests over the threads evenly enough for each to get its cap's worth).
 */
const FILL = Math.round(1.15 * WORKERS * DEFAULT_MAX_SERIES);
/** Seconds of one-second RSS samples whose median marks the end of the warm-up and of the run. */
const WINDOW = 15;
/** The issue's target: RSS grows by at most 5% after the warm-up. */
const TARGET = 0.05;
/** Prometheus's default scrape timeout. */
const SCRAPE_TIMEOUT_MS = 10_000;
/** The scrapes once the load is over may take longer: the server may still be finishing one. */
const FINAL_SCRAPE_TIMEOUT_MS = 15_000;
/** What Prometheus asks for. */
const SCRAPE_HEADERS = {
  Accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
  "Accept-Encoding": "gzip",
};

const ROOT = new URL("..", import.meta.url);
const decoder = new TextDecoder();
const log = (m: string) =>
  console.error(`[bench:soak ${((performance.now() - SCRIPT_START) / 1000).toFixed(0)}s] ${m}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------ stopping everything

/** Every subprocess still running: killed on the way out, however the script ends. */
const running = new Set<Deno.ChildProcess>();
globalThis.addEventListener("unload", () => {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    log(`${sig}: stopping the server and the load generator`);
    Deno.exit(130); // the unload listener kills them
  });
}
const watchdog = setTimeout(() => {
  log(`still running after ${WATCHDOG_SECONDS} s: stopping everything`);
  Deno.exit(1);
}, WATCHDOG_SECONDS * 1000);

/** SIGTERM (the exporter then finishes in-flight requests), SIGKILL after 3 s. */
async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 3000);
  await child.status;
  clearTimeout(timer);
  running.delete(child);
}

// ---------------------------------------------------------------- /proc

/** Output of a command (empty when it cannot run); stdout is kept even on a non-zero exit. */
async function output(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" })
      .output();
    return decoder.decode(stdout);
  } catch {
    return "";
  }
}

const CLOCK_TICKS = Number(await output("getconf", ["CLK_TCK"])) || 100;

/** CPU seconds (user + system) of `pid`, from `/proc/<pid>/stat` text that holds its line. */
function cpuSeconds(text: string, pid: number): number | undefined {
  const line = new RegExp(`^${pid} \\(.*$`, "m").exec(text)?.[0];
  if (line === undefined) return undefined;
  const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
}

interface Sample {
  /** Seconds since the load started. */
  t: number;
  rssBytes: number | undefined;
  /** CPU seconds so far of the server, the load generator, this script. */
  server?: number;
  load?: number;
  bench?: number;
  /** Whole machine: busy and total CPU seconds (all cores) so far. */
  busy?: number;
  total?: number;
}

async function sample(t: number, serverPid: number, loadPid: number | undefined): Promise<Sample> {
  const files = [`/proc/${serverPid}/status`, `/proc/${serverPid}/stat`, `/proc/${Deno.pid}/stat`];
  if (loadPid !== undefined) files.push(`/proc/${loadPid}/stat`);
  const text = await output("cat", [...files, "/proc/stat"]);
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
  const cpu = /^cpu\s+(.+)$/m.exec(text)?.[1].trim().split(/\s+/).map(Number);
  const s: Sample = {
    t,
    rssBytes: rss ? Number(rss[1]) * 1024 : undefined,
    server: cpuSeconds(text, serverPid),
    bench: cpuSeconds(text, Deno.pid),
    load: loadPid === undefined ? undefined : cpuSeconds(text, loadPid),
  };
  if (cpu !== undefined && cpu.length >= 4) {
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    s.total = total / CLOCK_TICKS;
    s.busy = (total - cpu[3] - (cpu[4] ?? 0)) / CLOCK_TICKS; // minus idle and iowait
  }
  return s;
}

/**
 * What else runs: CPU seconds (whole, from `ps`) of every process, sampled
 * every few seconds. A process first seen during the run counts from zero;
 * one that starts and ends between two samples is missed (the machine-wide
 * figure from `/proc/stat` still counts it).
 */
class OtherProcesses {
  readonly #seen = new Map<number, { base: number; last: number; args: string }>();
  #first = true;

  async sample(): Promise<void> {
    for (const line of (await output("ps", ["-eo", "pid=,times=,args="])).split("\n")) {
      const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
      if (m === null) continue;
      const [pid, seconds] = [Number(m[1]), Number(m[2])];
      const known = this.#seen.get(pid);
      if (known !== undefined) known.last = seconds;
      else this.#seen.set(pid, { base: this.#first ? seconds : 0, last: seconds, args: m[3] });
    }
    this.#first = false;
  }

  /** CPU seconds during the run by command (`deno test`, `node`, ...), most first. */
  busiest(exclude: ReadonlySet<number | undefined>): { command: string; seconds: number }[] {
    const by = new Map<string, number>();
    for (const [pid, p] of this.#seen) {
      if (exclude.has(pid) || p.last <= p.base) continue;
      const [cmd, sub] = p.args.split(/\s+/);
      const base = cmd.slice(cmd.lastIndexOf("/") + 1);
      if (["ps", "cat", "getconf"].includes(base)) continue;
      const command = sub !== undefined && /^[a-z][a-z:_-]*$/.test(sub) ? `${base} ${sub}` : base;
      by.set(command, (by.get(command) ?? 0) + p.last - p.base);
    }
    return [...by].map(([command, seconds]) => ({ command, seconds }))
      .sort((a, b) => b.seconds - a.seconds);
  }
}

function machine(cpuinfo: string, meminfo: string): string {
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown CPU";
  const kb = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1]);
  const mem = kb > 0 ? `, ${Math.round(kb / 1024 / 1024)} GB RAM` : "";
  return `${model} (${navigator.hardwareConcurrency} cores${mem})`;
}

// ---------------------------------------------------------------- the server

interface Server {
  child: Deno.ChildProcess;
  port: number;
  output(): string;
}

async function startServer(llmBaseUrl: string, llmApiKey: string): Promise<Server> {
  const flags = taskFlags(await Deno.readTextFile(new URL("deno.json", ROOT)), "start", "main.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...flags,
      "main.ts",
      "--demo",
      "--workers",
      String(WORKERS),
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
    ],
    cwd: ROOT,
    // Nothing from the caller's environment changes what is measured.
    env: {
      NO_COLOR: "1",
      PORT: "",
      HOSTNAME: "",
      WORKERS: "",
      DENO_JOBS: "",
      DEMO: "",
      METRICS_AUTH_TOKEN: "",
      LLM_BASE_URL: llmBaseUrl,
      LLM_API_KEY: llmApiKey,
      LLM_MODEL: "gpt-4o-mini",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running.add(child);
  let text = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-65536);
    }
  };
  drain(child.stdout);
  drain(child.stderr);
  let exited = false;
  child.status.then(() => exited = true);
  const end = Date.now() + 30_000;
  for (;;) {
    // Printed once every thread listens and has met the others.
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
    if (m !== null) return { child, port: Number(m[1]), output: () => text };
    if (exited || Date.now() > end) {
      await stopChild(child);
      throw new Error(`the server did not start:\n${text}`);
    }
    await sleep(20);
  }
}

// ---------------------------------------------------------------- scrapes

async function gunzip(body: Uint8Array): Promise<string> {
  const stream = new Blob([body as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

/** One endpoint scraped on one keep-alive connection, at most one scrape at a time. */
class Scraper {
  readonly path: string;
  readonly #port: number;
  #conn: HttpConnection | undefined;
  busy = false;
  readonly ms: number[] = [];
  skipped = 0;
  errors = 0;
  readonly examples: string[] = [];
  bodyBytes = 0;
  /** The last answered scrape's body (still gzip). */
  lastBody: Uint8Array | undefined;
  /** When that scrape started (seconds after the load started). */
  lastAt = NaN;
  #closed = false;
  /** Called with each answered scrape's body (still gzip). */
  onBody: ((body: Uint8Array, at: number) => void) | undefined;

  constructor(path: string, port: number) {
    this.path = path;
    this.#port = port;
  }

  /** Starts a scrape unless one is running (then the tick is skipped). */
  tick(at: number): void {
    if (this.busy) {
      this.skipped++;
      return;
    }
    this.busy = true;
    this.#scrape(at).finally(() => this.busy = false);
  }

  async #scrape(at: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      this.#conn ??= await HttpConnection.open(this.#port);
      const conn = this.#conn;
      timer = setTimeout(() => conn.close(), SCRAPE_TIMEOUT_MS);
      const t0 = performance.now();
      const res = await conn.get(this.path, SCRAPE_HEADERS);
      const ms = performance.now() - t0;
      if (res.status !== 200 || res.headers.get("content-encoding") !== "gzip") {
        throw new Error(
          `status ${res.status}, content-encoding ${res.headers.get("content-encoding")}`,
        );
      }
      this.ms.push(ms);
      this.bodyBytes = res.body.length;
      this.lastBody = res.body;
      this.lastAt = at;
      this.onBody?.(res.body, at);
    } catch (error) {
      if (this.#closed) return; // cut short by the end of the run
      this.errors++;
      if (this.examples.length < 3) {
        this.examples.push(error instanceof Error ? error.message : String(error));
      }
      this.#conn?.close();
      this.#conn = undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection, cutting short a scrape still running (not counted). */
  close(): void {
    this.#closed = true;
    this.#conn?.close();
  }
}

// ------------------------------------------------- reading an exposition

interface Family {
  name: string;
  type: string;
  /** Distinct label sets (without `le` and `quantile`). */
  series: Set<string>;
}

interface Exposition {
  families: Map<string, Family>;
  /** `metrics_series_overflow_total` by `metric`: calls folded into the overflow series. */
  folded: Map<string, number>;
  /** `http_requests_total` summed by `handler`. */
  handlers: Map<string, number>;
  /** `process_resident_memory_bytes`, when present. */
  rss: number | undefined;
  /** The runtime's heap and external memory, summed over the server threads. */
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** The label part of a sample line (between its braces; quoted values may hold braces). */
function labelsOf(line: string, open: number): [string, number] {
  let i = open + 1;
  let quoted = false;
  for (; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "}") break;
  }
  return [line.slice(open + 1, i), i + 1];
}

function labelValue(labels: string, name: string): string | undefined {
  return new RegExp(`(?:^|,)${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(labels)?.[1];
}

/** Reads the families, series and a few values of a Prometheus text or OpenMetrics exposition. */
function readExposition(text: string): Exposition {
  const out: Exposition = {
    families: new Map(),
    folded: new Map(),
    handlers: new Map(),
    rss: undefined,
    heapUsed: 0,
    heapTotal: 0,
    external: 0,
  };
  let family: Family | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# TYPE (\S+) (\S+)/.exec(line);
      if (m) {
        const name = m[2] === "counter" && !m[1].endsWith("_total") ? `${m[1]}_total` : m[1];
        family = { name, type: m[2], series: new Set() };
        out.families.set(name, family);
      }
      continue;
    }
    const brace = line.indexOf("{");
    const space = line.indexOf(" ");
    const named = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    const sampleName = line.slice(0, named);
    let labels = "";
    let rest = named + 1;
    if (named === brace) [labels, rest] = labelsOf(line, brace);
    const value = Number(line.slice(rest).trim().split(" ")[0]);
    family?.series.add(labels.replace(/(^|,)(le|quantile)="[^"]*"/g, ""));
    if (sampleName === "metrics_series_overflow_total") {
      const metric = labelValue(labels, "metric") ?? "";
      out.folded.set(metric, (out.folded.get(metric) ?? 0) + value);
    } else if (sampleName === "http_requests_total") {
      const handler = labelValue(labels, "handler") ?? "";
      out.handlers.set(handler, (out.handlers.get(handler) ?? 0) + value);
    } else if (sampleName === "process_resident_memory_bytes") {
      out.rss = value;
    } else if (sampleName.endsWith("_heap_size_used_bytes")) {
      out.heapUsed += value;
    } else if (sampleName.endsWith("_heap_size_total_bytes")) {
      out.heapTotal += value;
    } else if (sampleName.endsWith("_external_memory_bytes")) {
      out.external += value;
    }
  }
  return out;
}

// ---------------------------------------------------------------- statistics

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}
const median = (xs: readonly number[]) => quantile(xs, 0.5);

/** Least-squares slope of `ys` over `xs`. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Whether a demo-traffic response is the one its request asked for. */
function demoAnswered(r: SentRequest): boolean {
  const q = new URL(r.path, "http://x").searchParams;
  switch (r.kind) {
    case "login_failed":
      return r.status === 401;
    case "not_found":
      return r.status === 404;
    case "feature":
      return r.status === (q.get("fail") === "1" ? 500 : 200);
    case "llm":
      // A call the fake API was told to fail (429, 500) must fail.
      return /status=\d+/.test(q.get("prompt") ?? "") ? r.status >= 400 : r.status === 200;
    default:
      return r.status === 200;
  }
}

// ---------------------------------------------------------------- the run

const startedAt = new Date();
const loadStart = Deno.loadavg().map((x) => x.toFixed(2));
const machineText = machine(
  await output("cat", ["/proc/cpuinfo"]),
  await output("cat", ["/proc/meminfo"]),
);
log(
  `${DURATION} s (fill, then at least ${WARMUP} s of warm-up), ${RATE} req/s load + ` +
    `${DEMO_RATE} req/s demo traffic, ` +
    `scrapes every second; load average ${loadStart.join(", ")}`,
);
if (Number(loadStart[0]) > 1) log("load average above 1: other work is running on this machine");

const fake = await startFakeLLM();
let server: Server | undefined;
let loadChild: Deno.ChildProcess | undefined;
const scrapers: Scraper[] = [];
const samples: Sample[] = [];
/** From each `/metrics` scrape: the server's own RSS, its threads' heaps and external memory. */
const selfMemory: {
  t: number;
  rss?: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}[] = [];
let atWarmup: Exposition | undefined;
let final: { metrics: Exposition; custom: Exposition } | undefined;
let load: LoadReport | undefined;
let demo: SentRequest[] = [];
let routes: string[] = [];
let startRss: number | undefined;
const otherProcesses = new OtherProcesses();
let soakSeconds = 0;
/** Endpoints whose final figures come from the last scrape under load. */
const finalFromLoad: string[] = [];
/** When the fill ended (seconds after the load started), if it did. */
let fillSeconds: number | undefined;
/** Whether the fill sent all its values before its time limit. */
let fillComplete = false;
/** Seconds after the load started when the warm-up ends: set once the fill is done. */
let warmupEnd = Infinity;
const failures: string[] = [];

try {
  server = await startServer(fake.baseUrl, fake.apiKey);
  const { port, child } = server;
  log(`server pid ${child.pid} on 127.0.0.1:${port}, ${WORKERS} threads`);
  let serverGone = false;
  child.status.then(() => serverGone = true);

  // The routes the server serves, from its index page (the demo routes included).
  {
    const conn = await HttpConnection.open(port);
    const index = decoder.decode((await conn.get("/")).body);
    conn.close();
    const also = /Also: (.+)/.exec(index)?.[1] ?? "";
    routes = ["/", "/metrics", "/custom_metrics", "/healthz", ...also.split(", ").filter(Boolean)];
  }
  startRss = (await sample(0, child.pid, undefined)).rssBytes;
  await otherProcesses.sample();

  // ------------------------------------------------ load, demo traffic, scrapes
  const t0 = performance.now();
  const now = () => (performance.now() - t0) / 1000;
  // Once the fill is over, the scrapes start; the warm-up ends SETTLE seconds later.
  let scraping = false;
  const fillOver = (at: number): void => {
    if (scraping) return;
    scraping = true;
    warmupEnd = Math.max(WARMUP, Math.ceil(at) + SETTLE);
    log(
      `fill ${fillComplete ? "done" : "cut short"} after ${at.toFixed(0)} s; scraping every ` +
        `second from now, the warm-up ends at ${warmupEnd} s`,
    );
  };

  loadChild = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      new URL("_soak_load.ts", import.meta.url).pathname,
      String(port),
      String(RATE),
      String(DURATION),
      String(CONNECTIONS),
      "1",
      String(FILL),
      String(FILL_DEADLINE),
    ],
    stdin: "piped", // held open: the generator stops when it closes
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  running.add(loadChild);
  const loadPid = loadChild.pid;
  // Its lines: `{"filled": seconds}` once the fill is done, then its report.
  const loadLines: string[] = [];
  const loadRead = (async () => {
    let rest = "";
    for await (const chunk of loadChild.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        const { filled, complete } = JSON.parse(line);
        if (typeof filled === "number") {
          fillSeconds = filled;
          fillComplete = complete === true;
          fillOver(filled);
        } else loadLines.push(line);
      }
    }
  })();

  const stopDemo = new AbortController();
  const demoRun = runTraffic({
    url: `http://127.0.0.1:${port}`,
    durationSeconds: DURATION,
    rate: DEMO_RATE,
    concurrency: 8,
    seed: 14,
    requestTimeoutMs: 10_000,
    signal: stopDemo.signal,
  });

  const metrics = new Scraper("/metrics", port);
  const custom = new Scraper("/custom_metrics", port);
  scrapers.push(metrics, custom);
  metrics.onBody = (body, at) => {
    gunzip(body).then((text) => {
      const e = readExposition(text);
      selfMemory.push({
        t: at,
        rss: e.rss,
        heapUsed: e.heapUsed,
        heapTotal: e.heapTotal,
        external: e.external,
      });
    }).catch(() => {});
  };
  let warmupRead: Promise<void> | undefined;
  custom.onBody = (body, at) => {
    // The first scrape after the warm-up: had every flooded metric reached its cap?
    if (at >= warmupEnd && warmupRead === undefined) {
      warmupRead = gunzip(body).then((text) => {
        atWarmup = readExposition(text);
      });
    }
  };

  // One tick a second: both scrapes (after the fill) and one sample, until the deadline.
  let loadAlive = true;
  loadChild.status.then(() => loadAlive = false);
  let lastLog = 0;
  for (let tick = 0; tick < DURATION; tick++) {
    const wait = t0 + tick * 1000 - performance.now();
    if (wait > 0) await sleep(wait);
    if (serverGone) throw new Error(`the server exited during the soak:\n${server.output()}`);
    if (tick >= FILL_DEADLINE + 5) fillOver(tick); // the generator never said: go on anyway
    if (scraping) {
      metrics.tick(tick);
      custom.tick(tick);
    }
    const s = await sample(now(), child.pid, loadAlive ? loadPid : undefined);
    samples.push(s);
    if (tick % 5 === 4) await otherProcesses.sample();
    if (tick - lastLog >= 15) {
      lastLog = tick;
      log(
        `t=${tick}s RSS ${((s.rssBytes ?? NaN) / 2 ** 20).toFixed(0)} MiB, ` +
          `custom_metrics scrape p50 ${median(custom.ms).toFixed(0)} ms`,
      );
    }
  }
  await sleep(Math.max(0, t0 + DURATION * 1000 - performance.now()));
  soakSeconds = now();
  await otherProcesses.sample();
  samples.push(await sample(now(), child.pid, loadAlive ? loadPid : undefined));

  // ------------------------------------------------ stop the load, read the end state
  log("load done; stopping the generators, final scrapes");
  const stopLoad = setTimeout(() => {
    try {
      loadChild?.kill("SIGTERM");
    } catch { /* gone */ }
  }, 3000);
  await loadChild.status;
  await loadRead;
  clearTimeout(stopLoad);
  running.delete(loadChild);
  load = JSON.parse(loadLines.at(-1) ?? "null");
  if (load === null) throw new Error("the load generator printed no report");
  stopDemo.abort(); // its requests still in flight are not counted
  demo = (await demoRun).sent;
  for (const s of scrapers) s.close();
  await warmupRead;

  // The end state: a scrape of each endpoint now that the load is over (or, if one fails
  // within the scrape timeout, the last one answered under load).
  const read = async (scraper: Scraper): Promise<Exposition> => {
    let conn: HttpConnection | undefined;
    const timer = setTimeout(() => conn?.close(), FINAL_SCRAPE_TIMEOUT_MS);
    try {
      conn = await HttpConnection.open(port);
      const res = await conn.get(scraper.path, SCRAPE_HEADERS);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return readExposition(await gunzip(res.body));
    } catch (error) {
      if (scraper.lastBody === undefined) throw error;
      log(`final scrape of ${scraper.path} failed (${error}): using the last one under load`);
      finalFromLoad.push(`${scraper.path} (the scrape started at ${scraper.lastAt} s)`);
      return readExposition(await gunzip(scraper.lastBody));
    } finally {
      clearTimeout(timer);
      conn?.close();
    }
  };
  const [m, c] = await Promise.all([read(metrics), read(custom)]);
  final = { metrics: m, custom: c };
} finally {
  if (loadChild !== undefined && running.has(loadChild)) await stopChild(loadChild);
  if (server !== undefined) await stopChild(server.child);
  await fake.close();
  clearTimeout(watchdog);
}

// ---------------------------------------------------------------- the report

const loadEnd = Deno.loadavg().map((x) => x.toFixed(2));
const MiB = 2 ** 20;
const mib = (b: number | undefined) => b === undefined ? "—" : `${(b / MiB).toFixed(0)} MiB`;
const int = (n: number) => Math.round(n).toLocaleString("en");
const ms = (x: number) =>
  Number.isNaN(x) ? "—" : x >= 10 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`;
const pct = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(1)}%`;

const rssAt = samples.filter((s) => s.rssBytes !== undefined) as (Sample & { rssBytes: number })[];
const warmWindow = rssAt.filter((s) => s.t > warmupEnd - WINDOW && s.t <= warmupEnd);
const endWindow = rssAt.filter((s) => s.t > soakSeconds - WINDOW);
const after = rssAt.filter((s) => s.t > warmupEnd);
const rssWarm = median(warmWindow.map((s) => s.rssBytes));
const rssEnd = median(endWindow.map((s) => s.rssBytes));
const rssMaxAfter = Math.max(...after.map((s) => s.rssBytes));
const rssMaxAll = Math.max(...rssAt.map((s) => s.rssBytes));
const growth = rssEnd / rssWarm - 1;
const floorWarm = Math.min(...warmWindow.map((s) => s.rssBytes));
const floorEnd = Math.min(...endWindow.map((s) => s.rssBytes));
/** Median of a `/metrics`-reported figure over the warm-up's last window and the run's last. */
const selfWindows = (f: (m: typeof selfMemory[number]) => number) =>
  [
    median(selfMemory.filter((m) => m.t > warmupEnd - WINDOW && m.t <= warmupEnd).map(f)),
    median(selfMemory.filter((m) => m.t > soakSeconds - WINDOW).map(f)),
  ] as const;
const heapUsed = selfWindows((m) => m.heapUsed);
const heapTotal = selfWindows((m) => m.heapTotal);
const external = selfWindows((m) => m.external);
const trendPerMinute = slope(after.map((s) => s.t), after.map((s) => s.rssBytes)) * 60;
const met = growth <= TARGET;
if (!met) failures.push(`RSS grew ${pct(growth)} after the warm-up (target ≤ ${pct(TARGET)})`);

// CPU, in cores on average over the soak.
const first = samples[0];
const last = samples.at(-1)!;
const lastLoad = [...samples].reverse().find((s) => s.load !== undefined);
const span = last.t - first.t;
const cores = (a?: number, b?: number) =>
  a === undefined || b === undefined || span <= 0 ? NaN : (b - a) / span;
const cpu = {
  server: cores(first.server, last.server),
  load: cores(first.load, lastLoad?.load),
  bench: cores(first.bench, last.bench),
  machine: cores(first.busy, last.busy),
};
const others = cpu.machine - cpu.server - cpu.load - cpu.bench;
const ours = new Set([Deno.pid, server?.child.pid, loadChild?.pid]);
const busiest = otherProcesses.busiest(ours).filter((p) => p.seconds >= 2).slice(0, 5);

// Requests.
const steadyRate = load!.fillSeconds === undefined ? 0 : (load!.kinds.reduce(
  (n, c) => n + c.sent,
  0,
) - load!.fillRequests) / (load!.seconds - load!.fillSeconds);
const loadRows = KINDS.map((k, i) => ({ kind: k, counts: load!.kinds[i] }));
const sum = (f: (c: LoadReport["kinds"][number]) => number) =>
  load!.kinds.reduce((n, c) => n + f(c), 0);
const demoAborted = (r: SentRequest) => r.status === 0 && (r.error ?? "").startsWith("AbortError");
const demoDone = demo.filter((r) => !demoAborted(r));
const demoOk = demoDone.filter(demoAnswered).length;
const demoNoAnswer = demoDone.filter((r) => r.status === 0).length;
const demoLLM = demoDone.filter((r) => r.kind === "llm");
const errors = sum((c) => c.unexpected + c.failed + c.connectFailed) +
  (demoDone.length - demoOk) + scrapers.reduce((n, s) => n + s.errors, 0);
if (errors > 0) failures.push(`${errors} requests or scrapes went wrong`);

// Series.
const caps = DEFAULT_MAX_SERIES;
const allFamilies = final
  ? [
    ...[...final.metrics.families.values()].map((f) => ({ ...f, endpoint: "/metrics" })),
    ...[...final.custom.families.values()].map((f) => ({ ...f, endpoint: "/custom_metrics" })),
  ]
  : [];
// The merged scrape is capped as each thread is: at most maxSeries series plus the overflow one.
const overCap = allFamilies.filter((f) => f.series.size > caps + 1);
for (const f of overCap) failures.push(`${f.name}: ${f.series.size} series, over cap + 1`);
const folded = new Map([...final?.metrics.folded ?? [], ...final?.custom.folded ?? []]);
const shownFamilies = allFamilies.filter((f) =>
  f.series.size >= 100 || folded.has(f.name) ||
  ["http_requests_total", "app_requests_total"].includes(f.name)
).sort((a, b) => b.series.size - a.series.size || a.name.localeCompare(b.name));
const handlers = final?.metrics.handlers ?? new Map<string, number>();
const strayHandlers = [...handlers.keys()].filter((h) => h !== "none" && !routes.includes(h));
if (strayHandlers.length > 0) {
  failures.push(`http_requests_total has handlers no route has: ${strayHandlers.slice(0, 3)}`);
}
const seriesAtWarmup = (name: string) => atWarmup?.families.get(name)?.series.size;
// A metric folding at the end that still gained series after the warm-up: the warm-up did not
// reach steady state (a thread's cap was not full yet), or a cap did not hold.
const grewAfterWarmup = allFamilies.filter((f) =>
  folded.has(f.name) && (seriesAtWarmup(f.name) ?? Infinity) < f.series.size
);
for (const f of grewAfterWarmup) failures.push(`${f.name}: series still added after the warm-up`);
const randomPaths = load!.kinds[KINDS.findIndex((k) => k.flood && !k.capped)].ok;
const noneCoversPaths = (handlers.get("none") ?? 0) >= randomPaths;
if (!noneCoversPaths) failures.push(`handler="none" counted fewer requests than random paths`);

const environment = {
  date: startedAt.toISOString(),
  deno: Deno.version.deno,
  v8: Deno.version.v8,
  machine: machineText,
  loadAverage: { start: loadStart, end: loadEnd },
  durationSeconds: DURATION,
  warmupSeconds: warmupEnd,
  fillSeconds,
  rate: RATE,
  connections: CONNECTIONS,
  demoRate: DEMO_RATE,
};

if (JSON_OUT) {
  console.log(JSON.stringify(
    {
      ...environment,
      rss: {
        startBytes: startRss,
        warmupBytes: rssWarm,
        endBytes: rssEnd,
        maxAfterWarmupBytes: rssMaxAfter,
        growth,
        target: TARGET,
        met,
        trendBytesPerMinute: trendPerMinute,
        samples: rssAt.map((s) => [Math.round(s.t), s.rssBytes]),
        fromMetrics: selfMemory.map((m) => [m.t, m.rss, m.heapUsed, m.heapTotal, m.external]),
      },
      cpuCores: { ...cpu, others, busiest },
      load,
      demo: {
        sent: demoDone.length,
        answered: demoOk,
        noAnswer: demoNoAnswer,
        llm: demoLLM.length,
      },
      fakeLLMCalls: fake.calls.length,
      scrapes: scrapers.map((s) => ({
        path: s.path,
        scrapes: s.ms.length,
        skipped: s.skipped,
        errors: s.errors,
        bodyBytes: s.bodyBytes,
        p50Ms: median(s.ms),
        p99Ms: quantile(s.ms, 0.99),
        maxMs: Math.max(...s.ms),
        examples: s.examples,
      })),
      series: allFamilies.map((f) => ({
        endpoint: f.endpoint,
        name: f.name,
        type: f.type,
        series: f.series.size,
        folded: folded.get(f.name) ?? 0,
      })),
      cap: caps,
      seriesAtWarmup: Object.fromEntries(
        [...atWarmup?.families.values() ?? []].map((f) => [f.name, f.series.size]),
      ),
      foldedAtWarmup: Object.fromEntries(atWarmup?.folded ?? []),
      handlers: Object.fromEntries(handlers),
      failures,
    },
    null,
    2,
  ));
} else {
  const lines: string[] = [];
  const cpuNote = (x: number) => Number.isNaN(x) ? "—" : x.toFixed(2);
  lines.push(
    `Measured ${environment.date.slice(0, 10)} with Deno ${environment.deno} (V8 ` +
      `${environment.v8}) on ${machineText}; load average at start: ${loadStart.join(", ")}; ` +
      `at end: ${loadEnd.join(", ")}. Server: \`main.ts --demo --workers ${WORKERS}\` with the ` +
      `start task's flags on 127.0.0.1 (one process, ${WORKERS} server threads sharing the port ` +
      `and their metrics), its LLM the fake API of \`demo/fake_llm.ts\`. ${
        Math.round(soakSeconds)
      } s ` +
      `under load: the fill (the capped floods only, as fast as the server took them, no ` +
      `scrapes yet) ${
        fillComplete
          ? `sent each flooded metric ${int(FILL)} new values in ${fillSeconds?.toFixed(0)} s`
          : `was **cut short** at ${fillSeconds?.toFixed(0) ?? "?"} s, before each flooded ` +
            `metric had been sent ${int(FILL)} new values`
      }; scraping started then, the warm-up ended ${SETTLE} s later (at ${warmupEnd} s), then ${
        Math.round(soakSeconds - warmupEnd)
      } s measured; after the fill the load generator sent ${int(steadyRate)} requests/s (of the ${
        int(RATE)
      } asked: as many as the server answered). ` +
      `CPU meanwhile, in cores on average: server ${cpuNote(cpu.server)}, load generator ` +
      `${cpuNote(cpu.load)}, bench (scrapes, demo traffic, fake LLM) ${
        cpuNote(cpu.bench)
      }, other ` +
      `processes ${cpuNote(others)}${
        busiest.length > 0
          ? ` (CPU seconds seen: ${busiest.map((p) => `\`${p.command}\` ${p.seconds}`).join(", ")})`
          : ""
      }.`,
    "",
    "| server RSS (VmRSS, 1 s samples) | |",
    "| --- | ---: |",
    `| idle, at start | ${mib(startRss)} |`,
    `| end of warm-up (median of its last ${WINDOW} s) | ${mib(rssWarm)} |`,
    `| end (median of the last ${WINDOW} s) | ${mib(rssEnd)} |`,
    `| **growth after warm-up** | **${pct(growth)}** (target ≤ ${(TARGET * 100).toFixed(0)}%: ${
      met ? "met" : "**not met**"
    }) |`,
    `| floor (lowest sample) of the same windows | ${mib(floorWarm)} → ${mib(floorEnd)} (${
      pct(floorEnd / floorWarm - 1)
    }) |`,
    `| trend after warm-up (least squares) | ${pct(trendPerMinute / rssWarm)} per minute |`,
    ...([["JS heap used", heapUsed], ["JS heap total", heapTotal], [
      "external memory (shared series storage, buffers)",
      external,
    ]] as const).map(([what, [a, b]]) =>
      `| ${what}, both threads (\`/metrics\`, same windows) | ${mib(a)} → ${mib(b)} (${
        pct(b / a - 1)
      }) |`
    ),
    `| max after warm-up / over the whole run | ${mib(rssMaxAfter)} / ${mib(rssMaxAll)} |`,
    "",
    `RSS every 15 s (MiB): ${
      rssAt.filter((s) => Math.round(s.t) % 15 === 0).map((s) => (s.rssBytes / MiB).toFixed(0))
        .join(", ")
    }.`,
    "",
    "| requests | sent | per second | answered as expected | other status | no answer |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const { kind, counts: c } of loadRows) {
    lines.push(
      `| ${kind.name} | ${int(c.sent)} | ${int(c.sent / load!.seconds)} | ${
        int(c.ok)
      } (${kind.expect}) | ` +
        `${int(c.unexpected)} | ${int(c.failed + c.connectFailed)} |`,
    );
  }
  lines.push(
    `| demo traffic (\`demo/traffic.ts\`: ${demoLLM.length} LLM calls, logins, features, …) | ` +
      `${int(demoDone.length)} | ${(demoDone.length / soakSeconds).toFixed(0)} | ${
        int(demoOk)
      } | ` +
      `${int(demoDone.length - demoOk - demoNoAnswer)} | ${int(demoNoAnswer)} |`,
    `| **all** | **${int(sum((c) => c.sent) + demoDone.length)}** | ` +
      `${int((sum((c) => c.sent) + demoDone.length) / soakSeconds)} | ` +
      `${int(sum((c) => c.ok) + demoOk)} | ${
        int(sum((c) => c.unexpected) + demoDone.length - demoOk - demoNoAnswer)
      } | ` +
      `${int(sum((c) => c.failed + c.connectFailed) + demoNoAnswer)} |`,
    "",
    "| scrape, every second (OpenMetrics, gzip) | scrapes | ticks skipped (previous still running) | body | p50 | p99 | max | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const s of scrapers) {
    lines.push(
      `| \`${s.path}\` | ${s.ms.length} | ${s.skipped} | ${(s.bodyBytes / 1000).toFixed(0)} kB | ` +
        `${ms(median(s.ms))} | ${ms(quantile(s.ms, 0.99))} | ${
          ms(Math.max(...s.ms))
        } | ${s.errors} |`,
    );
  }
  lines.push(
    "",
    `| metric | series after the warm-up | series at the end | calls folded into \`__overflow__\` |`,
    "| --- | ---: | ---: | ---: |",
  );
  for (const f of shownFamilies) {
    const before = seriesAtWarmup(f.name);
    lines.push(
      `| \`${f.name}\` (${f.endpoint}) | ${before === undefined ? "—" : int(before)} | ` +
        `${int(f.series.size)} | ${int(folded.get(f.name) ?? 0)} |`,
    );
  }
  lines.push(
    "",
    `Series cap (\`maxSeries\`): ${int(caps)} per metric, plus one \`__overflow__\` series, ` +
      `in each server thread and in the scrape that merges the ${WORKERS} threads. Over ` +
      `${int(caps + 1)} series in the merged scrape: ${
        overCap.length === 0 ? "none" : `**${overCap.map((f) => f.name).join(", ")}**`
      }. Series added after the warm-up to a metric that folds: ${
        grewAfterWarmup.length === 0
          ? "none"
          : `**${grewAfterWarmup.map((f) => f.name).join(", ")}**`
      }. \`http_requests_total\` handlers: ${
        [...handlers.keys()].sort().map((h) => `\`${h}\``).join(", ")
      }; \`none\` counted ${int(handlers.get("none") ?? 0)} requests (the ${
        int(randomPaths)
      } random paths answered ${noneCoversPaths ? "among them" : "**not all among them**"}), ${
        strayHandlers.length === 0
          ? "and no path got a series of its own"
          : "**but some paths got a series**"
      }. Errors (wrong status, no answer, failed scrapes): ${int(errors)}.${
        finalFromLoad.length > 0
          ? ` The final scrape of ${finalFromLoad.join(" and ")} failed: its figures are from ` +
            "the last scrape under load."
          : ""
      }`,
    "",
    "Regenerate with `deno task bench:soak`.",
  );
  console.log(lines.join("\n"));
}

if (failures.length > 0) {
  log(`checks that failed: ${failures.join("; ")}`);
  Deno.exit(1);
}
