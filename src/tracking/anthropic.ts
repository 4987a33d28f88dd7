/**
 * `instrumentAnthropic`: the `llm_*` metrics for calls made through the
 * official `@anthropic-ai/sdk`, without depending on it (see `_sdk.ts` for
 * how a call is observed).
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
  settingsFor,
  wrapMethod,
} from "./_sdk.ts";
import { utf8Length } from "./_validate.ts";

/**
 * What `instrumentAnthropic` needs of a client: the shape of the official
 * `@anthropic-ai/sdk`'s `Anthropic` client, checked structurally, so the SDK
 * is no dependency of this package.
 *
 * @example
 * ```ts
 * import type { AnthropicClientLike } from "@securetrack/metrics/tracking";
 * const client: AnthropicClientLike = {
 *   messages: { create: async () => ({ content: [] }) },
 * };
 * ```
 */
export interface AnthropicClientLike {
  /** `client.messages.create(body, options)`; `messages.stream()` streams through it. */
  messages: { create: (...args: never[]) => unknown };
}

/** Bytes of the text blocks of a message's `content`, or `undefined` if it has none. */
function textBytes(content: unknown): number | undefined {
  if (!Array.isArray(content)) return undefined;
  let bytes: number | undefined;
  for (const block of content) {
    const text = record(block)?.text;
    if (typeof text === "string") bytes = (bytes ?? 0) + utf8Length(text);
  }
  return bytes;
}

/**
 * `messages.create`, streamed or not. A stream's usage comes in two parts:
 * `message_start` has the input tokens, `message_delta` (near the end) the
 * final output tokens (and, from newer API versions, the input tokens
 * again). Tokens are recorded once `message_delta` has arrived.
 */
const messages: Operation = {
  operation: "messages.create",
  endpoint: (stream) => stream ? "messages_stream" : "messages",
  reader: {
    response(data, out) {
      const r = record(data);
      if (r === undefined) return;
      readAnswer(r, out, "input_tokens", "output_tokens");
      out.bytes = textBytes(r.content);
    },
    item(item, out) {
      const event = record(item);
      switch (event?.type) {
        case "message_start": {
          const message = record(event.message);
          if (typeof message?.model === "string") out.model = message.model;
          out.pendingPrompt = count(record(message?.usage)?.input_tokens);
          break;
        }
        case "content_block_start": {
          const text = record(event.content_block)?.text;
          if (typeof text === "string" && text !== "") {
            out.bytes = (out.bytes ?? 0) + utf8Length(text);
          }
          break;
        }
        case "content_block_delta": {
          const delta = record(event.delta);
          if (delta?.type === "text_delta" && typeof delta.text === "string") {
            out.bytes = (out.bytes ?? 0) + utf8Length(delta.text);
          }
          break;
        }
        case "message_delta": {
          const usage = record(event.usage);
          if (usage === undefined) break;
          out.prompt = count(usage.input_tokens) ?? out.pendingPrompt;
          out.completion = count(usage.output_tokens);
          break;
        }
      }
      return true;
    },
  },
};

/**
 * Instruments `client` (see `instrumentAnthropic` of
 * `@securetrack/metrics/tracking`), recording into `options.metrics` or
 * else `defaults`.
 */
export function instrumentAnthropicWith<C extends AnthropicClientLike>(
  defaults: TrackingMetrics,
  client: C,
  options?: InstrumentLLMOptions,
): C {
  const helper = "instrumentAnthropic";
  const resource = record(record(client)?.messages);
  if (typeof resource?.create !== "function") {
    throw new TypeError(
      `${helper}: client must be an Anthropic client (with messages.create), got ${
        client === null ? "null" : typeof client
      }`,
    );
  }
  const settings = settingsFor(client, options, defaults, helper, undefined);
  if (settings === undefined) return client;
  wrapMethod(resource, "create", messages, settings, helper);
  return client;
}
