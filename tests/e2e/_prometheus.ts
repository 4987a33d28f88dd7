/**
 * Helpers for the end-to-end test against a real Prometheus (Debian's
 * `prometheus` package, 2.42): a temporary configuration generated from the
 * repository's prometheus.yml, the `prometheus` process on a free loopback
 * port, its HTTP API, and a loopback scrape proxy that records (and can
 * rewrite) content negotiation.
 *
 * Deno only (`Deno.Command`, `Deno.serve`, `Deno.listen`); the test that uses
 * them skips under other runtimes.
 *
 * @module
 */

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { REPO_ROOT, ruleFiles } from "../operations/_dashboards.ts";
import { parseYaml } from "../operations/_yaml.ts";
import { probeTool } from "../_support/tools.ts";

/** Why `prometheus` cannot run here, or `""` when it can. */
export const prometheusMissing: string = probeTool("prometheus", ["--version"]);

/** Whether a `prometheus` binary is on PATH and runs. */
export const hasPrometheus: boolean = prometheusMissing === "";

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------
// Configuration

/** One scrape job of prometheus.yml, as far as the test reads it. */
export interface ScrapeJob {
  job_name: string;
  metrics_path?: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  static_configs: { targets: string[]; labels?: Record<string, string> }[];
  [key: string]: unknown;
}

/** prometheus.yml, as far as the test reads it. */
export interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs: ScrapeJob[];
  [key: string]: unknown;
}

/** The repository's prometheus.yml, parsed. */
export function repositoryConfig(): PrometheusConfig {
  return parseYaml(readFileSync(join(REPO_ROOT, "prometheus.yml"), "utf8")) as PrometheusConfig;
}

/**
 * Writes into `dir` a configuration derived from prometheus.yml: the same
 * jobs (names, paths, everything else) and the same `rule_files` globs, with
 * the rule files copied beside it so the globs resolve as they do in the
 * repository; every target rewritten to `target`; scrape and evaluation
 * every `interval`. Returns the configuration file's path.
 *
 * JSON is YAML, so the file is written as JSON. The values parsed from
 * prometheus.yml are all strings; a boolean or number added there later
 * would reach Prometheus quoted and be refused loudly, not misread.
 */
export function writeTestConfig(dir: string, target: string, interval: string): string {
  const source = repositoryConfig();
  mkdirSync(join(dir, "rules"), { recursive: true });
  for (const file of ruleFiles()) {
    copyFileSync(join(REPO_ROOT, file), join(dir, "rules", basename(file)));
  }
  const config: PrometheusConfig = {
    ...source,
    global: {
      ...source.global,
      scrape_interval: interval,
      evaluation_interval: interval,
      scrape_timeout: interval,
    },
    scrape_configs: source.scrape_configs.map((job) => ({
      ...job,
      scrape_interval: interval,
      ...(job.scrape_timeout === undefined ? {} : { scrape_timeout: interval }),
      static_configs: job.static_configs.map((sc) => ({
        ...sc,
        targets: sc.targets.map(() => target),
      })),
    })),
  };
  const file = join(dir, "prometheus.yml");
  writeFileSync(file, JSON.stringify(config, null, 2) + "\n");
  return file;
}

// ---------------------------------------------------------------------------
// Processes

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A child process with its output collected. */
export interface Child {
  /** Everything it wrote to stdout and stderr so far (the last 256 KiB). */
  output(): string;
  /** Whether it still runs. */
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `command` with its output collected (Deno.Command). */
export function spawnChild(command: string, args: string[], cwd: string): Child {
  const child = new Deno.Command(command, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let done = false;
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      output = (output + chunk).slice(-262144);
    }
  };
  const exited = Promise.all([child.status, drain(child.stdout), drain(child.stderr)]).then(
    () => {
      done = true;
    },
  );
  return {
    output: () => output,
    running: () => !done,
    stop: async (graceMs = 10_000) => {
      if (!done) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
        await Promise.race([exited, grace]);
        clearTimeout(timer);
        if (!done) {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }
      }
      await exited;
    },
  };
}

