/**
 * `instrumentOpenAI`: the `llm_*` metrics for calls made through the
 * official `openai` SDK, without depending on it (see `_sdk.ts` for how a
 * call is observed).
 *
 * @module
 */

import type { TrackingMetrics } from "./catalogue.ts";
import {
  count,
  type InstrumentLLMOptions,
  type Operation,
  readAnswer,
  record,
  type ResponseReader,
  settingsFor,
  wrapMethod,
} from "./_sdk.ts";
import { utf8Length } from "./_validate.ts";

// The options every SDK's instrumentation takes; public through this module.
export type { InstrumentLLMOptions, LLMSDKCall } from "./_sdk.ts";

/**
 * What `instrumentOpenAI` needs of a client: the shape of the official
 * `openai` SDK's `OpenAI` (or `AzureOpenAI`) client, checked structurally,
 * so the SDK is no dependency of this package. `embeddings` is instrumented
 * when present.
 *
 * @example
 * ```ts
 * import type { OpenAIClientLike } from "@securetrack/metrics/tracking";
 * const client: OpenAIClientLike = {
 *   chat: { completions: { create: async () => ({ choices: [] }) } },
 * };
 * ```
 */
export interface OpenAIClientLike {
  /** `client.chat.completions.create(body, options)`. */
  chat: { completions: { create: (...args: never[]) => unknown } };
  /** `client.embeddings.create(body, options)`. */
  embeddings?: { create: (...args: never[]) => unknown };
}

/**
 * Options of `instrumentOpenAI`: those of every SDK
 * ({@linkcode InstrumentLLMOptions}), and whether to ask streams for their
 * usage.
 *
 * @example
 * ```ts
 * import type { InstrumentOpenAIOptions } from "@securetrack/metrics/tracking";
 * const options: InstrumentOpenAIOptions = { includeStreamUsage: true };
 * ```
 */
export interface InstrumentOpenAIOptions extends InstrumentLLMOptions {
  /**
   * The API sends a stream's token counts only when asked
   * (`stream_options: { include_usage: true }`), in one more chunk at the
   * end whose `choices` is empty. `false` (the default): requests are sent
   * as the caller wrote them, and a stream that did not ask records no
   * tokens. `true`: a streamed call whose body does not set
   * `stream_options.include_usage` is sent with it set to `true` (in a copy
   * of the body; the caller's object is not changed), and the usage chunk
   * that this adds is read and kept from the caller, who gets the same
   * chunks as without it (each with `usage: null`, which the SDK's types
   * already allow).
   */
  includeStreamUsage?: boolean;
}

/** Reads chat completions, their chunks and embeddings. */
const reader: ResponseReader = {
  response(data, out) {
    const r = record(data);
    if (r === undefined) return;
    readAnswer(r, out, "prompt_tokens", "completion_tokens");
    if (Array.isArray(r.choices)) {
      const content = record(record(r.choices[0])?.message)?.content;
      if (typeof content === "string") out.bytes = utf8Length(content);
    }
  },
  item(item, out, hideUsageItem) {
    const c = record(item);
    if (c === undefined) return true;
    if (typeof c.model === "string" && c.model !== "") out.model = c.model;
    const choices = c.choices;
    if (Array.isArray(choices)) {
      for (const choice of choices) {
        const ch = record(choice);
        // The first choice makes the completion, as for a whole response.
        if (ch === undefined || (ch.index ?? 0) !== 0) continue;
        const content = record(ch.delta)?.content;
        if (typeof content === "string") out.bytes = (out.bytes ?? 0) + utf8Length(content);
      }
    }
    const usage = record(c.usage);
    if (usage === undefined) return true;
    out.prompt = count(usage.prompt_tokens);
    out.completion = count(usage.completion_tokens);
    return !(hideUsageItem && Array.isArray(choices) && choices.length === 0);
  },
};

const chat: Operation = {
  operation: "chat.completions.create",
  endpoint: (stream) => stream ? "chat_stream" : "chat",
  reader,
};

const chatWithUsage: Operation = {
  ...chat,
  prepare(body) {
    const options = record(body.stream_options);
    if (body.stream !== true || options?.include_usage !== undefined) return [body, false];
    return [{ ...body, stream_options: { ...options, include_usage: true } }, true];
  },
};

const embeddings: Operation = {
  operation: "embeddings.create",
  endpoint: () => "embeddings",
  reader,
};

/**
 * Instruments `client` (see `instrumentOpenAI` of
 * `@securetrack/metrics/tracking`), recording into `options.metrics` or
 * else `defaults`.
 */
export function instrumentOpenAIWith<C extends OpenAIClientLike>(
  defaults: TrackingMetrics,
  client: C,
  options?: InstrumentOpenAIOptions,
): C {
  const helper = "instrumentOpenAI";
  const completions = record(record(record(client)?.chat)?.completions);
  if (typeof completions?.create !== "function") {
    throw new TypeError(
      `${helper}: client must be an OpenAI client (with chat.completions.create), got ${
        client === null ? "null" : typeof client
      }`,
    );
  }
  const include = options?.includeStreamUsage ?? false;
  if (typeof include !== "boolean") {
    throw new TypeError(
      `${helper}: options.includeStreamUsage must be a boolean, got ${typeof include}`,
    );
  }
  const settings = settingsFor(client, options, defaults, helper, include);
  if (settings === undefined) return client;
  wrapMethod(completions, "create", include ? chatWithUsage : chat, settings, helper);
  const embed = record(record(client)?.embeddings);
  if (embed !== undefined) wrapMethod(embed, "create", embeddings, settings, helper);
  return client;
}
