/**
 * Requests per second of the instrumented exporter with 1 worker and with 2
 * (the cluster issue's speed question), under the same load generator:
 *
 * - `deno task start --workers N`: main.ts with the start task's own flags
 *   (one `Deno.serve` for N = 1; N server threads sharing the port and their
 *   metrics for N > 1);
 * - `DENO_JOBS=N deno serve --parallel app/worker.ts`, with the flags
 *   its module doc gives.
 *
 * Each run starts a fresh server on 127.0.0.1, waits until its workers have
 * all met (every `/metrics` scrape shows N `deno_version_info` series), warms
 * it up under load, then measures. Rounds visit the configurations in
 * alternating order (a b c d, d c b a, ...) so a drift of the machine's speed
 * falls on all alike. The load is `wrk` (one thread, keep-alive connections)
 * on `GET /healthz`, an instrumented route (HTTP metrics and
 * `app_requests_total`). Without `wrk` on the PATH, or with `--client=fetch`,
 * it is `fetch` loops in this process: slower, and not comparable with wrk.
 *
 * After each run it checks the merged count: `http_requests_total` for the
 * route must cover every response wrk received (warm-up included), and
 * exceed it by at most the requests still in flight when wrk stopped (one
 * per connection, per wrk run).
 *
 * On this 2-core machine the load generator takes most of one core, so two
 * workers compete with it for the other; the table says what that gives.
 *
 * Run: `deno run --allow-run --allow-read --allow-net=127.0.0.1 --allow-env --allow-sys=loadavg
 * bench/cluster_rps.ts [--duration=5] [--warmup=1] [--rounds=3]
 * [--connections=32] [--client=wrk|fetch] [--json]`. Progress goes to
 * stderr, the Markdown table (or JSON) to stdout. Every server it starts is
 * killed when the script ends, normally or not.
 *
 * @module
 */

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function positive(name: string, fallback: number): number {
  const v = Number(arg(name) ?? fallback);
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`--${name} must be an integer >= 1`);
  return v;
}

const DURATION = positive("duration", 5);
const WARMUP = positive("warmup", 1);
const ROUNDS = positive("rounds", 3);
const CONNECTIONS = positive("connections", 32);
const JSON_OUT = Deno.args.includes("--json");
const PATH = "/healthz";
import { taskFlags } from "../demo/server.ts";

const ROOT = new URL("..", import.meta.url);
const decoder = new TextDecoder();

function hasWrk(): boolean {
  try {
    return new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().code <= 1; // wrk --version prints its usage and exits 1
  } catch {
    return false;
  }
}

const CLIENT = arg("client") ?? (hasWrk() ? "wrk" : "fetch");
if (CLIENT !== "wrk" && CLIENT !== "fetch") throw new RangeError("--client must be wrk or fetch");

const log = (m: string) => console.error(`[cluster_rps] ${m}`);

// ---------------------------------------------------------------- servers

/** The start task's flags, from deno.json (the words between `deno run` and `main.ts`). */
function startTaskFlags(): string[] {
  return taskFlags(Deno.readTextFileSync(new URL("deno.json", ROOT)), "start", "main.ts");
}

/** The flags `app/worker.ts` documents for `deno serve --parallel` (without the port). */
function workerFlags(): string[] {
  const text = Deno.readTextFileSync(new URL("app/worker.ts", ROOT));
  const block = /```sh\n([\s\S]*?)```/.exec(text)?.[1] ?? "";
  const words = block.split("\n").map((l) => l.replace(/^\s*\*\s?/, "")).join(" ")
    .replaceAll("\\", " ").split(/\s+/).filter((w) => w !== "");
  const from = words.indexOf("--parallel");
  const to = words.indexOf("app/worker.ts");
  if (from < 0 || to < from) throw new Error("app/worker.ts: no deno serve command");
  const flags = words.slice(from + 1, to);
  const port = flags.indexOf("--port");
  if (port >= 0) flags.splice(port, 2);
  return flags;
}

interface Config {
  name: string;
  /** How the server runs, as the table names it. */
  kind: string;
  workers: number;
  /** Workers keep their own metrics: scrapes show one worker's, so no count check. */
  unshared?: boolean;
  command: () => { args: string[]; env: Record<string, string> };
}

