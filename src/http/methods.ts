/**
 * The `method` label: a client can send any token as an HTTP method, and each
 * would otherwise become a series, so methods outside the standard nine are
 * reported as `OTHER`.
 *
 * @module
 */

const METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

/**
 * The label value for request method `method`: upper case if standard, else `"OTHER"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { methodLabel } from "./methods.ts";
 * assert.deepEqual(methodLabel("get"), "GET");
 * assert.deepEqual(methodLabel("BREW"), "OTHER");
 * ```
 */
export function methodLabel(method: string): string {
  if (METHODS.has(method)) return method;
  const upper = method.toUpperCase();
  return METHODS.has(upper) ? upper : "OTHER";
}
