/**
 * LLM tracking: {@linkcode LLMService}, a zero-dependency client for
 * OpenAI-compatible chat-completions APIs that records the six `llm_*`
 * metrics on every call, and `trackLLM` / `trackLLMCall`, which record the
 * same metrics around calls made through any other client.
 *
 * @module
 */

import type { TrackingMetrics } from "./catalogue.ts";
import { customMetrics } from "./_custom.ts";
import { classifyLLMError, LLMError, type LLMErrorType, statusErrorType } from "./errors.ts";
import { labelValue, readEnv, utf8Length } from "./_validate.ts";

/**
 * `endpoint` label of {@linkcode LLMService.generateResponse} calls.
 *
 * @example
 * ```ts
 * import { CHAT_ENDPOINT, customRegistry } from "@securetrack/metrics/tracking";
 * const chats = (await customRegistry.metrics()).includes(`endpoint="${CHAT_ENDPOINT}"`);
 * ```
 */
export const CHAT_ENDPOINT = "chat";
/**
 * `endpoint` label of {@linkcode LLMService.streamResponse} calls.
 *
 * @example
 * ```ts
 * import { CHAT_STREAM_ENDPOINT } from "@securetrack/metrics/tracking";
 * console.log(CHAT_STREAM_ENDPOINT); // "chat_stream"
 * ```
 */
export const CHAT_STREAM_ENDPOINT = "chat_stream";

/**
 * Default API root when neither `baseUrl` nor `LLM_BASE_URL` is set.
 *
 * @example
 * ```ts
 * import { DEFAULT_LLM_BASE_URL } from "@securetrack/metrics/tracking";
 * console.log(DEFAULT_LLM_BASE_URL); // "https://api.openai.com/v1"
 * ```
 */
export const DEFAULT_LLM_BASE_URL = "https://api.openai.com/v1";
/**
 * Default `timeoutMs` of {@linkcode LLMService} (two minutes).
 *
 * @example
 * ```ts
 * import { DEFAULT_LLM_TIMEOUT_MS, LLMService } from "@securetrack/metrics/tracking";
 * const patient = new LLMService({ model: "o3", timeoutMs: 5 * DEFAULT_LLM_TIMEOUT_MS });
 * ```
 */
export const DEFAULT_LLM_TIMEOUT_MS = 120_000;

/**
 * Token counts of one call, from the API's `usage`.
 *
 * @example
 * ```ts
 * import type { TokenUsage } from "@securetrack/metrics/tracking";
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

/**
 * One chat message.
 *
 * @example
 * ```ts
 * import type { ChatMessage } from "@securetrack/metrics/tracking";
 * const messages: ChatMessage[] = [
 *   { role: "system", content: "You are a security analyst." },
 *   { role: "user", content: "List the threats of this design." },
 * ];
 * ```
 */
export interface ChatMessage {
  /** `system`, `user`, `assistant`, or another role the API knows. */
  role: string;
  /** The message text. */
  content: string;
}

/**
 * A request to {@linkcode LLMService.generateResponse} or {@linkcode LLMService.streamResponse}.
 *
 * @example
 * ```ts
 * import { type LLMRequest, LLMService } from "@securetrack/metrics/tracking";
 * const llm = new LLMService({ model: "gpt-4o-mini" }); // key from LLM_API_KEY
 *
 * export async function explainStride(): Promise<string> {
 *   const request: LLMRequest = {
 *     system: "Answer in one sentence.",
 *     prompt: "What is STRIDE?",
 *     maxTokens: 100,
 *     signal: AbortSignal.timeout(30_000),
 *   };
 *   return (await llm.generateResponse(request)).text;
 * }
 * ```
 */
