/**
 * Runs `http_router.bench.ts` (route matching) and prints
 * the README's table: per row our time, the other side's, their ratio, the
 * target and whether it is met, with the date, Deno version, CPU and load.
 *
 * Each run is `deno bench --json bench/http_router.bench.ts` in a fresh
 * process; with `--runs=N` the table shows per-row medians and, beside each
 * ratio, its range over the runs. `--stat=p75|avg|min` picks the
 * per-benchmark statistic (default p75, as `report.ts`: on a shared machine
 * the mean is dominated by the iterations another process interrupted).
 *
 * Run: `deno run --allow-run --allow-sys=loadavg bench/http_report.ts [--runs=3] [--stat=min]`.
 *
 * @module
 */

import { HTTP_ROWS } from "./_http_rows.ts";

type Stat = "avg" | "min" | "p75";

interface BenchJson {
  runtime: string;
  cpu: string;
  benches: {
    group: string | null;
    name: string;
    results: ({ ok: Record<Stat, number> } | { failed: unknown })[];
  }[];
}

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const runs = Number(arg("runs") ?? 1);
const stat = (arg("stat") ?? "p75") as Stat;
if (!Number.isSafeInteger(runs) || runs < 1) throw new RangeError(`--runs must be >= 1`);
if (!["avg", "min", "p75"].includes(stat)) throw new RangeError(`--stat must be avg, min or p75`);

const loadAverage = () => Deno.loadavg().map((x) => x.toFixed(2)).join(", ");

async function runBench(): Promise<BenchJson> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--json", "bench/http_router.bench.ts"],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`deno bench failed:\n${new TextDecoder().decode(stderr)}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as BenchJson;
}

function timeOf(json: BenchJson, group: string, name: string): number {
  const result = json.benches.find((b) => b.group === group && b.name === name)?.results[0];
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

const loadBefore = loadAverage();
const measured = HTTP_ROWS.map(() => [] as { ours: number; other: number; ratio: number }[]);
let runtime = "";
let cpu = "";
for (let run = 0; run < runs; run++) {
  const json = await runBench();
  runtime = json.runtime;
  cpu = json.cpu;
  HTTP_ROWS.forEach((row, i) => {
    const ours = timeOf(json, row.group, row.ours) / row.ops;
    const other = timeOf(json, row.group, row.other) / (row.otherOps ?? row.ops);
    measured[i].push({ ours, other, ratio: other / ours });
  });
}

const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} with ${runtime}, V8 ${Deno.version.v8}, ` +
  `on ${cpu} (${navigator.hardwareConcurrency} cores; load average before: ${loadBefore}; ` +
  `after: ${loadAverage()}). ${runs} run${
    runs > 1 ? "s: medians, ratio ranges in parentheses" : ""
  }; ` +
  `per-benchmark statistic: ${stat}. Times are per operation.`,
  "",
  "| operation | ours | other | ratio | target | met? |",
  "| --- | ---: | ---: | ---: | :---: | :---: |",
];
HTTP_ROWS.forEach((row, i) => {
  const ms = measured[i];
  const ratios = ms.map((m) => m.ratio);
  const range = ms.length > 1
    ? ` (${times(Math.min(...ratios))}–${times(Math.max(...ratios))})`
    : "";
  const ours = median(ms.map((m) => m.ours));
  const ratio = median(ratios);
  const said = `${times(ratio)} faster`;
  const target = row.targetNs === undefined ? "—" : `≤ ${row.targetNs} ns`;
  const met = row.targetNs === undefined ? "(reference)" : ours <= row.targetNs ? "yes" : "**no**";
  lines.push(
    `| ${row.operation} | ${ns(ours)} | ${ns(median(ms.map((m) => m.other)))} | ` +
      `${said}${range} | ${target} | ${met} |`,
  );
});
console.log(lines.join("\n"));
