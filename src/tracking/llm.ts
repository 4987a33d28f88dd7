/**
 * LLM tracking: the recorder of the six `llm_*` metrics, plugged into the
 * LLM client of `src/llm/` (`LLMService` is `LLMClient` with this recorder
 * as its observer), and `trackLLM` / `trackLLMCall`, which record the same
 * metrics around calls made through any other client.
 *
 * @module
 */

import type { TrackingMetrics } from "./catalogue.ts";
import {
  checkTraceId,
  type LLMCallInfo,
  type LLMCallObserver,
  LLMClient,
  type LLMClientOptions,
  type LLMObserver,
  type LLMResponse,
} from "../llm/client.ts";
import { classifyLLMError, type LLMError, type LLMErrorType } from "../llm/errors.ts";
import { type TokenUsage, toUsage } from "../llm/usage.ts";
import { labelValue, truncateLabel, utf8Length } from "./_validate.ts";

/**
 * Options for `LLMService`: those of `LLMClient` from
 * `@securetrack/metrics/llm` (`baseUrl`, `apiKey`, `model`, `timeoutMs`,
 * `fetch`; its `observer` is the recorder), and the catalogue to record
 * into. The model is also the `model` label (truncated to 128 characters;
 * the API gets it whole).
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
export interface LLMServiceOptions extends Omit<LLMClientOptions, "observer"> {
  /**
   * The catalogue to record into. Absent: that of the class (`customRegistry`'s
   * for the `LLMService` of `@securetrack/metrics/tracking`, the registry's
   * for `createTracking(registry).LLMService`).
   */
  metrics?: TrackingMetrics;
}

/**
 * The type of `LLMService`: a class of `LLMClient` (from
 * `@securetrack/metrics/llm`) that records every call in a catalogue. The
 * `LLMService` of `@securetrack/metrics/tracking` records into
 * `customRegistry`; `createTracking(registry).LLMService` into `registry`.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking, type LLMServiceConstructor } from "@securetrack/metrics/tracking";
 * const Service: LLMServiceConstructor = createTracking(new Registry()).LLMService;
 * const llm = new Service({ baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2" });
 * ```
 */
export interface LLMServiceConstructor {
  /**
   * Creates a client; see `LLMClientOptions` for the defaults. Throws a
   * `TypeError` when no model is configured or `baseUrl` is not an http(s)
   * URL, and a `RangeError` for a bad `timeoutMs`.
   */
  new (options?: LLMServiceOptions): LLMClient;
  /** The prototype of its instances: `LLMClient`'s, through the bound class. */
  readonly prototype: LLMClient;
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
  /**
   * The caller's trace id: the `{ trace_id }` exemplar of the call's
   * `llm_requests_total` and `llm_request_duration_seconds` (a non-empty
   * string of at most 120 code points). `@trackLLM` also takes a function
   * giving each call's (see {@linkcode TrackLLMMethodOptions}); a string
   * there is every call's.
   */
  traceId?: string;
}

/**
 * Options of `@trackLLM` when the model or the trace id is read at each
 * call: from the instance, and for the trace id also from the method's
 * arguments.
 *
 * @example
 * ```ts
 * import { trackLLM } from "@securetrack/metrics/tracking";
 * class Client {
 *   constructor(readonly model: string) {}
 *   @trackLLM({
 *     model: (self: Client) => self.model,
 *     endpoint: "chat",
 *     traceId: (_self: Client, _prompt: string, trace?: string) => trace,
 *   })
 *   async ask(prompt: string, _trace?: string): Promise<string> {
 *     return prompt;
 *   }
 * }
 * await new Client("gpt-4o").ask("Hello", "4bf92f3577b34da6a3ce929d0e0e4736");
 * ```
 */
export interface TrackLLMMethodOptions<This> {
  /**
   * `model` label: a string, or computed from the instance at each call
   * (e.g. `(self) => self.model`).
   */
  model: string | ((self: This) => string);
  /** `endpoint` label. */
  endpoint: string;
  /**
   * The call's trace id, put as the `{ trace_id }` exemplar on its
   * `llm_requests_total` and `llm_request_duration_seconds`, as
   * `trackLLMCall`'s `traceId`: a function called before each call with the
   * instance and the method's arguments (`undefined`: no exemplar for that
   * call), or a string every call gets. A value that is not a non-empty
   * string of at most 120 code points rejects the call with a `TypeError`
   * or `RangeError` naming `trackLLM` (a string: `trackLLM` throws), before
   * anything is called or recorded.
   */
  traceId?: string | ((self: This, ...args: never[]) => string | undefined);
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
   * method: see {@linkcode trackLLMCall} for what is recorded, and
   * {@linkcode TrackLLMMethodOptions} for `traceId` (the exemplar).
   */
  trackLLM: {
    (options: TrackLLMOptions): LLMMethodDecorator<unknown>;
    <This>(options: TrackLLMMethodOptions<This>): LLMMethodDecorator<This>;
  };
  /** Runs `fn`, recording the `llm_*` metrics around it. */
  trackLLMCall<T>(options: TrackLLMOptions, fn: () => T | PromiseLike<T>): Promise<T>;
}