export interface LLMRequest {
  /** The user message. Either `prompt` or `messages` is required. */
  prompt?: string;
  /** A system message sent before `prompt`. */
  system?: string;
  /** The whole conversation, instead of `system` + `prompt`. */
  messages?: readonly ChatMessage[];
  /** Model for this call (and its `model` label). Absent: the service's model. */
  model?: string;
  /** Sent as `max_tokens`. */
  maxTokens?: number;
  /** Sent as `temperature`. */
  temperature?: number;
  /** Cancels the call; counted as `error_type="aborted"`. */
  signal?: AbortSignal;
  /** Timeout of this call in milliseconds. Absent: the service's `timeoutMs`. */
  timeoutMs?: number;
}

/**
 * What {@linkcode LLMService.generateResponse} returns (and a stream returns when done).
 *
 * @example
 * ```ts
 * import { type LLMResponse, LLMService } from "@securetrack/metrics/tracking";
 * const llm = new LLMService({ model: "gpt-4o-mini" }); // key from LLM_API_KEY
 *
 * export async function greet(): Promise<string> {
 *   const { text, usage }: LLMResponse = await llm.generateResponse({ prompt: "Hello" });
 *   console.log(`${usage?.totalTokens ?? "?"} tokens`);
 *   return text;
 * }
 * ```
 */
export interface LLMResponse {
  /** The completion text. */
  text: string;
  /** The model the API says answered (may be more specific than the one asked for). */
  model: string;
  /** Token usage, when the API reported it. */
  usage: TokenUsage | undefined;
  /** `finish_reason` of the first choice (`stop`, `length`, ...), when given. */
  finishReason: string | undefined;
}

/**
 * The `fetch` an {@linkcode LLMService} calls; the global `fetch` fits.
 *
 * @example
 * ```ts
 * import { type FetchFunction, LLMService } from "@securetrack/metrics/tracking";
 * const logged: FetchFunction = (input, init) => {
 *   console.log("POST", input);
 *   return fetch(input, init);
 * };
 * const llm = new LLMService({ model: "gpt-4o-mini", fetch: logged });
 * ```
 */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Options for {@linkcode LLMService}.
 *
 * @example
 * ```ts
 * import { LLMService, type LLMServiceOptions } from "@securetrack/metrics/tracking";
 * const options: LLMServiceOptions = {
 *   baseUrl: "http://127.0.0.1:11434/v1",
 *   model: "llama3.2",
 *   timeoutMs: 60_000,
 * };
 * const llm = new LLMService(options);
 * ```
 */
export interface LLMServiceOptions {
  /**
   * API root; `/chat/completions` is appended. Absent: `LLM_BASE_URL`, else
   * {@linkcode DEFAULT_LLM_BASE_URL}.
   */
  baseUrl?: string;
  /**
   * Sent as `Authorization: Bearer <apiKey>`; never exposed, logged or put
   * in an error message. Absent: `LLM_API_KEY`, else no `Authorization`
   * header (for local servers that need none).
   */
  apiKey?: string;
  /** Model name, also the `model` label. Absent: `LLM_MODEL`; one of the two is required. */
  model?: string;
  /**
   * Milliseconds a call may take (default {@linkcode DEFAULT_LLM_TIMEOUT_MS}).
   * For a stream, the longest wait for the response and then between two
   * chunks, so a long but steady stream is not cut off.
   */
  timeoutMs?: number;
  /** The `fetch` to use (default: the global one). */
  fetch?: FetchFunction;
  /** The catalogue to record into. Absent: the one in `customRegistry`. */
  metrics?: TrackingMetrics;
}

/**
 * Options of {@linkcode trackLLMCall} (and of `@trackLLM` with a fixed model).
 *
 * @example
 * ```ts
 * import { trackLLMCall, type TrackLLMOptions } from "@securetrack/metrics/tracking";
 * const options: TrackLLMOptions = { model: "text-embedding-3-small", endpoint: "embeddings" };
 * const vector = await trackLLMCall(options, async () => [0.1, 0.2]);
 * ```
 */
export interface TrackLLMOptions {
  /** `model` label. */
  model: string;
  /** `endpoint` label: which API operation (`chat`, `embeddings`, ...). */
  endpoint: string;
}

