/**
 * A zero-dependency client for OpenAI-compatible chat-completions APIs
 * (OpenAI, Azure OpenAI's v1 API, Ollama, vLLM, LiteLLM, OpenRouter, ...),
 * for Deno and Bun: {@linkcode LLMClient}, with deadlines, typed errors
 * ({@linkcode LLMError}, {@linkcode classifyLLMError}), API-key redaction,
 * and a standalone server-sent-events parser ({@linkcode parseSSE}).
 *
 * This layer records no metrics: an {@linkcode LLMObserver} passed as
 * `observer` sees every call start and end. `@securetrack/metrics/tracking`
 * plugs its recorder into it: its `LLMService` is this client recording
 * the `llm_*` metrics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LLMClient, LLMError, type LLMObserver } from "@securetrack/metrics/llm";
 *
 * const log: LLMObserver = {
 *   start: ({ model, endpoint }) => ({
 *     succeed: (response) => console.log(model, endpoint, "ok", response.usage?.totalTokens),
 *     fail: (error) => console.log(model, endpoint, "failed:", error.type),
 *   }),
 * };
 * // Nothing listens on port 9 of loopback: the call fails as a network error.
 * const llm = new LLMClient({ baseUrl: "http://127.0.0.1:9/v1", model: "llama3.2", observer: log });
 * try {
 *   const { text } = await llm.generateResponse({ system: "Be brief.", prompt: "What is STRIDE?" });
 *   console.log(text);
 * } catch (error) {
 *   if (!(error instanceof LLMError)) throw error;
 *   assert.deepEqual(error.type, "network");
 * }
 * ```
 *
 * @module
 */

export {
  CHAT_ENDPOINT,
  CHAT_STREAM_ENDPOINT,
  type ChatMessage,
  DEFAULT_LLM_BASE_URL,
  DEFAULT_LLM_TIMEOUT_MS,
  type FetchFunction,
  type LLMCallInfo,
  type LLMCallObserver,
  LLMClient,
  type LLMClientOptions,
  type LLMObserver,
  type LLMRequest,
  type LLMResponse,
} from "./client.ts";
export {
  classifyLLMError,
  LLM_ERROR_TYPES,
  LLMError,
  type LLMErrorOptions,
  type LLMErrorType,
} from "./errors.ts";
export { parseSSE, type ParseSSEOptions, type SSEEvent, type SSESource } from "./sse.ts";
export type { TokenUsage } from "./usage.ts";
