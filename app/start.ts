/**
 * How the exporter gets its configuration ({@linkcode loadConfig}: for
 * `main.ts` and, through {@linkcode workerConfig}, for `app/worker.ts` under
 * `deno serve`), and what `main.ts` checks before it starts, so that every
 * way of running it either serves or says in one line what is missing (never
 * a stack trace, never Deno's exit 70 for an unstable API):
 *
 * - not on Deno (`bun main.ts`): one line naming `deno task start`, exit 2;
 * - a permission it cannot start without (reading its settings, listening):
 *   one line naming the flags and the command that works, exit 2;
 * - one thread per core asked for by default, but threads impossible
 *   (`reusePort` needs `--unstable-net`; a thread loads its module from
 *   `app/` and `src/`): one thread, and one line saying so. Threads asked
 *   for explicitly (`--workers`, `WORKERS`, `DENO_JOBS`) are not dropped
 *   silently: that is the exit-2 line.
 *
 * `planStart` decides from plain facts (unit-tested); `probeStart` gathers the
 * facts from Deno (tested through main.ts as a subprocess).
 *
 * @module
 */

import { ConfigError, loadAuthTokenFile, parseConfig, type ServerConfig } from "./config.ts";
import { GATEWAY_VARIABLES, gatewayStartLine, loadGatewayFiles } from "./gateway/settings.ts";
import { INGEST_PATH, ingestTokens } from "./ingest.ts";
import type { ClientKey } from "./keys.ts";

/** The command that starts the exporter with every permission it needs. */
export const START_TASK = "deno task start";

/**
 * What `deno task start` runs (the `start` task of deno.json, which a test
 * keeps equal to this): printed when a permission is missing, for those who
 * run main.ts without the task.
 */
export const START_COMMAND = "deno run --no-prompt --unstable-net --allow-net " +
  "--allow-read=app,src,/run/secrets --allow-env=PORT,HOSTNAME,METRICS_AUTH_TOKEN,METRICS_AUTH_TOKEN_FILE,WORKERS," +
  "DENO_JOBS,DEMO,NATIVE_HISTOGRAMS,INGEST_TOKENS,INGEST_TOKENS_FILE,LLM_BASE_URL,LLM_API_KEY,LLM_MODEL,GATEWAY_UPSTREAM_URL," +
  "GATEWAY_UPSTREAM_API_KEY,GATEWAY_UPSTREAM_API_KEY_FILE,GATEWAY_KEYS,GATEWAY_KEYS_FILE," +
  "GATEWAY_TIMEOUT_MS,GATEWAY_MAX_BODY_BYTES main.ts";

/** The environment variables main.ts reads its settings from (see `parseConfig`). */
export const CONFIG_VARIABLES: readonly string[] = [
  "PORT",
  "HOSTNAME",
  "METRICS_AUTH_TOKEN",
  "METRICS_AUTH_TOKEN_FILE",
  "WORKERS",
  "DENO_JOBS",
  "DEMO",
  "NATIVE_HISTOGRAMS",
  "INGEST_TOKENS",
  "INGEST_TOKENS_FILE",
  ...GATEWAY_VARIABLES,
];

/**
 * The settings `deno serve` itself decides for `app/worker.ts`: the address
 * (its `--port` and `--host`) and the workers (`--parallel`, `DENO_JOBS`).
 */
const SERVE_SETTINGS: readonly string[] = ["PORT", "HOSTNAME", "WORKERS", "DENO_JOBS"];

/**
 * The environment variables `app/worker.ts` reads its settings from: those of
 * {@linkcode CONFIG_VARIABLES} but the address and the number of workers,
 * which are `deno serve`'s.
 */
export const WORKER_VARIABLES: readonly string[] = CONFIG_VARIABLES.filter(
  (variable) => !SERVE_SETTINGS.includes(variable),
);

/**
 * How to run `app/worker.ts` with every permission it needs and no more
 * (its module doc and the README show it, which a test keeps equal to this):
 * `--allow-net` to listen and to reach the gateway's upstream,
 * `--allow-read=/run/secrets` for the `*_FILE` settings (a file elsewhere
 * needs its own), `--allow-env` for exactly the variables it reads and the
 * demo's LLM client. Add `--port`, `--host` and `DENO_JOBS` as wanted.
 */
export const WORKER_COMMAND = "deno serve --parallel --no-prompt --allow-net " +
  "--allow-read=/run/secrets --allow-env=METRICS_AUTH_TOKEN,METRICS_AUTH_TOKEN_FILE,DEMO," +
  "NATIVE_HISTOGRAMS,INGEST_TOKENS,INGEST_TOKENS_FILE,LLM_BASE_URL,LLM_API_KEY,LLM_MODEL," +
  "GATEWAY_UPSTREAM_URL,GATEWAY_UPSTREAM_API_KEY,GATEWAY_UPSTREAM_API_KEY_FILE,GATEWAY_KEYS," +
  "GATEWAY_KEYS_FILE,GATEWAY_TIMEOUT_MS,GATEWAY_MAX_BODY_BYTES app/worker.ts";

