/**
 * The SecureTrack metric catalogue and its tracking helpers: the 20 metrics
 * of the SecureTrack metrics document (LLM, application-wide, feature,
 * registration and user-activity metrics), registered in
 * {@linkcode customRegistry} (served at `/custom_metrics`), and one-line
 * helpers that record them. {@linkcode createTracking} gives the same
 * helpers bound to another registry.
 *
 * Helpers validate their arguments: an empty or non-string label value is a
 * `TypeError`, a negative or non-finite size, duration or score a
 * `RangeError`, both naming the helper. Label values longer than
 * {@linkcode MAX_LABEL_VALUE_LENGTH} (128) characters are truncated, and each
 * metric holds at most 10,000 label sets (further ones fold into an
 * `__overflow__` series, counted in `metrics_series_overflow_total`).
 *
 * @example
 * ```ts
 * import {
 *   customRegistry,
 *   FeatureMetrics,
 *   trackFeatureAsync,
 *   trackSessionEnd,
 *   trackSessionStart,
 *   trackUserAction,
 *   trackUserLogin,
 *   UserActionTimer,
 * } from "@securetrack/metrics/tracking";
 *
 * // When a user logs in, and out
 * trackSessionStart();
 * trackUserLogin();
 * trackSessionEnd();
 *
 * // A feature run, recorded when the block ends
 * {
 *   using _feature = new FeatureMetrics("threat_analysis");
 * }
 *
 * // A wrapped (or decorated) async feature
 * const analyzeDataFlow = trackFeatureAsync("data_flow_analysis")(
 *   async (diagram: string): Promise<number> => diagram.length,
 * );
 * await analyzeDataFlow("a -> b");
 *
 * // User actions, simple and timed
 * trackUserAction("export_report");
 * {
 *   using _timer = new UserActionTimer("document_upload");
 * }
 *
 * console.log(await customRegistry.metrics());
 * ```
 *
 * @module
 */

import type {
  LLMMethodDecorator,
  LLMServiceConstructor,
  TrackLLMMethodOptions,
  TrackLLMOptions,
} from "./llm.ts";
import type { FeatureMetricsBase, FeatureWrapper } from "./feature.ts";
import type { UserActionTimerBase } from "./user.ts";
import type { AppError, AppRequest } from "./app.ts";
import type { LLMClient } from "../llm/client.ts";
import {
  type InstrumentLLMOptions,
  type InstrumentOpenAIOptions,
  instrumentOpenAIWith,
  type OpenAIClientLike,
} from "./openai.ts";
import { type AnthropicClientLike, instrumentAnthropicWith } from "./anthropic.ts";
import { Registry } from "../core/registry.ts";
import { createTracking, type Tracking } from "./tracking.ts";

export { createTracking, type Tracking } from "./tracking.ts";
export {
  ANALYSIS_COMPLEXITY_BUCKETS,
  APP_DURATION_BUCKETS,
  COMPLETION_SIZE_MAX_AGE_SECONDS,
  COMPLETION_SIZE_PERCENTILES,
  createMetrics,
  FEATURE_DURATION_BUCKETS,
  LLM_DURATION_BUCKETS,
  MAX_LABEL_VALUE_LENGTH,
  type TrackingMetrics,
  type TrackingOptions,
  USER_ACTION_DURATION_BUCKETS,
} from "./catalogue.ts";
// The LLM client itself (LLMClient, LLMError, the request and response
// types) is `@securetrack/metrics/llm`; this module binds it to the catalogue.
export type {
  LLMMethodDecorator,
  LLMServiceConstructor,
  LLMServiceOptions,
  LLMTrackers,
  TrackLLMMethodOptions,
  TrackLLMOptions,
} from "./llm.ts";
export type {
  FeatureMetricsBase,
  FeatureMetricsOptions,
  FeatureTrackers,
  FeatureWrapper,
} from "./feature.ts";
export type { SessionTrackers } from "./session.ts";
export type {
  InstrumentLLMOptions,
  InstrumentOpenAIOptions,
  LLMSDKCall,
  OpenAIClientLike,
} from "./openai.ts";
export type { AnthropicClientLike } from "./anthropic.ts";
export type { UserActionTimerBase, UserActionTimerOptions, UserTrackers } from "./user.ts";
export type { AppError, AppRequest, AppTrackers } from "./app.ts";