/** A running Prometheus. */
export interface Prometheus {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Its log so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` with `configFile` and a data directory of its own
 * (`dataDir`, fresh for each start: a reused one made Prometheus crash), on
 * a free port of 127.0.0.1, and waits until `/-/ready` answers 200. A port
 * taken between choosing and binding it is retried with another. `flags`
 * are added to its command line (`--enable-feature=...`).
 */
export async function startPrometheus(
  configFile: string,
  dataDir: string,
  flags: readonly string[] = [],
): Promise<Prometheus> {
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawnChild("prometheus", [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
      ...flags,
    ], dataDir);
    const end = Date.now() + 30_000;
    while (child.running() && Date.now() < end) {
      try {
        const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) });
        await r.body?.cancel();
        if (r.status === 200) return { url, output: child.output, stop: () => child.stop() };
      } catch { /* not listening yet */ }
      await sleep(100);
    }
    await child.stop();
    if (attempt < 3 && /address already in use/.test(child.output())) continue;
    throw new Error(`prometheus did not become ready on ${url}:\n${child.output().slice(-4000)}`);
  }
}

/**
 * A configuration with one job scraping `target` every second (timeout one
 * second too), for the tests that need a single target, not prometheus.yml.
 */
export function oneJobConfig(jobName: string, target: string): PrometheusConfig {
  return {
    global: { scrape_interval: "1s", scrape_timeout: "1s" },
    scrape_configs: [{ job_name: jobName, static_configs: [{ targets: [target] }] }],
  };
}

/**
 * Runs `body` against a Prometheus started with `flags` in a fresh temporary
 * directory, then stops it and removes the directory, whatever happened.
 * `config` is written there as JSON, or is a function that writes a
 * configuration into the directory and returns its path (`writeTestConfig`).
 */
export async function withPrometheus(
  config: PrometheusConfig | ((dir: string) => string),
  flags: readonly string[],
  body: (prometheus: Prometheus) => Promise<void>,
): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "securetrack-prometheus-"));
  let prometheus: Prometheus | undefined;
  try {
    let file: string;
    if (typeof config === "function") {
      file = config(tmp);
    } else {
      file = join(tmp, "prometheus.yml");
      writeFileSync(file, JSON.stringify(config));
    }
    mkdirSync(join(tmp, "data"));
    prometheus = await startPrometheus(file, join(tmp, "data"), flags);
    await body(prometheus);
  } finally {
    await prometheus?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// HTTP API

/** One series of a query result. */
export interface ApiSeries {
  metric: Record<string, string>;
  /** Instant vector: `[time, "value"]`. */
  value?: [number, string];
  /** Range query: the points. */
  values?: [number, string][];
}

async function api<T>(base: string, path: string, params: Record<string, string>): Promise<T> {
  const url = `${base}/api/v1/${path}?${new URLSearchParams(params)}`;
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = await r.json() as { status: string; data: T; error?: string; errorType?: string };
  if (body.status !== "success") {
    throw new Error(`${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
  }
  return body.data;
}

/** An instant query at `time` (default: now). Scalars come back as one unlabelled series. */
export async function query(base: string, expr: string, time?: number): Promise<ApiSeries[]> {
  const params: Record<string, string> = { query: expr };
  if (time !== undefined) params.time = String(time);
  const data = await api<{ resultType: string; result: unknown }>(base, "query", params);
  if (data.resultType === "scalar" || data.resultType === "string") {
    return [{ metric: {}, value: data.result as [number, string] }];
  }
  return data.result as ApiSeries[];
}

/** A range query over the last `seconds`, one point every `step` seconds. */
export async function queryRange(
  base: string,
  expr: string,
  seconds: number,
  step: number,
): Promise<ApiSeries[]> {
  const end = Date.now() / 1000;
  const data = await api<{ result: ApiSeries[] }>(base, "query_range", {
    query: expr,
    start: String(end - seconds),
    end: String(end),
    step: String(step),
  });
  return data.result;
}

