/**
 * Runs `compat.bench.ts` (the prom-client drop-in beside prom-client 15.1.3)
 * `--runs` times (default 3) and prints the README's table: per row, the
 * median per-call time of each side and the median ratio with its range over
 * the runs, against the issue's target (at least 5× faster).
 *
 * `--stat=p75|min|avg` picks the per-benchmark statistic (default p75, as
 * `report.ts`: on a loaded machine the mean is dominated by pauses other
 * processes cause).
 *
 * Run: `deno run --allow-run --allow-read --allow-sys=loadavg bench/compat_report.ts [--runs=3]`.
 *
 * @module
 */

import { COMPAT, COMPAT_OPS } from "./compat.bench.ts";

type Stat = "p75" | "min" | "avg";
const arg = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg("runs") ?? 3);
const stat = (arg("stat") ?? "p75") as Stat;
if (!["p75", "min", "avg"].includes(stat)) throw new RangeError("--stat must be p75, min or avg");

interface Bench {
  name: string;
  results: { ok?: Record<Stat, number> }[];
}

const bench = new URL("./compat.bench.ts", import.meta.url).pathname;
const rows = Object.entries(COMPAT) as [keyof typeof COMPAT, { ours: string; prom: string }][];
const samples = new Map<string, { ours: number[]; prom: number[]; ratio: number[] }>();
for (const [key] of rows) samples.set(key, { ours: [], prom: [], ratio: [] });

for (let run = 0; run < runs; run++) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--json", "--allow-read", "--allow-env", "--allow-sys", bench],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`deno bench failed (run ${run + 1})`);
  const benches: Bench[] = JSON.parse(new TextDecoder().decode(out.stdout)).benches;
  const time = (name: string) => {
    const r = benches.find((b) => b.name === name)?.results[0]?.ok;
    if (r === undefined) throw new Error(`no result for ${name}`);
    return r[stat];
  };
  for (const [key, row] of rows) {
    const s = samples.get(key)!;
    const ours = time(row.ours) / COMPAT_OPS[key];
    const prom = time(row.prom) / COMPAT_OPS[key];
    s.ours.push(ours);
    s.prom.push(prom);
    s.ratio.push(prom / ours);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ns = (x: number) =>
  x >= 1e6
    ? `${(x / 1e6).toFixed(2)} ms`
    : x >= 1e3
    ? `${(x / 1e3).toFixed(1)} µs`
    : `${x.toFixed(1)} ns`;
const times = (x: number) => `${x.toFixed(1)}×`;

console.log(
  `${runs} runs, ${stat} per benchmark, load average ${
    Deno.loadavg().map((x) => x.toFixed(2)).join(", ")
  }\n`,
);
console.log("| call | drop-in | prom-client 15.1.3 | drop-in faster by | target | met? |");
console.log("| --- | ---: | ---: | ---: | :---: | :---: |");
for (const [key, row] of rows) {
  const s = samples.get(key)!;
  const r = median(s.ratio);
  console.log(
    `| ${row.ours.replace("drop-in: ", "`")}\` | ${ns(median(s.ours))} | ${ns(median(s.prom))} | ` +
      `${times(r)} (${times(Math.min(...s.ratio))}–${times(Math.max(...s.ratio))}) | ≥ 5× | ${
        r >= 5 ? "yes" : "no"
      } |`,
  );
}
