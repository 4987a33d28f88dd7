/**
 * The load generator of `soak.ts`: ordinary requests and label floods over
 * keep-alive connections to the exporter on 127.0.0.1 (`_http_client.ts`'s
 * raw HTTP/1.1 client: `fetch` would cost the shared 2-core machine several
 * times more CPU per request).
 *
 * Every request is one of {@linkcode KINDS}, in a fixed seeded order:
 *
 * - ordinary: `/`, `/healthz`, and the demo routes with the demo's own
 *   feature names and action types (bounded label values);
 * - floods, each with a label value never sent before: random paths that no
 *   route serves (`handler="none"` in the HTTP metrics, never a series of
 *   their own), workspace sizes of random user ids
 *   (`workspace_size_bytes{user_id}`), random feature names
 *   (`feature_usage_total` and `feature_duration_seconds{feature_name}`),
 *   random action types (`user_action_*{action_type}`), random reasons of
 *   failed logins (`user_auth_failures_total{reason}`). The series caps must
 *   fold them once a metric holds 10,000 series in a server thread.
 *
 * It starts with a fill: the capped floods only, as fast as the server
 * answers, until each has sent `fill` values (enough for every server thread
 * to reach its caps) or `fill-seconds` have passed, then prints
 * `{"filled": seconds, "complete": true|false}`. Then the whole mix at
 * `rate` requests per second, the floods going on (every new value now
 * folded into the overflow series).
 *
 * Each connection is replaced by a new one after about 200 requests, so the
 * kernel spreads the traffic evenly over the server threads sharing the port
 * (and connections come and go, as they do in production).
 *
 * Bounded: the fill by its count and time, the rest by `rate × seconds`
 * requests; it stops at its deadline, on SIGINT or SIGTERM, or when its stdin
 * closes (the bench that started it is gone), whichever comes first; a
 * request unanswered after 10 s closes its connection and counts as an error.
 * It then prints one JSON line ({@linkcode LoadReport}) and exits.
 *
 * Run: `deno run --allow-net=127.0.0.1 bench/_soak_load.ts <port> <rate>
 * <seconds> <connections> <seed> <fill> <fill-seconds>`.
 *
 * @module
 */

import { HttpConnection } from "./_http_client.ts";
import { ACTIONS, FEATURES } from "../demo/traffic.ts";

/** One kind of request: how often, what path, what status it must get. */
export interface Kind {
  name: string;
  /** Share of the requests (weights are normalised). */
  weight: number;
  /** Whether each request tries to create a new label value. */
  flood: boolean;
  /** Whether that value lands in a label a series cap bounds (not a path: `handler="none"`). */
  capped: boolean;
  /** The status every answer must have. */
  expect: number;
  /** Path and query of the next request; `id` is unique per request, `rand` seeded. */
  path: (id: string, rand: () => number) => string;
}

/** Random paths of several shapes, some close to real routes; none is served. */
const RANDOM_PATHS: readonly ((id: string) => string)[] = [
  (id) => `/${id}`,
  (id) => `/api/${id}`,
  (id) => `/api/features/${id}/run`, // one segment too many for /api/features/:name
  (id) => `/api/workspaces/${id}/files`,
  (id) => `/metrics/${id}`,
  (id) => `/static/${id}.js`,
  (id) => `/wp-admin/${id}.php`,
];

/**
 * The mix, in percent: 25 ordinary, 75 floods (11 random paths, 64 user-supplied
 * label values: at 4,000 requests/s, 640/s for each capped metric).
 */
export const KINDS: readonly Kind[] = [
  { name: "`/`", weight: 5, flood: false, capped: false, expect: 200, path: () => "/" },
  {
    name: "`/healthz`",
    weight: 8,
    flood: false,
    capped: false,
    expect: 200,
    path: () => "/healthz",
  },
  {
    name: "demo feature (known name)",
    weight: 6,
    flood: false,
    capped: false,
    expect: 200,
    path: (_, rand) => `/api/features/${FEATURES[Math.floor(rand() * FEATURES.length)].name}`,
  },
  {
    name: "demo action (known type)",
    weight: 6,
    flood: false,
    capped: false,
    expect: 200,
    path: (_, rand) => `/api/actions/${ACTIONS[Math.floor(rand() * ACTIONS.length)].type}`,
  },
  {
    name: "flood: random path (404)",
    weight: 11,
    flood: true,
    capped: false,
    expect: 404,
    path: (id, rand) => RANDOM_PATHS[Math.floor(rand() * RANDOM_PATHS.length)](id),
  },
  {
    name: "flood: workspace of a random user id",
    weight: 16,
    flood: true,
    capped: true,
    expect: 200,
    path: (id, rand) => `/api/workspaces/user-${id}?bytes=${Math.floor(rand() * 2 ** 32)}`,
  },
  {
    name: "flood: random feature name",
    weight: 16,
    flood: true,
    capped: true,
    expect: 200,
    path: (id) => `/api/features/feature-${id}`,
  },
  {
    name: "flood: random action type",
    weight: 16,
    flood: true,
    capped: true,
    expect: 200,
    path: (id) => `/api/actions/action-${id}`,
  },
  {
    name: "flood: random failed-login reason (401)",
    weight: 16,
    flood: true,
    capped: true,
    expect: 401,
    path: (id) => `/api/login?ok=0&reason=reason-${id}`,
  },
];

