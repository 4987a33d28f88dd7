/**
 * Bearer-token check for the metrics endpoints, in constant time.
 *
 * @module
 */

const encoder = new TextEncoder();

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Returns a check of `Authorization` headers against `token`. Both sides are
 * hashed with SHA-256 before a constant-time comparison, so neither the
 * token's content nor its length leaks through timing.
 *
 * @example
 * ```ts
 * import { bearerAuth } from "./auth.ts";
 * const check = bearerAuth("s3cret");
 * await check("Bearer s3cret"); // true
 * ```
 */
export function bearerAuth(token: string): (authorization: string | null) => Promise<boolean> {
  const expected = digest(token);
  return async (authorization: string | null): Promise<boolean> => {
    const match = authorization?.match(/^Bearer[ ]+(\S+)\s*$/i);
    const presented = await digest(match?.[1] ?? "");
    const want = await expected;
    let diff = match ? 0 : 1;
    for (let i = 0; i < want.length; i++) diff |= want[i] ^ presented[i];
    return diff === 0;
  };
}