/** The value of an instant query that must return exactly one series. */
export async function scalarOf(base: string, expr: string): Promise<number> {
  const result = await query(base, expr);
  if (result.length !== 1 || result[0].value === undefined) {
    throw new Error(`${expr}: expected one series, got ${JSON.stringify(result)}`);
  }
  return Number(result[0].value[1]);
}

/** One scrape target as `/api/v1/targets` reports it. */
export interface ApiTarget {
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
  lastScrape: string;
}

/** The active targets. */
export async function targets(base: string): Promise<ApiTarget[]> {
  const data = await api<{ activeTargets: ApiTarget[] }>(base, "targets", { state: "active" });
  return data.activeTargets;
}

/** One rule as `/api/v1/rules` reports it. */
export interface ApiRule {
  name: string;
  type: "recording" | "alerting";
  health: string;
  lastError?: string;
  query: string;
}

/** Every loaded rule, with its group's name. */
export async function rules(base: string): Promise<(ApiRule & { group: string })[]> {
  const data = await api<{ groups: { name: string; rules: ApiRule[] }[] }>(base, "rules", {});
  return data.groups.flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
}

// ---------------------------------------------------------------------------
// Scrape proxy

/** One scrape the proxy relayed. */
export interface RelayedScrape {
  path: string;
  /** `Accept` as Prometheus sent it. */
  acceptReceived: string | null;
  /** `Accept` as forwarded to the exporter. */
  acceptForwarded: string | null;
  /** `Content-Type` the exporter answered with. */
  contentType: string | null;
  status: number;
}

/** A running scrape proxy. */
export interface ScrapeProxy {
  /** `127.0.0.1:PORT`, the target to give Prometheus. */
  readonly target: string;
  /** Every scrape relayed so far. */
  readonly relayed: readonly RelayedScrape[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of `origin` that records the content
 * negotiation of every scrape and, with `forceAccept`, replaces the
 * `Accept` header Prometheus sends by that value.
 *
 * Prometheus 2.42 cannot be told to scrape text 0.0.4: its promtool refuses
 * both `scrape_protocols` (added in 2.49) and `http_headers` in a scrape
 * config ("field ... not found in type config.ScrapeConfig"), and its one
 * negotiation switch, `--enable-feature=native-histograms`, only puts
 * protobuf first (`application/vnd.google.protobuf;...,application/
 * openmetrics-text;version=1.0.0;q=0.8,...,text/plain;version=0.0.4;q=0.5`),
 * still above text. So the test puts this proxy between Prometheus and the
 * exporter and rewrites `Accept` to `text/plain;version=0.0.4`, what 2.49+
 * sends for `scrape_protocols: [PrometheusText0.0.4]`.
 *
 * `Accept-Encoding` is not forwarded (fetch negotiates and decompresses on
 * its own), so the body is relayed uncompressed.
 */
export function startScrapeProxy(origin: string, forceAccept?: string): Promise<ScrapeProxy> {
  const relayed: RelayedScrape[] = [];
  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    headers.delete("accept-encoding");
    if (forceAccept !== undefined) headers.set("accept", forceAccept);
    const response = await fetch(origin + url.pathname + url.search, {
      method: request.method,
      headers,
      signal: AbortSignal.timeout(10_000),
    });
    const body = await response.arrayBuffer();
    relayed.push({
      path: url.pathname,
      acceptReceived: request.headers.get("accept"),
      acceptForwarded: headers.get("accept"),
      contentType: response.headers.get("content-type"),
      status: response.status,
    });
    const out = new Headers(response.headers);
    out.delete("content-encoding");
    out.delete("content-length");
    return new Response(body, { status: response.status, headers: out });
  };
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) =>
        resolve({
          target: `127.0.0.1:${port}`,
          relayed,
          close: () => server.shutdown(),
        }),
    }, handler);
  });
}
