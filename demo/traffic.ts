/**
 * Demo traffic for the exporter's `--demo` routes (`app/demo.ts`):
 * simulated users who register, log in (sometimes failing), use features,
 * act, upload to their workspaces, ask the LLM, hit a few wrong URLs and log
 * out, so that every metric of the catalogue moves.
 *
 * It opens with a short tour, a fixed sequence touching every kind of
 * request and every outcome once (each failure reason, a failing feature,
 * a rate-limited and a failed LLM call, a 404, ...), so that even a short run
 * fills every dashboard panel; then `concurrency` simulated users run
 * seeded random visits until the request budget or the time is used up.
 *
 * Sessions never go below zero: a user logs out only after one of its own
 * logins has been answered. Each workspace belongs to one user, so its last
 * size sent is the size the server holds.
 *
 * LLM calls carry a `[fake:...]` directive for the built-in fake API
 * (`fake_llm.ts`) that says how the call ends (a 429, a 500, a delay, a
 * completion length); a real API ignores it as part of the prompt.
 *
 * Uses `fetch` only; no runtime-specific API.
 *
 * @module
 */

import { directive } from "./fake_llm.ts";

/** What a request was for. */
export type RequestKind =
  | "register"
  | "login"
  | "login_failed"
  | "logout"
  | "feature"
  | "action"
  | "workspace"
  | "llm"
  | "not_found";

/** One request the generator sent, with how it was answered. */
export interface SentRequest {
  kind: RequestKind;
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** HTTP status, or 0 when no response came (connection refused, reset, timeout). */
  status: number;
  /** Milliseconds until the response body was read. */
  ms: number;
  /** For status 0: what went wrong. */
  error?: string;
}

/** Options of {@linkcode runTraffic}. */
export interface TrafficOptions {
  /** The server's origin, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Stop after this many requests (default: no limit, `durationSeconds` bounds the run). */
  requests?: number;
  /** Stop starting requests after this many seconds (default 60, or no limit when `requests` is set). */
  durationSeconds?: number;
  /** Requests per second over all users; 0 means as fast as the server answers (default 20). */
  rate?: number;
  /** Simulated users sending at once (default 8). */
  concurrency?: number;
  /** Seed of the random choices (default 1). */
  seed?: number;
  /** Factor on every simulated delay (feature, action and LLM times; default 1). */
  latencyScale?: number;
  /** Aborts the run: no new request starts, in-flight ones are cancelled. */
  signal?: AbortSignal;
  /** Called after each response (for progress output). */
  onResponse?: (request: SentRequest) => void;
  /** Milliseconds one request may take before it is cancelled (default 30,000). */
  requestTimeoutMs?: number;
}

/** What a run did. */
export interface TrafficResult {
  /** Every request, in the order the responses arrived. */
  sent: SentRequest[];
  /** Wall time of the run. */
  seconds: number;
  /** Sessions logged in and not logged out at the end. */
  sessionsOpen: number;
}

/** Features of the demo application: typical time (ms), failure odds, complexity range. */
export const FEATURES: readonly {
  name: string;
  method: string;
  medianMs: number;
  failRate: number;
  complexity?: readonly [number, number];
}[] = [
  { name: "threat_analysis", method: "POST", medianMs: 400, failRate: 0.08, complexity: [30, 100] },
  {
    name: "vulnerability_scan",
    method: "POST",
    medianMs: 250,
    failRate: 0.05,
    complexity: [15, 85],
  },
  { name: "compliance_check", method: "POST", medianMs: 180, failRate: 0.06, complexity: [0, 60] },
  { name: "report_export", method: "POST", medianMs: 120, failRate: 0.03 },
  { name: "dashboard_view", method: "GET", medianMs: 25, failRate: 0.01 },
  { name: "search", method: "GET", medianMs: 12, failRate: 0.005 },
];

/** User actions of the demo application, with their typical time (ms). */
export const ACTIONS: readonly { type: string; medianMs: number }[] = [
  { type: "document_upload", medianMs: 300 },
  { type: "export_report", medianMs: 150 },
  { type: "share_workspace", medianMs: 40 },
  { type: "comment", medianMs: 10 },
  { type: "settings_change", medianMs: 5 },
];

