/**
 * Client keys of the gateway and of the ingestion endpoint: `name:token`
 * pairs, parsed from a setting or a file, and checked in constant time. The name is what metrics and logs may
 * show (the `client` label); the token never leaves this module in any
 * message.
 *
 * @module
 */

/** One client key: a name to label its traffic with, and the bearer token that proves it. */
export interface ClientKey {
  /** Shown in the `client` label: 1-64 of `A-Z a-z 0-9 _ . -`. */
  name: string;
  /** The bearer token the client sends: 16-256 characters, no whitespace. */
  token: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MIN_TOKEN_LENGTH = 16;
const MAX_TOKEN_LENGTH = 256;

/**
 * Parses `name:token` entries, separated by commas or line ends; blank
 * entries and lines starting with `#` are skipped. `source` names where they
 * came from (`GATEWAY_KEYS`, a file path) in the error, which names the
 * entry by position and name, never by its token. Throws a `TypeError` for a
 * malformed entry, a bad name, a token shorter than 16 or longer than 256
 * characters, or a name or token given twice.
 *
 * @example
 * ```ts
 * import { parseClientKeys } from "./keys.ts";
 * parseClientKeys("alice:tok-0123456789abcdef,bob:tok-fedcba9876543210", "GATEWAY_KEYS");
 * ```
 */
export function parseClientKeys(text: string, source: string): ClientKey[] {
  const keys: ClientKey[] = [];
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
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH || /\s/.test(token)) {
      throw new TypeError(
        `${where} (${name}): the token must be ${MIN_TOKEN_LENGTH}-${MAX_TOKEN_LENGTH} ` +
          `characters, without whitespace`,
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

/**
 * Whether `a` equals `b` (`b` at most 256 characters), in a time that
 * depends on neither: every one of 256 positions is compared, past either
 * end as 0, with no early exit, and the lengths are folded into the result.
 * Synchronous on purpose: hashing both sides with `crypto.subtle` (as the
 * metrics token check does) costs 120-180 µs a request here, a good part of
 * the gateway's 1 ms budget; this costs well under 1 µs a key.
 */
function sameToken(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < MAX_TOKEN_LENGTH; i++) {
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
}

/**
 * Returns a check of `Authorization` headers against `keys`: the name of the
 * key presented as `Bearer <token>`, or `undefined`. The presented token is
 * compared with every key, all of them, in constant time (see `sameToken`);
 * one longer than any key may be (256 characters) is refused without a
 * comparison, which says nothing about the keys.
 *
 * @example
 * ```ts
 * import { clientKeyAuth } from "./keys.ts";
 * const check = clientKeyAuth([{ name: "alice", token: "tok-0123456789abcdef" }]);
 * console.log(check("Bearer tok-0123456789abcdef")); // "alice"
 * ```
 */
export function clientKeyAuth(
  keys: readonly ClientKey[],
): (authorization: string | null) => string | undefined {
  const all = keys.map((k) => ({ ...k }));
  return (authorization) => {
    const match = authorization?.match(/^Bearer[ ]+(\S+)\s*$/i);
    const presented = match?.[1];
    if (presented === undefined || presented.length > MAX_TOKEN_LENGTH) return undefined;
    let found: string | undefined;
    for (const key of all) if (sameToken(presented, key.token)) found = key.name;
    return found;
  };
}
