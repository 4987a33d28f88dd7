/**
 * {@linkcode LLMClient}: a zero-dependency client for OpenAI-compatible
 * chat-completions APIs, with its request and response types. It records
 * nothing itself; an {@linkcode LLMObserver} sees every call start and end
 * (the tracking layer's `LLMService` is this client with an observer that
 * records the `llm_*` metrics).
 *
 * @module
 */

import { classifyLLMError, LLMError, type LLMErrorType, statusErrorType } from "./errors.ts";
import { Deadline } from "./_deadline.ts";
import { parseSSE } from "./sse.ts";
import { type TokenUsage, toUsage } from "./usage.ts";

/** Shortest API key accepted (see `LLMClient`'s constructor). */
const MIN_API_KEY_LENGTH = 8;

/**
 * `endpoint` of {@linkcode LLMClient.generateResponse} calls, as given to
 * {@linkcode LLMObserver.start} (and the `endpoint` label the tracking
 * layer records them under).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHAT_ENDPOINT } from "@securetrack/metrics/llm";
 * assert.deepEqual(CHAT_ENDPOINT, "chat");
 * ```
 */
export const CHAT_ENDPOINT = "chat";
/**
 * `endpoint` of {@linkcode LLMClient.streamResponse} calls, as given to
 * {@linkcode LLMObserver.start}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHAT_STREAM_ENDPOINT } from "@securetrack/metrics/llm";
 * assert.deepEqual(CHAT_STREAM_ENDPOINT, "chat_stream");
 * ```
 */
export const CHAT_STREAM_ENDPOINT = "chat_stream";

/**
 * Default API root when neither `baseUrl` nor `LLM_BASE_URL` is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_LLM_BASE_URL } from "@securetrack/metrics/llm";
 * assert.deepEqual(DEFAULT_LLM_BASE_URL, "https://api.openai.com/v1");
 * ```
 */
export const DEFAULT_LLM_BASE_URL = "https://api.openai.com/v1";
/**
 * Default `timeoutMs` of {@linkcode LLMClient} (two minutes).
 *
 * @example
 * ```ts
 * import { DEFAULT_LLM_TIMEOUT_MS, LLMClient } from "@securetrack/metrics/llm";
 * const patient = new LLMClient({ model: "o3", timeoutMs: 5 * DEFAULT_LLM_TIMEOUT_MS });
 * ```
 */
export const DEFAULT_LLM_TIMEOUT_MS = 120_000;

/**
 * One chat message.
 *
 * @example
 * ```ts
 * import type { ChatMessage } from "@securetrack/metrics/llm";
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
 * A request to {@linkcode LLMClient.generateResponse} or {@linkcode LLMClient.streamResponse}.
 *
 * @example
 * ```ts
 * import { LLMClient, type LLMRequest } from "@securetrack/metrics/llm";
 * const llm = new LLMClient({ model: "gpt-4o-mini" }); // key from LLM_API_KEY
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
  /** Model for this call. Absent: the client's model. */
  model?: string;
  /** Sent as `max_tokens`. */
  maxTokens?: number;
  /** Sent as `temperature`. */
  temperature?: number;
  /** Cancels the call; it fails with error type `aborted`. */
  signal?: AbortSignal;
  /** Timeout of this call in milliseconds. Absent: the client's `timeoutMs`. */
  timeoutMs?: number;
  /**
   * The caller's trace id (e.g. of the request being served), told to the
   * observer: `LLMService` makes it the `{ trace_id }` exemplar of the
   * call's `llm_requests_total` and `llm_request_duration_seconds`. A
   * non-empty string of at most 120 code points (the exemplar limit of 128,
   * less `trace_id`); not sent to the API.
   */
  traceId?: string;
}

/**
 * What {@linkcode LLMClient.generateResponse} returns (and a stream returns when done).
 *
 * @example
 * ```ts
 * import { LLMClient, type LLMResponse } from "@securetrack/metrics/llm";
 * const llm = new LLMClient({ model: "gpt-4o-mini" }); // key from LLM_API_KEY
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
 * The `fetch` an {@linkcode LLMClient} calls; the global `fetch` fits.
 *
 * @example
 * ```ts
 * import { type FetchFunction, LLMClient } from "@securetrack/metrics/llm";
 * const logged: FetchFunction = (input, init) => {
 *   console.log("POST", input);
 *   return fetch(input, init);
 * };
 * const llm = new LLMClient({ model: "gpt-4o-mini", fetch: logged });
 * ```
 */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * What {@linkcode LLMObserver.start} is told about a call.
 *
 * @example
 * ```ts
 * import type { LLMCallInfo } from "@securetrack/metrics/llm";
 * const call: LLMCallInfo = { model: "gpt-4o-mini", endpoint: "chat" };
 * ```
 */