/**
 * Options of `@trackLLM` when the model is read from the instance.
 *
 * @example
 * ```ts
 * import { trackLLM } from "@securetrack/metrics/tracking";
 * class Client {
 *   constructor(readonly model: string) {}
 *   @trackLLM({ model: (self: Client) => self.model, endpoint: "chat" })
 *   async ask(prompt: string): Promise<string> {
 *     return prompt;
 *   }
 * }
 * await new Client("gpt-4o").ask("Hello");
 * ```
 */
export interface TrackLLMMethodOptions<This> {
  /** `model` label, computed from the instance at each call (e.g. `(self) => self.model`). */
  model: (self: This) => string;
  /** `endpoint` label. */
  endpoint: string;
}

/**
 * The method decorator `@trackLLM(...)` returns.
 *
 * @example
 * ```ts
 * import { type LLMMethodDecorator, trackLLM } from "@securetrack/metrics/tracking";
 * const chat: LLMMethodDecorator<unknown> = trackLLM({ model: "gpt-4o", endpoint: "chat" });
 * class Client {
 *   @chat
 *   async ask(prompt: string): Promise<string> {
 *     return prompt;
 *   }
 * }
 * ```
 */
export type LLMMethodDecorator<This> = <Args extends unknown[], R>(
  target: (this: This, ...args: Args) => Promise<R>,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
) => (this: This, ...args: Args) => Promise<R>;

/**
 * `@trackLLM` and `trackLLMCall`, bound to a catalogue.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking, type LLMTrackers } from "@securetrack/metrics/tracking";
 * const { trackLLMCall }: LLMTrackers = createTracking(new Registry());
 * await trackLLMCall({ model: "gpt-4o", endpoint: "chat" }, async () => "Hi");
 * ```
 */
export interface LLMTrackers {
  /**
   * A TC39 method decorator recording the `llm_*` metrics around an async
   * method: see {@linkcode trackLLMCall} for what is recorded.
   */
  trackLLM: {
    (options: TrackLLMOptions): LLMMethodDecorator<unknown>;
    <This>(options: TrackLLMMethodOptions<This>): LLMMethodDecorator<This>;
  };
  /** Runs `fn`, recording the `llm_*` metrics around it. */
  trackLLMCall<T>(options: TrackLLMOptions, fn: () => T | PromiseLike<T>): Promise<T>;
}

/** Records one LLM call: the request and its end, exactly once. */
class LLMCall {
  readonly #m: TrackingMetrics;
  readonly #model: string;
  readonly #endpoint: string;
  readonly #start: number;
  #settled = false;

  constructor(m: TrackingMetrics, model: string, endpoint: string) {
    this.#m = m;
    this.#model = model;
    this.#endpoint = endpoint;
    m.llmRequestsTotal.inc({ model, endpoint });
    this.#start = performance.now();
  }

