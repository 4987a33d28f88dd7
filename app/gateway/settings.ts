/**
 * The gateway's settings, with the exporter's conventions (an environment
 * variable, overridden by a flag; secrets from the environment or a file,
 * never from a flag): read by `parseConfig`, files loaded by
 * {@linkcode loadGatewayFiles} before the server starts.
 *
 * @module
 */

import { ConfigError, readSettingsFile } from "../config_error.ts";
import { type ClientKey, parseClientKeys } from "../keys.ts";

/** The gateway's settings; the gateway is off unless an upstream is configured. */
export interface GatewaySettings {
  /**
   * Base URL of the upstream OpenAI-compatible API, e.g.
   * `https://api.openai.com/v1` (`/chat/completions` is appended). Env
   * `GATEWAY_UPSTREAM_URL`, flag `--gateway-upstream`.
   */
  upstream: string;
  /** The key the gateway sends upstream. Env `GATEWAY_UPSTREAM_API_KEY` (no flag: `ps` shows flags). */
  upstreamKey: string | undefined;
  /** A file holding the upstream key. Env `GATEWAY_UPSTREAM_API_KEY_FILE`, flag `--gateway-upstream-key-file`. */
  upstreamKeyFile: string | undefined;
  /** Client keys; none: any client may call (a notice says so at start). Env `GATEWAY_KEYS`. */
  keys: ClientKey[];
  /** A file of client keys, one `name:token` a line. Env `GATEWAY_KEYS_FILE`, flag `--gateway-keys-file`. */
  keysFile: string | undefined;
  /**
   * Upstream deadline: for the response headers, then for each read of the
   * body. Env `GATEWAY_TIMEOUT_MS`, flag `--gateway-timeout-ms`; default 120,000.
   */
  timeoutMs: number;
  /** Largest request body accepted (413 above). Env `GATEWAY_MAX_BODY_BYTES`, flag `--gateway-max-body-bytes`; default 4 MiB. */
  maxBodyBytes: number;
}

/** The gateway's flags (each takes a value). */
export const GATEWAY_FLAGS: readonly string[] = [
  "--gateway-upstream",
  "--gateway-upstream-key-file",
  "--gateway-keys-file",
  "--gateway-timeout-ms",
  "--gateway-max-body-bytes",
];

/** The environment variables the gateway's settings come from. */
export const GATEWAY_VARIABLES: readonly string[] = [
  "GATEWAY_UPSTREAM_URL",
  "GATEWAY_UPSTREAM_API_KEY",
  "GATEWAY_UPSTREAM_API_KEY_FILE",
  "GATEWAY_KEYS",
  "GATEWAY_KEYS_FILE",
  "GATEWAY_TIMEOUT_MS",
  "GATEWAY_MAX_BODY_BYTES",
];

/** The gateway's lines of `--help`. */
export const GATEWAY_USAGE: string = `
LLM metering gateway (off unless an upstream is set): /v1/chat/completions,
/v1/embeddings and /v1/models, forwarded with the gateway's own upstream key.
  --gateway-upstream URL            upstream OpenAI-compatible API base URL, e.g.
                                    https://api.openai.com/v1 (env GATEWAY_UPSTREAM_URL)
  --gateway-upstream-key-file PATH  file holding the upstream API key (env
                                    GATEWAY_UPSTREAM_API_KEY_FILE; or the key itself in
                                    GATEWAY_UPSTREAM_API_KEY)
  --gateway-keys-file PATH          client keys, one name:token a line (env GATEWAY_KEYS_FILE;
                                    or GATEWAY_KEYS=name:token,...); none: no client auth
  --gateway-timeout-ms N            upstream deadline, 1-3600000 (env GATEWAY_TIMEOUT_MS,
                                    default 120000)
  --gateway-max-body-bytes N        largest request body, 1-1073741824 (env
                                    GATEWAY_MAX_BODY_BYTES, default 4194304)
  deno task start reads key files only under /run/secrets (Docker/Kubernetes secrets).
`;

function integer(value: string, source: string, max: number): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new ConfigError(`invalid ${source} ${JSON.stringify(value)}: expected 1-${max}`);
  }
  return Number(value);
}