/** Reasons of failed logins, with their weights. */
export const AUTH_FAILURE_REASONS: readonly { reason: string; weight: number }[] = [
  { reason: "invalid_password", weight: 0.6 },
  { reason: "unknown_user", weight: 0.2 },
  { reason: "mfa_failed", weight: 0.12 },
  { reason: "account_locked", weight: 0.08 },
];

/** Users with a workspace. */
export const WORKSPACE_USERS: readonly string[] = [
  "alice",
  "bob",
  "carol",
  "dave",
  "erin",
  "frank",
  "grace",
  "heidi",
];

/** Paths no route serves. */
export const NOT_FOUND_PATHS: readonly string[] = [
  "/favicon.ico",
  "/wp-login.php",
  "/api/v2/login",
  "/api/features",
  "/.env",
];

const PROMPTS: readonly string[] = [
  "Summarise the latest threat report for the board.",
  "List the STRIDE threats of the payment service's data flow.",
  "Suggest mitigations for the exposed admin endpoint.",
  "Explain this finding to a developer: session token in the URL.",
  "Draft a risk statement for the vendor's missing MFA.",
  "Which controls cover tampering with audit logs?",
];

/** The odds of each LLM outcome in random visits. */
const LLM_RATE_LIMITED = 0.07;
const LLM_SERVER_ERROR = 0.04;
const LLM_STREAMED = 0.35;

/** mulberry32: a small seeded generator of floats in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A duration around `median`, log-normally spread (most near it, a long tail). */
function around(rand: () => number, median: number): number {
  const u1 = Math.max(rand(), 1e-9);
  const u2 = rand();
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return median * Math.exp(0.6 * normal);
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)];
}

function weighted(rand: () => number): string {
  let r = rand();
  for (const { reason, weight } of AUTH_FAILURE_REASONS) {
    if ((r -= weight) < 0) return reason;
  }
  return AUTH_FAILURE_REASONS[0].reason;
}

/** Thrown inside a visit when the run is over (budget, time or abort). */
class Stop extends Error {
  constructor() {
    super("traffic run is over");
    this.name = "Stop";
  }
}

/** A request about to be sent. */
interface Planned {
  kind: RequestKind;
  method: string;
  path: string;
}

/** Builds the request paths, with simulated delays scaled. */
class Requests {
  readonly #scale: number;
  constructor(scale: number) {
    this.#scale = scale;
  }

  #ms(ms: number): number {
    return Math.round(ms * this.#scale);
  }

  register(): Planned {
    return { kind: "register", method: "POST", path: "/api/register" };
  }
  login(): Planned {
    return { kind: "login", method: "POST", path: "/api/login" };
  }
  loginFailed(reason: string): Planned {
    return {
      kind: "login_failed",
      method: "POST",
      path: `/api/login?ok=0&reason=${encodeURIComponent(reason)}`,
    };
  }
  logout(): Planned {
    return { kind: "logout", method: "POST", path: "/api/logout" };
  }
  feature(
    f: (typeof FEATURES)[number],
    ms: number,
    fail: boolean,
    complexity: number | undefined,
  ): Planned {
    let path = `/api/features/${f.name}?ms=${this.#ms(ms)}`;
    if (complexity !== undefined) path += `&complexity=${complexity}`;
    if (fail) path += "&fail=1";
    return { kind: "feature", method: f.method, path };
  }
  action(type: string, ms: number): Planned {
    return { kind: "action", method: "POST", path: `/api/actions/${type}?ms=${this.#ms(ms)}` };
  }
  workspace(user: string, bytes: number): Planned {
    return {
      kind: "workspace",
      method: "PUT",
      path: `/api/workspaces/${encodeURIComponent(user)}?bytes=${Math.round(bytes)}`,
    };
  }
  llm(prompt: string, stream: boolean, status: number, ms: number, words: number): Planned {
    const text = `${prompt} ${directive({ status, ms: this.#ms(ms), words })}`;
    return {
      kind: "llm",
      method: "POST",
      path: `/api/llm/chat?prompt=${encodeURIComponent(text)}${stream ? "&stream=1" : ""}`,
    };
  }
  notFound(path: string): Planned {
    return { kind: "not_found", method: "GET", path };
  }
}

