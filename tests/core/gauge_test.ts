import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Gauge } from "../../src/core/gauge.ts";
import { COLLECT_ERRORS_METRIC, Registry } from "../../src/core/registry.ts";
import { parseSamples, samplesNamed, valueOf } from "./_exposition.ts";

async function scrape(registry: Registry) {
  return parseSamples(await registry.metrics());
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

describe("Gauge: unlabelled", () => {
  it("set(5), inc(), inc(2), dec(), dec(3)", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "app_active_sessions", help: "Sessions", registry });
    assert.equal(g.get(), 0);
    g.set(5);
    g.inc();
    g.inc(2);
    g.dec();
    g.dec(3);
    assert.equal(g.get(), 4);
    const text = await registry.metrics();
    assert.match(text, /^# HELP app_active_sessions Sessions\n# TYPE app_active_sessions gauge\n/);
    assert.equal(valueOf(parseSamples(text), "app_active_sessions"), 4);
    g.dec(10);
    assert.equal(valueOf(await scrape(registry), "app_active_sessions"), -6);
  });

  it("accepts any number: NaN, +Inf, -Inf, -0, and spells them as Prometheus does", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "g", help: "h", labelNames: ["k"], registry });
    g.set({ k: "nan" }, NaN);
    g.set({ k: "pinf" }, Infinity);
    g.set({ k: "ninf" }, -Infinity);
    g.labels({ k: "child" }).set(Infinity);
    g.inc({ k: "inc" }, -Infinity);
    const text = await registry.metrics();
    assert.match(text, /^g\{k="nan"\} NaN$/m);
    assert.match(text, /^g\{k="pinf"\} \+Inf$/m);
    assert.match(text, /^g\{k="ninf"\} -Inf$/m);
    assert.match(text, /^g\{k="child"\} \+Inf$/m);
    assert.match(text, /^g\{k="inc"\} -Inf$/m);
  });

  it("rejects non-numbers with a TypeError naming the metric", () => {
    const g = new Gauge({ name: "g", help: "h", registry: new Registry() });
    const check = (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /"g"/);
      return true;
    };
    assert.throws(() => g.set("5" as unknown as number), check);
    assert.throws(() => g.inc("5" as unknown as number), check);
    assert.throws(() => g.labels({}).set(undefined as unknown as number), check);
    assert.throws(() => g.labels({}).inc("1" as unknown as number), check);
    assert.equal(g.get(), 0);
  });

  it("setToCurrentTime sets seconds since the epoch", () => {
    const g = new Gauge({ name: "g", help: "h", registry: new Registry() });
    const before = Date.now() / 1000;
    g.setToCurrentTime();
    const after = Date.now() / 1000;
    assert.ok(g.get() >= before && g.get() <= after, `${before} <= ${g.get()} <= ${after}`);
  });
});

describe("Gauge: labelled", () => {
  it("one-off set/inc/dec with labels touch only that series", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "pool", help: "h", labelNames: ["pool"], registry });
    g.set({ pool: "db" }, 10);
    g.inc({ pool: "db" });
    g.inc({ pool: "db" }, 4);
    g.dec({ pool: "db" });
    g.dec({ pool: "db" }, 2);
    g.inc({ pool: "cache" });
    g.dec({ pool: "queue" });
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "pool", { pool: "db" }), 12);
    assert.equal(valueOf(samples, "pool", { pool: "cache" }), 1);
    assert.equal(valueOf(samples, "pool", { pool: "queue" }), -1);
  });

  it("labels(obj) returns the same cached child, and it works", () => {
    const g = new Gauge({
      name: "pool",
      help: "h",
      labelNames: ["pool", "n"],
      registry: new Registry(),
    });
    const db = g.labels({ pool: "db", n: 1 });
    assert.equal(g.labels({ n: "1", pool: "db" }), db);
    db.set(3);
    db.inc();
    db.inc(2);
    db.dec();
    db.dec(0.5);
    assert.equal(db.get(), 4.5);
    assert.equal(g.get({ pool: "db", n: 1 }), 4.5);
    const before = Date.now() / 1000;
    db.setToCurrentTime();
    assert.ok(db.get() >= before);
  });

  it("a missing or unknown label throws a TypeError naming the metric and the label", () => {
    const g = new Gauge({
      name: "pool",
      help: "h",
      labelNames: ["pool"],
      registry: new Registry(),
    });
    assert.throws(() => g.set({} as never, 1), /"pool".*"pool"|missing label "pool"/);
    assert.throws(() => g.set({ pool: "a", x: "b" } as never, 1), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /"pool"/);
      assert.match(e.message, /"x"/);
      return true;
    });
    assert.throws(() => g.inc(), TypeError);
    assert.throws(() => g.set(3), TypeError);
  });
});

