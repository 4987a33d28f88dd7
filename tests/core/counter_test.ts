import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter } from "../../src/core/counter.ts";
import { Registry } from "../../src/core/registry.ts";
import { parseSamples, samplesNamed, valueOf } from "./_exposition.ts";

async function scrape(registry: Registry) {
  return parseSamples(await registry.metrics());
}

function labelled(registry = new Registry(), maxSeries?: number) {
  return new Counter({
    name: "llm_requests_total",
    help: "Total number of LLM API requests",
    labelNames: ["model", "endpoint"],
    registry,
    maxSeries,
  });
}

describe("Counter: unlabelled", () => {
  it("starts at 0 and is exposed at once", async () => {
    const registry = new Registry();
    new Counter({ name: "jobs_total", help: "Jobs run", registry });
    const text = await registry.metrics();
    assert.match(text, /^# HELP jobs_total Jobs run\n# TYPE jobs_total counter\n/);
    assert.equal(valueOf(parseSamples(text), "jobs_total"), 0);
  });

  it("inc() adds 1, inc(v) adds v", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "jobs_total", help: "Jobs run", registry });
    c.inc();
    c.inc(2);
    c.inc(0.5);
    c.inc(0);
    assert.equal(c.get(), 3.5);
    assert.equal(valueOf(await scrape(registry), "jobs_total"), 3.5);
  });

  it("labels({}) gives a child bound to the one series", () => {
    const c = new Counter({ name: "jobs_total", help: "h", registry: new Registry() });
    const child = c.labels({});
    assert.equal(c.labels({}), child);
    child.inc(4);
    c.inc();
    assert.equal(child.get(), 5);
    assert.equal(c.get(), 5);
  });

  it("labels passed to an unlabelled counter throw a TypeError", () => {
    const c = new Counter({ name: "jobs_total", help: "h", registry: new Registry() });
    assert.throws(() => c.inc({ x: "1" } as never), TypeError);
  });
});

describe("Counter: labelled", () => {
  it("one-off inc(labels) and inc(labels, v) add to that series only", async () => {
    const registry = new Registry();
    const c = labelled(registry);
    c.inc({ model: "gpt-4o", endpoint: "chat" });
    c.inc({ model: "gpt-4o", endpoint: "chat" }, 3);
    c.inc({ endpoint: "embed", model: "gpt-4o" }, 0.25);
    const samples = await scrape(registry);
    assert.equal(samplesNamed(samples, "llm_requests_total").length, 2);
    assert.equal(valueOf(samples, "llm_requests_total", { model: "gpt-4o", endpoint: "chat" }), 4);
    assert.equal(
      valueOf(samples, "llm_requests_total", { model: "gpt-4o", endpoint: "embed" }),
      0.25,
    );
  });

  it("no series is exposed before the first use", async () => {
    const registry = new Registry();
    labelled(registry);
    assert.deepEqual(await scrape(registry), []);
    assert.match(await registry.metrics(), /# TYPE llm_requests_total counter/);
  });

  it("labels(obj) returns the same cached child each time, whatever the key order", () => {
    const c = labelled();
    const a = c.labels({ model: "m", endpoint: "e" });
    assert.equal(c.labels({ model: "m", endpoint: "e" }), a);
    assert.equal(c.labels({ endpoint: "e", model: "m" }), a);
    assert.notEqual(c.labels({ model: "m", endpoint: "f" }), a);
  });

  it("a child's inc adds to its series, alongside one-off calls", async () => {
    const registry = new Registry();
    const c = labelled(registry);
    const chat = c.labels({ model: "m", endpoint: "chat" });
    chat.inc();
    chat.inc(2);
    c.inc({ model: "m", endpoint: "chat" });
    assert.equal(chat.get(), 4);
    assert.equal(c.get({ model: "m", endpoint: "chat" }), 4);
    assert.equal(
      valueOf(await scrape(registry), "llm_requests_total", { model: "m", endpoint: "chat" }),
      4,
    );
  });

  it("numbers are label values coerced with String", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "http_total", help: "h", labelNames: ["code"], registry });
    c.inc({ code: 200 });
    c.inc({ code: "200" });
    c.labels({ code: 200 }).inc();
    assert.equal(c.labels({ code: 200 }), c.labels({ code: "200" }));
    const samples = await scrape(registry);
    assert.equal(samplesNamed(samples, "http_total").length, 1);
    assert.equal(valueOf(samples, "http_total", { code: "200" }), 3);
  });

  it("label values with quotes, backslashes and newlines survive the round trip", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "odd_total", help: "h", labelNames: ["v"], registry });
    const values = ['say "hi"', "C:\\path", "two\nlines", "", "🎉"];
    values.forEach((v, i) => c.inc({ v }, i + 1));
    const samples = await scrape(registry);
    values.forEach((v, i) => assert.equal(valueOf(samples, "odd_total", { v }), i + 1));
  });

  it("a missing or unknown label throws a TypeError naming the metric and the label", () => {
    const c = labelled();
    const check = (label: string) => (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /llm_requests_total/);
      assert.ok(e.message.includes(`"${label}"`), e.message);
      return true;
    };
    assert.throws(() => c.inc({ model: "m" } as never), check("endpoint"));
    assert.throws(() => c.inc({ model: "m", endpoint: "e", x: "1" } as never), check("x"));
    assert.throws(() => c.labels({ endpoint: "e" } as never), check("model"));
    assert.throws(() => c.inc(), check("model"));
    assert.throws(() => c.inc(5), check("model"));
    assert.throws(() => c.get({ model: "m" } as never), check("endpoint"));
    assert.throws(() => c.remove({ model: "m", endpoint: "e", x: 1 } as never), check("x"));
  });
});

