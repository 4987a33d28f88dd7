/**
 * The events of the ingestion API: one kind per helper of the SecureTrack
 * catalogue, each checked as its helper checks its arguments (non-empty
 * label values cut to 128 characters, finite non-negative numbers), then
 * recorded into the catalogue exactly as the helper records it. A batch is
 * checked whole before anything is recorded: all or nothing.
 *
 * | `kind` | fields | records (as) |
 * | --- | --- | --- |
 * | `feature_run` | `feature`, `seconds`, `error_type`? | `feature_usage_total`, `feature_duration_seconds`, `feature_errors_total` (`trackFeature`) |
 * | `session_start` / `session_end` | | `app_active_sessions` (`trackSessionStart` / `trackSessionEnd`) |
 * | `login` / `registration` | | `user_logins_total` / `user_registrations_total` |
 * | `auth_failure` | `reason` | `user_auth_failures_total` (`trackAuthFailure`) |
 * | `user_action` | `action`, `seconds`? | `user_action_total`, and with `seconds` `user_action_duration_seconds` (`UserActionTimer`) |
 * | `workspace_size` / `workspace_removed` | `user_id`, `bytes` / `user_id` | `workspace_size_bytes` (`setWorkspaceSize` / `removeWorkspace`) |
 * | `analysis_complexity` | `analysis_type`, `score` | `analysis_complexity` |
 * | `app_request` | `endpoint`, `method`, `status_code`, `seconds` | `app_requests_total`, `app_request_duration_seconds` (`trackAppRequest`) |
 * | `app_error` | `endpoint`, `error_type` | `app_errors_total` (`trackAppError`) |
 * | `llm_call` | `model`, `endpoint`, `seconds`, `prompt_tokens`?, `completion_tokens`?, `completion_bytes`?, `error_type`? | the six `llm_*` metrics (`trackLLMCall`) |
 *
 * @module
 */

import { LLM_ERROR_TYPES } from "../src/llm/mod.ts";
import { MAX_LABEL_VALUE_LENGTH, type Tracking } from "../src/tracking/mod.ts";

/** The event kinds, in the order of the counts kept for each batch. */
export const EVENT_KINDS = [
  "feature_run",
  "session_start",
  "session_end",
  "login",
  "registration",
  "auth_failure",
  "user_action",
  "workspace_size",
  "workspace_removed",
  "analysis_complexity",
  "app_request",
  "app_error",
  "llm_call",
] as const;

/** One of {@linkcode EVENT_KINDS}. */
export type EventKind = typeof EVENT_KINDS[number];

/** A field's check: returns the value to record, or throws a message (a string). */
type Check = (value: unknown) => unknown;

interface Field {
  readonly check: Check;
  readonly optional: boolean;
}

type Fields = Readonly<Record<string, Field>>;

/** A checked event, ready to record. */
type Recorder = (tracking: Tracking, e: Record<string, unknown>) => void;

