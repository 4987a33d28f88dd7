/**
 * The exporter on several workers of one process, end to end: `deno task
 * start` with 4 server threads (from `DENO_JOBS`, and from `--workers`), and
 * `app/worker.ts` under `DENO_JOBS=4 deno serve --parallel`. Requests
 * go over new connections, so the kernel spreads them over the workers;
 * every scrape, whichever worker answers it, must report the totals of all.
 *
 * Deno only: both ways of running on several workers are Deno's.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Family } from "../_support/parse.ts";
import { samplesNamed, startMain, valueIn, workerModuleFlags } from "../app/_support.ts";
import {
  assertMonotonic,
  DENO_ONLY,
  fetchFresh,
  isDeno,
  monotonicSamples,
  runConcurrently,
  scrapeFresh,
  startServe,
  waitForCluster,
  within,
} from "./_support.ts";

const WORKERS = 4;

/** A server under test: where it listens, how to signal and stop it. */
interface Server {
  origin: string;
  /** `/metrics` scrapes made before the test got the server (counted in its HTTP metrics). */
  scrapedBefore: number;
  stderr(): string;
  signal(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(): Promise<void>;
}

/**
 * Starts a server and waits until its workers have all met (see
 * {@linkcode waitForCluster}: right after the listening line a worker may
 * not have met its peers yet, for a few ms with threads and up to a few
 * hundred with deno serve, whose line comes when its first worker listens).
 */
async function started(
  start: () => Promise<Omit<Server, "scrapedBefore">>,
): Promise<Server> {
  const server = await start();
  try {
    return { ...server, scrapedBefore: await waitForCluster(server.origin, WORKERS) };
  } catch (error) {
    await server.kill();
    throw error;
  }
}

const MODES: { name: string; start: () => Promise<Server> }[] = [
  {
    name: `deno task start, DENO_JOBS=${WORKERS}`,
    start: () => started(() => startMain(["--demo"], { DENO_JOBS: String(WORKERS), WORKERS: "" })),
  },
  {
    name: `deno task start --workers ${WORKERS}`,
    start: () =>
      started(() =>
        startMain(["--demo", "--workers", String(WORKERS)], { DENO_JOBS: "", WORKERS: "" })
      ),
  },
  {
    name: `DENO_JOBS=${WORKERS} deno serve --parallel app/worker.ts`,
    start: () =>
      started(() => startServe("app/worker.ts", workerModuleFlags(), WORKERS, { DEMO: "1" })),
  },
];

async function withServer(
  start: () => Promise<Server>,
  body: (server: Server) => Promise<void>,
): Promise<void> {
  const server = await start();
  try {
    await body(server);
  } catch (error) {
    // The server's stderr usually says why (an unhandled error in a worker).
    const stderr = server.stderr().trim();
    if (stderr !== "" && error instanceof Error) error.message += `\nserver stderr:\n${stderr}`;
    throw error;
  } finally {
    await server.kill();
  }
}

/** One demo request: what to send and which handler (route template) it counts under. */
interface Planned {
  method: "GET" | "POST";
  path: string;
  handler: string;
  feature?: string;
  login?: boolean;
}

/** Request `i` of a mix of demo routes and built-in endpoints (never a metrics endpoint). */
function planned(i: number): Planned {
  switch (i % 6) {
    case 0:
    case 1:
      return { method: "POST", path: "/api/login", handler: "/api/login", login: true };
    case 2: {
      const feature = `feature_${i % 4}`;
      return {
        method: "GET",
        path: `/api/features/${feature}`,
        handler: "/api/features/:name",
        feature,
      };
    }
    case 3:
      return { method: "GET", path: "/api/actions/open_report", handler: "/api/actions/:type" };
    case 4:
      return { method: "GET", path: "/healthz", handler: "/healthz" };
    default:
      return { method: "GET", path: "/", handler: "/" };
  }
}

/** Sends request `i` of the plan on a new connection; it must answer 200. */
async function send(origin: string, i: number): Promise<void> {
  const p = planned(i);
  const res = await fetchFresh(origin + p.path, { method: p.method });
  assert.equal(res.status, 200, `${p.method} ${p.path}: ${res.status} ${res.body}`);
}

/** What requests 0..n-1 of the plan must add up to, per series. */
function expectedTotals(n: number) {
  const http = new Map<string, { method: string; handler: string; count: number }>();
  const features = new Map<string, number>();
  let logins = 0;
  for (let i = 0; i < n; i++) {
    const p = planned(i);
    const key = `${p.method} ${p.handler}`;
    const entry = http.get(key) ?? { method: p.method, handler: p.handler, count: 0 };
    entry.count++;
    http.set(key, entry);
    if (p.feature !== undefined) features.set(p.feature, (features.get(p.feature) ?? 0) + 1);
    if (p.login) logins++;
  }
  return { http: [...http.values()], features, logins };
}

/**
 * Asserts that a `/metrics` scrape and the `/custom_metrics` scrape right
 * after it report exactly the plan's first `n` requests, plus the scrapes of
 * each endpoint made before the `/metrics` one (a request is counted before
 * its response is sent, so these are exact too; the custom scrape also sees
 * the `/metrics` scrape before it).
 */
function assertTotals(
  metrics: Family[],
  custom: Family[],
  n: number,
  scrapes: { metrics: number; custom: number },
  what: string,
): void {
  const want = expectedTotals(n);
  const rows = (metricsScrapes: number) => [
    ...want.http,
    { method: "GET", handler: "/metrics", count: metricsScrapes },
    { method: "GET", handler: "/custom_metrics", count: scrapes.custom },
  ];
  for (const { method, handler, count } of rows(scrapes.metrics)) {
    const labels = { method, status: "2xx", handler };
    assert.equal(
      valueIn(metrics, "http_requests_total", labels) ?? 0,
      count,
      `${what}: http_requests_total ${JSON.stringify(labels)}`,
    );
  }
  for (const { method, handler, count } of rows(scrapes.metrics + 1)) {
    const app = { endpoint: handler, method, status_code: "200" };
    assert.equal(
      valueIn(custom, "app_requests_total", app) ?? 0,
      count,
      `${what}: app_requests_total ${JSON.stringify(app)}`,
    );
  }
  // Nothing else was requested: no other series, no other status.
  const total = rows(scrapes.metrics).reduce((a, r) => a + r.count, 0);
  const httpSum = samplesNamed(metrics, "http_requests_total").reduce((a, s) => a + s.value, 0);
  const appSum = samplesNamed(custom, "app_requests_total").reduce((a, s) => a + s.value, 0);
  assert.equal(httpSum, total, `${what}: sum of http_requests_total`);
  assert.equal(appSum, total + 1, `${what}: sum of app_requests_total`);
  assert.equal(valueIn(custom, "user_logins_total"), want.logins, `${what}: user_logins_total`);
  for (const [feature, count] of want.features) {
    assert.equal(
      valueIn(custom, "feature_usage_total", { feature_name: feature }),
      count,
      `${what}: feature_usage_total{feature_name="${feature}"}`,
    );
  }
}

/** The distinct `worker` label values of a per-worker runtime gauge. */
function workersIn(metrics: Family[], name: string): Set<string> {
  return new Set(samplesNamed(metrics, name).map((s) => s.labels.worker));
}

describe("several workers, one truth: exact totals in every scrape", { skip: DENO_ONLY }, () => {
  for (const mode of MODES) {
    it(`${mode.name}: 200 requests on new connections, then 20 scrapes all report them`, async () => {
      await withServer(mode.start, async (server) => {
        const N = 200;
        for (let i = 0; i < N; i++) await send(server.origin, i);
        let previous: { metrics: Map<string, number>; custom: Map<string, number> } | undefined;
        const scrapes = { metrics: server.scrapedBefore, custom: 0 };
        for (let k = 0; k < 20; k++) {
          const metrics = await scrapeFresh(server.origin, "/metrics");
          const custom = await scrapeFresh(server.origin, "/custom_metrics");
          assertTotals(metrics, custom, N, scrapes, `scrape ${k + 1}`);
          scrapes.metrics++;
          scrapes.custom++;
          // Every worker is in the cluster: runtime gauges have one series per worker.
          for (const name of ["deno_heap_size_used_bytes", "deno_version_info"]) {
            const workers = workersIn(metrics, name);
            assert.equal(
              workers.size,
              WORKERS,
              `scrape ${k + 1}: ${name} by worker: ${[...workers]}`,
            );
            assert.ok(!workers.has(undefined as unknown as string), `${name} without worker label`);
          }
          const now = { metrics: monotonicSamples(metrics), custom: monotonicSamples(custom) };
          if (previous !== undefined) {
            assertMonotonic(previous.metrics, now.metrics, `/metrics scrape ${k} -> ${k + 1}`);
            assertMonotonic(previous.custom, now.custom, `/custom_metrics scrape ${k} -> ${k + 1}`);
          }
          previous = now;
        }
      });
    });
  }
});

describe("several workers under load while scraping", { skip: DENO_ONLY }, () => {
  for (const mode of [MODES[0], MODES[2]]) {
    it(`${mode.name}: 2,000 requests over 8 loops; every scrape monotonic, totals exact after`, async () => {
      await withServer(mode.start, async (server) => {
        const LOAD = 2_000;
        let done = false;
        const scrapes = { metrics: server.scrapedBefore, custom: 0 };
        const previous: Record<"metrics" | "custom", Map<string, number> | undefined> = {
          metrics: undefined,
          custom: undefined,
        };
        let compared = 0;
        const scraper = (async () => {
          // Bounded: at most 1,000 scrapes, and stops once the load is done.
          for (let k = 0; k < 1_000 && !done; k++) {
            const which = k % 2 === 0 ? "metrics" : "custom";
            const path = which === "metrics" ? "/metrics" : "/custom_metrics";
            const now = monotonicSamples(await scrapeFresh(server.origin, path));
            scrapes[which]++;
            const before = previous[which];
            if (before !== undefined) {
              compared += assertMonotonic(before, now, `${path} scrape ${scrapes[which]}`);
            }
            previous[which] = now;
          }
        })();
        try {
          await runConcurrently(LOAD, 8, (i) => send(server.origin, i));
        } finally {
          done = true;
          await scraper;
        }
        assert.ok(
          scrapes.metrics >= 2 && scrapes.custom >= 2,
          `too few scrapes during the load to compare: ${JSON.stringify(scrapes)}`,
        );
        assert.ok(compared > 0, "no series compared");
        const metrics = await scrapeFresh(server.origin, "/metrics");
        const custom = await scrapeFresh(server.origin, "/custom_metrics");
        assertTotals(metrics, custom, LOAD, scrapes, "after the load");
        assertMonotonic(previous.metrics!, monotonicSamples(metrics), "/metrics after the load");
        assertMonotonic(
          previous.custom!,
          monotonicSamples(custom),
          "/custom_metrics after the load",
        );
      });
    });
  }
});

describe("a label set created in one worker only", { skip: DENO_ONLY }, () => {
  for (const mode of [MODES[0], MODES[2]]) {
    it(`${mode.name}: appears in every one of 20 scrapes`, async () => {
      await withServer(mode.start, async (server) => {
        const res = await fetchFresh(server.origin + "/api/features/rare_feature");
        assert.equal(res.status, 200, res.body);
        for (let k = 0; k < 20; k++) {
          const custom = await scrapeFresh(server.origin, "/custom_metrics");
          assert.equal(
            valueIn(custom, "feature_usage_total", { feature_name: "rare_feature" }),
            1,
            `scrape ${k + 1}: feature_usage_total{feature_name="rare_feature"}`,
          );
          const handler = "/api/features/:name";
          const metrics = await scrapeFresh(server.origin, "/metrics");
          assert.equal(
            valueIn(metrics, "http_requests_total", { method: "GET", status: "2xx", handler }),
            1,
            `scrape ${k + 1}: http_requests_total for ${handler}`,
          );
        }
      });
    });
  }
});

describe("several workers: SIGTERM", { skip: DENO_ONLY }, () => {
  for (const [mode, drains] of [[MODES[0], true], [MODES[2], false]] as const) {
    it(`${mode.name}: exits 0, nothing holding it open`, async () => {
      await withServer(mode.start, async (server) => {
        // Traffic first, so every worker has joined, shared and started its timers.
        await runConcurrently(40, 4, (i) => send(server.origin, i));
        const metrics = await scrapeFresh(server.origin, "/metrics");
        assert.equal(workersIn(metrics, "deno_heap_size_used_bytes").size, WORKERS);
        server.signal("SIGTERM");
        // deno serve takes 1-2 s to stop on this machine, and never stops while
        // a worker holds a timer or channel open; main.ts would stop after its
        // 10 s drain limit, saying so. 30 s is only there so a hang fails.
        const exit = await within(server.exited, 30_000);
        assert.notEqual(exit, "timeout", "still running 30 s after SIGTERM");
        assert.deepEqual(exit, { code: 0, signal: null });
        // main.ts says how it stopped: every thread drained, none cut off at the limit.
        if (drains) assert.match(server.stderr(), /^stopped$/m);
      });
    });
  }
});

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`cluster server tests skipped: ${DENO_ONLY}`, { skip: true }, () => {});
