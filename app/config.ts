/**
 * Server configuration: environment variables, overridden by flags.
 *
 * @module
 */

import { ConfigError, readSettingsFile } from "./config_error.ts";
import { type ClientKey, parseClientKeys } from "./keys.ts";
import {
  GATEWAY_FLAGS,
  GATEWAY_USAGE,
  type GatewaySettings,
  gatewaySettings,
} from "./gateway/settings.ts";

/** The exporter's configuration. */
export interface ServerConfig {
  /** TCP port to listen on (0 = any free port). Env `PORT`, flag `--port`; default 8000. */
  port: number;
  /** Address to listen on. Env `HOSTNAME`, flag `--hostname`; default `0.0.0.0`. */
  hostname: string;
  /**
   * Bearer token required on the metrics endpoints, or `undefined` for none.
   * Env `METRICS_AUTH_TOKEN`, flag `--metrics-auth-token` (the environment is
   * preferable: flags are visible to other users in `ps`). Empty means none.
   */
  authToken: string | undefined;
  /**
   * A file holding the bearer token (env `METRICS_AUTH_TOKEN_FILE`: a Docker
   * or Kubernetes secret under `/run/secrets`), read by main.ts with
   * {@linkcode loadAuthTokenFile}. Not together with `METRICS_AUTH_TOKEN`;
   * the `--metrics-auth-token` flag overrides both.
   */
  authTokenFile?: string;
  /** Mount the demo application routes (`--demo`, env `DEMO=1`). */
  demo: boolean;
  /**
   * Serve the catalogue's LLM and application duration histograms as native
   * histograms too, classic buckets kept (`--native-histograms`, env
   * `NATIVE_HISTOGRAMS=1`).
   */
  nativeHistograms: boolean;
  /**
   * Server threads (`--workers`, env `WORKERS`, else `DENO_JOBS`); absent:
   * one per core. With more than one, the threads share the port and their
   * metrics (every scrape reports all of them).
   */
  workers: number | undefined;
  /**
   * Named bearer tokens of the event ingestion API (`POST /api/v1/events`),
   * off when neither is set. Env `INGEST_TOKENS` (`name:token` pairs, as
   * the gateway's keys), or a file of them, one a line: env
   * `INGEST_TOKENS_FILE`, flag `--ingest-tokens-file` (read by main.ts,
   * see `ingestTokens`). Not both.
   */
  ingestTokens: readonly ClientKey[] | undefined;
  /** See {@linkcode ServerConfig.ingestTokens}. */
  ingestTokensFile: string | undefined;
  /** `--help` was given. */
  help: boolean;
  /** The LLM gateway's settings (see `app/gateway/settings.ts`); absent: no gateway. */
  gateway?: GatewaySettings;
}

export { ConfigError };

/** Usage text for `--help`. */
export const USAGE: string =
  `Usage: deno task start [--port N] [--hostname ADDR] [--workers N] [--demo]

Serves /metrics (HTTP, process and runtime metrics), /custom_metrics (the
SecureTrack catalogue), /healthz and / on Deno.serve.

  --port N                 port to listen on, 0-65535 (env PORT, default 8000)
  --hostname ADDR          address to listen on (env HOSTNAME, default 0.0.0.0)
  --metrics-auth-token T   require "Authorization: Bearer T" on the metrics endpoints
                           (env METRICS_AUTH_TOKEN, or a file holding it in env
                           METRICS_AUTH_TOKEN_FILE; prefer either to the flag)
  --workers N              server threads, 1-1024 (env WORKERS, else DENO_JOBS; default:
                           one per core); their metrics are merged in every scrape
  --demo                   also serve the demo application routes under /api/ (env DEMO=1)
  --native-histograms      serve llm_request_duration_seconds and app_request_duration_seconds
                           as native histograms too, classic buckets kept, to a Prometheus
                           run with --enable-feature=native-histograms (env NATIVE_HISTOGRAMS=1)
  --ingest-tokens-file F   serve POST /api/v1/events to the name:token pairs in file F, one
                           a line (env INGEST_TOKENS_FILE; or the pairs themselves in env
                           INGEST_TOKENS); off unless one of them is set
  --help                   print this text
${GATEWAY_USAGE}`;

const FLAGS = [
  "--port",
  "--hostname",
  "--metrics-auth-token",
  "--workers",
  "--demo",
  "--native-histograms",
  "--ingest-tokens-file",
  "--help",
  ...GATEWAY_FLAGS,
];

function parseWorkers(value: string, source: string): number {
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1024) {
    throw new ConfigError(
      `invalid ${source} ${JSON.stringify(value)}: expected a number of threads 1-1024`,
    );
  }
  return Number(value);
}

function parsePort(value: string, source: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(
      `invalid ${source} ${JSON.stringify(value)}: expected a port number 0-65535`,
    );
  }
  return Number(value);
}

// An unknown argument is echoed only as far as it cannot hold the token: a
// token glued to its flag ("--metrics-auth-tokenXYZ") or left as a stray word
// ("--metrics-auth-token= XYZ") must not reach a log line.
function unknownArgument(flag: string, index: number): string {
  const known = `(known: ${FLAGS.join(", ")})`;
  if (!flag.startsWith("-")) return `unexpected argument #${index + 1}: not a flag ${known}`;
  const prefix = FLAGS.find((f) => flag.startsWith(f));
  return `unknown argument "${prefix === undefined ? flag : `${prefix}...`}" ${known}`;
}

/**
 * The ingestion tokens of `text` (`name:token` pairs, parsed as the
 * gateway's keys); `source` names where they came from. Throws a
 * {@linkcode ConfigError} naming the pair (never its token), or saying there
 * is none.
 */