/**
 * The registry of the SecureTrack catalogue, served at `/custom_metrics`
 * (apart from `defaultRegistry`, served at `/metrics`). The module-level
 * helpers and classes record into it; all 20 metrics are registered on
 * import.
 *
 * @example
 * ```ts
 * import { customRegistry, trackUserLogin } from "@securetrack/metrics/tracking";
 * trackUserLogin();
 * console.log(await customRegistry.metrics());
 * ```
 */
export const customRegistry: Registry = new Registry();

/** The catalogue in `customRegistry` and every helper bound to it. */
const custom: Tracking = createTracking(customRegistry);

/**
 * A client for any OpenAI-compatible chat-completions API: the `LLMClient`
 * of `@securetrack/metrics/llm` (same options, methods and errors), which
 * records every call in {@linkcode customRegistry} (or in the catalogue
 * given as `metrics`):
 *
 * - `llm_requests_total{model,endpoint}` and
 *   `llm_request_duration_seconds{model,endpoint}` for every call, successful
 *   or not (`endpoint` is `"chat"` for `generateResponse`, `"chat_stream"`
 *   for `streamResponse`; a stream's duration runs until its last chunk);
 * - on success, `llm_tokens_total{model,type="prompt"|"completion"}` from the
 *   API's `usage` (a stream asks for it with
 *   `stream_options.include_usage`), and `llm_completion_size_bytes{model}`,
 *   the UTF-8 size of the completion text;
 * - on failure, `llm_errors_total{model,error_type}` (the `type` of the
 *   `LLMError` then thrown) and, for HTTP 429, `llm_rate_limits_total`.
 *
 * A stream its consumer stops early (`break` out of `for await`) counts as a
 * successful call with the bytes received so far, and no tokens unless the
 * usage had already arrived (the API sends it last).
 *
 * The `model` label is the model asked for (truncated to 128 characters),
 * not the (often dated) name the API answers with, so that its values stay
 * the few the application uses. The API key is never in a label, an error
 * message or a log line. `createTracking(registry).LLMService` records into
 * `registry` instead.
 *
 * @example
 * ```ts
 * import { LLMError } from "@securetrack/metrics/llm";
 * import { customRegistry, LLMService } from "@securetrack/metrics/tracking";
 *
 * const llm = new LLMService({ baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2" });
 * try {
 *   const response = await llm.generateResponse({ prompt: "Your prompt here" });
 *   console.log(response.text, response.usage?.completionTokens);
 *   for await (const chunk of llm.streamResponse({ prompt: "Tell me a story" })) {
 *     console.log(chunk);
 *   }
 * } catch (error) {
 *   if (!(error instanceof LLMError)) throw error;
 *   console.error(error.type); // the error_type it was counted under
 * }
 * console.log(await customRegistry.metrics());
 * ```
 */
export const LLMService: LLMServiceConstructor = custom.LLMService;
/**
 * An instance of {@linkcode LLMService}: an `LLMClient` of
 * `@securetrack/metrics/llm`.
 *
 * @example
 * ```ts
 * import { LLMService } from "@securetrack/metrics/tracking";
 * const clients = new Map<string, LLMService>();
 * clients.set("llama3.2", new LLMService({ baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2" }));
 * ```
 */
export type LLMService = LLMClient;

