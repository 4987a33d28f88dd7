// collectDefaultMetrics (drop-in): prom-client's names with a prefix and
// labels, in the registry given, read at each scrape; output promtool accepts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { collectDefaultMetrics, Registry } from "../../src/compat/mod.ts";
import { checkMetrics, promtoolSkip } from "../_support/promtool.ts";
import { family, parseText } from "../_support/parse.ts";

describe("collectDefaultMetrics (drop-in)", () => {
  it("registers prom-client's names, prefixed and labelled, read at each scrape", {
    skip: promtoolSkip,
  }, async () => {
    const register = new Registry();
    collectDefaultMetrics({ register, prefix: "app_", labels: { svc: "a" } });
    const first = await register.metrics();
    const verdict = checkMetrics(first);
    assert.equal(verdict.status, 0, verdict.stdout + verdict.stderr);
    const names = parseText(first).map((f) => f.name);
    for (
      const name of [
        "app_process_cpu_user_seconds_total",
        "app_process_cpu_system_seconds_total",
        "app_process_cpu_seconds_total",
        "app_process_start_time_seconds",
        "app_process_resident_memory_bytes",
        "app_nodejs_eventloop_lag_seconds",
        "app_nodejs_eventloop_lag_p99_seconds",
        "app_nodejs_heap_size_total_bytes",
        "app_nodejs_heap_space_size_available_bytes",
        "app_nodejs_version_info",
        "app_nodejs_gc_duration_seconds",
      ]
    ) {
      assert.ok(names.includes(name), `${name} missing from ${names.join(", ")}`);
    }
    assert.ok(names.every((n) => n.startsWith("app_")));
    // CPU is read at each scrape: burn some, and the counter moves.
    const cpu = (text: string) =>
      family(parseText(text), "app_process_cpu_seconds_total").samples[0];
    const before = cpu(first);
    assert.equal(before.labels.svc, "a");
    const until = performance.now() + 50;
    while (performance.now() < until) Math.sqrt(Math.random());
    assert.ok(cpu(await register.metrics()).value > before.value);
  });

  it("throws prom-client's error when registered twice, and names an unknown option", () => {
    const register = new Registry();
    collectDefaultMetrics({ register });
    assert.throws(() => collectDefaultMetrics({ register }), /has already been registered/);
    assert.throws(
      () => collectDefaultMetrics({ register: new Registry(), timeout: 5 } as never),
      /unknown option "timeout"/,
    );
  });
});