export function ingestTokenList(text: string, source: string): ClientKey[] {
  let tokens: ClientKey[];
  try {
    tokens = parseClientKeys(text, source);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (tokens.length === 0) throw new ConfigError(`${source}: no name:token pair`);
  return tokens;
}

/**
 * Builds the configuration from `env` (a lookup, e.g. `Deno.env.get`) and
 * command-line `args`, flags winning. Throws a {@linkcode ConfigError} for an
 * unknown flag, a missing flag value or an invalid port. The token never
 * appears in an error message.
 */
export function parseConfig(
  args: readonly string[],
  env: (name: string) => string | undefined,
): ServerConfig {
  const config: ServerConfig = {
    port: 8000,
    hostname: "0.0.0.0",
    authToken: undefined,
    demo: false,
    nativeHistograms: false,
    workers: undefined,
    ingestTokens: undefined,
    ingestTokensFile: undefined,
    help: false,
  };
  const port = env("PORT");
  if (port !== undefined && port !== "") config.port = parsePort(port, "PORT");
  const hostname = env("HOSTNAME");
  if (hostname !== undefined && hostname !== "") config.hostname = hostname;
  const token = env("METRICS_AUTH_TOKEN");
  if (token !== undefined && token !== "") config.authToken = token;
  const tokenFile = env("METRICS_AUTH_TOKEN_FILE");
  if (tokenFile !== undefined && tokenFile !== "") {
    if (config.authToken !== undefined) {
      throw new ConfigError(
        "metrics token given twice: set METRICS_AUTH_TOKEN or METRICS_AUTH_TOKEN_FILE, not both",
      );
    }
    config.authTokenFile = tokenFile;
  }
  const demo = env("DEMO");
  if (demo === "1" || demo === "true") config.demo = true;
  const native = env("NATIVE_HISTOGRAMS");
  if (native === "1" || native === "true") config.nativeHistograms = true;
  const workers = env("WORKERS");
  const jobs = env("DENO_JOBS");
  if (workers !== undefined && workers !== "") config.workers = parseWorkers(workers, "WORKERS");
  else if (jobs !== undefined && jobs !== "") config.workers = parseWorkers(jobs, "DENO_JOBS");

  const ingest = env("INGEST_TOKENS");
  if (ingest !== undefined && ingest.trim() !== "") {
    config.ingestTokens = ingestTokenList(ingest, "INGEST_TOKENS");
  }
  const ingestFile = env("INGEST_TOKENS_FILE");
  if (ingestFile !== undefined && ingestFile !== "") config.ingestTokensFile = ingestFile;

  const gatewayFlags: [string, string][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    if (!FLAGS.includes(flag)) {
      throw new ConfigError(unknownArgument(flag, i));
    }
    if (flag === "--help" || flag === "--demo" || flag === "--native-histograms") {
      if (eq >= 0) throw new ConfigError(`${flag} takes no value`);
      if (flag === "--help") config.help = true;
      else if (flag === "--demo") config.demo = true;
      else config.nativeHistograms = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < args.length) value = args[++i];
    else throw new ConfigError(`${flag} needs a value`);
    if (GATEWAY_FLAGS.includes(flag)) gatewayFlags.push([flag, value]);
    else if (flag === "--port") config.port = parsePort(value, "--port");
    else if (flag === "--workers") config.workers = parseWorkers(value, "--workers");
    else if (flag === "--ingest-tokens-file") {
      if (value === "") throw new ConfigError("--ingest-tokens-file needs a non-empty value");
      config.ingestTokensFile = value;
    } else if (flag === "--hostname") {
      if (value === "") throw new ConfigError("--hostname needs a non-empty value");
      config.hostname = value;
    } else {
      config.authToken = value === "" ? undefined : value;
      delete config.authTokenFile;
    }
  }
  if (config.ingestTokens !== undefined && config.ingestTokensFile !== undefined) {
    throw new ConfigError(
      "ingestion tokens given twice: set INGEST_TOKENS or a tokens file " +
        "(INGEST_TOKENS_FILE, --ingest-tokens-file), not both",
    );
  }
  const gateway = gatewaySettings(env, gatewayFlags);
  if (gateway !== undefined) config.gateway = gateway;
  return config;
}

/**
 * `config` with the metrics token read from `config.authTokenFile` (with
 * `read`, e.g. `Deno.readTextFileSync`), one token, surrounding whitespace
 * trimmed; `config` itself when there is no file. Throws a
 * {@linkcode ConfigError} naming the file (never the token) when it cannot be
 * read, with the permission to add when that is why, or holds no single token.
 *
 * @example
 * ```ts
 * import { loadAuthTokenFile, parseConfig } from "./config.ts";
 * const config = parseConfig([], (name) =>
 *   name === "METRICS_AUTH_TOKEN_FILE" ? "/run/secrets/metrics_token" : undefined);
 * const loaded = loadAuthTokenFile(config, () => "s3cret-token\n");
 * console.log(loaded.authToken === "s3cret-token"); // true
 * ```
 */
export function loadAuthTokenFile(
  config: ServerConfig,
  read: (path: string) => string,
): ServerConfig {
  const path = config.authTokenFile;
  if (path === undefined) return config;
  const text = readSettingsFile(path, "the metrics token file", read);
  const token = text.trim();
  if (token === "" || /\s/.test(token)) {
    throw new ConfigError(
      `the metrics token file ${path} must hold one token (empty or with whitespace inside)`,
    );
  }
  return { ...config, authToken: token };
}