/**
 * One run of a feature, for `using`, recorded in {@linkcode customRegistry}
 * (or in the catalogue given as `metrics`): created when the feature starts;
 * when disposed (or `end()`ed), it counts one use in
 * `feature_usage_total{feature_name}` and observes the elapsed time in
 * `feature_duration_seconds{feature_name}`, once. An error is recorded with
 * `fail(error)` (dispose cannot see it; or use {@linkcode trackFeature},
 * which does both). See {@linkcode FeatureMetricsBase} for the methods.
 * `createTracking(registry).FeatureMetrics` records into `registry`
 * instead.
 *
 * @example
 * ```ts
 * import { FeatureMetrics } from "@securetrack/metrics/tracking";
 *
 * function analyzeThreats(input: string): string[] {
 *   using feature = new FeatureMetrics("threat_analysis");
 *   try {
 *     return input.split(",");
 *   } catch (error) {
 *     feature.fail(error);
 *     throw error;
 *   }
 * }
 * analyzeThreats("spoofing,tampering");
 * ```
 */
export const FeatureMetrics: typeof FeatureMetricsBase = custom.FeatureMetrics;
/**
 * An instance of {@linkcode FeatureMetrics}: a {@linkcode FeatureMetricsBase}.
 *
 * @example
 * ```ts
 * import { FeatureMetrics } from "@securetrack/metrics/tracking";
 * const runs: FeatureMetrics[] = [new FeatureMetrics("a"), new FeatureMetrics("b")];
 * for (const run of runs) run.end();
 * ```
 */
export type FeatureMetrics = FeatureMetricsBase;

/**
 * Times one user action, for `using`, recorded in {@linkcode customRegistry}
 * (or in the catalogue given as `metrics`): when disposed (or `end()`ed), it
 * counts the action in `user_action_total{action_type}` and observes the
 * elapsed time in `user_action_duration_seconds{action_type}`, once. See
 * {@linkcode UserActionTimerBase} for the methods.
 * `createTracking(registry).UserActionTimer` records into `registry`
 * instead.
 *
 * @example
 * ```ts
 * import { UserActionTimer } from "@securetrack/metrics/tracking";
 *
 * async function uploadDocument(file: Blob): Promise<void> {
 *   using _timer = new UserActionTimer("document_upload");
 *   await file.arrayBuffer();
 * }
 * await uploadDocument(new Blob(["report"]));
 * ```
 */
export const UserActionTimer: typeof UserActionTimerBase = custom.UserActionTimer;
/**
 * An instance of {@linkcode UserActionTimer}: a {@linkcode UserActionTimerBase}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UserActionTimer } from "@securetrack/metrics/tracking";
 * const timer: UserActionTimer = new UserActionTimer("export_report");
 * assert.deepEqual(timer.end() >= 0, true);
 * ```
 */
export type UserActionTimer = UserActionTimerBase;

/**
 * A TC39 method decorator that records the `llm_*` metrics (requests,
 * duration, tokens, completion size, errors, rate limits) around an async
 * method, in {@linkcode customRegistry}; see {@linkcode trackLLMCall} for
 * what is taken from the result. `model` is a fixed string, or a function of
 * the instance. `traceId`, as {@linkcode trackLLMCall}'s, is put as the
 * `{ trace_id }` exemplar on the call's `llm_requests_total` and
 * `llm_request_duration_seconds` (shown in OpenMetrics scrapes): a function
 * of the instance and the method's arguments, called before each call
 * (`undefined`: no exemplar), or a string every call gets. Errors pass
 * through unchanged after being counted.
 *
 * @example
 * ```ts
 * import { trackLLM } from "@securetrack/metrics/tracking";
 *
 * class Summarizer {
 *   model = "claude-sonnet-4";
 *
 *   @trackLLM({ model: (self: Summarizer) => self.model, endpoint: "messages" })
 *   async summarize(text: string): Promise<{ text: string; usage: { input_tokens: number; output_tokens: number } }> {
 *     return { text: text.slice(0, 10), usage: { input_tokens: 12, output_tokens: 3 } };
 *   }
 *
 *   @trackLLM({ model: "text-embedding-3-small", endpoint: "embeddings" })
 *   async embed(_text: string): Promise<number[]> {
 *     return [0.1, 0.2];
 *   }
 * }
 * await new Summarizer().summarize("A long report about threats");
 * ```
 *
 * @example With the trace id of the request being served, as the exemplar
 * ```ts
 * import { customRegistry, trackLLM } from "@securetrack/metrics/tracking";
 *
 * class Assistant {
 *   @trackLLM({
 *     model: "gpt-4o",
 *     endpoint: "chat",
 *     traceId: (_self: Assistant, _prompt: string, traceId?: string) => traceId,
 *   })
 *   async ask(prompt: string, _traceId?: string): Promise<string> {
 *     return prompt;
 *   }
 * }
 * await new Assistant().ask("Hello", "4bf92f3577b34da6a3ce929d0e0e4736");
 * // llm_requests_total{model="gpt-4o",endpoint="chat"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1 ...
 * console.log(await customRegistry.metrics("openmetrics"));
 * ```
 */
