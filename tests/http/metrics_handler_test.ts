/**
 * The scrape handler, called with web-standard `Request`s, and once behind a
 * real server on 127.0.0.1 (Deno.serve under Deno, Bun.serve under Bun).
 */

import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Collector,
  Counter,
  Gauge,
  Histogram,
  type MetricFamily,
  metricsHandler,
  Registry,
  Summary,
} from "../../src/mod.ts";
import { type Family, family, parseOpenMetrics, parseText, seriesKey } from "../_support/parse.ts";

const TEXT = "text/plain; version=0.0.4; charset=utf-8";
const OM = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_2 =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75," +
  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROMETHEUS_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
  "application/openmetrics-text;version=0.0.1;q=0.5," +
  "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

function get(headers: Record<string, string> = {}, method = "GET"): Request {
  return new Request("http://localhost/metrics", { method, headers });
}

function sample(families: Family[], name: string, labels: Record<string, string> = {}) {
  const key = seriesKey(name, labels);
  for (const f of families) {
    for (const s of f.samples) if (seriesKey(s.name, s.labels) === key) return s;
  }
  return undefined;
}

/** A registry with one metric of each type, all values fixed. */
function populated(): Registry {
  const registry = new Registry();
  new Counter({ name: "jobs_total", help: "Jobs", labelNames: ["queue"], registry })
    .inc({ queue: "mail" }, 3);
  new Gauge({ name: "depth", help: "Depth", registry }).set(7);
  new Histogram({ name: "work_seconds", help: "Work", buckets: [1], registry }).observe(0.5);
  new Summary({ name: "size_bytes", help: "Size", percentiles: [0.5], registry }).observe(10);
  return registry;
}

async function gunzip(body: ReadableStream<Uint8Array>): Promise<string> {
  // The cast only bridges lib.dom's BufferSource/Uint8Array variance.
  const gunzipper = new DecompressionStream("gzip") as unknown as TransformStream<
    Uint8Array,
    Uint8Array
  >;
  return await new Response(body.pipeThrough(gunzipper)).text();
}

// The registry logs failing collectors once with console.error; keep the
// test output clean and let tests look at what was logged.
let logged: string[] = [];
let realError: typeof console.error;
beforeEach(() => {
  logged = [];
  realError = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
});
afterEach(() => {
  console.error = realError;
});

describe("metricsHandler: methods", () => {
  it("GET answers 200 with the text format by default", async () => {
    const registry = populated();
    const res = await metricsHandler(registry)(get());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), TEXT);
    assert.equal(res.headers.get("vary"), "Accept-Encoding");
    assert.equal(res.headers.get("content-encoding"), null);
    const body = await res.text();
    assert.equal(body, await registry.metrics());
    const families = parseText(body);
    assert.equal(sample(families, "jobs_total", { queue: "mail" })?.value, 3);
    assert.equal(sample(families, "depth")?.value, 7);
    assert.equal(sample(families, "work_seconds_bucket", { le: "1" })?.value, 1);
    assert.equal(sample(families, "size_bytes", { quantile: "0.5" })?.value !== undefined, true);
  });

  it("HEAD answers the headers with an empty body", async () => {
    const res = await metricsHandler(populated())(get({ accept: PROMETHEUS_3 }, "HEAD"));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), OM);
    assert.equal(await res.text(), "");
  });

  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    it(`${method} answers 405 with Allow`, async () => {
      const res = await metricsHandler(populated())(get({}, method));
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "GET, HEAD");
      await res.body?.cancel();
    });
  }
});

describe("metricsHandler: negotiation", () => {
  const cases: [string, string | undefined, string][] = [
    ["no Accept", undefined, TEXT],
    ["Prometheus 2.x", PROMETHEUS_2, OM],
    ["Prometheus 3.x", PROMETHEUS_3, OM],
    ["text only", "text/plain;version=0.0.4;q=0.6,*/*;q=0.5", TEXT],
    ["unsupported only (never 406)", "application/json", TEXT],
    [
      "OpenMetrics 0.0.1",
      "application/openmetrics-text;version=0.0.1",
      "application/openmetrics-text; version=0.0.1; charset=utf-8",
    ],
  ];
  for (const [what, accept, contentType] of cases) {
    it(`${what} → ${contentType}`, async () => {
      const res = await metricsHandler(populated())(get(accept ? { accept } : {}));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), contentType);
      const body = await res.text();
      if (contentType === TEXT) {
        assert.equal(sample(parseText(body), "jobs_total", { queue: "mail" })?.value, 3);
      } else {
        assert.ok(body.endsWith("# EOF\n"));
        const families = parseOpenMetrics(body);
        assert.equal(family(families, "jobs").type, "counter");
        assert.equal(sample(families, "jobs_total", { queue: "mail" })?.value, 3);
      }
    });
  }

  it("the created option reaches the OpenMetrics output", async () => {
    const on = await (await metricsHandler(populated())(get({ accept: PROMETHEUS_3 }))).text();
    const off = await (await metricsHandler(populated(), { created: false })(
      get({ accept: PROMETHEUS_3 }),
    )).text();
    assert.ok(on.includes("jobs_created{"), on);
    assert.ok(!off.includes("_created"), off);
    parseOpenMetrics(off);
  });
});