interface KindSpec {
  readonly fields: Fields;
  /** Further checks across fields; returns a reason, or undefined. */
  readonly across?: (e: Record<string, unknown>) => string | undefined;
  readonly record: Recorder;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${value}`;
  return typeof value === "object" ? "an object" : typeof value;
}

/** Cuts to {@linkcode MAX_LABEL_VALUE_LENGTH} code units, never inside a surrogate pair (as the helpers do). */
function cut(value: string): string {
  if (value.length <= MAX_LABEL_VALUE_LENGTH) return value;
  const last = value.charCodeAt(MAX_LABEL_VALUE_LENGTH - 1);
  return value.slice(
    0,
    last >= 0xd800 && last <= 0xdbff ? MAX_LABEL_VALUE_LENGTH - 1 : MAX_LABEL_VALUE_LENGTH,
  );
}

const label: Check = (v) => {
  if (typeof v !== "string" || v === "") throw `must be a non-empty string, got ${describe(v)}`;
  return cut(v);
};

const nonNegative: Check = (v) => {
  if (typeof v !== "number") throw `must be a number, got ${describe(v)}`;
  if (!(v >= 0 && v !== Infinity)) throw `must be a finite number >= 0, got ${v}`;
  return v;
};

const count: Check = (v) => {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw `must be an integer >= 0, got ${describe(v)}`;
  }
  return v;
};

const statusCode: Check = (v) => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 100 || v > 599) {
    throw `must be an integer from 100 to 599, got ${describe(v)}`;
  }
  return v;
};

const llmErrorType: Check = (v) => {
  if (typeof v !== "string" || !(LLM_ERROR_TYPES as readonly string[]).includes(v)) {
    throw `must be one of ${LLM_ERROR_TYPES.join(", ")}, got ${describe(v)}`;
  }
  return v;
};

const required = (check: Check): Field => ({ check, optional: false });
const optional = (check: Check): Field => ({ check, optional: true });

const s = (v: unknown) => v as string;
const n = (v: unknown) => v as number;

const KINDS: Readonly<Record<EventKind, KindSpec>> = {
  feature_run: {
    fields: {
      feature: required(label),
      seconds: required(nonNegative),
      error_type: optional(label),
    },
    record: ({ metrics: m }, e) => {
      const labels = { feature_name: s(e.feature) };
      if (e.error_type !== undefined) {
        m.featureErrorsTotal.inc({ ...labels, error_type: s(e.error_type) });
      }
      m.featureUsageTotal.inc(labels);
      m.featureDurationSeconds.observe(labels, n(e.seconds));
    },
  },
  session_start: { fields: {}, record: (t) => t.trackSessionStart() },
  session_end: { fields: {}, record: (t) => t.trackSessionEnd() },
  login: { fields: {}, record: (t) => t.trackUserLogin() },
  registration: { fields: {}, record: (t) => t.trackUserRegistration() },
  auth_failure: {
    fields: { reason: required(label) },
    record: (t, e) => t.trackAuthFailure(s(e.reason)),
  },
  user_action: {
    fields: { action: required(label), seconds: optional(nonNegative) },
    record: ({ metrics: m }, e) => {
      const labels = { action_type: s(e.action) };
      m.userActionTotal.inc(labels);
      if (e.seconds !== undefined) m.userActionDurationSeconds.observe(labels, n(e.seconds));
    },
  },
  workspace_size: {
    fields: { user_id: required(label), bytes: required(nonNegative) },
    record: (t, e) => t.setWorkspaceSize(s(e.user_id), n(e.bytes)),
  },
  workspace_removed: {
    fields: { user_id: required(label) },
    record: (t, e) => void t.removeWorkspace(s(e.user_id)),
  },
  analysis_complexity: {
    fields: { analysis_type: required(label), score: required(nonNegative) },
    record: (t, e) => t.observeAnalysisComplexity(s(e.analysis_type), n(e.score)),
  },
  app_request: {
    fields: {
      endpoint: required(label),
      method: required(label),
      status_code: required(statusCode),
      seconds: required(nonNegative),
    },
    record: (t, e) =>
      t.trackAppRequest({
        endpoint: s(e.endpoint),
        method: s(e.method),
        statusCode: n(e.status_code),
        seconds: n(e.seconds),
      }),
  },
  app_error: {
    fields: { endpoint: required(label), error_type: required(label) },
    record: (t, e) => t.trackAppError({ endpoint: s(e.endpoint), errorType: s(e.error_type) }),
  },
  llm_call: {
    fields: {
      model: required(label),
      endpoint: required(label),
      seconds: required(nonNegative),
      prompt_tokens: optional(count),
      completion_tokens: optional(count),
      completion_bytes: optional(count),
      error_type: optional(llmErrorType),
    },
    across: (e) => {
      if (e.error_type === undefined) return undefined;
      const extra = ["prompt_tokens", "completion_tokens", "completion_bytes"]
        .filter((f) => e[f] !== undefined);
      return extra.length === 0 ? undefined : `${extra.join(", ")} given with error_type: ` +
        "a failed call records no tokens and no completion (as LLMService records it)";
    },
    // As the recorder of trackLLMCall: the request, its duration, then the
    // tokens and completion size of a success, or the error of a failure.
    record: ({ metrics: m }, e) => {
      const model = s(e.model);
      m.llmRequestsTotal.inc({ model, endpoint: s(e.endpoint) });
      m.llmRequestDurationSeconds.observe({ model, endpoint: s(e.endpoint) }, n(e.seconds));
      if (e.error_type !== undefined) {
        m.llmErrorsTotal.inc({ model, error_type: s(e.error_type) });
        if (e.error_type === "rate_limited") m.llmRateLimitsTotal.inc({ model });
        return;
      }
      if (e.prompt_tokens !== undefined) {
        m.llmTokensTotal.inc({ model, type: "prompt" }, n(e.prompt_tokens));
      }
      if (e.completion_tokens !== undefined) {
        m.llmTokensTotal.inc({ model, type: "completion" }, n(e.completion_tokens));
      }
      if (e.completion_bytes !== undefined) {
        m.llmCompletionSizeBytes.observe({ model }, n(e.completion_bytes));
      }
    },
  },
};

const KIND_INDEX: ReadonlyMap<string, number> = new Map(EVENT_KINDS.map((k, i) => [k, i]));
// Each kind's fields as a list, made once (not per event).
const FIELD_LISTS: ReadonlyMap<string, readonly [string, Field][]> = new Map(
  EVENT_KINDS.map((k) => [k, Object.entries(KINDS[k].fields)]),
);

/** A checked event: its kind's index in {@linkcode EVENT_KINDS} and its values. */
export interface CheckedEvent {
  readonly kind: number;
  readonly values: Record<string, unknown>;
}

/**
 * Checks one decoded event; returns it ready to record, or the reason it is
 * not valid (a sentence naming the kind and the field).
 *
 * @example
 * ```ts
 * import { checkEvent } from "./ingest_events.ts";
 * checkEvent({ kind: "auth_failure", reason: "invalid_password" }); // { kind: 5, values: … }
 * checkEvent({ kind: "auth_failure" }); // 'auth_failure: "reason" is missing'
 * ```
 */
export function checkEvent(event: unknown): CheckedEvent | string {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    return `an event must be a JSON object, got ${describe(event)}`;
  }
  const e = event as Record<string, unknown>;
  const kind = e.kind;
  if (typeof kind !== "string") return `"kind" must be a string, got ${describe(kind)}`;
  const index = KIND_INDEX.get(kind);
  if (index === undefined) {
    return `unknown kind ${describe(kind)} (known: ${EVENT_KINDS.join(", ")})`;
  }
  const spec = KINDS[kind as EventKind];
  const values: Record<string, unknown> = {};
  for (const name in e) {
    if (name === "kind") continue;
    const field = Object.hasOwn(spec.fields, name) ? spec.fields[name] : undefined;
    if (field === undefined) {
      const known = Object.keys(spec.fields);
      return `${kind}: unknown field ${describe(name)} (${
        known.length === 0 ? "it takes no fields" : `known: ${known.join(", ")}`
      })`;
    }
  }
  for (const [name, field] of FIELD_LISTS.get(kind)!) {
    const value = e[name];
    if (value === undefined || (value === null && field.optional)) {
      if (field.optional) continue;
      return `${kind}: "${name}" is missing`;
    }
    try {
      values[name] = field.check(value);
    } catch (reason) {
      if (typeof reason !== "string") throw reason;
      return `${kind}: "${name}" ${reason}`;
    }
  }
  const across = spec.across?.(values);
  if (across !== undefined) return `${kind}: ${across}`;
  return { kind: index, values };
}

/**
 * Records checked events into `tracking`'s catalogue, and adds one to
 * `counts[kind]` for each. Cannot fail on checked events.
 */
export function recordEvents(
  tracking: Tracking,
  events: readonly CheckedEvent[],
  counts: Int32Array,
): void {
  for (const event of events) {
    KINDS[EVENT_KINDS[event.kind]].record(tracking, event.values);
    counts[event.kind]++;
  }
}
