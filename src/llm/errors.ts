/**
 * The typed error of the LLM client, {@linkcode LLMError}, and the fixed set
 * of error types a failed call is classified under (the `error_type` label
 * of `llm_errors_total` when the call is recorded by
 * `@securetrack/metrics/tracking`).
 *
 * @module
 */

/**
 * Every error type of a failed LLM call (and `error_type` value of
 * `llm_errors_total` when `@securetrack/metrics/tracking` records the call):
 *
 * - `timeout`: the call took longer than its `timeoutMs` (for a stream: no
 *   data arrived for `timeoutMs`).
 * - `aborted`: the caller's `AbortSignal` fired.
 * - `network`: no HTTP response: connection refused or reset, DNS failure,
 *   TLS error.
 * - `rate_limited`: HTTP 429 (the tracking layer also counts it in
 *   `llm_rate_limits_total`). Kept apart from `http_4xx` so that `http_4xx`
 *   means "our request is wrong" (bad key, bad model, bad body), which needs
 *   a fix, not a back-off.
 * - `http_4xx`: any other 4xx status.
 * - `http_5xx`: a 5xx status.
 * - `invalid_response`: a 2xx response that is not what the protocol says
 *   (not JSON, no `choices`, a malformed stream event, an error event inside
 *   a stream), or a status outside 2xx/4xx/5xx.
 * - `unknown`: an error none of the rules of {@linkcode classifyLLMError}
 *   recognise (thrown, say, by a call of another client wrapped with the
 *   tracking layer's `trackLLMCall` or `@trackLLM`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LLM_ERROR_TYPES } from "@securetrack/metrics/llm";
 * assert.deepEqual(LLM_ERROR_TYPES.includes("rate_limited"), true);
 * ```
 */
export const LLM_ERROR_TYPES: readonly LLMErrorType[] = Object.freeze([
  "timeout",
  "aborted",
  "network",
  "rate_limited",
  "http_4xx",
  "http_5xx",
  "invalid_response",
  "unknown",
]);

/**
 * One of {@linkcode LLM_ERROR_TYPES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LLMError, type LLMErrorType } from "@securetrack/metrics/llm";
 * function retryable(type: LLMErrorType): boolean {
 *   return type === "rate_limited" || type === "http_5xx" || type === "timeout";
 * }
 * const e = new LLMError("http_5xx", "HTTP 503");
 * assert.deepEqual(retryable(e.type), true);
 * ```
 */
export type LLMErrorType =
  | "timeout"
  | "aborted"
  | "network"
  | "rate_limited"
  | "http_4xx"
  | "http_5xx"
  | "invalid_response"
  | "unknown";

/**
 * Options for {@linkcode LLMError}.
 *
 * @example
 * ```ts
 * import { LLMError, type LLMErrorOptions } from "@securetrack/metrics/llm";
 * const options: LLMErrorOptions = { status: 429, retryAfterSeconds: 20 };
 * const error = new LLMError("rate_limited", "HTTP 429", options);
 * ```
 */
export interface LLMErrorOptions {
  /** The underlying error (a network failure, a JSON syntax error). */
  cause?: unknown;
  /** HTTP status of the response, when there was one. */
  status?: number;
  /** Seconds the API asked to wait before retrying (HTTP 429 `Retry-After`), when given. */
  retryAfterSeconds?: number;
}

/**
 * A failed LLM call, as thrown by `LLMClient` (after its observer, if any,
 * has seen it: the tracking layer counts it in
 * `llm_errors_total{error_type}`, with `type` as the label). The message
 * names the endpoint, the model and what went wrong; it never contains the
 * API key (any occurrence in a response body quoted in the message is
 * replaced by `[redacted]`).
 *
 * @example
 * ```ts
 * import { LLMError } from "@securetrack/metrics/llm";
 * try {
 *   throw new LLMError("rate_limited", "gpt-4o chat: HTTP 429", { status: 429, retryAfterSeconds: 2 });
 * } catch (error) {
 *   if (error instanceof LLMError && error.type === "rate_limited") {
 *     console.log(`retry in ${error.retryAfterSeconds} s`);
 *   }
 * }
 * ```
 */
export class LLMError extends Error {
  /** What went wrong: one of {@linkcode LLM_ERROR_TYPES}. */
  readonly type: LLMErrorType;
  /** HTTP status, when the API answered. */
  readonly status: number | undefined;
  /** `Retry-After` of a 429 answer, in seconds, when the API sent one. */
  readonly retryAfterSeconds: number | undefined;

  /** Creates the error; see {@linkcode LLMErrorOptions}. */
  constructor(type: LLMErrorType, message: string, options: LLMErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LLMError";
    this.type = type;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The error type of an HTTP status that is not 2xx. Internal: not exported by `mod.ts`. */
export function statusErrorType(status: number): LLMErrorType {
  if (status === 429) return "rate_limited";
  if (status >= 400 && status < 500) return "http_4xx";
  if (status >= 500 && status < 600) return "http_5xx";
  return "invalid_response";
}

/**
 * The error type of an error thrown by an LLM call made through any client
 * (the `error_type` the tracking layer counts it under), by these rules, in
 * order:
 *
 * 1. an {@linkcode LLMError}: its `type`;
 * 2. a numeric `status` or `statusCode` property (the shape of the OpenAI,
 *    Anthropic and most other SDKs' API errors): by status, 429 →
 *    `rate_limited`, 4xx → `http_4xx`, 5xx → `http_5xx`;
 * 3. by name: `TimeoutError` or a name containing `Timeout` → `timeout`,
 *    `AbortError` → `aborted`, a name containing `Connection` (the SDKs'
 *    `APIConnectionError`) → `network`;
 * 4. anything else: `unknown`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyLLMError } from "@securetrack/metrics/llm";
 * assert.deepEqual(classifyLLMError({ status: 503 }), "http_5xx");
 * assert.deepEqual(classifyLLMError(new DOMException("late", "TimeoutError")), "timeout");
 * ```
 */
export function classifyLLMError(error: unknown): LLMErrorType {
  if (error instanceof LLMError) return error.type;
  if (typeof error !== "object" || error === null) return "unknown";
  const e = error as { status?: unknown; statusCode?: unknown; name?: unknown };
  const status = typeof e.status === "number" ? e.status : e.statusCode;
  if (typeof status === "number" && status >= 400 && status < 600) {
    return statusErrorType(status);
  }
  const name = typeof e.name === "string" ? e.name : "";
  if (name === "AbortError") return "aborted";
  if (name.includes("Timeout")) return "timeout";
  if (name.includes("Connection")) return "network";
  return "unknown";
}