describe("metricsHandler: gzip", () => {
  for (const [format, accept] of [["text", undefined], ["OpenMetrics", PROMETHEUS_2]] as const) {
    it(`compresses ${format} when asked, and it decompresses to the plain body`, async () => {
      const registry = populated();
      const handler = metricsHandler(registry);
      const plain = await (await handler(get(accept ? { accept } : {}))).text();
      const res = await handler(get({ "accept-encoding": "gzip", ...(accept ? { accept } : {}) }));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-encoding"), "gzip");
      assert.equal(res.headers.get("vary"), "Accept-Encoding");
      const [a, b] = res.body!.tee();
      const head = new Uint8Array(await new Response(a).arrayBuffer()).slice(0, 2);
      assert.deepEqual([...head], [0x1f, 0x8b]); // gzip magic
      assert.equal(await gunzip(b), plain);
    });
  }

  for (const [format, accept] of [["text", undefined], ["OpenMetrics", PROMETHEUS_2]] as const) {
    it(`a ${format} scrape of many parts (20,000 series, non-ASCII labels) decompresses to the plain body`, async () => {
      const registry = new Registry();
      const c = new Counter({ name: "big_total", help: "Big", labelNames: ["k"], registry });
      const h = new Histogram({
        name: "big_seconds",
        help: "Big",
        labelNames: ["k"],
        buckets: [0.1, 1],
        registry,
      });
      const g = new Gauge({ name: "big_level", help: "Big", labelNames: ["k"], registry });
      for (let i = 0; i < 20_000; i++) {
        const k = `série-${i}-😀-"q"\\`;
        c.inc({ k }, i);
        if (i % 4 === 0) h.observe({ k }, i / 1000);
        if (i % 7 === 0) g.set({ k }, -i);
      }
      const handler = metricsHandler(registry, { created: false });
      const plain = await (await handler(get(accept ? { accept } : {}))).text();
      assert.ok(plain.length > 10 * 65_536, `${plain.length} characters: several parts`);
      const res = await handler(get({ "accept-encoding": "gzip", ...(accept ? { accept } : {}) }));
      assert.equal(res.status, 200);
      assert.equal(await gunzip(res.body!), plain);
    });
  }

  it("does not compress when gzip is refused or not offered", async () => {
    const handler = metricsHandler(populated());
    for (const enc of ["gzip;q=0", "br", "identity"]) {
      const res = await handler(get({ "accept-encoding": enc }));
      assert.equal(res.headers.get("content-encoding"), null, enc);
      parseText(await res.text());
    }
  });

  it("does not compress with the gzip option off", async () => {
    const res = await metricsHandler(populated(), { gzip: false })(
      get({ "accept-encoding": "gzip" }),
    );
    assert.equal(res.headers.get("content-encoding"), null);
    parseText(await res.text());
  });
});