/** What one kind of request got. */
export interface KindCounts {
  /** Requests written to a connection. */
  sent: number;
  /** Responses with the expected status. */
  ok: number;
  /** Responses with another status. */
  unexpected: number;
  /** No response: connection closed, or no answer within 10 s. */
  failed: number;
  /** Not sent: the connection could not be opened. */
  connectFailed: number;
  /** Still unanswered when the run ended (at most one per connection). */
  inFlight: number;
}

/** The one line the generator prints. */
export interface LoadReport {
  seconds: number;
  /** How long the fill took; absent when the run ended first. */
  fillSeconds: number | undefined;
  /** Whether the fill sent all its values (not cut short by its time limit). */
  fillComplete: boolean;
  /** Requests sent in the fill. */
  fillRequests: number;
  /** Per kind, in the order of {@linkcode KINDS}. */
  kinds: KindCounts[];
  /** Up to 5 examples of what went wrong. */
  examples: string[];
}

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A cycle of about 200 kind indices (of `KINDS`) in the weights' proportions, shuffled. */
function schedule(rand: () => number, only: (k: Kind) => boolean): number[] {
  const total = KINDS.filter(only).reduce((n, k) => n + k.weight, 0);
  const out: number[] = [];
  KINDS.forEach((k, i) => {
    if (only(k)) { for (let n = Math.round((k.weight / total) * 200); n > 0; n--) out.push(i); }
  });
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Requests per connection on average (between half and 1.5 times this), then a
 * new one: the kernel hands each new connection to one of the server threads
 * sharing the port, so a few long-lived connections could leave one thread
 * with most of the traffic (and its caps filling long after the other's).
 */
const CONNECTION_REQUESTS = 200;

/** Options of {@linkcode runLoad}. */
export interface LoadOptions {
  port: number;
  /** Requests per second after the fill. */
  rate: number;
  /** The whole run, fill included. */
  seconds: number;
  connections: number;
  seed: number;
  /**
   * Fill first: floods only, as fast as the server answers, until each
   * user-supplied-value kind has sent this many values (0: no fill).
   */
  fill: number;
  /** The fill stops after this many seconds even if not complete. */
  fillSeconds: number;
  signal: AbortSignal;
  /** Called once the fill is over, with its length in seconds and whether it was complete. */
  onFilled?: (seconds: number, complete: boolean) => void;
}

/**
 * Sends floods to `127.0.0.1:port` until the fill is done, then the mix at
 * `rate` requests per second (at most `rate × seconds` requests), over
 * `connections` connections, until the deadline or `signal`.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const { port, rate, seconds, connections, seed, fill, signal } = options;
  const rand = seeded(seed);
  const mix = schedule(rand, () => true);
  const floods = schedule(rand, (k) => k.capped);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const kinds: KindCounts[] = KINDS.map(() => ({
    sent: 0,
    ok: 0,
    unexpected: 0,
    failed: 0,
    connectFailed: 0,
    inFlight: 0,
  }));
  const filled = (): boolean => KINDS.every((k, i) => !k.capped || kinds[i].sent >= fill);
  const examples: string[] = [];
  const note = (text: string) => {
    if (examples.length < 5) examples.push(text);
  };
  const open = new Set<HttpConnection>();
  const stopped = () => signal.aborted || performance.now() >= deadline;
  // Closing the connections ends any request still waiting for its answer.
  const closeAll = () => {
    for (const c of open) c.close();
  };
  signal.addEventListener("abort", closeAll, { once: true });
  const deadlineTimer = setTimeout(closeAll, seconds * 1000 + 50);
  const prefix = seed.toString(36);
  let filling = fill > 0;
  let fillSent = 0;
  let steadyStart = started;
  let budget = Math.floor(rate * seconds);
  let next = 0;
  let unique = 0;
  let fillRequests = 0;
  let fillComplete = fill <= 0;
  const fillDeadline = started + options.fillSeconds * 1000;
  const endFill = (complete: boolean) => {
    filling = false;
    fillComplete = complete;
    fillRequests = kinds.reduce((n, c) => n + c.sent, 0);
    steadyStart = performance.now();
    budget = Math.floor(rate * (deadline - steadyStart) / 1000);
    options.onFilled?.((steadyStart - started) / 1000, complete);
  };

  const loop = async () => {
    let conn: HttpConnection | undefined;
    let left = 0; // requests before this connection is replaced
    while (!stopped()) {
      let k: number;
      if (filling && performance.now() >= fillDeadline) endFill(false);
      if (filling) {
        k = floods[fillSent++ % floods.length];
      } else {
        if (next >= budget) break;
        const n = next++;
        // Request n is due n / rate seconds after the fill; one that is late goes at once.
        const wait = steadyStart + (n * 1000) / rate - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        if (stopped()) break;
        k = mix[n % mix.length];
      }
      const kind = KINDS[k];
      const id = `${prefix}${(unique++).toString(36)}${Math.floor(rand() * 2 ** 32).toString(16)}`;
      const path = kind.path(id, rand);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let written = false;
      try {
        if (conn !== undefined && left-- <= 0) {
          conn.close();
          open.delete(conn);
          conn = undefined;
        }
        if (conn === undefined) {
          conn = await HttpConnection.open(port);
          open.add(conn);
          left = CONNECTION_REQUESTS / 2 + Math.floor(rand() * CONNECTION_REQUESTS);
        }
        const c: HttpConnection = conn;
        timer = setTimeout(() => c.close(), REQUEST_TIMEOUT_MS);
        kinds[k].sent++;
        written = true;
        if (filling && filled()) endFill(true);
        const res = await c.get(path);
        if (res.status === kind.expect) kinds[k].ok++;
        else {
          kinds[k].unexpected++;
          note(`${path}: status ${res.status}`);
        }
      } catch (error) {
        if (stopped()) {
          // Cut short by the end of the run: in flight, neither answered nor failed.
          if (written) kinds[k].inFlight++;
          break;
        }
        if (written) kinds[k].failed++;
        else kinds[k].connectFailed++;
        note(`${path}: ${error instanceof Error ? error.message : String(error)}`);
        conn?.close();
        if (conn !== undefined) open.delete(conn);
        conn = undefined;
      } finally {
        clearTimeout(timer);
      }
    }
    conn?.close();
    if (conn !== undefined) open.delete(conn);
  };

  try {
    await Promise.all(Array.from({ length: connections }, loop));
  } finally {
    clearTimeout(deadlineTimer);
    signal.removeEventListener("abort", closeAll);
  }
  return {
    seconds: (performance.now() - started) / 1000,
    fillSeconds: filling ? undefined : (steadyStart - started) / 1000,
    fillComplete,
    fillRequests: filling ? kinds.reduce((n, c) => n + c.sent, 0) : fillRequests,
    kinds,
    examples,
  };
}

if (import.meta.main) {
  const [port, rate, seconds, connections, seed, fill, fillSeconds] = Deno.args.map(Number);
  if (
    Deno.args.length !== 7 ||
    ![port, rate, seconds, connections, seed].every((x) => x > 0 && Number.isFinite(x)) ||
    ![fill, fillSeconds].every((x) => x >= 0 && Number.isFinite(x))
  ) {
    console.error(
      "usage: _soak_load.ts <port> <rate> <seconds> <connections> <seed> <fill> <fill-seconds>",
    );
    Deno.exit(2);
  }
  const stop = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => stop.abort());
  }
  // The bench holds our stdin: when it is gone, so are we.
  (async () => {
    try {
      for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
    } catch { /* closed */ }
    stop.abort();
  })();
  const report = await runLoad({
    port,
    rate,
    seconds,
    connections,
    seed,
    fill,
    fillSeconds,
    signal: stop.signal,
    onFilled: (s, complete) => console.log(JSON.stringify({ filled: s, complete })),
  });
  console.log(JSON.stringify(report));
  Deno.exit(0);
}