describe("Counter: invalid increments", () => {
  const bad = [-1, -0.001, NaN, Infinity, -Infinity];

  it("rejects negative, NaN and non-finite increments with a RangeError (every form)", () => {
    const registry = new Registry();
    const u = new Counter({ name: "u_total", help: "h", registry });
    const l = new Counter({ name: "l_total", help: "h", labelNames: ["k"], registry });
    const child = l.labels({ k: "a" });
    for (const v of bad) {
      const check = (e: unknown) => {
        assert.ok(e instanceof RangeError, `${v}: ${e}`);
        assert.ok(e.message.includes(String(v)), e.message);
        return true;
      };
      assert.throws(() => u.inc(v), check);
      assert.throws(() => l.inc({ k: "a" }, v), check);
      assert.throws(() => child.inc(v), check);
      assert.throws(() => u.labels({}).inc(v), check);
    }
    assert.equal(u.get(), 0);
    assert.equal(child.get(), 0);
    assert.throws(() => u.inc(-1), /Counter "u_total"/);
  });

  it("rejects a non-number increment (a string would concatenate)", () => {
    const c = new Counter({
      name: "c_total",
      help: "h",
      labelNames: ["k"],
      registry: new Registry(),
    });
    const child = c.labels({ k: "a" });
    child.inc(5);
    assert.throws(() => child.inc("1" as unknown as number), TypeError);
    assert.throws(() => c.inc({ k: "a" }, "1" as unknown as number), TypeError);
    assert.equal(child.get(), 5);
  });

  it("a rejected call creates no series", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "c_total", help: "h", labelNames: ["k"], registry });
    assert.throws(() => c.inc({ k: "new" }, -1), RangeError);
    assert.throws(() => c.inc({ k: "new" }, NaN), RangeError);
    assert.deepEqual(samplesNamed(await scrape(registry), "c_total"), []);
  });
});