/**
 * Records one LLM call in catalogue `m`: the request when created, and its
 * end, exactly once. It is the per-call observer of `LLMService`, and the
 * recorder of `trackLLMCall` / `@trackLLM`.
 */
class LLMCall implements LLMCallObserver {
  readonly #m: TrackingMetrics;
  readonly #model: string;
  readonly #endpoint: string;
  readonly #start: number;
  readonly #exemplar: { trace_id: string } | undefined;
  #settled = false;

  constructor(m: TrackingMetrics, model: string, endpoint: string, traceId?: string) {
    this.#m = m;
    this.#model = model;
    this.#endpoint = endpoint;
    if (traceId === undefined) m.llmRequestsTotal.inc({ model, endpoint });
    else {
      const exemplarLabels = this.#exemplar = { trace_id: traceId };
      m.llmRequestsTotal.incWithExemplar({ labels: { model, endpoint }, exemplarLabels });
    }
    this.#start = performance.now();
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    const seconds = (performance.now() - this.#start) / 1000;
    const labels = { model: this.#model, endpoint: this.#endpoint };
    const exemplarLabels = this.#exemplar;
    if (exemplarLabels === undefined) this.#m.llmRequestDurationSeconds.observe(labels, seconds);
    else {
      this.#m.llmRequestDurationSeconds.observeWithExemplar({
        labels,
        value: seconds,
        exemplarLabels,
      });
    }
    return true;
  }

  /** A success: duration, and the tokens and completion size when known. */
  done(usage: TokenUsage | undefined, bytes: number | undefined): void {
    if (!this.#settle()) return;
    const m = this.#m;
    const model = this.#model;
    if (usage !== undefined) {
      m.llmTokensTotal.inc({ model, type: "prompt" }, usage.promptTokens);
      m.llmTokensTotal.inc({ model, type: "completion" }, usage.completionTokens);
    }
    if (bytes !== undefined) m.llmCompletionSizeBytes.observe({ model }, bytes);
  }

  /** A failure of kind `type`: duration, the error, and a rate limit for a 429. */
  failed(type: LLMErrorType): void {
    if (!this.#settle()) return;
    const model = this.#model;
    this.#m.llmErrorsTotal.inc({ model, error_type: type });
    if (type === "rate_limited") this.#m.llmRateLimitsTotal.inc({ model });
  }

  /** Observer hook: a client call succeeded (a stream stopped early: with what arrived). */
  succeed(response: LLMResponse): void {
    this.done(response.usage, utf8Length(response.text));
  }

  /** Observer hook: a client call failed with `error`, counted under its `type`. */
  fail(error: LLMError): void {
    this.failed(error.type);
  }
}

/** The observer recording every call of an `LLMClient` in catalogue `m`. */
function llmObserver(m: TrackingMetrics): LLMObserver {
  return {
    // The API gets the model name as given; only the label is truncated.
    start: (call: LLMCallInfo) =>
      new LLMCall(m, truncateLabel(call.model), call.endpoint, call.traceId),
  };
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
  traceId?: string,
): Promise<T> {
  const call = new LLMCall(m, model, endpoint, traceId);
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    call.failed(classifyLLMError(error));
    throw error;
  }
  const r = result as { usage?: unknown } | null;
  const text = completionText(result);
  call.done(
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
    const traceId = checkTraceId("trackLLMCall", options.traceId);
    if (typeof fn !== "function") {
      throw new TypeError(`trackLLMCall: fn must be a function, got ${typeof fn}`);
    }
    return await recordCall(m, model, endpoint, fn, traceId);
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
    const trace = options.traceId;
    const fixedTrace = typeof trace === "function" ? undefined : checkTraceId("trackLLM", trace);
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
        const traceId = typeof trace === "function"
          ? checkTraceId(
            "trackLLM",
            (trace as unknown as (self: This, ...args: Args) => unknown)(this, ...args),
          )
          : fixedTrace;
        return await recordCall(m, model, endpoint, () => target.apply(this, args), traceId);
      };
    };
  }

  return { trackLLM: trackLLM as LLMTrackers["trackLLM"], trackLLMCall };
}

/**
 * Builds the `LLMService` class bound to catalogue `m`: an `LLMClient`
 * whose observer records every call in `m` (or in `options.metrics`).
 */
export function boundLLMService(m: TrackingMetrics): LLMServiceConstructor {
  return class LLMService extends LLMClient {
    constructor(options: LLMServiceOptions = {}) {
      super(clientOptions(options, m));
    }
  };
}

/** The `LLMClient` options of `LLMService` options: the recorder as the observer. */
function clientOptions(options: LLMServiceOptions, m: TrackingMetrics): LLMClientOptions {
  // Not an object: passed on for LLMClient to reject with its message.
  if (typeof options !== "object" || options === null) return options;
  const { metrics, ...rest } = options;
  return { ...rest, observer: llmObserver(metrics ?? m) };
}