const CONFIGS: Config[] = [1, 2].flatMap((n): Config[] => [
  {
    name: `deno task start --workers ${n}`,
    kind: "`deno task start --workers N`",
    workers: n,
    command: () => ({
      args: ["run", ...startTaskFlags(), "main.ts", "--port", "0", "--workers", String(n)],
      env: { HOSTNAME: "127.0.0.1" },
    }),
  },
  {
    name: `DENO_JOBS=${n} deno serve --parallel app/worker.ts`,
    kind: "`DENO_JOBS=N deno serve --parallel app/worker.ts`",
    workers: n,
    command: () => ({
      args: [
        "serve",
        "--parallel",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        ...workerFlags(),
        "app/worker.ts",
      ],
      env: { DENO_JOBS: String(n) },
    }),
  },
  ...(n === 1 ? [] : [{
    name: `DENO_JOBS=${n} deno serve --parallel bench/_worker_unshared.ts`,
    kind: "↳ reference: the same, each worker keeping its own metrics (no cluster)",
    workers: n,
    unshared: true,
    command: () => ({
      args: [
        "serve",
        "--parallel",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        ...workerFlags(),
        "bench/_worker_unshared.ts",
      ],
      env: { DENO_JOBS: String(n) },
    }),
  }]),
]);

interface Server {
  origin: string;
  stop(): Promise<void>;
}

const running = new Set<Deno.ChildProcess>();
// Never leave a server behind, whatever ends this script.
globalThis.addEventListener("unload", () => {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }
});
Deno.addSignalListener("SIGINT", () => Deno.exit(130));