function upstreamUrl(value: string, source: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new ConfigError(
      `invalid ${source}: expected an http(s) URL such as https://api.openai.com/v1`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(
      `invalid ${source}: credentials in the URL; put the key in GATEWAY_UPSTREAM_API_KEY`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * The gateway's settings from `env` and the gateway `flags` given (in
 * order, flags winning), or `undefined` when no upstream is set. Throws a
 * {@linkcode ConfigError} for an invalid value or a gateway setting without
 * an upstream; secrets never appear in its message.
 *
 * @example
 * ```ts
 * import { gatewaySettings } from "./settings.ts";
 * const env: Record<string, string> = { GATEWAY_UPSTREAM_URL: "http://127.0.0.1:11434/v1" };
 * const settings = gatewaySettings((name) => env[name], [["--gateway-timeout-ms", "5000"]]);
 * console.log(settings?.timeoutMs); // 5000
 * ```
 */
export function gatewaySettings(
  env: (name: string) => string | undefined,
  flags: readonly (readonly [string, string])[],
): GatewaySettings | undefined {
  const values = new Map<string, [string, string]>(); // variable -> [value, source]
  for (const variable of GATEWAY_VARIABLES) {
    const value = env(variable);
    if (value !== undefined && value !== "") values.set(variable, [value, variable]);
  }
  const byFlag: Record<string, string> = {
    "--gateway-upstream": "GATEWAY_UPSTREAM_URL",
    "--gateway-upstream-key-file": "GATEWAY_UPSTREAM_API_KEY_FILE",
    "--gateway-keys-file": "GATEWAY_KEYS_FILE",
    "--gateway-timeout-ms": "GATEWAY_TIMEOUT_MS",
    "--gateway-max-body-bytes": "GATEWAY_MAX_BODY_BYTES",
  };
  for (const [flag, value] of flags) {
    if (value === "") throw new ConfigError(`${flag} needs a non-empty value`);
    values.set(byFlag[flag], [value, flag]);
  }
  const upstream = values.get("GATEWAY_UPSTREAM_URL");
  if (upstream === undefined) {
    if (values.size > 0) {
      const [, source] = [...values.values()][0];
      throw new ConfigError(
        `${source} is set but the gateway has no upstream: set GATEWAY_UPSTREAM_URL or ` +
          `--gateway-upstream`,
      );
    }
    return undefined;
  }
  const either = (a: string, b: string) => {
    if (values.has(a) && values.has(b)) {
      throw new ConfigError(`${values.get(a)![1]} and ${values.get(b)![1]}: set one, not both`);
    }
  };
  either("GATEWAY_UPSTREAM_API_KEY", "GATEWAY_UPSTREAM_API_KEY_FILE");
  either("GATEWAY_KEYS", "GATEWAY_KEYS_FILE");
  let keys: ClientKey[] = [];
  const keyList = values.get("GATEWAY_KEYS");
  if (keyList !== undefined) {
    try {
      keys = parseClientKeys(keyList[0], "GATEWAY_KEYS");
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  const timeout = values.get("GATEWAY_TIMEOUT_MS");
  const maxBody = values.get("GATEWAY_MAX_BODY_BYTES");
  return {
    upstream: upstreamUrl(upstream[0], upstream[1]),
    upstreamKey: values.get("GATEWAY_UPSTREAM_API_KEY")?.[0],
    upstreamKeyFile: values.get("GATEWAY_UPSTREAM_API_KEY_FILE")?.[0],
    keys,
    keysFile: values.get("GATEWAY_KEYS_FILE")?.[0],
    timeoutMs: timeout === undefined ? 120_000 : integer(timeout[0], timeout[1], 3_600_000),
    maxBodyBytes: maxBody === undefined
      ? 4 * 1024 * 1024
      : integer(maxBody[0], maxBody[1], 1024 * 1024 * 1024),
  };
}

/**
 * `settings` with its files read (through `read`, e.g. `Deno.readTextFileSync`):
 * the upstream key from `upstreamKeyFile` (trimmed), the client keys from
 * `keysFile`. Throws a {@linkcode ConfigError} naming the file and what is
 * wrong (unreadable, not permitted, empty, a bad entry), never its content.
 *
 * @example
 * ```ts
 * import { loadGatewayFiles } from "./settings.ts";
 * const settings = loadGatewayFiles({
 *   upstream: "http://127.0.0.1:11434/v1",
 *   upstreamKey: undefined,
 *   upstreamKeyFile: "/run/secrets/openai",
 *   keys: [],
 *   keysFile: undefined,
 *   timeoutMs: 120_000,
 *   maxBodyBytes: 4_194_304,
 * }, () => "sk-test\n");
 * console.log(settings.upstreamKey); // "sk-test"
 * ```
 */
export function loadGatewayFiles(
  settings: GatewaySettings,
  read: (path: string) => string,
): GatewaySettings {
  const load = (path: string, what: string): string => readSettingsFile(path, what, read);
  const loaded = { ...settings };
  if (settings.upstreamKeyFile !== undefined) {
    const key = load(settings.upstreamKeyFile, "the upstream key file").trim();
    if (key === "" || /\s/.test(key)) {
      throw new ConfigError(
        `the upstream key file ${settings.upstreamKeyFile} must hold one key (empty or with ` +
          `whitespace inside)`,
      );
    }
    loaded.upstreamKey = key;
  }
  if (settings.keysFile !== undefined) {
    const text = load(settings.keysFile, "the client keys file");
    try {
      loaded.keys = parseClientKeys(text, settings.keysFile);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (loaded.keys.length === 0) {
      throw new ConfigError(`the client keys file ${settings.keysFile} has no name:token entry`);
    }
  }
  return loaded;
}

/**
 * The line `main.ts` logs when the gateway is on: where it forwards, and how
 * clients authenticate (a warning when they do not have to).
 *
 * @example
 * ```ts
 * import { gatewayStartLine, gatewaySettings } from "./settings.ts";
 * const env: Record<string, string> = { GATEWAY_UPSTREAM_URL: "http://127.0.0.1:11434/v1" };
 * console.log(gatewayStartLine(gatewaySettings((name) => env[name], [])!));
 * ```
 */
export function gatewayStartLine(settings: GatewaySettings): string {
  const keys = settings.keys.length;
  const who = keys > 0
    ? `for ${keys} client key${keys === 1 ? "" : "s"}`
    : "WITHOUT client keys: anyone who reaches this port spends the upstream key " +
      "(set GATEWAY_KEYS or GATEWAY_KEYS_FILE)";
  return `LLM gateway on /v1/chat/completions, /v1/embeddings, /v1/models, forwarding to ` +
    `${settings.upstream} ${who}`;
}