export interface LLMCallInfo {
  /** The model asked for (the request's, else the client's), whole. */
  readonly model: string;
  /** {@linkcode CHAT_ENDPOINT} or {@linkcode CHAT_STREAM_ENDPOINT}. */
  readonly endpoint: string;
  /** The request's `traceId`, when it gave one. */
  readonly traceId?: string;
}

/**
 * Follows one call from {@linkcode LLMObserver.start}: exactly one of its
 * methods is called, once, when the call ends.
 *
 * @example
 * ```ts
 * import type { LLMCallObserver } from "@securetrack/metrics/llm";
 * const logged: LLMCallObserver = {
 *   succeed: (response) => console.log(`${response.text.length} chars`),
 *   fail: (error) => console.log(`failed: ${error.type}`),
 * };
 * ```
 */
export interface LLMCallObserver {
  /**
   * The call succeeded; `response` is what the caller gets. A stream ends
   * with its last chunk; a stream whose consumer stopped early (`break` out
   * of `for await`) also counts as a success, with the text received so far
   * and `usage` only if it had arrived (APIs send it last).
   */
  succeed(response: LLMResponse): void;
  /** The call failed; `error` is about to be thrown to the caller. */
  fail(error: LLMError): void;
}

/**
 * Hooks of an {@linkcode LLMClient}: `start` is called when a call starts
 * (for `generateResponse` when it is called, for a stream when its
 * iteration starts), before the request is sent; the
 * {@linkcode LLMCallObserver} it returns is told how the call ended. A call
 * rejected for a bad request (a `TypeError` or `RangeError`) never starts.
 * The hooks run synchronously and should not throw: the client does not
 * catch their errors.
 *
 * @example
 * ```ts
 * import { LLMClient, type LLMObserver } from "@securetrack/metrics/llm";
 *
 * const timing: LLMObserver = {
 *   start({ model, endpoint }) {
 *     const started = performance.now();
 *     const took = () => `${(performance.now() - started).toFixed(0)} ms`;
 *     return {
 *       succeed: (response) => console.log(model, endpoint, took(), response.usage),
 *       fail: (error) => console.log(model, endpoint, took(), error.type),
 *     };
 *   },
 * };
 * const llm = new LLMClient({
 *   model: "gpt-4o-mini",
 *   observer: timing,
 *   fetch: () => Promise.resolve(Response.json({ choices: [{ message: { content: "Hi" } }] })),
 * });
 * await llm.generateResponse({ prompt: "Hello" });
 * ```
 */
export interface LLMObserver {
  /** A call starts; returns the observer of its end. */
  start(call: LLMCallInfo): LLMCallObserver;
}

/**
 * Options for {@linkcode LLMClient}.
 *
 * @example
 * ```ts
 * import { LLMClient, type LLMClientOptions } from "@securetrack/metrics/llm";
 * const options: LLMClientOptions = {
 *   baseUrl: "http://127.0.0.1:11434/v1",
 *   model: "llama3.2",
 *   timeoutMs: 60_000,
 * };
 * const llm = new LLMClient(options);
 * ```
 */
export interface LLMClientOptions {
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
  /** Model name. Absent: `LLM_MODEL`; one of the two is required. */
  model?: string;
  /**
   * Milliseconds a call may take (default {@linkcode DEFAULT_LLM_TIMEOUT_MS}).
   * For a stream, the longest wait for the response and then between two
   * chunks, so a long but steady stream is not cut off.
   */
  timeoutMs?: number;
  /** The `fetch` to use (default: the global one). */
  fetch?: FetchFunction;
  /** Told when each call starts and ends (metrics, logs, traces). Absent: nothing is. */
  observer?: LLMObserver;
}

/** A request checked and turned into the API's body. */
interface Prepared {
  /** Model name sent to the API. */
  readonly model: string;
  readonly body: Record<string, unknown>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly traceId: string | undefined;
}