export function trackLLM(options: TrackLLMOptions): LLMMethodDecorator<unknown>;
/**
 * `@trackLLM` with the model, or the trace id, read at each call.
 *
 * @example
 * ```ts
 * import { trackLLM } from "@securetrack/metrics/tracking";
 * class Client {
 *   model = "gpt-4o";
 *   constructor(readonly traceId?: string) {}
 *   @trackLLM({
 *     model: (self: Client) => self.model,
 *     endpoint: "chat",
 *     traceId: (self: Client) => self.traceId,
 *   })
 *   async ask(prompt: string): Promise<string> {
 *     return prompt;
 *   }
 * }
 * await new Client("0af7651916cd43dd8448eb211c80319c").ask("Hello");
 * ```
 */
export function trackLLM<This>(options: TrackLLMMethodOptions<This>): LLMMethodDecorator<This>;
export function trackLLM<This>(
  options: TrackLLMOptions | TrackLLMMethodOptions<This>,
): LLMMethodDecorator<This> {
  return custom.trackLLM(options as TrackLLMMethodOptions<This>);
}

/**
 * Runs `fn`, an LLM call made through any client, and records it in
 * {@linkcode customRegistry}: `llm_requests_total` and
 * `llm_request_duration_seconds` always; on success, `llm_tokens_total` when
 * the result has a `usage` object (OpenAI's `prompt_tokens` /
 * `completion_tokens`, Anthropic's `input_tokens` / `output_tokens`, or
 * camel case), and `llm_completion_size_bytes` when the result is a string
 * or has the text in `text`, `content` or `choices[0].message.content`; on
 * failure, `llm_errors_total` with the `error_type` of
 * {@linkcode classifyLLMError} (and `llm_rate_limits_total` for a 429).
 * The result and any error pass through unchanged.
 *
 * @example
 * ```ts
 * import { trackLLMCall } from "@securetrack/metrics/tracking";
 *
 * const completion = await trackLLMCall({ model: "gpt-4o", endpoint: "chat" }, async () => ({
 *   choices: [{ message: { content: "Hello" } }],
 *   usage: { prompt_tokens: 5, completion_tokens: 1 },
 * }));
 * console.log(completion.choices[0].message.content);
 * ```
 */
export function trackLLMCall<T>(
  options: TrackLLMOptions,
  fn: () => T | PromiseLike<T>,
): Promise<T> {
  return custom.trackLLMCall(options, fn);
}

/**
 * Runs `fn` (sync or async) as one run of feature `name`, in
 * {@linkcode customRegistry}: counts the use, observes the duration (until a
 * returned promise settles), and counts an error under its class name. The
 * result, or the error, passes through unchanged.
 *
 * @example
 * ```ts
 * import { trackFeature } from "@securetrack/metrics/tracking";
 *
 * const threats = trackFeature("threat_analysis", () => ["spoofing", "tampering"]);
 * const report = await trackFeature("report_generation", async () => "report");
 * ```
 */
