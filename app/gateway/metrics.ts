/**
 * What the gateway records: the catalogue's six `llm_*` metrics, exactly as
 * `LLMService` records them (one {@linkcode GatewayCall} per forwarded call),
 * and the gateway's own families beside them in the same registry:
 *
 * | family | type | labels |
 * | --- | --- | --- |
 * | `gen_ai_server_time_to_first_token_seconds` | histogram | `model` |
 * | `gen_ai_server_time_per_output_token_seconds` | histogram | `model` |
 * | `llm_gateway_requests_total` | counter | `endpoint`, `code` (, `client`) |
 * | `llm_gateway_tokens_total` | counter | `model`, `type` (, `client`) |
 *
 * The two histograms take the names of the OpenTelemetry GenAI conventions'
 * model-server metrics (`gen_ai.server.time_to_first_token`,
 * `gen_ai.server.time_per_output_token`, unit `s`): to its clients the
 * gateway is the model server. Their buckets are vLLM's
 * (`vllm:time_to_first_token_seconds`, `vllm:time_per_output_token_seconds`),
 * which extend the conventions' advisory buckets to multi-minute waits.
 *
 * @module
 */

import { Counter } from "../../src/core/counter.ts";
import { Histogram } from "../../src/core/histogram.ts";
import type { Registry } from "../../src/core/registry.ts";
import { MAX_LABEL_VALUE_LENGTH, type TrackingMetrics } from "../../src/tracking/catalogue.ts";
import type { LLMErrorType } from "../../src/llm/errors.ts";
import type { TokenUsage } from "../../src/llm/usage.ts";

/**
 * Buckets of `gen_ai_server_time_to_first_token_seconds`: vLLM's TTFT
 * buckets (1 ms to 2,560 s), a superset of the OpenTelemetry advisory ones.
 */
export const TTFT_BUCKETS: readonly number[] = Object.freeze([
  0.001,
  0.005,
  0.01,
  0.02,
  0.04,
  0.06,
  0.08,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
  20,
  40,
  80,
  160,
  640,
  2560,
]);

/**
 * Buckets of `gen_ai_server_time_per_output_token_seconds`: vLLM's TPOT
 * buckets (10 ms to 80 s), a superset of the OpenTelemetry advisory ones.
 */
export const TPOT_BUCKETS: readonly number[] = Object.freeze([
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.15,
  0.2,
  0.3,
  0.4,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
  20,
  40,
  80,
]);

/** The gateway's own families (see the module comment). */
export interface GatewayMetrics {
  /** `gen_ai_server_time_to_first_token_seconds{model}`. */
  readonly timeToFirstToken: Histogram<string>;
  /** `gen_ai_server_time_per_output_token_seconds{model}`. */
  readonly timePerOutputToken: Histogram<string>;
  /** `llm_gateway_requests_total{endpoint,code[,client]}`. */
  readonly requests: Counter<string>;
  /** `llm_gateway_tokens_total{model,type[,client]}`. */
  readonly tokens: Counter<string>;
  /** Whether the per-client families carry `client` (client keys are configured). */
  readonly byClient: boolean;
}

/**
 * Registers the gateway's families in `registry`; with `byClient`, the
 * request and token counters carry a `client` label (the key's name).
 *
 * @example
 * ```ts
 * import { Registry } from "../../src/core/registry.ts";
 * import { createGatewayMetrics } from "./metrics.ts";
 * const m = createGatewayMetrics(new Registry(), false);
 * m.timeToFirstToken.observe({ model: "gpt-4o" }, 0.21);
 * ```
 */
export function createGatewayMetrics(registry: Registry, byClient: boolean): GatewayMetrics {
  const client = byClient ? ["client"] : [];
  return {
    byClient,
    timeToFirstToken: new Histogram({
      name: "gen_ai_server_time_to_first_token_seconds",
      help: "Time from a streamed chat request reaching the gateway to its first output chunk",
      labelNames: ["model"],
      buckets: [...TTFT_BUCKETS],
      registry,
    }),
    timePerOutputToken: new Histogram({
      name: "gen_ai_server_time_per_output_token_seconds",
      help: "Time per output token after the first, per streamed chat completion",
      labelNames: ["model"],
      buckets: [...TPOT_BUCKETS],
      registry,
    }),
    requests: new Counter({
      name: "llm_gateway_requests_total",
      help: "Requests answered by the LLM gateway, by endpoint and HTTP status",
      labelNames: ["endpoint", "code", ...client],
      registry,
    }),
    tokens: new Counter({
      name: "llm_gateway_tokens_total",
      help: "Tokens metered by the LLM gateway, by model, type (prompt/completion) and client",
      labelNames: ["model", "type", ...client],
      registry,
    }),
  };
}