/** One event of a chat-completions stream, as far as the client reads it. */
interface StreamEvent {
  error?: unknown;
  usage?: unknown;
  model?: unknown;
  choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
}

/** A non-streaming chat-completions answer, as far as the client reads it. */
interface Completion {
  model?: unknown;
  choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: unknown;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : value === null ? "null" : typeof value;
}

/** What {@linkcode readEnv} found: the value (`undefined`: unset or empty), or that reading was refused. */
type EnvRead = { value: string | undefined } | "refused";

/**
 * Reads an environment variable without throwing. Under Deno without
 * `--allow-env` the read is refused: the caller must say so (naming the
 * permission), not take the variable for unset.
 */
function readEnv(name: string): EnvRead {
  const g = globalThis as {
    Deno?: { env?: { get(name: string): string | undefined } };
    process?: { env?: Record<string, string | undefined> };
  };
  let value: string | undefined;
  try {
    value = g.Deno?.env !== undefined ? g.Deno.env.get(name) : g.process?.env?.[name];
  } catch {
    return "refused";
  }
  return { value: value === "" ? undefined : value };
}

/**
 * `option` when given, else the variable `name` (`undefined` when unset).
 * Throws a `TypeError` naming the permission when the variable may not be
 * read, since using a default then could silently mean the wrong model, API
 * or key. The message never holds a value.
 */
function optionOrEnv<T>(
  where: string,
  option: T | undefined,
  name: string,
  optionName: string,
): T | string | undefined {
  if (option !== undefined) return option;
  const read = readEnv(name);
  if (read === "refused") {
    throw new TypeError(
      `${where}: cannot read ${name}: run with --allow-env=${name} (or pass { ${optionName} })`,
    );
  }
  return read.value;
}

