/**
 * Helpers for the cluster tests: `deno serve --parallel` as a subprocess,
 * requests that each open a new connection (so the kernel spreads them over
 * the server's threads), and counter snapshots for monotonicity checks.
 *
 * Deno only (the servers under test are Deno's); the test files skip under Bun.
 *
 * @module
 */

import { type Family, parseText, seriesKey } from "../_support/parse.ts";
import { isDeno, type MainProcess, spawnDeno, waitForListening } from "../app/_support.ts";

export { isDeno };

/** Why a Deno-only cluster test does not run under Bun. */
export const DENO_ONLY: string | false = !isDeno &&
  "shared-memory workers are Deno's (deno serve --parallel, Web Worker threads); run under deno test";

/** A running `deno serve --parallel`. */
export type ServeProcess = MainProcess;

/**
 * Starts `DENO_JOBS=jobs deno serve --parallel --port 0 --host 127.0.0.1
 * <flags> <module>` (module relative to the repository root) and waits for
 * its "Listening on" line. Callers `kill()` it in `finally`.
 */
export async function startServe(
  module: string,
  flags: readonly string[],
  jobs: number,
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const child = spawnDeno(
    ["serve", "--parallel", "--port", "0", "--host", "127.0.0.1", ...flags, module],
    { DENO_JOBS: String(jobs), ...env },
  );
  return await waitForListening(child, /Listening on (http:\/\/127\.0\.0\.1:\d+)\//, "deno serve");
}

/**
 * Fetches `url` on a connection of its own (`Connection: close`: the client
 * does not keep it, the server closes it), and reads the whole body.
 */
export async function fetchFresh(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const headers = new Headers(init.headers);
  headers.set("connection", "close");
  const res = await fetch(url, { ...init, headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Scrapes `origin + path` on a new connection and parses the text format. */
export async function scrapeFresh(origin: string, path: string): Promise<Family[]> {
  const res = await fetchFresh(origin + path);
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${res.body}`);
  return parseText(res.body);
}

/**
 * Every sample that may only go up: all samples of counters, and the
 * `_bucket`, `_count` and `_sum` samples of histograms and the `_count` and
 * `_sum` of summaries (every observation in this exporter is >= 0), by series key.
 */
export function monotonicSamples(families: readonly Family[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of families) {
    for (const s of f.samples) {
      const cumulative = f.type === "counter" ||
        (f.type === "histogram" && /_(bucket|count|sum)$/.test(s.name)) ||
        (f.type === "summary" && /_(count|sum)$/.test(s.name));
      if (cumulative) out.set(seriesKey(s.name, s.labels), s.value);
    }
  }
  return out;
}

/**
 * Throws unless every series of `before` is in `after` with a value at least
 * as large; returns how many series were compared. `what` names the scrapes.
 */
export function assertMonotonic(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  what: string,
): number {
  const problems: string[] = [];
  for (const [key, was] of before) {
    const now = after.get(key);
    if (now === undefined) problems.push(`${key} disappeared (was ${was})`);
    else if (!(now >= was)) problems.push(`${key} went from ${was} to ${now}`);
  }
  if (problems.length > 0) {
    throw new Error(`${what}: not monotonic:\n  ${problems.slice(0, 20).join("\n  ")}`);
  }
  return before.size;
}

/** Runs `task(i)` for i in [0, count) over `concurrency` loops. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await task(next++);
  }));
}

/** Resolves to the promise's value, or to "timeout" after `ms` (the timer is cleared). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until `consecutive` scrapes of `/metrics` in a row, each on a new
 * connection, show `workers` distinct `worker` values of `deno_version_info`
 * (every answering worker has met every other); at most `timeoutMs`.
 *
 * `deno serve --parallel` prints its "Listening on" line when its first
 * worker listens: the others are still starting (loading the module,
 * joining the cluster) for a few hundred milliseconds on this machine, and a
 * worker that has not met its peers yet reports only its own metrics.
 *
 * Returns how many scrapes it made (they count in the HTTP metrics).
 */
export async function waitForCluster(
  origin: string,
  workers: number,
  consecutive = 10,
  // Meeting takes well under 1 s on an idle machine, a few seconds on a loaded one.
  timeoutMs = 30_000,
): Promise<number> {
  const end = Date.now() + timeoutMs;
  let streak = 0;
  let seen = 0;
  let scrapes = 0;
  while (streak < consecutive) {
    const families = await scrapeFresh(origin, "/metrics");
    scrapes++;
    const info = families.find((f) => f.name === "deno_version_info");
    seen = new Set(info?.samples.map((s) => s.labels.worker)).size;
    streak = seen === workers ? streak + 1 : 0;
    if (Date.now() > end) {
      throw new Error(`the ${workers} workers did not all meet in ${timeoutMs} ms (last: ${seen})`);
    }
  }
  return scrapes;
}

/** A client with its own connection pool: its requests reuse one connection, so one worker. */
export interface Pinned {
  client: Deno.HttpClient;
  /** The worker holding the connection (its `X-Worker` header). */
  worker: string;
}

/**
 * GETs `server.origin + path` (on `client`'s connection if given); it must
 * answer 200. Returns the worker that answered (`X-Worker`) and the body.
 */
export async function getVia(
  server: ServeProcess,
  path: string,
  client?: Deno.HttpClient,
): Promise<{ worker: string; body: string }> {
  const res = await fetch(server.origin + path, client ? { client } : {});
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${body}`);
  return { worker: res.headers.get("x-worker") ?? "", body };
}

/**
 * Opens clients until one holds a connection to each of `workers` workers
 * (for at most 20 s: `deno serve` says it listens when its first worker
 * does, and the kernel can only spread connections over the workers
 * listening by then). The test server must answer `/cluster` with an
 * `X-Worker` header. Every client opened is in `clients`, for the caller to
 * close in `finally`.
 */
export async function pinEveryWorker(
  server: ServeProcess,
  workers: number,
  clients: Deno.HttpClient[],
): Promise<Pinned[]> {
  const pinned = new Map<string, Pinned>();
  const deadline = Date.now() + 20_000;
  while (pinned.size < workers && Date.now() < deadline) {
    const client = Deno.createHttpClient({});
    clients.push(client);
    const { worker } = await getVia(server, "/cluster", client);
    if (!pinned.has(worker)) pinned.set(worker, { client, worker });
    else await new Promise((r) => setTimeout(r, 10));
  }
  if (pinned.size !== workers) {
    throw new Error(`connections reached ${pinned.size} distinct workers of ${workers} in 20 s`);
  }
  return [...pinned.values()];
}

/**
 * Waits (at most 20 s) until every pinned worker's `/cluster` answer says it
 * shares its metrics with all `pinned.length - 1` others.
 */
export async function untilJoined(server: ServeProcess, pinned: readonly Pinned[]): Promise<void> {
  const end = Date.now() + 20_000;
  for (const p of pinned) {
    for (;;) {
      const r = await getVia(server, "/cluster", p.client);
      if (r.worker !== p.worker) throw new Error("a pinned connection moved to another worker");
      const state = JSON.parse(r.body) as { shared: boolean; peers: number };
      if (state.shared && state.peers === pinned.length - 1) break;
      if (Date.now() > end) throw new Error(`worker ${p.worker} did not join in 20 s: ${r.body}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
