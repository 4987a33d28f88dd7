/**
 * Runs the benchmarks and prints the README's Markdown table: per operation,
 * our time, prom-client's (or the raw floor's), their ratio, the target and
 * whether it is met, with the date, Deno version and CPU.
 *
 * `deno bench --json bench/core.bench.ts` and the memory subprocesses
 * (`memory.ts`: ours and prom-client, in each of its two label shapes) run as
 * fresh processes. With `--runs=N` everything runs N
 * times: the table shows per-row medians and, beside each ratio, its range
 * over the runs. The floor rows are measured again at several heap layouts
 * (see `HEAP_PAD_ENV` in `_rows.ts`) and report the median over all layouts
 * and runs, with that range.
 *
 * `--stat=p75|avg|min` picks the per-benchmark statistic. The default is the
 * 75th percentile: on a shared 2-core machine the mean is dominated by the
 * few iterations during which another process held the core (one 3 µs
 * benchmark here had a 28 ms maximum and a mean 1.7× its p75). It is also
 * the conservative choice for our claims: it leaves out most of the
 * garbage-collection pauses that prom-client's allocating paths cause and
 * ours, which allocate nothing, do not.
 *
 * After that table, a second one for sharing metrics across workers
 * (`cluster.bench.ts`: shared-storage hot paths and merged scrapes against
 * single-process ones, same runs and statistic), and with `--rps` the
 * requests-per-second table of `cluster_rps.ts` (about two minutes more).
 *
 * `--memory-only` measures and prints the memory rows alone (a minute or two
 * instead of the whole report).
 *
 * Run: `deno task bench:report [--runs=3] [--stat=min] [--rps] [--memory-only]`.
 *
 * @module
 */

import { HEAP_PAD_ENV, HEAP_PADS, MEMORY_MAX_BYTES, MEMORY_TARGET, OPS, ROWS } from "./_rows.ts";
import { clusterRows } from "./_cluster_rows.ts";
import { measureInSubprocess, type MemoryResult, SHAPES } from "./memory.ts";

type Stat = "avg" | "min" | "p75";

interface BenchOk {
  n: number;
  min: number;
  max: number;
  avg: number;
  p75: number;
}

interface BenchJson {
  runtime: string;
  cpu: string;
  benches: {
    group: string | null;
    name: string;
    results: ({ ok: BenchOk } | { failed: unknown })[];
  }[];
}

/** One measured row of one run: per-operation times in ns (or bytes per series). */
interface Measured {
  ours: number;
  other: number;
  ratio: number;
}

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const runs = Number(arg("runs") ?? 1);
const memoryOnly = Deno.args.includes("--memory-only");
const stat = (arg("stat") ?? "p75") as Stat;
if (!Number.isSafeInteger(runs) || runs < 1) throw new RangeError(`--runs must be >= 1`);
if (!["avg", "min", "p75"].includes(stat)) throw new RangeError(`--stat must be avg, min or p75`);

const root = new URL("..", import.meta.url);