describe("Gauge: timers", () => {
  it("startTimer() returns a function that sets the elapsed seconds, once", () => {
    const g = new Gauge({ name: "g", help: "h", registry: new Registry() });
    const t0 = performance.now();
    const end = g.startTimer();
    const a = performance.now();
    busyWait(5);
    const b = performance.now();
    const seconds = end();
    const t1 = performance.now();
    assert.equal(g.get(), seconds);
    assert.ok(seconds * 1000 >= b - a, "at least the time waited, in seconds");
    assert.ok(seconds * 1000 <= t1 - t0, "at most the time around it, in seconds");
    g.set(-1);
    assert.equal(end(), seconds, "a second stop returns the first reading");
    assert.equal(g.get(), -1, "and records nothing");
  });

  it("works with `using`, recording once even if also called", async () => {
    const g = new Gauge({ name: "g", help: "h", labelNames: ["op"], registry: new Registry() });
    let seconds: number;
    {
      using end = g.startTimer({ op: "a" });
      seconds = end();
      g.set({ op: "a" }, -1);
    }
    assert.ok(seconds >= 0);
    assert.equal(g.get({ op: "a" }), -1, "dispose after a call records nothing");
    {
      using _timer = g.startTimer({ op: "b" });
    }
    assert.ok(g.get({ op: "b" }) >= 0);
    assert.equal((await g.collect()).size, 2);
  });

  it("labels can be given at start, at stop, or split between both", async () => {
    const g = new Gauge({ name: "g", help: "h", labelNames: ["a", "b"], registry: new Registry() });
    g.startTimer({ a: "1" })({ b: "2" });
    g.startTimer()({ a: "3", b: "4" });
    g.labels({ a: "5", b: "6" }).startTimer()();
    const f = await g.collect();
    assert.deepEqual(Array.from(f.labelValues), ["1", "2", "3", "4", "5", "6"]);
    for (const v of Array.from(f.values)) assert.ok(v >= 0);
  });
});

describe("Gauge: collect callbacks", () => {
  it("a sync callback runs at every scrape, before the gauge is read", async () => {
    const registry = new Registry();
    let calls = 0;
    const queue: number[] = [];
    new Gauge({
      name: "queue_depth",
      help: "h",
      registry,
      collect: (g) => {
        calls++;
        g.set(queue.length);
      },
    });
    assert.equal(calls, 0, "not run at construction");
    queue.push(1, 2, 3);
    assert.equal(valueOf(await scrape(registry), "queue_depth"), 3);
    queue.pop();
    assert.equal(valueOf(await scrape(registry), "queue_depth"), 2);
    assert.equal(calls, 2);
  });

  it("an async callback is awaited at scrape, and may set labelled series", async () => {
    const registry = new Registry();
    let n = 0;
    new Gauge({
      name: "remote",
      help: "h",
      labelNames: ["shard"],
      registry,
      collect: async (g) => {
        await new Promise((r) => setTimeout(r, 1));
        n++;
        g.set({ shard: "a" }, n * 10);
        g.set({ shard: "b" }, n * 100);
      },
    });
    let samples = await scrape(registry);
    assert.equal(valueOf(samples, "remote", { shard: "a" }), 10);
    assert.equal(valueOf(samples, "remote", { shard: "b" }), 100);
    samples = await scrape(registry);
    assert.equal(valueOf(samples, "remote", { shard: "a" }), 20);
  });

  it("a throwing or rejecting callback leaves that gauge out and is counted", async () => {
    const registry = new Registry();
    const originalError = console.error;
    console.error = () => {};
    try {
      new Gauge({ name: "ok", help: "h", registry }).set(1);
      new Gauge({
        name: "sync_bad",
        help: "h",
        registry,
        collect: () => {
          throw new Error("boom");
        },
      });
      new Gauge({
        name: "async_bad",
        help: "h",
        registry,
        collect: () => Promise.reject(new Error("boom")),
      });
      const samples = await scrape(registry);
      assert.equal(valueOf(samples, "ok"), 1);
      assert.deepEqual(samplesNamed(samples, "sync_bad"), []);
      assert.deepEqual(samplesNamed(samples, "async_bad"), []);
      assert.equal(valueOf(samples, COLLECT_ERRORS_METRIC, { metric: "sync_bad" }), 1);
      assert.equal(valueOf(samples, COLLECT_ERRORS_METRIC, { metric: "async_bad" }), 1);
    } finally {
      console.error = originalError;
    }
  });

  it("collect must be a function", () => {
    assert.throws(
      () =>
        new Gauge({
          name: "g",
          help: "h",
          registry: new Registry(),
          collect: 5 as unknown as () => void,
        }),
      TypeError,
    );
  });
});