async function startServer(config: Config): Promise<Server> {
  const { args, env } = config.command();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", WORKERS: "", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running.add(child);
  let out = "";
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) out += chunk;
  };
  const drained = Promise.all([read(child.stdout), read(child.stderr)]);
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await drained;
    running.delete(child);
  };
  const end = Date.now() + 30_000;
  for (;;) {
    const m = /(?:listening|Listening) on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
    if (m !== null) {
      const server = { origin: m[1], stop };
      try {
        await untilMet(server, config.unshared ? 1 : config.workers);
      } catch (error) {
        await stop();
        throw error;
      }
      return server;
    }
    if (Date.now() > end) {
      await stop();
      throw new Error(`${config.name}: no listening line in 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function scrape(origin: string): Promise<string> {
  const res = await fetch(origin + "/metrics", { headers: { connection: "close" } });
  return await res.text();
}

/** Until 5 scrapes in a row (new connections) show `workers` runtime series, at most 15 s. */
async function untilMet(server: Server, workers: number): Promise<void> {
  const end = Date.now() + 15_000;
  let streak = 0;
  while (streak < 5) {
    const text = await scrape(server.origin);
    const n = text.split("\n").filter((l) => l.startsWith("deno_version_info")).length;
    streak = n === workers ? streak + 1 : 0;
    if (Date.now() > end) throw new Error(`workers did not meet (last scrape: ${n} of ${workers})`);
  }
}

/** `http_requests_total{...handler="/healthz"...}` summed over methods and statuses. */
function countedFor(text: string, handler: string): number {
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("http_requests_total{") && line.includes(`handler="${handler}"`)) {
      n += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return n;
}

// ---------------------------------------------------------------- load

interface Load {
  requests: number;
  seconds: number;
  rps: number;
  errors: number;
}

async function wrk(url: string, seconds: number): Promise<Load> {
  const { code, stdout, stderr } = await new Deno.Command("wrk", {
    args: ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decoder.decode(stdout);
  if (code !== 0) throw new Error(`wrk failed: ${text}${decoder.decode(stderr)}`);
  const done = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (done === null || rps === null) throw new Error(`unexpected wrk output:\n${text}`);
  const unit = { ms: 0.001, s: 1, m: 60 }[done[3] as "ms" | "s" | "m"];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = non2xx + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return {
    requests: Number(done[1]),
    seconds: Number(done[2]) * unit,
    rps: Number(rps[1]),
    errors,
  };
}

async function fetchLoad(url: string, seconds: number): Promise<Load> {
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let requests = 0;
  let errors = 0;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    const client = Deno.createHttpClient({}); // one keep-alive connection per loop
    try {
      while (performance.now() < end) {
        const res = await fetch(url, { client });
        await res.arrayBuffer();
        if (res.ok) requests++;
        else errors++;
      }
    } finally {
      client.close();
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  return { requests, seconds: elapsed, rps: requests / elapsed, errors };
}

const load = CLIENT === "wrk" ? wrk : fetchLoad;

// ---------------------------------------------------------------- runs

interface Run {
  rps: number;
  errors: number;
  /** Counted by the server minus responses received (in flight at the end of a load run). */
  excess: number;
}

const results = new Map<string, Run[]>(CONFIGS.map((c) => [c.name, []]));
const loadBefore = Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
log(
  `client ${CLIENT}, ${CONNECTIONS} connections, ${WARMUP} s warm-up + ${DURATION} s, ` +
    `${ROUNDS} rounds of ${CONFIGS.length}`,
);

for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? CONFIGS : [...CONFIGS].reverse();
  for (const config of order) {
    const server = await startServer(config);
    try {
      const url = server.origin + PATH;
      const warm = await load(url, WARMUP);
      const measured = await load(url, DURATION);
      const counted = countedFor(await scrape(server.origin), PATH);
      const received = warm.requests + measured.requests + warm.errors + measured.errors;
      const excess = config.unshared ? 0 : counted - received;
      if (excess < 0 || excess > 2 * CONNECTIONS) {
        throw new Error(
          `${config.name}: the server counted ${counted} ${PATH} requests, ` +
            `the client received ${received} responses`,
        );
      }
      results.get(config.name)!.push({ rps: measured.rps, errors: measured.errors, excess });
      log(`round ${round + 1}: ${config.name}: ${measured.rps.toFixed(0)} req/s`);
    } finally {
      await server.stop();
    }
  }
}

// ---------------------------------------------------------------- report

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const rows = CONFIGS.map((c) => {
  const runs = results.get(c.name)!;
  const rps = runs.map((r) => r.rps);
  return {
    name: c.name,
    kind: c.kind,
    workers: c.workers,
    median: median(rps),
    min: Math.min(...rps),
    max: Math.max(...rps),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    maxExcess: Math.max(...runs.map((r) => r.excess)),
  };
});

if (JSON_OUT) {
  console.log(JSON.stringify({ client: CLIENT, connections: CONNECTIONS, rows }, null, 2));
} else {
  const fmt = (n: number) => Math.round(n).toLocaleString("en");
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} with Deno ${Deno.version.deno} on ` +
    `${navigator.hardwareConcurrency} cores (load average before: ${loadBefore}; after: ` +
    `${Deno.loadavg().map((x) => x.toFixed(2)).join(", ")}). Load: ` +
    `${CLIENT === "wrk" ? "`wrk -t1`" : "fetch loops (not comparable with wrk)"}, ` +
    `${CONNECTIONS} keep-alive connections, \`GET ${PATH}\`, ${DURATION} s after ${WARMUP} s ` +
    `of warm-up; ${ROUNDS} rounds: median requests per second, range in parentheses.`,
    "",
    "| server | workers | requests/s | vs 1 worker | errors |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const one = rows.find((o) => o.workers === 1 && o.kind === r.kind) ??
      rows.find((o) => o.workers === 1 && o.kind.includes("deno serve"))!;
    lines.push(
      `| ${r.kind} | ${r.workers} | ` +
        `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)}) | ` +
        `${r.workers === 1 ? "—" : `${(r.median / one.median).toFixed(2)}×`} | ${r.errors} |`,
    );
  }
  lines.push(
    "",
    `Every run's merged (cluster) \`http_requests_total{handler="${PATH}"}\` covered every response the ` +
      `client received (at most ${Math.max(...rows.map((r) => r.maxExcess))} more: requests ` +
      `in flight when the load stopped).`,
  );
  console.log(lines.join("\n"));
}