  get settled(): boolean {
    return this.#settled;
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    const seconds = (performance.now() - this.#start) / 1000;
    this.#m.llmRequestDurationSeconds.observe(
      { model: this.#model, endpoint: this.#endpoint },
      seconds,
    );
    return true;
  }

  succeed(usage: TokenUsage | undefined, bytes: number | undefined): void {
    if (!this.#settle()) return;
    const m = this.#m;
    const model = this.#model;
    if (usage !== undefined) {
      m.llmTokensTotal.inc({ model, type: "prompt" }, usage.promptTokens);
      m.llmTokensTotal.inc({ model, type: "completion" }, usage.completionTokens);
    }
    if (bytes !== undefined) m.llmCompletionSizeBytes.observe({ model }, bytes);
  }

  fail(type: LLMErrorType): void {
    if (!this.#settle()) return;
    const model = this.#model;
    this.#m.llmErrorsTotal.inc({ model, error_type: type });
    if (type === "rate_limited") this.#m.llmRateLimitsTotal.inc({ model });
  }
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && value >= 0 && Number.isFinite(value) ? value : undefined;
}

/**
 * Token usage from a `usage` object in the shapes clients use: OpenAI's
 * `prompt_tokens` / `completion_tokens`, this module's camel case, and
 * Anthropic's `input_tokens` / `output_tokens`. `undefined` unless both
 * counts are there.
 */
function toUsage(u: unknown): TokenUsage | undefined {
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

/** The completion text of a result of any common shape, or `undefined`. */
function completionText(result: unknown): string | undefined {
  if (typeof result === "string") return result;
  if (typeof result !== "object" || result === null) return undefined;
  const r = result as Record<string, unknown>;
  if (typeof r.text === "string") return r.text;
  if (typeof r.content === "string") return r.content;
  if (Array.isArray(r.content)) {
    // Anthropic: content is a list of blocks; the text blocks make the completion.
    let text: string | undefined;
    for (const block of r.content) {
      const t = (block as { text?: unknown } | null)?.text;
      if (typeof t === "string") text = (text ?? "") + t;
    }
    return text;
  }
  if (Array.isArray(r.choices)) {
    const content = (r.choices[0] as { message?: { content?: unknown } } | undefined)?.message
      ?.content;
    if (typeof content === "string") return content;
  }
  return undefined;
}

/** Runs `fn` and records it as one LLM call; the result and any error pass through. */
async function recordCall<T>(
  m: TrackingMetrics,
  model: string,
  endpoint: string,
  fn: () => T | PromiseLike<T>,
): Promise<T> {
  const call = new LLMCall(m, model, endpoint);
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    call.fail(classifyLLMError(error));
    throw error;
  }
  const r = result as { usage?: unknown } | null;
  const text = completionText(result);
  call.succeed(
    toUsage(typeof r === "object" && r !== null ? r.usage : undefined),
    text === undefined ? undefined : utf8Length(text),
  );
  return result;
}

/** Builds `trackLLM` and `trackLLMCall` for catalogue `m`. */
export function llmTrackers(m: TrackingMetrics): LLMTrackers {
  // Bad arguments reject (the helpers return promises) and call nothing.
  async function trackLLMCall<T>(
    options: TrackLLMOptions,
    fn: () => T | PromiseLike<T>,
  ): Promise<T> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("trackLLMCall: options must be an object with model and endpoint");
    }
    const model = labelValue("trackLLMCall", "model", options.model);
    const endpoint = labelValue("trackLLMCall", "endpoint", options.endpoint);
    if (typeof fn !== "function") {
      throw new TypeError(`trackLLMCall: fn must be a function, got ${typeof fn}`);
    }
    return await recordCall(m, model, endpoint, fn);
  }

  function trackLLM<This>(
    options: TrackLLMOptions | TrackLLMMethodOptions<This>,
  ): LLMMethodDecorator<This> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("trackLLM: options must be an object with model and endpoint");
    }
    const endpoint = labelValue("trackLLM", "endpoint", options.endpoint);
    const pick = options.model;
    const fixed = typeof pick === "function" ? undefined : labelValue("trackLLM", "model", pick);
    return <Args extends unknown[], R>(
      target: (this: This, ...args: Args) => Promise<R>,
      context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
    ): (this: This, ...args: Args) => Promise<R> => {
      if (context?.kind !== "method" || typeof target !== "function") {
        throw new TypeError(`trackLLM: decorates methods only, not a ${context?.kind ?? "value"}`);
      }
      return async function (this: This, ...args: Args): Promise<R> {
        const model = fixed ??
          labelValue("trackLLM", "model", (pick as (self: This) => string)(this));
        return await recordCall(m, model, endpoint, () => target.apply(this, args));
      };
    };
  }

  return { trackLLM: trackLLM as LLMTrackers["trackLLM"], trackLLMCall };
}