export function trackFeature<T>(name: string, fn: () => T): T {
  return custom.trackFeature(name, fn);
}

/**
 * A wrapper that runs each call of a function as one run of feature `name`
 * (as {@linkcode trackFeature}), usable as a TC39 method decorator too.
 * Throws a `TypeError` at once for an empty or non-string name.
 *
 * @example
 * ```ts
 * import { trackFeatureAsync } from "@securetrack/metrics/tracking";
 *
 * // As a wrapper
 * const analyzeDataFlow = trackFeatureAsync("data_flow_analysis")(
 *   async (diagram: string): Promise<string[]> => diagram.split("->"),
 * );
 * await analyzeDataFlow("browser -> api");
 *
 * // As a method decorator
 * class Analyzer {
 *   @trackFeatureAsync("data_flow_analysis")
 *   async analyzeDataFlow(diagram: string): Promise<string[]> {
 *     return diagram.split("->");
 *   }
 * }
 * await new Analyzer().analyzeDataFlow("browser -> api");
 * ```
 */
export function trackFeatureAsync(name: string): FeatureWrapper {
  return custom.trackFeatureAsync(name);
}

/**
 * Adds one active session to `app_active_sessions`, in
 * {@linkcode customRegistry}.
 *
 * @example
 * ```ts
 * import { trackSessionStart, trackUserLogin } from "@securetrack/metrics/tracking";
 * // When a user logs in
 * trackSessionStart();
 * trackUserLogin();
 * ```
 */
export function trackSessionStart(): void {
  custom.trackSessionStart();
}

/**
 * Ends one active session (`app_active_sessions` - 1), in
 * {@linkcode customRegistry}. The gauge never goes below zero: an end
 * without a matching start is ignored.
 *
 * @example
 * ```ts
 * import { trackSessionEnd } from "@securetrack/metrics/tracking";
 * // When a user logs out
 * trackSessionEnd();
 * ```
 */
export function trackSessionEnd(): void {
  custom.trackSessionEnd();
}

/**
 * Counts one login in `user_logins_total`, in {@linkcode customRegistry}.
 *
 * @example
 * ```ts
 * import { trackUserLogin } from "@securetrack/metrics/tracking";
 * trackUserLogin();
 * ```
 */
export function trackUserLogin(): void {
  custom.trackUserLogin();
}

/**
 * Counts one registration in `user_registrations_total`, in
 * {@linkcode customRegistry}.
 *
 * @example
 * ```ts
 * import { trackUserRegistration } from "@securetrack/metrics/tracking";
 * trackUserRegistration();
 * ```
 */
export function trackUserRegistration(): void {
  custom.trackUserRegistration();
}

/**
 * Counts one authentication failure in `user_auth_failures_total{reason}`,
 * in {@linkcode customRegistry}. Use a fixed set of reasons. Throws a
 * `TypeError` for an empty or non-string reason.
 *
 * @example
 * ```ts
 * import { trackAuthFailure } from "@securetrack/metrics/tracking";
 * trackAuthFailure("invalid_password");
 * ```
 */
export function trackAuthFailure(reason: string): void {
  custom.trackAuthFailure(reason);
}

/**
 * Counts one user action in `user_action_total{action_type}`, in
 * {@linkcode customRegistry}. Throws a `TypeError` for an empty or
 * non-string action type.
 *
 * @example
 * ```ts
 * import { trackUserAction } from "@securetrack/metrics/tracking";
 * trackUserAction("export_report");
 * ```
 */
export function trackUserAction(actionType: string): void {
  custom.trackUserAction(actionType);
}