/** `value` cut to the catalogue's 128 characters, never inside a surrogate pair. */
function labelValue(value: string): string {
  if (value.length <= MAX_LABEL_VALUE_LENGTH) return value;
  const last = value.charCodeAt(MAX_LABEL_VALUE_LENGTH - 1);
  return value.slice(
    0,
    last >= 0xd800 && last <= 0xdbff ? -1 + MAX_LABEL_VALUE_LENGTH : MAX_LABEL_VALUE_LENGTH,
  );
}

/**
 * One forwarded call, recorded as `LLMService` records a call: at its end
 * (exactly once) `llm_requests_total{model,endpoint}` and
 * `llm_request_duration_seconds{model,endpoint}`, then either the tokens
 * (`llm_tokens_total{model,type}`, prompt and completion) and the completion
 * size (`llm_completion_size_bytes{model}`, chat only), or the error
 * (`llm_errors_total{model,error_type}`, and `llm_rate_limits_total{model}`
 * for a 429). Unlike `LLMService`, the request is counted at its end, when
 * the response has said which model answered.
 */
export class GatewayCall {
  readonly #m: TrackingMetrics;
  readonly #g: GatewayMetrics;
  readonly #endpoint: string;
  readonly #client: string;
  /** When the request reached the gateway (`performance.now()`). */
  readonly started: number;
  /** The model label: the request's until the response names one. */
  model: string;
  /** When the first output chunk arrived, if it did. */
  firstChunkAt: number | undefined;
  #settled = false;

  /** Starts the clock for a call to `endpoint` asked for `model` by `client` ("" for none). */
  constructor(
    m: TrackingMetrics,
    g: GatewayMetrics,
    endpoint: string,
    model: string,
    client: string,
    started: number = performance.now(),
  ) {
    this.#m = m;
    this.#g = g;
    this.#endpoint = endpoint;
    this.#client = client;
    this.model = model;
    this.started = started;
  }

  /** Sets the model label from the response (truncated to 128 characters). */
  answeredBy(model: unknown): void {
    if (typeof model === "string" && model !== "") this.model = labelValue(model);
  }

  /** The first output chunk of a stream arrived: its time to first token. */
  firstChunk(now: number = performance.now()): void {
    if (this.firstChunkAt !== undefined) return;
    this.firstChunkAt = now;
    this.#g.timeToFirstToken.observe({ model: this.model }, (now - this.started) / 1000);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    const labels = { model: this.model, endpoint: this.#endpoint };
    this.#m.llmRequestsTotal.inc(labels);
    this.#m.llmRequestDurationSeconds.observe(labels, (performance.now() - this.started) / 1000);
    return true;
  }

  /** A success: tokens when known, completion bytes when a chat (else `undefined`). */
  done(usage: TokenUsage | undefined, bytes: number | undefined): void {
    if (!this.#settle()) return;
    const model = this.model;
    if (usage !== undefined) {
      this.#m.llmTokensTotal.inc({ model, type: "prompt" }, usage.promptTokens);
      this.#m.llmTokensTotal.inc({ model, type: "completion" }, usage.completionTokens);
      const by: Record<string, string> = this.#g.byClient ? { client: this.#client } : {};
      this.#g.tokens.inc({ model, type: "prompt", ...by }, usage.promptTokens);
      this.#g.tokens.inc({ model, type: "completion", ...by }, usage.completionTokens);
      const first = this.firstChunkAt;
      if (first !== undefined && usage.completionTokens > 1) {
        const seconds = (performance.now() - first) / 1000 / (usage.completionTokens - 1);
        this.#g.timePerOutputToken.observe({ model }, seconds);
      }
    }
    if (bytes !== undefined) this.#m.llmCompletionSizeBytes.observe({ model }, bytes);
  }

  /** A failure of kind `type` (the `error_type` `LLMService` would count it under). */
  failed(type: LLMErrorType): void {
    if (!this.#settle()) return;
    this.#m.llmErrorsTotal.inc({ model: this.model, error_type: type });
    if (type === "rate_limited") this.#m.llmRateLimitsTotal.inc({ model: this.model });
  }
}