/**
 * Cancels a call on timeout or on the caller's signal, and remembers which
 * one it was. For streams the timer is paused while the consumer holds a
 * chunk, so a slow consumer is not mistaken for a slow API.
 */
class Deadline {
  readonly #controller = new AbortController();
  readonly #ms: number;
  readonly #caller: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    this.callerAborted = true;
    this.#controller.abort();
  };
  #timer: ReturnType<typeof setTimeout> | undefined;
  timedOut = false;
  callerAborted = false;

  constructor(ms: number, caller: AbortSignal | undefined) {
    this.#ms = ms;
    this.#caller = caller;
    if (caller?.aborted) this.#onAbort();
    else caller?.addEventListener("abort", this.#onAbort, { once: true });
    this.start();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  start(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#controller.abort();
    }, this.#ms);
  }

  pause(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  dispose(): void {
    this.pause();
    this.#caller?.removeEventListener("abort", this.#onAbort);
  }
}

interface Prepared {
  /** Model name sent to the API. */
  readonly model: string;
  /** The `model` label: the name, truncated. */
  readonly label: string;
  readonly body: Record<string, unknown>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

function positiveMs(helper: string, value: unknown): number {
  if (typeof value !== "number" || !(value > 0 && value <= 2 ** 31 - 1)) {
    throw new RangeError(
      `${helper}: timeoutMs must be a number of milliseconds in (0, 2^31), got ${String(value)}`,
    );
  }
  return value;
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (header.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

/**
 * A client for any OpenAI-compatible chat-completions API (OpenAI, Azure
 * OpenAI's v1 API, Ollama, vLLM, LiteLLM, OpenRouter, ...), with no
 * dependency beyond `fetch`, that records on every call:
 *
 * - `llm_requests_total{model,endpoint}` and
 *   `llm_request_duration_seconds{model,endpoint}` for every call, successful
 *   or not (`endpoint` is {@linkcode CHAT_ENDPOINT} `"chat"` for
 *   `generateResponse`, {@linkcode CHAT_STREAM_ENDPOINT} `"chat_stream"` for
 *   `streamResponse`; a stream's duration runs until its last chunk);
 * - on success, `llm_tokens_total{model,type="prompt"|"completion"}` from the
 *   API's `usage` (a stream asks for it with
 *   `stream_options.include_usage`), and `llm_completion_size_bytes{model}`,
 *   the UTF-8 size of the completion text;
 * - on failure, `llm_errors_total{model,error_type}` (see
 *   {@linkcode LLM_ERROR_TYPES}) and, for HTTP 429, `llm_rate_limits_total`;
 *   the error is then thrown as an {@linkcode LLMError}.
 *
 * A stream its consumer stops early (`break` out of `for await`) counts as a
 * successful call with the bytes received so far, and no tokens unless the
 * usage had already arrived (the API sends it last).
 *
 * The `model` label is the model asked for, not the (often dated) name the
 * API answers with, so that its values stay the few the application uses.
 * The API key is kept in a private field: it is not a property, so it does
 * not show in `console.log(service)` or `JSON.stringify(service)`.
 *
 * @example
 * ```ts
 * import { LLMService } from "@securetrack/metrics/tracking";
 *
 * const llm = new LLMService({ baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2" });
 * try {
 *   const response = await llm.generateResponse({ prompt: "Your prompt here" });
 *   console.log(response.text, response.usage?.completionTokens);
 *   for await (const chunk of llm.streamResponse({ prompt: "Tell me a story" })) {
 *     console.log(chunk);
 *   }
 * } catch (error) {
 *   console.error(error); // an LLMError: error.type is the error_type it was counted under
 * }
 * ```
 */
export class LLMService {
  /** API root (without the trailing `/chat/completions`). */
  readonly baseUrl: string;
  /** Default model, and `model` label of calls that do not name one. */
  readonly model: string;
  /** Default timeout of a call, in milliseconds. */
  readonly timeoutMs: number;
  readonly #apiKey: string | undefined;
  readonly #url: string;
  readonly #where: string;
  readonly #fetch: FetchFunction;
  readonly #metrics: TrackingMetrics;

  /**
   * Creates a client; see {@linkcode LLMServiceOptions} for the defaults.
   * Throws a `TypeError` when no model is configured or `baseUrl` is not an
   * http(s) URL, and a `RangeError` for a bad `timeoutMs`.
   */
  constructor(options: LLMServiceOptions = {}) {
    const model = options.model ?? readEnv("LLM_MODEL");
    if (model === undefined) {
      throw new TypeError("LLMService: no model: pass { model } or set LLM_MODEL");
    }
    labelValue("LLMService", "model", model);
    // The API gets the name as given; only the label is truncated.
    this.model = model;
    const base = options.baseUrl ?? readEnv("LLM_BASE_URL") ?? DEFAULT_LLM_BASE_URL;
    if (typeof base !== "string") {
      throw new TypeError(`LLMService: baseUrl must be a string, got ${typeof base}`);
    }
    let url: URL;
    try {
      url = new URL(base.replace(/\/+$/, "") + "/chat/completions");
    } catch {
      url = new URL("invalid:");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`LLMService: baseUrl must be an absolute http(s) URL, got "${base}"`);
    }
    this.baseUrl = base.replace(/\/+$/, "");
    this.#url = url.href;
    // Error messages name the host and path only: a query string may carry a key.
    this.#where = url.origin + url.pathname;
    const key = options.apiKey ?? readEnv("LLM_API_KEY");
    if (key !== undefined && typeof key !== "string") {
      throw new TypeError(`LLMService: apiKey must be a string, got ${typeof key}`);
    }
    this.#apiKey = key === "" ? undefined : key;
    this.timeoutMs = positiveMs("LLMService", options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS);
    const f = options.fetch ?? ((input, init) => fetch(input, init));
    if (typeof f !== "function") {
      throw new TypeError(`LLMService: fetch must be a function, got ${typeof f}`);
    }
    this.#fetch = f;
    this.#metrics = options.metrics ?? customMetrics;
  }

  /**
   * Sends one chat-completions request and returns the completion, after
   * recording it (see the class documentation). Throws an
   * {@linkcode LLMError} when the call fails, a `TypeError` for a request
   * without `prompt` or `messages`.
   *
   * @example
   * ```ts
   * import { LLMService } from "@securetrack/metrics/tracking";
   * const llm = new LLMService({ model: "gpt-4o-mini" }); // key from LLM_API_KEY
   *
   * export async function ask(prompt: string): Promise<string> {
   *   const { text } = await llm.generateResponse({ prompt });
   *   return text;
   * }
   * ```
   */
  async generateResponse(request: LLMRequest): Promise<LLMResponse> {
    const p = this.#prepare("LLMService.generateResponse", request, false);
    return await recordCall(this.#metrics, p.label, CHAT_ENDPOINT, () => this.#complete(p));
  }

  /**
   * Streams one chat-completions request (server-sent events), yielding the
   * text chunks as they arrive; the generator's return value is the whole
   * {@linkcode LLMResponse}. Recorded when the stream ends (see the class
   * documentation). Throws an {@linkcode LLMError} from the iteration when
   * the call fails, a `TypeError` at once for a request without `prompt` or
   * `messages`.
   *
   * @example
   * ```ts
   * import { LLMService } from "@securetrack/metrics/tracking";
   * const llm = new LLMService({ model: "gpt-4o-mini" }); // key from LLM_API_KEY
   *
   * export async function tell(prompt: string): Promise<void> {
   *   for await (const chunk of llm.streamResponse({ prompt })) console.log(chunk);
   * }
   * ```
   */
  streamResponse(request: LLMRequest): AsyncGenerator<string, LLMResponse, undefined> {
    return this.#stream(this.#prepare("LLMService.streamResponse", request, true));
  }

  #prepare(helper: string, request: LLMRequest, stream: boolean): Prepared {
    if (typeof request !== "object" || request === null) {
      throw new TypeError(`${helper}: request must be an object with a prompt or messages`);
    }
    const model = request.model ?? this.model;
    const label = labelValue(helper, "model", model);
    let messages: ChatMessage[];
    if (request.messages !== undefined) {
      if (!Array.isArray(request.messages) || request.messages.length === 0) {
        throw new TypeError(`${helper}: messages must be a non-empty array`);
      }
      messages = request.messages.map((msg, i) => {
        if (typeof msg?.role !== "string" || typeof msg.content !== "string") {
          throw new TypeError(`${helper}: messages[${i}] needs a string role and content`);
        }
        return { role: msg.role, content: msg.content };
      });
    } else {
      if (typeof request.prompt !== "string") {
        throw new TypeError(
          `${helper}: prompt must be a string (or pass messages), got ${typeof request.prompt}`,
        );
      }
      messages = [{ role: "user", content: request.prompt }];
      if (request.system !== undefined) {
        if (typeof request.system !== "string") {
          throw new TypeError(`${helper}: system must be a string, got ${typeof request.system}`);
        }
        messages.unshift({ role: "system", content: request.system });
      }
    }
    const body: Record<string, unknown> = { model, messages };
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
    }
    return {
      model,
      label,
      body,
      timeoutMs: request.timeoutMs === undefined
        ? this.timeoutMs
        : positiveMs(helper, request.timeoutMs),
      signal: request.signal,
    };
  }

  /** The API key replaced by `[redacted]` in text quoted from a response. */
  #redact(text: string): string {
    const key = this.#apiKey;
    return key === undefined ? text : text.replaceAll(key, "[redacted]");
  }

  #error(p: Prepared, type: LLMErrorType, what: string, extra: object = {}): LLMError {
    const message = this.#redact(`LLM call to ${this.#where} (model "${p.model}") failed: ${what}`);
    return new LLMError(type, message, extra);
  }

  /** The error for a failed fetch or body read: timeout, abort, or network. */
  #transportError(p: Prepared, deadline: Deadline, cause: unknown): LLMError {
    if (deadline.timedOut) return this.#error(p, "timeout", `no answer within ${p.timeoutMs} ms`);
    if (deadline.callerAborted) return this.#error(p, "aborted", "aborted by the caller");
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const key = this.#apiKey;
    // A runtime's message could quote the request; keep the cause only if the key is not in it.
    const safe = key === undefined || !String((cause as Error)?.message).includes(key);
    return this.#error(p, "network", this.#redact(detail), safe ? { cause } : {});
  }

  async #post(p: Prepared, deadline: Deadline, stream: boolean): Promise<Response> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "accept": stream ? "text/event-stream" : "application/json",
    };
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: "POST",
        headers,
        body: JSON.stringify(p.body),
        signal: deadline.signal,
      });
    } catch (error) {
      throw this.#transportError(p, deadline, error);
    }
    if (response.ok) return response;
    let body = "";
    try {
      body = await response.text();
    } catch (error) {
      if (deadline.timedOut || deadline.callerAborted) {
        throw this.#transportError(p, deadline, error);
      }
    }
    const status = response.status;
    const snippet = body.trim().slice(0, 300);
    throw this.#error(
      p,
      statusErrorType(status),
      `HTTP ${status}${snippet === "" ? "" : ": " + this.#redact(snippet)}`,
      {
        status,
        retryAfterSeconds: status === 429
          ? retryAfter(response.headers.get("retry-after"))
          : undefined,
      },
    );
  }

  async #complete(p: Prepared): Promise<LLMResponse> {
    const deadline = new Deadline(p.timeoutMs, p.signal);
    try {
      const response = await this.#post(p, deadline, false);
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        throw this.#transportError(p, deadline, error);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw this.#error(p, "invalid_response", `the response is not JSON (${text.length} chars)`);
      }
      const r = json as {
        model?: unknown;
        choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
        usage?: unknown;
      } | null;
      const choice = Array.isArray(r?.choices) ? r.choices[0] : undefined;
      const content = choice?.message?.content;
      if (typeof content !== "string" && content !== null) {
        throw this.#error(p, "invalid_response", "the response has no choices[0].message.content");
      }
      return {
        text: content ?? "",
        model: typeof r!.model === "string" ? r!.model : p.model,
        usage: toUsage(r!.usage),
        finishReason: typeof choice!.finish_reason === "string" ? choice!.finish_reason : undefined,
      };
    } finally {
      deadline.dispose();
    }
  }

  async *#stream(p: Prepared): AsyncGenerator<string, LLMResponse, undefined> {
    const call = new LLMCall(this.#metrics, p.label, CHAT_STREAM_ENDPOINT);
    const deadline = new Deadline(p.timeoutMs, p.signal);
    let reader: ReadableStreamDefaultReader<string> | undefined;
    let drained = false;
    let bytes = 0;
    let text = "";
    let usage: TokenUsage | undefined;
    let model = p.model;
    let finishReason: string | undefined;
    try {
      const response = await this.#post(p, deadline, true);
      if (response.body === null) throw this.#error(p, "invalid_response", "the response is empty");
      reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let data: string[] = [];
      let done = false;
      while (!done) {
        deadline.start();
        let chunk: ReadableStreamReadResult<string>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw this.#transportError(p, deadline, error);
        }
        deadline.pause();
        if (chunk.done) {
          drained = true;
          done = true;
          buffer += "\n\n"; // dispatch a last event the server did not terminate
        } else {
          buffer += chunk.value;
        }
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.charCodeAt(nl - 1) === 13
            ? buffer.slice(0, nl - 1)
            : buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line !== "") {
            // Server-sent events: only `data:` fields matter here; comments and
            // `event:`/`id:`/`retry:` fields are skipped.
            if (line.startsWith("data:")) data.push(line.slice(line[5] === " " ? 6 : 5));
            continue;
          }
          if (data.length === 0) continue;
          const event = data.join("\n");
          data = [];
          if (event.trim() === "[DONE]") {
            done = true;
            break;
          }
          let json: {
            error?: unknown;
            usage?: unknown;
            model?: unknown;
            choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
          };
          try {
            json = JSON.parse(event);
          } catch {
            throw this.#error(p, "invalid_response", "a stream event is not JSON");
          }
          if (typeof json !== "object" || json === null) {
            throw this.#error(p, "invalid_response", "a stream event is not a JSON object");
          }
          if (json.error !== undefined) {
            const detail = JSON.stringify(json.error).slice(0, 300);
            throw this.#error(p, "invalid_response", `the stream carried an error: ${detail}`);
          }
          usage = toUsage(json.usage) ?? usage;
          if (typeof json.model === "string") model = json.model;
          const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
          if (typeof choice?.finish_reason === "string") finishReason = choice.finish_reason;
          const content = choice?.delta?.content;
          if (typeof content === "string" && content !== "") {
            bytes += utf8Length(content);
            text += content;
            yield content;
          }
        }
      }
      call.succeed(usage, bytes);
      return { text, model, usage, finishReason };
    } catch (error) {
      const e = error instanceof LLMError
        ? error
        : this.#error(p, classifyLLMError(error), String(error));
      call.fail(e.type);
      throw e;
    } finally {
      deadline.dispose();
      if (reader !== undefined && !drained) reader.cancel().catch(() => {});
      // Reached only when the consumer stopped early: the call itself went fine.
      if (!call.settled) call.succeed(usage, bytes);
    }
  }
}

/** Builds the `LLMService` class bound to catalogue `m`. */
export function boundLLMService(m: TrackingMetrics): typeof LLMService {
  return class extends LLMService {
    constructor(options: LLMServiceOptions = {}) {
      super({ metrics: m, ...options });
    }
  };
}