/**
 * Sets a user's workspace size in `workspace_size_bytes{user_id}`, in
 * {@linkcode customRegistry} (at most 10,000 users; further ones share the
 * `__overflow__` series). Throws a `TypeError` for an empty or non-string
 * user id, a `RangeError` for a negative or non-finite size.
 *
 * @example
 * ```ts
 * import { setWorkspaceSize } from "@securetrack/metrics/tracking";
 * setWorkspaceSize("user-42", 1_048_576);
 * ```
 */
export function setWorkspaceSize(userId: string, bytes: number): void {
  custom.setWorkspaceSize(userId, bytes);
}

/**
 * Removes a user's `workspace_size_bytes` series, in
 * {@linkcode customRegistry}; returns whether it existed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeWorkspace, setWorkspaceSize } from "@securetrack/metrics/tracking";
 * setWorkspaceSize("user-42", 2048);
 * assert.deepEqual(removeWorkspace("user-42"), true);
 * ```
 */
export function removeWorkspace(userId: string): boolean {
  return custom.removeWorkspace(userId);
}

/**
 * Observes an analysis' complexity score (scale 0–100) in
 * `analysis_complexity{analysis_type}`, in {@linkcode customRegistry}.
 * Throws a `TypeError` for an empty or non-string type, a `RangeError` for
 * a negative or non-finite score.
 *
 * @example
 * ```ts
 * import { observeAnalysisComplexity } from "@securetrack/metrics/tracking";
 * observeAnalysisComplexity("threat_model", 37);
 * ```
 */
export function observeAnalysisComplexity(analysisType: string, score: number): void {
  custom.observeAnalysisComplexity(analysisType, score);
}

/**
 * Records one handled application request in `app_requests_total` and
 * `app_request_duration_seconds`, in {@linkcode customRegistry}; the
 * server's middleware calls it. The method is upper-cased, non-standard
 * methods become `OTHER`. Throws a `TypeError` for an empty or non-string
 * endpoint or method, a `RangeError` for a status outside 100–599 or a
 * negative or non-finite duration.
 *
 * @example
 * ```ts
 * import { trackAppRequest } from "@securetrack/metrics/tracking";
 * trackAppRequest({ endpoint: "/api/analyses/:id", method: "GET", statusCode: 200, seconds: 0.012 });
 * ```
 */
export function trackAppRequest(request: AppRequest): void {
  custom.trackAppRequest(request);
}

/**
 * Counts one application error in `app_errors_total{endpoint,error_type}`,
 * in {@linkcode customRegistry}; the server's middleware calls it.
 *
 * @example
 * ```ts
 * import { trackAppError } from "@securetrack/metrics/tracking";
 * trackAppError({ endpoint: "/api/analyses/:id", errorType: "TypeError" });
 * ```
 */
export function trackAppError(error: AppError): void {
  custom.trackAppError(error);
}