describe("metricsHandler: failing collectors", () => {
  it("a collector that throws is left out and counted; the scrape still answers 200", async () => {
    const registry = populated();
    new Gauge({
      name: "broken_gauge",
      help: "Throws",
      registry,
      collect: () => {
        throw new Error("boom");
      },
    });
    const handler = metricsHandler(registry);
    for (const [n, accept] of [[1, undefined], [2, PROMETHEUS_3]] as const) {
      const res = await handler(get(accept ? { accept } : {}));
      assert.equal(res.status, 200);
      const body = await res.text();
      const families = accept ? parseOpenMetrics(body) : parseText(body);
      assert.ok(!families.some((f) => f.name === "broken_gauge"), body);
      assert.equal(
        sample(families, "metrics_collect_errors_total", { metric: "broken_gauge" })?.value,
        n,
      );
      // The healthy metrics are all there.
      assert.equal(sample(families, "depth")?.value, 7);
    }
    // Logged once, naming the metric, not once per scrape.
    assert.equal(logged.filter((l) => l.includes('"broken_gauge"')).length, 1, logged.join("\n"));
  });

  it("a collector that rejects is left out and counted", async () => {
    const registry = populated();
    const rejecting: Collector = {
      name: "rejecting",
      collect: () => Promise.reject(new TypeError("nope")),
    };
    registry.register(rejecting);
    const res = await metricsHandler(registry)(get());
    assert.equal(res.status, 200);
    const families = parseText(await res.text());
    assert.ok(!families.some((f) => f.name === "rejecting"));
    assert.equal(
      sample(families, "metrics_collect_errors_total", { metric: "rejecting" })?.value,
      1,
    );
  });

  it("an async collector slower than X-Prometheus-Scrape-Timeout-Seconds is left out and counted", async () => {
    const registry = populated();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    let slow = true;
    new Gauge({
      name: "slow_gauge",
      help: "Slow",
      registry,
      collect: (g) => {
        g.set(42);
        return slow ? gate : undefined;
      },
    });
    const handler = metricsHandler(registry);
    try {
      // 0.1 s: the handler waits at most a fraction of that for collectors.
      const res = await handler(get({ "x-prometheus-scrape-timeout-seconds": "0.1" }));
      assert.equal(res.status, 200);
      const families = parseText(await res.text());
      assert.ok(!families.some((f) => f.name === "slow_gauge"));
      assert.equal(
        sample(families, "metrics_collect_errors_total", { metric: "slow_gauge" })?.value,
        1,
      );
      assert.equal(sample(families, "depth")?.value, 7);
    } finally {
      release();
    }
    await gate;
    // A late result is dropped, not counted again; a prompt collector is back.
    slow = false;
    const families = parseText(await (await handler(get())).text());
    assert.equal(sample(families, "slow_gauge")?.value, 42);
    assert.equal(
      sample(families, "metrics_collect_errors_total", { metric: "slow_gauge" })?.value,
      1,
    );
  });

  it("without the header, the timeoutMs option bounds the wait", async () => {
    const registry = populated();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const late: Collector = {
      name: "late",
      collect: () =>
        gate.then((): MetricFamily => ({
          name: "late",
          help: "Late",
          type: "gauge",
          unit: "",
          labelNames: [],
          labelValues: [],
          size: 1,
          values: [1],
        })),
    };
    registry.register(late);
    try {
      const res = await metricsHandler(registry, { timeoutMs: 20 })(get());
      const families = parseText(await res.text());
      assert.ok(!families.some((f) => f.name === "late"));
      assert.equal(sample(families, "metrics_collect_errors_total", { metric: "late" })?.value, 1);
    } finally {
      release();
    }
  });

  for (const header of ["Infinity", "1e10"]) {
    it(`a scrape timeout of ${header} s waits for async collectors (no timer overflow)`, async () => {
      // setTimeout turns delays past 2^31 - 1 ms into 1 ms; such a header
      // must mean "wait", not "give up at once".
      const registry = populated();
      new Gauge({
        name: "async_gauge",
        help: "Async",
        registry,
        collect: (g) =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              g.set(5);
              resolve();
            }, 20)
          ),
      });
      const res = await metricsHandler(registry)(
        get({ "x-prometheus-scrape-timeout-seconds": header }),
      );
      const families = parseText(await res.text());
      assert.equal(sample(families, "async_gauge")?.value, 5);
      assert.ok(!families.some((f) => f.name === "metrics_collect_errors_total"));
    });
  }

  it("a collector whose family cannot be rendered gives 500, and the error is logged", async () => {
    const registry = populated();
    registry.register({
      name: "malformed",
      collect: (): MetricFamily => ({
        name: "malformed",
        help: "No bounds",
        type: "histogram",
        unit: "",
        labelNames: [],
        labelValues: [],
        size: 1,
        values: [0],
      }),
    });
    const res = await metricsHandler(registry)(get());
    assert.equal(res.status, 500);
    assert.match(await res.text(), /rendering metrics failed/);
    assert.equal(logged.length, 1, logged.join("\n"));
  });
});

// Minimal shapes of the two runtimes' server APIs, so this file type-checks
// under Deno without Bun's types.
interface BunServer {
  port: number;
  stop(closeActiveConnections?: boolean): unknown;
}
interface BunLike {
  serve(o: { port: number; hostname: string; fetch: (r: Request) => Promise<Response> }): BunServer;
}

async function withServer(
  handler: (r: Request) => Promise<Response>,
  run: (base: string) => Promise<void>,
): Promise<void> {
  const bun = (globalThis as { Bun?: BunLike }).Bun;
  if (bun !== undefined) {
    const server = bun.serve({ port: 0, hostname: "127.0.0.1", fetch: handler });
    try {
      await run(`http://127.0.0.1:${server.port}`);
    } finally {
      await server.stop(true);
    }
    return;
  }
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handler);
  try {
    await run(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

describe("metricsHandler behind a real server", () => {
  it("serves a scrape over loopback", async () => {
    const registry = populated();
    await withServer(metricsHandler(registry), async (base) => {
      const res = await fetch(`${base}/metrics`, {
        headers: { accept: PROMETHEUS_3, "accept-encoding": "gzip" },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), OM);
      const body = await res.text(); // fetch undoes the gzip
      const families = parseOpenMetrics(body);
      assert.equal(sample(families, "jobs_total", { queue: "mail" })?.value, 3);
      assert.equal(sample(families, "depth")?.value, 7);
      assert.equal(sample(families, "work_seconds_count")?.value, 1);
      const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
    });
  });
});
