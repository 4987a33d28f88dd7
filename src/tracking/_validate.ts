/**
 * Argument checks shared by the tracking helpers. Errors name the helper, the
 * argument and the value, so a bad call is found from its message alone.
 *
 * @module
 */

import { MAX_LABEL_VALUE_LENGTH } from "./catalogue.ts";

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return `${typeof value} ${String(value)}`;
  }
  return typeof value;
}

/** Cuts `value` to {@linkcode MAX_LABEL_VALUE_LENGTH} code units without splitting a surrogate pair. */
export function truncateLabel(value: string): string {
  if (value.length <= MAX_LABEL_VALUE_LENGTH) return value;
  let end = MAX_LABEL_VALUE_LENGTH;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return value.slice(0, end);
}

/**
 * Checks a label value given to helper `helper` as argument `arg`: a
 * non-empty string, truncated to {@linkcode MAX_LABEL_VALUE_LENGTH}.
 */
export function labelValue(helper: string, arg: string, value: unknown): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${helper}: ${arg} must be a non-empty string, got ${describe(value)}`);
  }
  return truncateLabel(value);
}

/** Checks a size, duration or score: a finite number >= 0. */
export function nonNegative(helper: string, arg: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`${helper}: ${arg} must be a number, got ${describe(value)}`);
  }
  if (!(value >= 0 && value !== Infinity)) {
    throw new RangeError(`${helper}: ${arg} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

/**
 * The label value an error is counted under: its class name (bounded by the
 * number of classes in the program), or the type of a thrown non-object.
 * Never throws: it runs while another error is on its way out.
 */
export function errorClassName(error: unknown): string {
  let name: unknown;
  if (typeof error === "object" && error !== null) {
    name = (error as { constructor?: { name?: unknown } }).constructor?.name;
    // An anonymous class has no name; its `name` property (inherited, e.g.
    // "Error") is the next best bounded value.
    if (typeof name !== "string" || name === "") name = (error as { name?: unknown }).name;
    if (typeof name !== "string" || name === "") name = "Object";
  } else {
    name = error === null ? "null" : typeof error;
  }
  return truncateLabel(name as string);
}

/** Byte length of `text` encoded as UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else bytes += 3;
  }
  return bytes;
}