/**
 * Instruments an official `openai` SDK client in place and returns it: every
 * `chat.completions.create` (streamed or not; also the SDK's helpers built
 * on it, `chat.completions.stream()`, `parse()`, `runTools()`) and
 * `embeddings.create` call records the six `llm_*` metrics in
 * {@linkcode customRegistry} (or in `options.metrics`), as
 * {@linkcode LLMService} does:
 *
 * - `llm_requests_total{model,endpoint}` and
 *   `llm_request_duration_seconds{model,endpoint}` once per call, when it
 *   ends (a stream: when its iteration ends, fails, or is left by `break`);
 * - on success, `llm_tokens_total{model,type}` from the response's `usage`
 *   (embeddings have prompt tokens only) and
 *   `llm_completion_size_bytes{model}`, the UTF-8 size of the first
 *   choice's text;
 * - on failure, `llm_errors_total{model,error_type}` by the SDK error's
 *   status or class (429 `rate_limited`, also in `llm_rate_limits_total`;
 *   `http_4xx`, `http_5xx`, `timeout`, `network`, `aborted`).
 *
 * One call is one request, however often the SDK retried it (`maxRetries`):
 * the wrapper sees the call, not the attempts, so it is counted once, with
 * its final outcome and a duration that includes the retries' waits.
 *
 * `endpoint` is `chat`, `chat_stream` or `embeddings` unless
 * `options.endpoint` names it; `model` is the model the API answered with
 * (the one asked for when it did not answer) unless `options.model` is
 * `"request"`. A stream records tokens only if the API sent its usage: see
 * `options.includeStreamUsage`. What the caller gets is unchanged: the same
 * promise object (`withResponse()` and `asResponse()` work), the same
 * stream object, every chunk, every error. Instrumenting a client twice with
 * the same options does nothing more; with other options, it is a
 * `TypeError`. The API key never reaches a label.
 *
 * @example
 * ```ts ignore
 * import OpenAI from "openai";
 * import { instrumentOpenAI } from "@securetrack/metrics/tracking";
 *
 * const openai = instrumentOpenAI(new OpenAI());
 * const completion = await openai.chat.completions.create({
 *   model: "gpt-4o",
 *   messages: [{ role: "user", content: "Hello" }],
 * });
 * ```
 *
 * @example Any client of the same shape
 * ```ts
 * import { instrumentOpenAI } from "@securetrack/metrics/tracking";
 * const client = instrumentOpenAI({
 *   chat: {
 *     completions: {
 *       create: async (body: { model: string }) => ({
 *         model: body.model,
 *         choices: [{ index: 0, message: { role: "assistant", content: "Hi" } }],
 *         usage: { prompt_tokens: 3, completion_tokens: 1 },
 *       }),
 *     },
 *   },
 * });
 * await client.chat.completions.create({ model: "gpt-4o" });
 * ```
 */
export function instrumentOpenAI<C extends OpenAIClientLike>(
  client: C,
  options?: InstrumentOpenAIOptions,
): C {
  return instrumentOpenAIWith(custom.metrics, client, options);
}

/**
 * Instruments an official `@anthropic-ai/sdk` client in place and returns
 * it: every `messages.create` call, streamed (`stream: true`) or not, and
 * every `messages.stream()` (which the SDK makes through `messages.create`),
 * records the six `llm_*` metrics in {@linkcode customRegistry} (or in
 * `options.metrics`), as {@linkcode instrumentOpenAI} describes. Tokens are
 * the `usage`'s `input_tokens` (prompt; cache reads and writes are not
 * added, as in {@linkcode trackLLMCall}) and `output_tokens` (completion);
 * a stream's come from `message_start` and `message_delta`, and are recorded
 * once `message_delta` has arrived. The completion size is that of the text
 * blocks. `endpoint` is `messages` or `messages_stream` unless
 * `options.endpoint` names it.
 *
 * @example
 * ```ts ignore
 * import Anthropic from "@anthropic-ai/sdk";
 * import { instrumentAnthropic } from "@securetrack/metrics/tracking";
 *
 * const anthropic = instrumentAnthropic(new Anthropic());
 * const message = await anthropic.messages.create({
 *   model: "claude-sonnet-4-5",
 *   max_tokens: 1024,
 *   messages: [{ role: "user", content: "Hello" }],
 * });
 * ```
 *
 * @example Any client of the same shape
 * ```ts
 * import { instrumentAnthropic } from "@securetrack/metrics/tracking";
 * const client = instrumentAnthropic({
 *   messages: {
 *     create: async (body: { model: string }) => ({
 *       model: body.model,
 *       content: [{ type: "text", text: "Hi" }],
 *       usage: { input_tokens: 3, output_tokens: 1 },
 *     }),
 *   },
 * });
 * await client.messages.create({ model: "claude-sonnet-4-5" });
 * ```
 */
export function instrumentAnthropic<C extends AnthropicClientLike>(
  client: C,
  options?: InstrumentLLMOptions,
): C {
  return instrumentAnthropicWith(custom.metrics, client, options);
}