/** The configuration a server runs with: parsed, and its files read. */
export interface LoadedConfig {
  /** The settings, with the metrics token and the gateway's keys read from their files. */
  config: ServerConfig;
  /** The ingestion API's clients (`INGEST_TOKENS`, or its file); `undefined`: ingestion off. */
  ingestTokens: readonly ClientKey[] | undefined;
}

/**
 * The configuration from `args` and `env` (see `parseConfig`), with every
 * file it names read through `read` (e.g. `Deno.readTextFileSync`): the
 * gateway's key files, the ingestion tokens file, the metrics token file.
 * What `main.ts` runs with. Throws a {@linkcode ConfigError} (one line, naming
 * the variable, flag or file; never a secret) for a bad setting.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./start.ts";
 * const env: Record<string, string> = { METRICS_AUTH_TOKEN_FILE: "/run/secrets/token" };
 * const { config } = loadConfig([], (name) => env[name], () => "s3cret-token\n");
 * console.log(config.authToken === "s3cret-token"); // true
 * ```
 */
export function loadConfig(
  args: readonly string[],
  env: (name: string) => string | undefined,
  read: (path: string) => string,
): LoadedConfig {
  let config = parseConfig(args, env);
  if (config.gateway !== undefined) config.gateway = loadGatewayFiles(config.gateway, read);
  const tokens = ingestTokens(config, read);
  config = loadAuthTokenFile(config, read);
  return { config, ingestTokens: tokens };
}

/**
 * The configuration `app/worker.ts` runs with under `deno serve`:
 * {@linkcode loadConfig} on the environment, without the settings that are
 * `deno serve`'s (`PORT`, `HOSTNAME`, `WORKERS`, `DENO_JOBS`: never read, so
 * the defaults stand in the result). Throws a {@linkcode ConfigError} for a
 * bad setting (as `main.ts` would), for arguments after the module (it takes
 * none), or when it may not read some of {@linkcode WORKER_VARIABLES}
 * (`unreadable`), naming the `--allow-env` to add and
 * {@linkcode WORKER_COMMAND}.
 *
 * @example
 * ```ts
 * import { workerConfig } from "./start.ts";
 * const env: Record<string, string> = { DEMO: "1", PORT: "9464" };
 * const { config } = workerConfig([], (name) => env[name], Deno.readTextFileSync);
 * console.log(config.demo, config.port); // true 8000 (the port is deno serve's)
 * ```
 */
export function workerConfig(
  args: readonly string[],
  env: (name: string) => string | undefined,
  read: (path: string) => string,
  unreadable: readonly string[] = [],
): LoadedConfig {
  if (args.length > 0) {
    // Not echoed: an argument could be a token.
    throw new ConfigError(
      `app/worker.ts takes no arguments (${args.length} given): its settings come from the ` +
        `environment, its address from deno serve's --port and --host`,
    );
  }
  const missing = WORKER_VARIABLES.filter((variable) => unreadable.includes(variable));
  if (missing.length > 0) {
    throw new ConfigError(
      `missing --allow-env=${missing.join(",")} (to read its settings): run it as ` +
        `\`${WORKER_COMMAND}\``,
    );
  }
  return loadConfig(
    [],
    (name) => WORKER_VARIABLES.includes(name) ? env(name) : undefined,
    read,
  );
}

/**
 * The lines a server logs once it serves: what is on beyond the metrics
 * (the token, the demo routes, the gateway, ingestion), never a secret.
 *
 * @example
 * ```ts
 * import { loadConfig, startLines } from "./start.ts";
 * const env: Record<string, string> = { DEMO: "1" };
 * console.log(startLines(loadConfig([], (name) => env[name], Deno.readTextFileSync)));
 * // ["demo application routes enabled under /api/"]
 * ```
 */
export function startLines({ config, ingestTokens }: LoadedConfig): string[] {
  const lines: string[] = [];
  if (config.authToken !== undefined) lines.push("metrics endpoints require a bearer token");
  if (config.demo) lines.push("demo application routes enabled under /api/");
  if (config.gateway !== undefined) lines.push(gatewayStartLine(config.gateway));
  if (ingestTokens !== undefined) {
    lines.push(
      `event ingestion at POST ${INGEST_PATH} for ${ingestTokens.map((t) => t.name).join(", ")}`,
    );
  }
  return lines;
}

/** The line `main.ts` prints (then exits 2) on a runtime other than Deno. */
export function notDenoMessage(runtime: string): string {
  return `securetrack-metrics: main.ts runs on Deno, not ${runtime}: start it with ` +
    `\`${START_TASK}\``;
}

