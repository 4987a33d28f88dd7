import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Registry } from "../../src/core/registry.ts";
import { registerProcessMetrics } from "../../src/collectors/process.ts";
import { family, parseOpenMetrics, parseText } from "../_support/parse.ts";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";
import { isBun, valueIn } from "../app/_support.ts";

const ALWAYS = [
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "process_start_time_seconds",
];
const FROM_PROC = ["process_virtual_memory_bytes", "process_open_fds", "process_max_fds"];

/** Registers quietly; returns the registry, what was left out and what was logged. */
function register() {
  const registry = new Registry();
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.join(" "));
  let missing: string[];
  try {
    missing = registerProcessMetrics(registry);
  } finally {
    console.error = original;
  }
  return { registry, missing, logged };
}

// Deno 2.9 reads /proc only with --allow-all; `deno task test` does not grant it.
const procReadable = register().missing.length === 0;

function burnCpu(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

describe("process metrics", () => {
  it("exposes the client_golang names and types", async () => {
    const { registry, missing } = register();
    const fams = parseText(await registry.metrics());
    const present = [...ALWAYS, ...FROM_PROC.filter((n) => !missing.includes(n))];
    assert.deepEqual(fams.map((f) => f.name).sort(), present.sort());
    assert.equal(family(fams, "process_cpu_seconds_total").type, "counter");
    for (const name of present.filter((n) => n !== "process_cpu_seconds_total")) {
      assert.equal(family(fams, name).type, "gauge", name);
    }
    for (const f of fams) {
      assert.equal(f.samples.length, 1, f.name);
      assert.deepEqual(f.samples[0].labels, {}, f.name);
    }
  });

  it("/proc metrics are all there or all left out, with one notice", async () => {
    const { registry, missing, logged } = register();
    if (missing.length === 0) {
      assert.equal(logged.length, 0);
    } else {
      assert.deepEqual([...missing].sort(), [...FROM_PROC].sort());
      assert.equal(logged.length, 1);
      for (const name of FROM_PROC) assert.ok(logged[0].includes(name), logged[0]);
    }
    // Scraping does not log again.
    const original = console.error;
    let more = 0;
    console.error = () => void more++;
    try {
      await registry.metrics();
      await registry.metrics();
    } finally {
      console.error = original;
    }
    assert.equal(more, 0);
  });

  it("Bun on Linux reads /proc/self", {
    skip: !(isBun && process.platform === "linux") && "Bun on Linux only",
  }, () => {
    assert.deepEqual(register().missing, []);
  });

  it("cpu seconds > 0 and non-decreasing; rss > 0", async () => {
    const { registry } = register();
    const t1 = performance.now();
    const first = valueIn(parseText(await registry.metrics()), "process_cpu_seconds_total")!;
    burnCpu(50);
    const fams = parseText(await registry.metrics());
    const second = valueIn(fams, "process_cpu_seconds_total")!;
    const wall = (performance.now() - t1) / 1000;
    assert.ok(first > 0, `cpu ${first}`);
    assert.ok(second >= first, `cpu ${first} then ${second}`);
    // Seconds, not milli- or microseconds: between the two scrapes the process
    // can not have used more CPU than the wall time passed times its cores.
    // (Not against process.uptime(): under deno test that is the test
    // module's own, while the CPU time is the whole process's.)
    const cores = navigator.hardwareConcurrency;
    assert.ok(
      second - first <= wall * cores + 0.05,
      `cpu ${first} then ${second} over ${wall} s of wall time on ${cores} cores`,
    );
    const rss = valueIn(fams, "process_resident_memory_bytes")!;
    assert.ok(rss > 1024 * 1024, `rss ${rss}`);
  });

  it("start time is in the last hour, not in the future, and agrees with uptime", async () => {
    const { registry } = register();
    const now = Date.now() / 1000;
    const start = valueIn(parseText(await registry.metrics()), "process_start_time_seconds")!;
    assert.ok(start <= now, `start ${start} > now ${now}`);
    assert.ok(start > now - 3600, `start ${start} more than an hour before ${now}`);
    // Independent estimate; /proc's is in clock ticks, the fallback is timeOrigin.
    const estimate = now - process.uptime();
    assert.ok(Math.abs(start - estimate) < 60, `start ${start}, now - uptime ${estimate}`);
  });

  it("/proc values are plausible when present", {
    skip: !procReadable && "/proc/self cannot be read here (Deno without --allow-all, or no /proc)",
  }, async () => {
    const { registry, missing } = register();
    assert.deepEqual(missing, []);
    const fams = parseText(await registry.metrics());
    const vm = valueIn(fams, "process_virtual_memory_bytes")!;
    const rss = valueIn(fams, "process_resident_memory_bytes")!;
    const open = valueIn(fams, "process_open_fds")!;
    const max = valueIn(fams, "process_max_fds")!;
    assert.ok(vm >= rss, `virtual ${vm} < resident ${rss}`);
    assert.ok(open >= 1 && Number.isInteger(open), `open fds ${open}`);
    assert.ok(max >= open, `max fds ${max} < open ${open}`);
  });

  it("renders as valid OpenMetrics too", async () => {
    const { registry } = register();
    const fams = parseOpenMetrics(await registry.metrics("openmetrics"));
    assert.equal(family(fams, "process_cpu_seconds").type, "counter");
  });

  it("`promtool check metrics` accepts the output", {
    skip: promtoolSkip,
  }, async () => {
    const { registry } = register();
    const r = checkMetrics(await registry.metrics());
    assert.equal(r.stdout + r.stderr, "");
    assert.equal(r.status, 0);
  });
});
