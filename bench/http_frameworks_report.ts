/**
 * The README's framework middleware table: the apps of
 * `http_frameworks.bench.ts` (plain Hono, Hono + `@hono/prometheus`, Hono +
 * `honoMetrics`, Hono + an empty middleware) in one process, alternating
 * batch by batch (100 requests each) for `--rounds` rounds after 100 rounds
 * of warm-up, so that a change of load on a shared machine hits every app
 * alike (`deno bench` times one app's iterations after the other's). Per
 * app: the median and the mean of the per-request time over the rounds
 * (the mean includes garbage collection, which an app's allocations cause);
 * overhead is the difference from plain Hono; the ratio, ours over
 * `@hono/prometheus`'s (target: at most 1/3).
 *
 * Run: `deno run --allow-read --allow-env --allow-sys bench/http_frameworks_report.ts [--rounds=600]`.
 *
 * @module
 */

import { BATCH, group, requests, run } from "./http_frameworks.bench.ts";

const rounds = Number(Deno.args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 600);
if (!Number.isSafeInteger(rounds) || rounds < 10) throw new RangeError("--rounds must be >= 10");
const WARMUP = 100;
const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(", ");

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const us = (x: number) => `${x.toFixed(2)} µs`;
const plus = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;

const loadBefore = load();
const rows: string[] = [];
for (const method of ["GET", "HEAD"]) {
  const g = group();
  const apps = [g.plain, g.peer, g.ours, g.empty];
  const batch = requests(method);
  const times: number[][] = apps.map(() => []);
  for (let r = 0; r < WARMUP + rounds; r++) {
    for (let a = 0; a < apps.length; a++) {
      const t0 = performance.now();
      await run(apps[a], batch);
      if (r >= WARMUP) times[a].push((performance.now() - t0) * 1000 / BATCH);
    }
  }
  for (const [stat, f] of [["median", median], ["mean", mean]] as const) {
    const [plain, peer, ours, empty] = times.map(f);
    rows.push(
      `| \`${method}\`, ${stat} | ${us(plain)} | ${us(peer)} (${plus(peer - plain)}) | ` +
        `${us(ours)} (${plus(ours - plain)}) | ${plus(empty - plain)} µs | ` +
        `**${((ours - plain) / (peer - plain)).toFixed(2)}** | ` +
        `${(ours - plain) / (peer - plain) <= 1 / 3 ? "met" : "**not met**"} |`,
    );
  }
}
console.log(
  `Measured ${new Date().toISOString().slice(0, 10)} with Deno ${Deno.version.deno} ` +
    `(V8 ${Deno.version.v8}); load average before: ${loadBefore}; after: ${load()}. ` +
    `In process, ${rounds} rounds of ${BATCH} requests per app after ${WARMUP} of warm-up, ` +
    `apps alternating batch by batch; per request.\n`,
);
console.log(
  "| per request | plain Hono | + `@hono/prometheus` | + `honoMetrics` (ours) | " +
    "reference: + an empty middleware | ours / `@hono/prometheus` overhead | target ≤ 1/3 |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | :---: |");
for (const row of rows) console.log(row);