async function runBench(pad: number, only?: readonly string[]): Promise<BenchJson> {
  const filter = only === undefined
    ? []
    : ["--filter", `/^(?:${only.map(escapeRegExp).join("|")})$/`];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "bench",
      "--json",
      "--v8-flags=--expose-gc",
      `--allow-env=${HEAP_PAD_ENV}`,
      ...filter,
      "bench/core.bench.ts",
    ],
    env: { [HEAP_PAD_ENV]: String(pad) },
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno bench failed:\n${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout)) as BenchJson;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function timeOf(json: BenchJson, group: string, name: string): number {
  const bench = json.benches.find((b) => b.group === group && b.name === name);
  const result = bench?.results[0];
  if (result === undefined || !("ok" in result)) {
    throw new Error(`benchmark "${group}" / "${name}" missing or failed`);
  }
  return result.ok[stat];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function ns(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toPrecision(3)} ms`;
  if (v >= 1e3) return `${(v / 1e3).toPrecision(3)} µs`;
  return `${v.toPrecision(3)} ns`;
}

function times(v: number): string {
  return v >= 100 ? `${v.toFixed(0)}×` : v >= 10 ? `${v.toFixed(1)}×` : `${v.toFixed(2)}×`;
}

/** The 1-, 5- and 15-minute load averages: how busy the machine was. */
function loadAverage(): string {
  return Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
}

const loadBefore = loadAverage();
const timed: Measured[][] = ROWS.map(() => []);
/** Per memory shape (`SHAPES`), one measurement per run. */
const memory: Measured[][] = SHAPES.map(() => []);
let runtime = "";
let cpu = "";

const floorRows = ROWS.filter((row) => row.kind === "slowdown");
const floorBenches = [...new Set(floorRows.flatMap((row) => [row.ours, row.other]))];

/** Floor-row ratios by heap padding, for the line under the table. */
const byPad = new Map<number, number[]>();

function record(json: BenchJson, rows: typeof ROWS, pad: number): void {
  for (const row of rows) {
    const ours = timeOf(json, row.group, row.ours) / row.ops;
    const other = timeOf(json, row.group, row.other) / row.ops;
    const ratio = row.kind === "speedup" ? other / ours : ours / other;
    timed[ROWS.indexOf(row)].push({ ours, other, ratio });
    if (row === floorRows[0]) byPad.set(pad, [...(byPad.get(pad) ?? []), ratio]);
  }
}

for (let run = 0; run < runs; run++) {
  if (!memoryOnly) {
    const json = await runBench(HEAP_PADS[0]);
    runtime = json.runtime;
    cpu = json.cpu; // Deno reads the model name from /proc/cpuinfo
    record(json, ROWS, HEAP_PADS[0]);
    for (const pad of HEAP_PADS.slice(1)) record(await runBench(pad, floorBenches), floorRows, pad);
  }
  for (const [i, shape] of SHAPES.entries()) {
    const o: MemoryResult = await measureInSubprocess("ours", shape);
    const p: MemoryResult = await measureInSubprocess("prom-client", shape);
    memory[i].push({
      ours: o.bytesPerSeries,
      other: p.bytesPerSeries,
      ratio: o.bytesPerSeries / p.bytesPerSeries,
    });
  }
}

function cell(ms: Measured[]): { ours: number; other: number; ratio: number; range: string } {
  const ratios = ms.map((m) => m.ratio);
  const range = ms.length > 1
    ? ` (${times(Math.min(...ratios))}–${times(Math.max(...ratios))})`
    : "";
  return {
    ours: median(ms.map((m) => m.ours)),
    other: median(ms.map((m) => m.other)),
    ratio: median(ratios),
    range,
  };
}

const lines: string[] = [];
const measured = `${new Date().toISOString().slice(0, 10)} with ${
  memoryOnly ? `Deno/${Deno.version.deno} ${Deno.build.target}` : runtime
}, V8 ${Deno.version.v8}`;
const ranges = runs > 1 ? ": medians, ratio ranges in parentheses" : "";
lines.push(
  memoryOnly
    ? `Memory rows measured ${measured} (${navigator.hardwareConcurrency} cores). ` +
      `${runs} run${runs > 1 ? "s" : ""}${ranges}.`
    : `Measured ${measured}, ` +
      `on ${cpu} (${navigator.hardwareConcurrency} cores; load average before: ${loadBefore}; after: ${loadAverage()}). ` +
      `${runs} run${runs > 1 ? "s" : ""}${ranges}; ` +
      `per-benchmark statistic: ${stat}. Times are per operation. The floor rows are medians ` +
      `over ${HEAP_PADS.length} heap layouts${runs > 1 ? " × runs" : ""}, ranges in parentheses.`,
  "",
  "| operation | ours | prom-client | ratio | target | met? |",
  "| --- | ---: | ---: | ---: | :---: | :---: |",
);
(memoryOnly ? [] : ROWS).forEach((row, i) => {
  const c = cell(timed[i]);
  const floorRow = row.kind === "slowdown";
  const other = floorRow ? `floor: ${ns(c.other)}` : ns(c.other);
  let target = "—";
  let met = "(reference)";
  if (row.target !== undefined) {
    target = floorRow ? `≤ ${row.target}× the floor` : `≥ ${row.target}× faster`;
    met = (floorRow ? c.ratio <= row.target : c.ratio >= row.target) ? "yes" : "**no**";
  }
  const ratio = floorRow ? `${times(c.ratio)} the floor` : `${times(c.ratio)} faster`;
  lines.push(
    `| ${row.operation} | ${ns(c.ours)} | ${other} | ${ratio}${c.range} | ${target} | ${met} |`,
  );
});
SHAPES.forEach((shape, i) => {
  const runs = memory[i];
  const c = cell(runs);
  const ratios = runs.map((m) => m.ratio);
  const range = runs.length > 1
    ? ` (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`
    : "";
  const met = c.ratio <= MEMORY_TARGET && c.ours <= MEMORY_MAX_BYTES;
  lines.push(
    `| heap + external per labelled counter series (${shape.description}) | ` +
      `${c.ours.toFixed(0)} B | ${c.other.toFixed(0)} B | ${
        c.ratio.toFixed(2)
      } of prom-client's${range} | ` +
      `≤ ${MEMORY_TARGET}, ≤ ${MEMORY_MAX_BYTES} B | ${met ? "yes" : "**no**"} |`,
  );
});
if (!memoryOnly) {
  lines.push(
    "",
    `${floorRows[0].operation}, ratio by heap padding (${HEAP_PAD_ENV}): ` +
      [...byPad].map(([pad, rs]) => `${pad}: ${times(median(rs))}`).join(", ") + ".",
  );
}
lines.push(
  "",
  "prom-client is `npm:prom-client@15.1.3` on its own (non-default) registries, same label " +
    "objects and values as ours. “Faster” ratios are prom-client's time over ours; the floor " +
    "ratio is ours over a raw `Float64Array` add. Memory rows: the label value strings and " +
    "label objects are created first and held by the caller, so a row counts only what each " +
    "library keeps per series (`bench/memory.ts`, each library and shape in its own process). " +
    "Regenerate with `deno task bench:report`.",
);
console.log(lines.join("\n"));
if (memoryOnly) Deno.exit(0);