function positiveMs(where: string, value: unknown): number {
  if (typeof value !== "number" || !(value > 0 && value <= 2 ** 31 - 1)) {
    throw new RangeError(
      `${where}: timeoutMs must be a number of milliseconds in (0, 2^31), got ${String(value)}`,
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

/** What the observer is told of call `p` to `endpoint` (its `traceId` only when given). */
function callInfo(p: Prepared, endpoint: string): LLMCallInfo {
  return p.traceId === undefined
    ? { model: p.model, endpoint }
    : { model: p.model, endpoint, traceId: p.traceId };
}

/** Most code points of a trace id: an exemplar's 128, less the label name `trace_id`. */
const MAX_TRACE_ID_CODE_POINTS = 120;

/**
 * A caller's trace id, checked: absent, or a non-empty string of at most 120
 * code points (a `TypeError` or `RangeError` naming `where` otherwise).
 */
export function checkTraceId(where: string, traceId: unknown): string | undefined {
  if (traceId === undefined) return undefined;
  if (typeof traceId !== "string" || traceId === "") {
    throw new TypeError(`${where}: traceId must be a non-empty string, got ${describe(traceId)}`);
  }
  let n = 0;
  for (const _ of traceId) n++;
  if (n > MAX_TRACE_ID_CODE_POINTS) {
    throw new RangeError(
      `${where}: traceId has ${n} code points; at most ${MAX_TRACE_ID_CODE_POINTS} are allowed`,
    );
  }
  return traceId;
}

function checkModel(where: string, model: unknown): string {
  if (typeof model !== "string" || model === "") {
    throw new TypeError(`${where}: model must be a non-empty string, got ${describe(model)}`);
  }
  return model;
}

/** The messages of a request: `messages`, or `system` + `prompt`. */
function toMessages(where: string, request: LLMRequest): ChatMessage[] {
  if (request.messages !== undefined) {
    if (!Array.isArray(request.messages) || request.messages.length === 0) {
      throw new TypeError(`${where}: messages must be a non-empty array`);
    }
    return request.messages.map((msg, i) => {
      if (typeof msg?.role !== "string" || typeof msg.content !== "string") {
        throw new TypeError(`${where}: messages[${i}] needs a string role and content`);
      }
      return { role: msg.role, content: msg.content };
    });
  }
  if (typeof request.prompt !== "string") {
    throw new TypeError(
      `${where}: prompt must be a string (or pass messages), got ${typeof request.prompt}`,
    );
  }
  const messages = [{ role: "user", content: request.prompt }];
  if (request.system === undefined) return messages;
  if (typeof request.system !== "string") {
    throw new TypeError(`${where}: system must be a string, got ${typeof request.system}`);
  }
  return [{ role: "system", content: request.system }, ...messages];
}

/** Reads `reader` chunk by chunk, the deadline's timer running only while a read waits. */
async function* timedReads(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  deadline: Deadline,
  onError: (cause: unknown) => LLMError,
): AsyncGenerator<Uint8Array, void, undefined> {
  for (;;) {
    deadline.start();
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw onError(error);
    }
    deadline.pause();
    if (chunk.done) return;
    yield chunk.value;
  }
}

/**
 * A client for any OpenAI-compatible chat-completions API (OpenAI, Azure
 * OpenAI's v1 API, Ollama, vLLM, LiteLLM, OpenRouter, ...), with no
 * dependency beyond `fetch`: {@linkcode LLMClient.generateResponse} for a
 * whole answer, {@linkcode LLMClient.streamResponse} for one streamed as
 * server-sent events (asking for the usage with
 * `stream_options.include_usage`).
 *
 * A failed call throws an {@linkcode LLMError} whose `type` says what went
 * wrong (one of `LLM_ERROR_TYPES`), with `status` and, for HTTP 429,
 * `retryAfterSeconds`. Each call has a timeout (`timeoutMs`; for a stream,
 * the longest wait for the next chunk) and follows the request's `signal`.
 *
 * The client records nothing itself: give it an {@linkcode LLMObserver}
 * to see each call start and end. `@securetrack/metrics/tracking`'s
 * `LLMService` is this client with an observer that records the `llm_*`
 * metrics.
 *
 * The API key is kept in a private field: it is not a property, so it does
 * not show in `console.log(client)` or `JSON.stringify(client)`, and any
 * occurrence of it in a response quoted in an error message is replaced by
 * `[redacted]`. Error messages name the host and path of the API, never
 * its query string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LLMClient, LLMError } from "@securetrack/metrics/llm";
 *
 * // A stand-in for the API; without `fetch`, the client calls the real one.
 * const api = (_url: string, init: RequestInit): Promise<Response> => {
 *   const { stream } = JSON.parse(init.body as string);
 *   if (!stream) {
 *     return Promise.resolve(Response.json({
 *       model: "gpt-4o-mini-2024-07-18",
 *       choices: [{ message: { content: "Hello!" }, finish_reason: "stop" }],
 *       usage: { prompt_tokens: 9, completion_tokens: 2 },
 *     }));
 *   }
 *   const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ delta: { content } }] })}\n\n`;
 *   return Promise.resolve(new Response(chunk("Once ") + chunk("upon a time") + "data: [DONE]\n\n"));
 * };
 *
 * const llm = new LLMClient({ model: "gpt-4o-mini", apiKey: "sk-your-key", fetch: api });
 * try {
 *   const response = await llm.generateResponse({ prompt: "Your prompt here" });
 *   console.log(response.text, response.usage?.completionTokens); // "Hello!" 2
 *   for await (const chunk of llm.streamResponse({ prompt: "Tell me a story" })) {
 *     console.log(chunk); // "Once ", then "upon a time"
 *   }
 * } catch (error) {
 *   if (!(error instanceof LLMError)) throw error;
 *   console.error(error.type, error.message);
 * }
 * ```
 */
export class LLMClient {
  /** API root (without the trailing `/chat/completions`). */
  readonly baseUrl: string;
  /** Default model of a call. */
  readonly model: string;
  /** Default timeout of a call, in milliseconds. */
  readonly timeoutMs: number;
  readonly #name: string;
  readonly #apiKey: string | undefined;
  readonly #url: string;
  readonly #where: string;
  readonly #fetch: FetchFunction;
  readonly #observer: LLMObserver | undefined;

  /**
   * Creates a client; see {@linkcode LLMClientOptions} for the defaults.
   * Throws a `TypeError` when no model is configured, `baseUrl` is not an
   * http(s) URL, or `fetch` or `observer` is not what it should be; a
   * `RangeError` for a bad `timeoutMs`. Messages start with the class's
   * name (`LLMClient`, or that of a subclass).
   *
   * Under Deno, an option left out is read from its variable (`LLM_MODEL`,
   * `LLM_BASE_URL`, `LLM_API_KEY`), which needs `--allow-env` for it: when
   * the read is refused, the constructor throws a `TypeError` naming the
   * flag (`cannot read LLM_BASE_URL: run with --allow-env=LLM_BASE_URL (or
   * pass { baseUrl })`) rather than take the variable for unset. Pass
   * `apiKey: ""` for no key without reading `LLM_API_KEY`.
   */
  constructor(options: LLMClientOptions = {}) {
    const name = new.target?.name || "LLMClient";
    this.#name = name;
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`${name}: options must be an object, got ${describe(options)}`);
    }
    const model = optionOrEnv(name, options.model, "LLM_MODEL", "model");
    if (model === undefined) {
      throw new TypeError(`${name}: no model: pass { model } or set LLM_MODEL`);
    }
    this.model = checkModel(name, model);
    const base = optionOrEnv(name, options.baseUrl, "LLM_BASE_URL", "baseUrl") ??
      DEFAULT_LLM_BASE_URL;
    if (typeof base !== "string") {
      throw new TypeError(`${name}: baseUrl must be a string, got ${typeof base}`);
    }
    let url: URL;
    try {
      url = new URL(base.replace(/\/+$/, "") + "/chat/completions");
    } catch {
      url = new URL("invalid:");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`${name}: baseUrl must be an absolute http(s) URL, got "${base}"`);
    }
    this.baseUrl = base.replace(/\/+$/, "");
    this.#url = url.href;
    // Error messages name the host and path only: a query string may carry a key.
    this.#where = url.origin + url.pathname;
    const key = optionOrEnv(name, options.apiKey, "LLM_API_KEY", "apiKey");
    if (key !== undefined && typeof key !== "string") {
      throw new TypeError(`${name}: apiKey must be a string, got ${typeof key}`);
    }
    // Every occurrence of the key in a quoted response is redacted; a key of
    // a few characters would also match inside ordinary words ("k" in
    // "blocked"), mangling the message, so such keys are refused. The
    // message gives the length, never the key.
    if (key !== undefined && key !== "" && key.length < MIN_API_KEY_LENGTH) {
      throw new TypeError(
        `${name}: apiKey has ${key.length} characters, fewer than ${MIN_API_KEY_LENGTH}: ` +
          `no API key is that short (pass "" for none)`,
      );
    }
    this.#apiKey = key === "" ? undefined : key;
    this.timeoutMs = positiveMs(name, options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS);
    const f = options.fetch ?? ((input, init) => fetch(input, init));
    if (typeof f !== "function") {
      throw new TypeError(`${name}: fetch must be a function, got ${typeof f}`);
    }
    this.#fetch = f;
    const observer = options.observer;
    if (observer !== undefined && typeof observer?.start !== "function") {
      throw new TypeError(
        `${name}: observer must be an object with a start(call) method, got ${describe(observer)}`,
      );
    }
    this.#observer = observer;
  }

  /**
   * Sends one chat-completions request and returns the completion. Rejects
   * with an {@linkcode LLMError} when the call fails, with a `TypeError`
   * for a request without `prompt` or `messages` (or with a bad field) and
   * a `RangeError` for a bad `timeoutMs`; those are checked before anything
   * is sent or observed.
   *
   * @example
   * ```ts
   * import { LLMClient } from "@securetrack/metrics/llm";
   * const llm = new LLMClient({ model: "gpt-4o-mini" }); // key from LLM_API_KEY
   *
   * export async function ask(prompt: string): Promise<string> {
   *   const { text } = await llm.generateResponse({ prompt });
   *   return text;
   * }
   * ```
   */
  async generateResponse(request: LLMRequest): Promise<LLMResponse> {
    const p = this.#prepare(`${this.#name}.generateResponse`, request, false);
    const call = this.#observer?.start(callInfo(p, CHAT_ENDPOINT));
    let response: LLMResponse;
    try {
      response = await this.#complete(p);
    } catch (error) {
      const e = this.#asLLMError(p, error);
      call?.fail(e);
      throw e;
    }
    call?.succeed(response);
    return response;
  }

  /**
   * Streams one chat-completions request (server-sent events), yielding the
   * text chunks as they arrive; the generator's return value is the whole
   * {@linkcode LLMResponse}. The call starts when the iteration does. Throws
   * an {@linkcode LLMError} from the iteration when the call fails, a
   * `TypeError` (or `RangeError`) at once for a bad request. Breaking out of
   * the iteration cancels the response body.
   *
   * @example
   * ```ts
   * import { LLMClient } from "@securetrack/metrics/llm";
   * const llm = new LLMClient({ model: "gpt-4o-mini" }); // key from LLM_API_KEY
   *
   * export async function tell(prompt: string): Promise<void> {
   *   for await (const chunk of llm.streamResponse({ prompt })) console.log(chunk);
   * }
   * ```
   */
  streamResponse(request: LLMRequest): AsyncGenerator<string, LLMResponse, undefined> {
    return this.#stream(this.#prepare(`${this.#name}.streamResponse`, request, true));
  }

  #prepare(where: string, request: LLMRequest, stream: boolean): Prepared {
    if (typeof request !== "object" || request === null) {
      throw new TypeError(`${where}: request must be an object with a prompt or messages`);
    }
    const model = checkModel(where, request.model ?? this.model);
    const messages = toMessages(where, request);
    const body: Record<string, unknown> = { model, messages };
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
    }
    return {
      model,
      body,
      timeoutMs: request.timeoutMs === undefined
        ? this.timeoutMs
        : positiveMs(where, request.timeoutMs),
      signal: request.signal,
      traceId: checkTraceId(where, request.traceId),
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

  /** `error` as the {@linkcode LLMError} the caller gets: itself, or one of its class. */
  #asLLMError(p: Prepared, error: unknown): LLMError {
    return error instanceof LLMError
      ? error
      : this.#error(p, classifyLLMError(error), String(error));
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
      let json: Completion | null;
      try {
        json = JSON.parse(text);
      } catch {
        throw this.#error(p, "invalid_response", `the response is not JSON (${text.length} chars)`);
      }
      const choice = Array.isArray(json?.choices) ? json.choices[0] : undefined;
      const content = choice?.message?.content;
      if (typeof content !== "string" && content !== null) {
        throw this.#error(p, "invalid_response", "the response has no choices[0].message.content");
      }
      return {
        text: content ?? "",
        model: typeof json!.model === "string" ? json!.model : p.model,
        usage: toUsage(json!.usage),
        finishReason: typeof choice!.finish_reason === "string" ? choice!.finish_reason : undefined,
      };
    } finally {
      deadline.dispose();
    }
  }

  /** Reads one stream event into `r`; returns its text chunk (`""` for none). */
  #streamEvent(p: Prepared, data: string, r: LLMResponse): string {
    let json: StreamEvent | null;
    try {
      json = JSON.parse(data);
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
    r.usage = toUsage(json.usage) ?? r.usage;
    if (typeof json.model === "string") r.model = json.model;
    const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
    if (typeof choice?.finish_reason === "string") r.finishReason = choice.finish_reason;
    const content = choice?.delta?.content;
    if (typeof content !== "string") return "";
    r.text += content;
    return content;
  }

  async *#stream(p: Prepared): AsyncGenerator<string, LLMResponse, undefined> {
    const call = this.#observer?.start(callInfo(p, CHAT_STREAM_ENDPOINT));
    const deadline = new Deadline(p.timeoutMs, p.signal);
    const r: LLMResponse = { text: "", model: p.model, usage: undefined, finishReason: undefined };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let ended = false;
    try {
      const response = await this.#post(p, deadline, true);
      if (response.body === null) throw this.#error(p, "invalid_response", "the response is empty");
      reader = response.body.getReader();
      const chunks = timedReads(reader, deadline, (e) => this.#transportError(p, deadline, e));
      // A last event the server did not terminate with a blank line still counts.
      for await (const event of parseSSE(chunks, { dispatchIncomplete: true })) {
        if (event.data.trim() === "[DONE]") break;
        const chunk = this.#streamEvent(p, event.data, r);
        if (chunk !== "") yield chunk;
      }
      ended = true;
      call?.succeed(r);
      return r;
    } catch (error) {
      const e = this.#asLLMError(p, error);
      ended = true;
      call?.fail(e);
      throw e;
    } finally {
      deadline.dispose();
      // Cancelling a body read to its end does nothing; one cut short is released.
      reader?.cancel().catch(() => {});
      // Reached only when the consumer stopped early: the call itself went fine.
      if (!ended) call?.succeed(r);
    }
  }
}
