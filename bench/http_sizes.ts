/**
 * What measuring response sizes costs a real server: `Deno.serve` answering
 * a small JSON body, with and without a `Content-Length` header, bare and
 * wrapped in `instrument()`, under `wrk` on loopback. Reported per mode: the
 * median requests per second and the median server CPU time per request
 * (user + system of the whole server process, read by the server itself
 * between two control requests), each against the bare handler, and
 * whether the response went out with a `Content-Length` (a body of unknown
 * length that `instrument()` counted through a stream would go out chunked).
 *
 * Each run is a fresh server subprocess, warmed up under load first; the
 * modes alternate within each round, in reverse order every other round.
 * (Serving all modes from one process in turns was tried: the garbage one
 * mode leaves is collected during another's turn, which blurred exactly
 * the differences measured.)
 * Only 127.0.0.1 is used; servers are killed when the script ends.
 *
 * Run: `deno run --allow-run --allow-net=127.0.0.1 --allow-sys=loadavg
 * bench/http_sizes.ts [--rounds=5] [--duration=5] [--warmup=2]`.
 *
 * @module
 */

import process from "node:process";
import { Registry } from "../src/mod.ts";
import { instrument } from "../src/http/mod.ts";

const MODES = [
  "bare",
  "bare, Content-Length",
  "`instrument()`",
  "`instrument()`, Content-Length",
  '`instrument()`, `responseSizes: "content-length"`',
];
/** The bare handler (same headers) each mode is compared with. */
const BASE = [0, 1, 0, 1, 0];
const BODY = JSON.stringify({ id: 42, name: "Ada Lovelace", roles: ["admin", "author"] });
const LENGTH = String(new TextEncoder().encode(BODY).byteLength);

function arg(name: string, fallback: number): number {
  const prefix = `--${name}=`;
  const value = Number(
    Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length) ?? fallback,
  );
  if (!(value > 0)) throw new RangeError(`--${name} must be a positive number`);
  return value;
}

/** Server side: `--serve=<mode index>`; prints `{"port": N}` once listening. */
function serve(mode: number): void {
  const json = () => new Response(BODY, { headers: { "content-type": "application/json" } });
  const withLength = () =>
    new Response(BODY, {
      headers: { "content-type": "application/json", "content-length": LENGTH },
    });
  const registry = new Registry();
  const handler = [
    json,
    withLength,
    instrument(json, { registry, routes: ["/users/:id"] }),
    instrument(withLength, { registry, routes: ["/users/:id"] }),
    instrument(json, { registry, routes: ["/users/:id"], responseSizes: "content-length" }),
  ][mode];
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  }, (request) => {
    if (request.url.endsWith("/__cpu")) {
      const { user, system } = process.cpuUsage();
      return Response.json({ micros: user + system });
    }
    return handler(request);
  });
}

interface Run {
  rps: number;
  cpuMicrosPerRequest: number;
  contentLength: boolean;
}

async function measure(mode: number, warmup: number, duration: number): Promise<Run> {
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", import.meta.filename!, `--serve=${mode}`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the server exited before listening");
      line += value;
    }
    const origin = `http://127.0.0.1:${JSON.parse(line).port}`;
    const wrk = async (seconds: number) => {
      const { stdout } = await new Deno.Command("wrk", {
        args: ["-t1", "-c32", `-d${seconds}s`, `${origin}/users/42`],
        stdout: "piped",
      }).output();
      const text = new TextDecoder().decode(stdout);
      const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
      if (!(requests > 0)) throw new Error(`wrk: ${text}`);
      return { requests, rps };
    };
    const cpu = async () => (await (await fetch(`${origin}/__cpu`)).json()).micros as number;
    const probe = await fetch(`${origin}/users/42`);
    const contentLength = probe.headers.has("content-length");
    await probe.arrayBuffer();
    await wrk(warmup);
    const before = await cpu();
    const { requests, rps } = await wrk(duration);
    const after = await cpu();
    return { rps, cpuMicrosPerRequest: (after - before) / requests, contentLength };
  } finally {
    server.kill("SIGKILL");
    await server.status;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const serveArg = Deno.args.find((a) => a.startsWith("--serve="));
if (serveArg !== undefined) {
  serve(Number(serveArg.slice("--serve=".length)));
} else {
  const rounds = arg("rounds", 5);
  const duration = arg("duration", 5);
  const warmup = arg("warmup", 2);
  const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
  const loadBefore = load();
  const runs: Run[][] = MODES.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = MODES.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const mode of order) {
      console.error(`round ${round + 1}/${rounds}: ${MODES[mode]}`);
      runs[mode].push(await measure(mode, warmup, duration));
    }
  }
  const wrkVersion = new TextDecoder().decode(
    (await new Deno.Command("wrk", { args: ["-v"], stdout: "piped", stderr: "piped" }).output())
      .stdout,
  ).split("\n")[0].replace(/\s*\[.*$/, "").trim();
  const rps = runs.map((r) => median(r.map((x) => x.rps)));
  const cpu = runs.map((r) => median(r.map((x) => x.cpuMicrosPerRequest)));
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} with Deno ${Deno.version.deno} on ` +
    `${navigator.hardwareConcurrency} cores (load average before: ${loadBefore}; after: ${load()}). ` +
    `${wrkVersion}, -t1 -c32, ${duration} s per run after ${warmup} s of warm-up, a fresh server ` +
    `per run, ${rounds} rounds; medians. Server CPU: user + system of the server process per request.`,
    "",
    "| `Deno.serve`, JSON body | requests/s | server CPU per request | added to the bare handler's (same headers) | sent with Content-Length |",
    "| --- | ---: | ---: | ---: | :---: |",
  ];
  MODES.forEach((mode, i) => {
    const delta = i < 2 ? "—" : `+${(cpu[i] - cpu[BASE[i]]).toFixed(2)} µs`;
    lines.push(
      `| ${mode} | ${Math.round(rps[i]).toLocaleString("en")} | ${cpu[i].toFixed(2)} µs | ` +
        `${delta} | ${runs[i].every((r) => r.contentLength) ? "yes" : "**no**"} |`,
    );
  });
  console.log(lines.join("\n"));
}