describe("Gauge: growth", () => {
  it("every one-off write lands while the storage grows (set, inc, dec, setToCurrentTime)", async () => {
    const registry = new Registry();
    const make = (name: string) => new Gauge({ name, help: "h", labelNames: ["k"], registry });
    const [set, inc, dec, time, timer] = ["set", "inc", "dec", "time", "timer"].map(make);
    const before = Date.now() / 1000;
    // Each gauge on its own, so each kind of write is the one that crosses
    // every growth point (8, 16, 32, ... series).
    for (let i = 0; i < 200; i++) set.set({ k: i }, i + 1);
    for (let i = 0; i < 200; i++) inc.inc({ k: i }, i + 1);
    for (let i = 0; i < 200; i++) dec.dec({ k: i }, i + 1);
    for (let i = 0; i < 200; i++) time.setToCurrentTime({ k: i });
    for (let i = 0; i < 200; i++) {
      const end = timer.startTimer({ k: i });
      const t = performance.now();
      while (performance.now() === t) { /* let the clock tick, so elapsed > 0 */ }
      end();
    }
    const samples = await scrape(registry);
    for (let i = 0; i < 200; i++) {
      const k = String(i);
      assert.equal(valueOf(samples, "set", { k }), i + 1);
      assert.equal(valueOf(samples, "inc", { k }), i + 1);
      assert.equal(valueOf(samples, "dec", { k }), -(i + 1));
      assert.ok(valueOf(samples, "time", { k }) >= before);
      assert.ok(valueOf(samples, "timer", { k }) > 0);
    }
  });
});

describe("Gauge: remove and reset", () => {
  it("remove(labels) and reset() drop series; unlabelled reset goes back to 0", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "g", help: "h", labelNames: ["k"], registry });
    const u = new Gauge({ name: "u", help: "h", registry });
    g.set({ k: "a" }, 1);
    g.set({ k: "b" }, 2);
    u.set(9);
    assert.equal(g.remove({ k: "a" }), true);
    assert.equal(g.remove({ k: "a" }), false);
    let samples = await scrape(registry);
    assert.equal(samplesNamed(samples, "g").length, 1);
    assert.equal(valueOf(samples, "g", { k: "b" }), 2);
    g.reset();
    u.reset();
    samples = await scrape(registry);
    assert.deepEqual(samplesNamed(samples, "g"), []);
    assert.equal(valueOf(samples, "u"), 0);
  });

  it("a child held across remove and reset keeps working (set, inc, dec)", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "g", help: "h", labelNames: ["k"], registry });
    const held = g.labels({ k: "a" });
    held.set(7);
    g.remove({ k: "a" });
    assert.equal(held.get(), 0);
    held.inc(2);
    assert.equal(valueOf(await scrape(registry), "g", { k: "a" }), 2);
    g.reset();
    held.set(5);
    held.dec();
    assert.equal(valueOf(await scrape(registry), "g", { k: "a" }), 4);
    assert.equal(g.labels({ k: "a" }), held);
  });

  it("a child revived after its storage grew keeps writing to the live storage", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "g", help: "h", labelNames: ["k"], registry });
    const held = g.labels({ k: "held" });
    g.remove({ k: "held" });
    for (let i = 0; i < 100; i++) g.set({ k: `other-${i}` }, i);
    held.inc();
    held.inc();
    held.inc();
    assert.equal(held.get(), 3);
    assert.equal(valueOf(await scrape(registry), "g", { k: "held" }), 3);
  });

  it("an old child and a new one for the same labels never write to another series", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "g", help: "h", labelNames: ["k"], registry });
    const old = g.labels({ k: "a" });
    g.remove({ k: "a" });
    const fresh = g.labels({ k: "a" });
    old.inc();
    fresh.inc();
    g.remove({ k: "a" });
    g.set({ k: "b" }, 10);
    old.inc();
    fresh.inc();
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "g", { k: "b" }), 10);
    assert.equal(valueOf(samples, "g", { k: "a" }), 2);
  });
});
