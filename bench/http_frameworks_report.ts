/**
 * The README's framework middleware table: the apps of
 * `http_frameworks.bench.ts` (plain Hono, Hono + `@hono/prometheus`, Hono +
 * `honoMetrics`, `instrument()` around plain Hono's `app.fetch` by default
 * and with `responseSizes: "content-length"`, and two references) in one
 * process, alternating batch by batch (100 requests each) for `--rounds`
 * rounds after 100 rounds of warm-up, so that a change of load on a shared
 * machine hits every app alike (`deno bench` times one app's iterations
 * after the other's). Per app and method: the median and the mean of the
 * per-request time over the rounds (the mean includes garbage collection,
 * which an app's allocations cause); overhead is the difference from plain
 * Hono; the ratio, an app's overhead over `@hono/prometheus`'s (target for
 * ours: at most 1/3).
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
const plus = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;

const loadBefore = load();
/** Per method and statistic: each app's per-request time, in app order. */
const stats = new Map<string, number[]>();
let labels: { key: string; label: string }[] = [];
for (const method of ["GET", "HEAD"]) {
  const { apps } = group();
  labels = apps;
  const batch = requests(method);
  const times: number[][] = apps.map(() => []);
  for (let r = 0; r < WARMUP + rounds; r++) {
    for (let a = 0; a < apps.length; a++) {
      const t0 = performance.now();
      await run(apps[a].fetch, batch);
      if (r >= WARMUP) times[a].push((performance.now() - t0) * 1000 / BATCH);
    }
  }
  stats.set(`${method} median`, times.map(median));
  stats.set(`${method} mean`, times.map(mean));
}
console.log(
  `Measured ${new Date().toISOString().slice(0, 10)} with Deno ${Deno.version.deno} ` +
    `(V8 ${Deno.version.v8}); load average before: ${loadBefore}; after: ${load()}. ` +
    `In process, ${rounds} rounds of ${BATCH} requests per app after ${WARMUP} of warm-up, ` +
    `apps alternating batch by batch; per request, µs; in parentheses, the overhead over plain ` +
    `Hono; in bold, that overhead over \`@hono/prometheus\`'s (target for ours ≤ 1/3).\n`,
);
const columns = [...stats.keys()];
console.log(
  `| app | ${columns.map((c) => `\`${c.split(" ")[0]}\`, ${c.split(" ")[1]}`).join(" | ")} |`,
);
console.log(`| --- | ${columns.map(() => "---:").join(" | ")} |`);
const peer = labels.findIndex((a) => a.key === "peer");
labels.forEach((app, i) => {
  const cells = columns.map((c) => {
    const xs = stats.get(c)!;
    if (i === 0) return xs[0].toFixed(2);
    const over = xs[i] - xs[0];
    const ratio = over / (xs[peer] - xs[0]);
    return `${xs[i].toFixed(2)} (${plus(over)})` + (i === peer ? "" : ` **${ratio.toFixed(2)}**`);
  });
  console.log(`| ${app.label} | ${cells.join(" | ")} |`);
});
