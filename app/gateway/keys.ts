/**
 * The gateway's client keys: `name:token` pairs, parsed from a setting or a
 * file, and checked in constant time. The name is what metrics and logs may
 * show (the `client` label); the token never leaves this module in any
 * message.
 *
 * @module
 */

/** One client key: a name to label its traffic with, and the bearer token that proves it. */
export interface GatewayKey {
  /** Shown in the `client` label: 1-64 of `A-Z a-z 0-9 _ . -`. */
  name: string;
  /** The bearer token the client sends: at least 16 characters, no whitespace. */
  token: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MIN_TOKEN_LENGTH = 16;

/**
 * Parses `name:token` entries, separated by commas or line ends; blank
 * entries and lines starting with `#` are skipped. `source` names where they
 * came from (`GATEWAY_KEYS`, a file path) in the error, which names the
 * entry by position and name, never by its token. Throws a `TypeError` for a
 * malformed entry, a bad name, a token shorter than 16 characters, or a name
 * or token given twice.
 *
 * @example
 * ```ts
 * import { parseGatewayKeys } from "./keys.ts";
 * parseGatewayKeys("alice:tok-0123456789abcdef,bob:tok-fedcba9876543210", "GATEWAY_KEYS");
 * ```
 */
export function parseGatewayKeys(text: string, source: string): GatewayKey[] {
  const keys: GatewayKey[] = [];
  const entries = text.split(/[,\r\n]/).map((e) => e.trim()).filter((e) =>
    e !== "" && !e.startsWith("#")
  );
  for (const [i, entry] of entries.entries()) {
    const where = `${source}: entry ${i + 1}`;
    const colon = entry.indexOf(":");
    if (colon < 0) throw new TypeError(`${where} is not name:token (no colon)`);
    const name = entry.slice(0, colon).trim();
    const token = entry.slice(colon + 1).trim();
    if (!NAME.test(name)) {
      throw new TypeError(
        `${where}: the name must be 1-64 of A-Z a-z 0-9 _ . - (it labels metrics)`,
      );
    }
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new TypeError(
        `${where} (${name}): the token must be at least ${MIN_TOKEN_LENGTH} characters, ` +
          `without whitespace`,
      );
    }
    if (keys.some((k) => k.name === name)) throw new TypeError(`${where}: name ${name} twice`);
    if (keys.some((k) => k.token === token)) {
      throw new TypeError(`${where} (${name}): the same token as another entry`);
    }
    keys.push({ name, token });
  }
  return keys;
}

const encoder = new TextEncoder();

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Returns a check of `Authorization` headers against `keys`: the name of the
 * key presented as `Bearer <token>`, or `undefined`. The token is hashed
 * (SHA-256) and compared with every key's hash, all of them, byte by byte
 * without an early exit: the time taken says nothing about which key came
 * close, nor about any token's length.
 *
 * @example
 * ```ts
 * import { gatewayAuth } from "./keys.ts";
 * const check = gatewayAuth([{ name: "alice", token: "tok-0123456789abcdef" }]);
 * console.log(await check("Bearer tok-0123456789abcdef")); // "alice"
 * ```
 */
export function gatewayAuth(
  keys: readonly GatewayKey[],
): (authorization: string | null) => Promise<string | undefined> {
  const hashed = Promise.all(
    keys.map(async (k) => ({ name: k.name, hash: await digest(k.token) })),
  );
  return async (authorization) => {
    const match = authorization?.match(/^Bearer[ ]+(\S+)\s*$/i);
    const presented = await digest(match?.[1] ?? "");
    let found: string | undefined;
    for (const { name, hash } of await hashed) {
      let diff = 0;
      for (let i = 0; i < hash.length; i++) diff |= hash[i] ^ presented[i];
      if (diff === 0 && match) found = name;
    }
    return found;
  };
}
