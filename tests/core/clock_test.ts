import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { coarseNow, startTimer, unrefTimer } from "../../src/core/clock.ts";

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

describe("startTimer", () => {
  it("records the elapsed seconds once and returns them on every call", () => {
    const recorded: number[] = [];
    const t0 = performance.now();
    const stop = startTimer((seconds) => recorded.push(seconds));
    const a = performance.now();
    busyWait(5);
    const b = performance.now();
    const first = stop();
    const t1 = performance.now();
    assert.ok(first * 1000 >= b - a, `${first} s covers the ${b - a} ms waited`);
    assert.ok(first * 1000 <= t1 - t0, `${first} s is within the ${t1 - t0} ms around it`);
    busyWait(2);
    assert.equal(stop(), first);
    assert.equal(stop({ extra: "x" }), first);
    assert.deepEqual(recorded, [first]);
  });

  it("hands the stop-time labels to the recorder", () => {
    const calls: unknown[] = [];
    startTimer((_s, labels) => calls.push(labels))({ code: 200 });
    startTimer((_s, labels) => calls.push(labels))();
    assert.deepEqual(calls, [{ code: 200 }, undefined]);
  });

  it("is disposable: `using` records on scope exit, once", () => {
    const recorded: number[] = [];
    {
      using _t = startTimer((s) => recorded.push(s));
      assert.equal(recorded.length, 0, "nothing is recorded before the scope ends");
    }
    assert.equal(recorded.length, 1);
    assert.ok(recorded[0] >= 0);
    {
      using t = startTimer((s) => recorded.push(s));
      t();
    }
    assert.equal(recorded.length, 2, "a timer stopped by hand is not recorded again");
    const t = startTimer((s) => recorded.push(s));
    t[Symbol.dispose]();
    t[Symbol.dispose]();
    t();
    assert.equal(recorded.length, 3);
  });

  it("a recorder that throws is reported to the caller", () => {
    const stop = startTimer(() => {
      throw new RangeError("bad");
    });
    assert.throws(() => stop(), RangeError);
  });
});

describe("coarseNow", () => {
  it("is a wall-clock time in milliseconds, never ahead of Date.now()", () => {
    for (let i = 0; i < 1000; i++) {
      const c = coarseNow();
      const now = Date.now();
      assert.ok(Number.isFinite(c));
      assert.ok(c <= now, `${c} > ${now}`);
      assert.ok(c > Date.UTC(2020, 0, 1), "milliseconds since the epoch");
    }
  });

  it("a process that used it exits on its own (interval unref'd, and stopped when idle)", () => {
    const dir = mkdtempSync(join(tmpdir(), "clock-test-"));
    try {
      const clockUrl = new URL("../../src/core/clock.ts", import.meta.url).href;
      const script = join(dir, "probe.ts");
      writeFileSync(
        script,
        `import { coarseNow } from ${JSON.stringify(clockUrl)};\n` +
          `const t = coarseNow();\n` +
          `setTimeout(() => { coarseNow(); console.log(typeof t); }, 150);\n`,
      );
      // process.execPath is the running deno or bun binary; both take `run <file>`.
      const result = spawnSync(process.execPath, ["run", script], {
        encoding: "utf8",
        timeout: 30_000,
      });
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.signal, null, "the probe had to be killed: the clock kept it alive");
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.trim(), "number");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("unrefTimer", () => {
  it("calls unref() on timer objects that have it", () => {
    let called = 0;
    unrefTimer({ unref: () => called++ });
    assert.equal(called, 1);
  });

  it("accepts numeric ids and anything else without throwing", () => {
    const id = setTimeout(() => {}, 0);
    assert.doesNotThrow(() => unrefTimer(id));
    clearTimeout(id);
    assert.doesNotThrow(() => unrefTimer(undefined));
    assert.doesNotThrow(() => unrefTimer(null));
    assert.doesNotThrow(() => unrefTimer({}));
  });
});