/**
 * Sends demo traffic to `options.url` until the budget or the time is used
 * up, and returns what was sent. Never throws for a failed request (it is
 * recorded with status 0); throws a `TypeError` for bad options.
 *
 * @example
 * ```ts ignore
 * import { runTraffic } from "./traffic.ts";
 * const { sent } = await runTraffic({ url: "http://127.0.0.1:8000", requests: 100 });
 * console.log(sent.length); // 100
 * ```
 */
export async function runTraffic(options: TrafficOptions): Promise<TrafficResult> {
  const origin = options.url.replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+$/.test(origin)) {
    throw new TypeError(`runTraffic: url must be an http(s) origin, got "${options.url}"`);
  }
  const budget = options.requests ?? Infinity;
  const duration = options.durationSeconds ?? (options.requests === undefined ? 60 : Infinity);
  const rate = options.rate ?? 20;
  const concurrency = options.concurrency ?? 8;
  const scale = options.latencyScale ?? 1;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  for (
    const [name, value, ok] of [
      ["requests", budget, budget >= 0],
      ["durationSeconds", duration, duration > 0],
      ["rate", rate, rate >= 0 && Number.isFinite(rate)],
      ["concurrency", concurrency, Number.isInteger(concurrency) && concurrency >= 1],
      ["latencyScale", scale, scale >= 0 && Number.isFinite(scale)],
    ] as const
  ) {
    if (!ok || Number.isNaN(value)) {
      throw new RangeError(`runTraffic: invalid ${name} ${value}`);
    }
  }

  const started = performance.now();
  const deadline = started + duration * 1000;
  const stopping = new AbortController();
  const onAbort = () => stopping.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stopping.abort();
  const sent: SentRequest[] = [];
  const build = new Requests(scale);
  let issued = 0;
  let nextSlot = started;
  let sessionsOpen = 0;

  const over = () => stopping.signal.aborted || issued >= budget || performance.now() >= deadline;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || stopping.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        stopping.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopping.signal.addEventListener("abort", done);
    });

  /** Sends one request (waiting for its rate slot); throws Stop when the run is over. */
  const send = async (p: Planned): Promise<number> => {
    if (rate > 0) {
      const now = performance.now();
      const at = Math.max(now, nextSlot);
      // A slot past the deadline is never used (checking the clock after the
      // sleep is not enough: Bun's timers can fire a little early).
      if (at >= deadline) throw new Stop();
      nextSlot = at + 1000 / rate;
      await sleep(at - now);
    }
    if (over()) throw new Stop();
    issued++;
    const t0 = performance.now();
    const record: SentRequest = { kind: p.kind, method: p.method, path: p.path, status: 0, ms: 0 };
    try {
      const response = await fetch(origin + p.path, {
        method: p.method,
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.arrayBuffer();
      record.status = response.status;
    } catch (error) {
      record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    record.ms = performance.now() - t0;
    sent.push(record);
    options.onResponse?.(record);
    return record.status;
  };

  /** A simulated user's sessions that are logged in and not yet logged out. */
  interface Sessions {
    open: number;
  }
  const login = async (s: Sessions): Promise<boolean> => {
    if (await send(build.login()) !== 200) return false;
    s.open++;
    sessionsOpen++;
    return true;
  };
  // Only ever after one of this user's own logins was answered: never below zero.
  const logout = async (s: Sessions): Promise<void> => {
    if (s.open === 0) return;
    await send(build.logout());
    s.open--;
    sessionsOpen--;
  };

  /** Sends `planned` at once; waits for all of them, then rethrows the first Stop or error. */
  const sendAll = async (planned: readonly Planned[]): Promise<void> => {
    const settled = await Promise.allSettled(planned.map(send));
    const failed = settled.find((r) => r.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  };

  // Every kind of request and outcome once, as one user with many tabs, so even
  // a short run fills every panel. Workspaces are set here, before the
  // simulated users start, so each still has one writer at a time.
  const tour = async (rand: () => number): Promise<void> => {
    const s: Sessions = { open: 0 };
    await sendAll([
      build.register(),
      ...AUTH_FAILURE_REASONS.map(({ reason }) => build.loginFailed(reason)),
    ]);
    await login(s);
    await sendAll([
      ...FEATURES.map((f) =>
        build.feature(
          f,
          around(rand, f.medianMs),
          false,
          f.complexity ? Math.round(f.complexity[0] + rand() * 30) : undefined,
        )
      ),
      build.feature(FEATURES[0], around(rand, FEATURES[0].medianMs), true, 50),
      ...ACTIONS.map((a) => build.action(a.type, around(rand, a.medianMs))),
      ...WORKSPACE_USERS.map((u) => build.workspace(u, 2 ** (20 + rand() * 10))),
      build.llm(PROMPTS[0], false, 200, 300, 60),
      build.llm(PROMPTS[1], true, 200, 500, 120),
      build.llm(PROMPTS[2], false, 429, 30, 0),
      build.llm(PROMPTS[3], true, 500, 60, 0),
      build.notFound(NOT_FOUND_PATHS[0]),
    ]);
    await logout(s);
  };

  /** One visit of a simulated user who owns the workspaces of `users`. */
  const visit = async (
    rand: () => number,
    s: Sessions,
    users: readonly string[],
  ): Promise<void> => {
    // A session left open long enough times out.
    if (s.open > 2) await logout(s);
    if (rand() < 0.12) await send(build.register());
    if (rand() < 0.15) {
      await send(build.loginFailed(weighted(rand)));
      if (rand() < 0.4) return;
    }
    if (!await login(s)) return;
    const steps = 2 + Math.floor(rand() * 7);
    for (let i = 0; i < steps; i++) {
      const r = rand();
      if (r < 0.42) {
        const f = pick(rand, FEATURES);
        const complexity = f.complexity
          ? Math.round(f.complexity[0] + rand() * (f.complexity[1] - f.complexity[0]))
          : undefined;
        await send(build.feature(f, around(rand, f.medianMs), rand() < f.failRate, complexity));
      } else if (r < 0.64) {
        const a = pick(rand, ACTIONS);
        await send(build.action(a.type, around(rand, a.medianMs)));
      } else if (r < 0.8) {
        const u = rand();
        const status = u < LLM_RATE_LIMITED
          ? 429
          : u < LLM_RATE_LIMITED + LLM_SERVER_ERROR
          ? 500
          : 200;
        const words = Math.round(around(rand, 90));
        await send(
          build.llm(pick(rand, PROMPTS), rand() < LLM_STREAMED, status, around(rand, 600), words),
        );
      } else if (r < 0.92 && users.length > 0) {
        await send(build.workspace(pick(rand, users), 2 ** (20 + rand() * 11)));
      } else {
        await send(build.notFound(pick(rand, NOT_FOUND_PATHS)));
      }
    }
    // Some sessions are left open (the user closed the tab); a later visit ends them.
    if (rand() < 0.8) await logout(s);
  };

  const user = async (id: number): Promise<void> => {
    const rand = seeded((options.seed ?? 1) * 1000 + id + 1);
    // Each workspace belongs to one simulated user, so its sizes arrive in order.
    const users = WORKSPACE_USERS.filter((_, i) => i % concurrency === id);
    const s: Sessions = { open: 0 };
    try {
      while (!over()) await visit(rand, s, users);
    } catch (error) {
      if (!(error instanceof Stop)) throw error;
    }
  };

  try {
    try {
      await tour(seeded(options.seed ?? 1));
    } catch (error) {
      if (!(error instanceof Stop)) throw error;
    }
    await Promise.all(Array.from({ length: concurrency }, (_, id) => user(id)));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  return { sent, seconds: (performance.now() - started) / 1000, sessionsOpen };
}

/** Counts of a run by kind and outcome, for the summary. */
export interface TrafficCounts {
  total: number;
  byKind: Record<RequestKind, number>;
  byStatusClass: Record<string, number>;
  authFailuresByReason: Record<string, number>;
  failedFeatures: number;
  llmStreamed: number;
  llmRateLimited: number;
  llmServerErrors: number;
  networkErrors: number;
}

/** Tallies `sent` (see {@linkcode TrafficCounts}). */
export function countTraffic(sent: readonly SentRequest[]): TrafficCounts {
  const byKind = Object.fromEntries(
    ([
      "register",
      "login",
      "login_failed",
      "logout",
      "feature",
      "action",
      "workspace",
      "llm",
      "not_found",
    ] as const).map((k) => [k, 0]),
  ) as Record<RequestKind, number>;
  const out: TrafficCounts = {
    total: sent.length,
    byKind,
    byStatusClass: {},
    authFailuresByReason: {},
    failedFeatures: 0,
    llmStreamed: 0,
    llmRateLimited: 0,
    llmServerErrors: 0,
    networkErrors: 0,
  };
  for (const r of sent) {
    byKind[r.kind]++;
    if (r.status === 0) out.networkErrors++;
    else {
      const cls = `${Math.floor(r.status / 100)}xx`;
      out.byStatusClass[cls] = (out.byStatusClass[cls] ?? 0) + 1;
    }
    const q = new URL(r.path, "http://x").searchParams;
    if (r.kind === "login_failed") {
      const reason = q.get("reason") ?? "";
      out.authFailuresByReason[reason] = (out.authFailuresByReason[reason] ?? 0) + 1;
    }
    if (r.kind === "feature" && q.get("fail") === "1") out.failedFeatures++;
    if (r.kind === "llm") {
      if (q.get("stream") === "1") out.llmStreamed++;
      const prompt = q.get("prompt") ?? "";
      if (prompt.includes("status=429")) out.llmRateLimited++;
      if (/status=5\d\d/.test(prompt)) out.llmServerErrors++;
    }
  }
  return out;
}

/** A few lines describing a run, for a terminal. */
export function summarize(result: TrafficResult, url: string): string {
  const c = countTraffic(result.sent);
  const k = c.byKind;
  const rate = result.seconds > 0 ? c.total / result.seconds : 0;
  const reasons = Object.entries(c.authFailuresByReason).map(([r, n]) => `${r} ${n}`).join(", ");
  const llmOk = result.sent.filter((r) => r.kind === "llm" && r.status === 200).length;
  const statuses = Object.entries(c.byStatusClass).sort().map(([s, n]) => `${s} ${n}`).join(", ");
  return [
    `demo traffic: ${c.total} requests in ${result.seconds.toFixed(1)} s ` +
    `(${rate.toFixed(1)}/s) to ${url}`,
    `  users:    ${k.register} registrations, ${k.login} logins, ${k.logout} logouts, ` +
    `${k.login_failed} failed logins${reasons === "" ? "" : ` (${reasons})`}; ` +
    `${result.sessionsOpen} sessions still open`,
    `  app:      ${k.feature} feature runs (${c.failedFeatures} failing), ${k.action} actions, ` +
    `${k.workspace} workspace updates, ${k.not_found} unknown URLs`,
    `  LLM:      ${k.llm} calls, ${llmOk} answered (${c.llmStreamed} streamed; the fake API ` +
    `was asked for ${c.llmRateLimited} rate limits and ${c.llmServerErrors} server errors)`,
    `  statuses: ${statuses === "" ? "none" : statuses}` +
    (c.networkErrors > 0 ? `; ${c.networkErrors} requests got no response` : ""),
    ...(k.llm > 0 && llmOk === 0
      ? [
        "  note:     no LLM call succeeded: does the server have LLM_BASE_URL and LLM_MODEL? " +
        "(--start gives it a fake API)",
      ]
      : []),
  ].join("\n");
}