describe("Counter: remove and reset", () => {
  it("remove(labels) drops that series only and reports whether it existed", async () => {
    const registry = new Registry();
    const c = labelled(registry);
    c.inc({ model: "a", endpoint: "e" }, 2);
    c.inc({ model: "b", endpoint: "e" }, 3);
    assert.equal(c.remove({ model: "a", endpoint: "e" }), true);
    assert.equal(c.remove({ model: "a", endpoint: "e" }), false);
    const samples = await scrape(registry);
    assert.equal(samplesNamed(samples, "llm_requests_total").length, 1);
    assert.equal(valueOf(samples, "llm_requests_total", { model: "b", endpoint: "e" }), 3);
    assert.equal(c.get({ model: "a", endpoint: "e" }), 0);
    c.inc({ model: "a", endpoint: "e" });
    assert.equal(c.get({ model: "a", endpoint: "e" }), 1, "a re-created series starts from 0");
  });

  it("reset() drops every labelled series; an unlabelled counter goes back to 0", async () => {
    const registry = new Registry();
    const c = labelled(registry);
    const u = new Counter({ name: "u_total", help: "h", registry });
    c.inc({ model: "a", endpoint: "e" });
    c.inc({ model: "b", endpoint: "e" });
    u.inc(7);
    c.reset();
    u.reset();
    const samples = await scrape(registry);
    assert.deepEqual(samplesNamed(samples, "llm_requests_total"), []);
    assert.equal(valueOf(samples, "u_total"), 0);
    u.inc();
    assert.equal(u.get(), 1);
  });

  it("a child held across remove keeps working: its series reappears from 0", async () => {
    const registry = new Registry();
    const c = labelled(registry);
    const held = c.labels({ model: "m", endpoint: "e" });
    held.inc(5);
    c.remove({ model: "m", endpoint: "e" });
    assert.equal(held.get(), 0);
    assert.deepEqual(samplesNamed(await scrape(registry), "llm_requests_total"), []);
    held.inc();
    held.inc(2);
    assert.equal(held.get(), 3);
    assert.equal(
      valueOf(await scrape(registry), "llm_requests_total", { model: "m", endpoint: "e" }),
      3,
    );
    assert.equal(c.labels({ model: "m", endpoint: "e" }), held, "it is the cached child again");
  });

  it("a child held across reset keeps working, also an unlabelled one", async () => {
    const registry = new Registry();
    const c = labelled(registry);
    const u = new Counter({ name: "u_total", help: "h", registry });
    const held = c.labels({ model: "m", endpoint: "e" });
    const uChild = u.labels({});
    held.inc(5);
    uChild.inc(5);
    c.reset();
    u.reset();
    held.inc();
    uChild.inc();
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "llm_requests_total", { model: "m", endpoint: "e" }), 1);
    assert.equal(valueOf(samples, "u_total"), 1);
  });

  it("a child revived after its storage grew keeps counting into the live storage", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "grow_total", help: "h", labelNames: ["k"], registry });
    const held = c.labels({ k: "held" });
    c.remove({ k: "held" });
    // Enough new series to grow the typed arrays while `held` is detached.
    for (let i = 0; i < 100; i++) c.inc({ k: `other-${i}` });
    held.inc();
    held.inc();
    held.inc();
    assert.equal(held.get(), 3);
    assert.equal(valueOf(await scrape(registry), "grow_total", { k: "held" }), 3);
  });

  it("an old child and a new one for the same labels never write to another series", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "ids_total", help: "h", labelNames: ["k"], registry });
    const old = c.labels({ k: "a" });
    c.remove({ k: "a" });
    const fresh = c.labels({ k: "a" });
    assert.notEqual(fresh, old);
    old.inc(); // the series exists again, owned by `fresh`
    fresh.inc();
    assert.equal(c.get({ k: "a" }), 2);
    c.remove({ k: "a" });
    c.inc({ k: "b" }, 10); // may take the freed id
    old.inc();
    fresh.inc();
    const samples = await scrape(registry);
    assert.equal(valueOf(samples, "ids_total", { k: "b" }), 10);
    assert.equal(valueOf(samples, "ids_total", { k: "a" }), 2);
  });
});

describe("Counter: growth", () => {
  it("every series keeps its value while the storage grows", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "many_total", help: "h", labelNames: ["k"], registry });
    for (let i = 0; i < 300; i++) c.inc({ k: i }, i + 1);
    for (let i = 0; i < 300; i += 2) c.labels({ k: i }).inc();
    const samples = await scrape(registry);
    for (let i = 0; i < 300; i++) {
      assert.equal(valueOf(samples, "many_total", { k: String(i) }), i + 1 + (i % 2 === 0 ? 1 : 0));
    }
  });
});

describe("Counter: collect", () => {
  it("returns a counter family with one value per live series", () => {
    const c = labelled();
    c.inc({ model: "a", endpoint: "e" }, 2);
    c.inc({ model: "b", endpoint: "f" }, 3);
    const f = c.collect();
    assert.equal(f.type, "counter");
    assert.equal(f.name, "llm_requests_total");
    assert.deepEqual(f.labelNames, ["model", "endpoint"]);
    assert.equal(f.size, 2);
    const got = new Map<string, number>();
    for (let s = 0; s < f.size; s++) {
      got.set(`${f.labelValues[2 * s]}/${f.labelValues[2 * s + 1]}`, f.values[s]);
    }
    assert.deepEqual(got, new Map([["a/e", 2], ["b/f", 3]]));
    assert.equal(f.created!.length, 2);
  });

  it("OpenMetrics output names the family without _total and the sample with it", async () => {
    const registry = new Registry();
    new Counter({ name: "jobs_total", help: "Jobs", registry }).inc(2);
    const om = await registry.metrics("openmetrics");
    assert.match(om, /^# TYPE jobs counter\n/m);
    assert.match(om, /^jobs_total 2$/m);
    assert.ok(om.endsWith("# EOF\n"));
  });
});