// ------------------------------------------------- sharing across workers

/** `deno bench --json bench/cluster.bench.ts`, in a fresh process. */
async function runClusterBench(): Promise<BenchJson> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--json", "--v8-flags=--expose-gc", "bench/cluster.bench.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno bench (cluster) failed:\n${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout)) as BenchJson;
}

const clusterTable = clusterRows(OPS);
const clusterTimed: Measured[][] = clusterTable.map(() => []);
for (let run = 0; run < runs; run++) {
  const json = await runClusterBench();
  clusterTable.forEach((row, i) => {
    const ours = timeOf(json, row.group, row.ours) / row.ops;
    const base = timeOf(json, row.group, row.base) / row.ops;
    clusterTimed[i].push({ ours, other: base, ratio: ours / base });
  });
}
const clusterLines = [
  "",
  "Sharing metrics across workers (`bench/cluster.bench.ts`, same runs and statistic; 4 workers " +
  "simulated in one isolate, each metric shared and attached to the other three as " +
  "`joinCluster` leaves it). Ratio: shared time over single-process time.",
  "",
  "| operation | shared | single-process | ratio | target | met? |",
  "| --- | ---: | ---: | ---: | :---: | :---: |",
];
clusterTable.forEach((row, i) => {
  const c = cell(clusterTimed[i]);
  const target = row.target === undefined ? "—" : `≤ ${row.target}×`;
  const met = row.target === undefined ? "(reference)" : c.ratio <= row.target ? "yes" : "**no**";
  clusterLines.push(
    `| ${row.operation} | ${ns(c.ours)} | ${ns(c.other)} | ${times(c.ratio)}${c.range} | ` +
      `${target} | ${met} |`,
  );
});
if (Deno.args.includes("--rps")) {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-run",
      "--allow-read",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-sys=loadavg",
      "bench/cluster_rps.ts",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error("bench/cluster_rps.ts failed");
  clusterLines.push("", new TextDecoder().decode(stdout).trimEnd());
}
console.log(clusterLines.join("\n"));