/** What this process may do, as far as starting goes. */
export interface StartFacts {
  /** The configuration variables (of {@linkcode CONFIG_VARIABLES}) it may not read. */
  unreadable: readonly string[];
  /** It may listen on the configured `hostname:port`. */
  canListen: boolean;
  /** Threads can share a port (`reusePort`, which Deno 2.9 gates behind `--unstable-net`). */
  canSharePort: boolean;
  /** Threads can load their module: read access to `app/` and `src/`. */
  canLoadThreads: boolean;
  /** Cores (`navigator.hardwareConcurrency`): the default number of threads. */
  cores: number;
}

/** What `main.ts` does: start `threads` threads (after printing `notice`), or print `message` and exit 2. */
export type StartPlan =
  | { ok: true; threads: number; notice: string | undefined }
  | { ok: false; message: string };

function listenAddress(config: ServerConfig): string {
  const host = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;
  return `${host}:${config.port}`;
}

/**
 * Decides how to start from `config` and `facts`. A missing permission is
 * one line naming each missing flag and the command that works; threads
 * that are impossible are one thread and a notice when they were the default.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * import { planStart } from "./start.ts";
 * const config = parseConfig([], () => undefined);
 * const facts = {
 *   unreadable: [],
 *   canListen: true,
 *   canSharePort: false, // deno run -A main.ts: no --unstable-net
 *   canLoadThreads: true,
 *   cores: 8,
 * };
 * console.log(planStart(config, facts)); // { ok: true, threads: 1, notice: "…--unstable-net…" }
 * ```
 */
export function planStart(config: ServerConfig, facts: StartFacts): StartPlan {
  const threads = config.workers ?? Math.max(1, facts.cores);
  const missing: string[] = [];
  if (facts.unreadable.length > 0) {
    missing.push(`--allow-env=${facts.unreadable.join(",")} (to read its settings)`);
  }
  if (!facts.canListen) missing.push(`--allow-net (to listen on ${listenAddress(config)})`);
  // What threads need that is not there: [flag, what for].
  const forThreads: [string, string][] = [];
  if (threads > 1 && !facts.canSharePort) forThreads.push(["--unstable-net", "to share the port"]);
  if (threads > 1 && !facts.canLoadThreads) {
    forThreads.push(["--allow-read=app,src", "to load their module"]);
  }
  if (config.workers !== undefined) {
    for (const [flag, why] of forThreads) missing.push(`${flag} (for ${threads} threads ${why})`);
  }
  if (missing.length > 0) {
    return {
      ok: false,
      message: `securetrack-metrics: missing ${missing.join(", ")}: start it with ` +
        `\`${START_TASK}\` (${START_COMMAND})`,
    };
  }
  if (forThreads.length > 0) {
    return {
      ok: true,
      threads: 1,
      notice: `securetrack-metrics: one thread instead of ${threads} (one per core): threads ` +
        `need ${
          forThreads.map(([flag, why]) => `${flag} (${why})`).join(" and ")
        }, as \`${START_TASK}\` gives them`,
    };
  }
  return { ok: true, threads, notice: undefined };
}

/**
 * The line `main.ts` prints (then exits 1) when it cannot listen: the
 * address is taken (`AddrInUse`), not this machine's, or does not resolve.
 * The error's name and first line, without Deno's stack or the thread's
 * wrapping.
 */
export function startFailure(config: ServerConfig, error: unknown): string {
  let reason = error instanceof Error
    ? `${error.name}: ${error.message.split("\n")[0]}`
    : String(error);
  // A thread's error comes as "Error: server thread failed to start: Uncaught (in worker "") X: …".
  reason = reason.replace(
    /^Error: server thread failed to start: (Uncaught (\(in worker "[^"]*"\) )?)?/,
    "",
  );
  return `securetrack-metrics: cannot listen on ${listenAddress(config)}: ${reason}`;
}

/** Whether Deno grants `descriptor` now (never prompts: "prompt" counts as not granted). */
function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/**
 * The configuration variables (of `variables`, default
 * {@linkcode CONFIG_VARIABLES}) this Deno process may not read (asking never
 * prompts: main.ts says what to grant instead of asking ten times).
 */
export function unreadableVariables(variables: readonly string[] = CONFIG_VARIABLES): string[] {
  return variables.filter((variable) => !granted({ name: "env", variable }));
}

/** Gathers {@linkcode StartFacts} from Deno for `config`, whose variables were read as far as allowed. */
export function probeStart(config: ServerConfig, unreadable: readonly string[]): StartFacts {
  return {
    unreadable,
    canListen: granted({ name: "net", host: listenAddress(config) }),
    // Deno 2.9 exits (code 70, uncatchable) when a thread asks for reusePort
    // without --unstable-net; the same flag adds Deno.listenDatagram, which
    // is how to know beforehand.
    canSharePort: "listenDatagram" in Deno,
    canLoadThreads: granted({ name: "read", path: new URL("./", import.meta.url) }) &&
      granted({ name: "read", path: new URL("../src/", import.meta.url) }),
    cores: navigator.hardwareConcurrency ?? 1,
  };
}
