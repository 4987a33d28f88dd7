/**
 * Token usage: {@linkcode TokenUsage}, and reading it from the `usage`
 * object of an API response.
 *
 * @module
 */

/**
 * Token counts of one call, from the API's `usage`.
 *
 * @example
 * ```ts
 * import type { TokenUsage } from "@securetrack/metrics/llm";
 * const usage: TokenUsage = { promptTokens: 12, completionTokens: 30, totalTokens: 42 };
 * ```
 */
export interface TokenUsage {
  /** Tokens of the prompt (`usage.prompt_tokens`). */
  promptTokens: number;
  /** Tokens of the completion (`usage.completion_tokens`). */
  completionTokens: number;
  /** `usage.total_tokens`, or the sum of the two when the API leaves it out. */
  totalTokens: number;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && value >= 0 && Number.isFinite(value) ? value : undefined;
}

/**
 * Token usage from a `usage` object in the shapes clients use: OpenAI's
 * `prompt_tokens` / `completion_tokens`, {@linkcode TokenUsage}'s camel
 * case, and Anthropic's `input_tokens` / `output_tokens`. `undefined` unless
 * both counts are there (finite numbers >= 0). Used by `LLMClient` and by
 * the tracking layer; not exported by `mod.ts`.
 */
export function toUsage(u: unknown): TokenUsage | undefined {
  if (typeof u !== "object" || u === null) return undefined;
  const r = u as Record<string, unknown>;
  const prompt = count(r.prompt_tokens) ?? count(r.promptTokens) ?? count(r.input_tokens) ??
    count(r.inputTokens);
  const completion = count(r.completion_tokens) ?? count(r.completionTokens) ??
    count(r.output_tokens) ?? count(r.outputTokens);
  if (prompt === undefined || completion === undefined) return undefined;
  const total = count(r.total_tokens) ?? count(r.totalTokens) ?? prompt + completion;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: total };
}
