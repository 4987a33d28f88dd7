/**
 * User activity: `user_action_total`, `user_action_duration_seconds`,
 * `workspace_size_bytes` and `analysis_complexity`.
 *
 * @module
 */

import type { TrackingMetrics } from "./catalogue.ts";
import { labelValue, nonNegative } from "./_validate.ts";

/**
 * Options for `UserActionTimer` ({@linkcode UserActionTimerBase}).
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createMetrics, UserActionTimer } from "@securetrack/metrics/tracking";
 * const metrics = createMetrics(new Registry());
 * const timer = new UserActionTimer("document_upload", { metrics });
 * timer.end();
 * ```
 */
export interface UserActionTimerOptions {
  /**
   * The catalogue to record into. Absent: that of the class (`customRegistry`'s
   * for the `UserActionTimer` of `@securetrack/metrics/tracking`).
   */
  metrics?: TrackingMetrics;
}

/**
 * The class behind `UserActionTimer` (and
 * `createTracking(...).UserActionTimer`), which bind it to their registry's
 * catalogue: times one user action, for `using`. When disposed (or
 * {@linkcode UserActionTimerBase.end}ed), it counts the action in
 * `user_action_total{action_type}` and observes the elapsed time in
 * `user_action_duration_seconds{action_type}`, once. Throws a `TypeError`
 * for an empty or non-string action type; types longer than 128 characters
 * are truncated. Constructed directly (it is exported as a type only), it
 * needs `options.metrics`.
 *
 * @example
 * ```ts
 * import { UserActionTimer, type UserActionTimerBase } from "@securetrack/metrics/tracking";
 *
 * async function uploadDocument(file: Blob): Promise<void> {
 *   using _timer: UserActionTimerBase = new UserActionTimer("document_upload");
 *   await file.arrayBuffer();
 * }
 * await uploadDocument(new Blob(["report"]));
 * ```
 */
export class UserActionTimerBase implements Disposable {
  /** The `action_type` label (after truncation). */
  readonly actionType: string;
  readonly #m: TrackingMetrics;
  readonly #start: number;
  #seconds = -1;

  /**
   * Starts timing an action of type `actionType`, recording into
   * `options.metrics` (through `UserActionTimer`: by default, the catalogue
   * it is bound to).
   */
  constructor(actionType: string, options: UserActionTimerOptions = {}) {
    this.actionType = labelValue("UserActionTimer", "actionType", actionType);
    const m = options?.metrics;
    if (m === undefined) {
      throw new TypeError(
        "UserActionTimer: no catalogue: pass { metrics }, or use the UserActionTimer of " +
          "@securetrack/metrics/tracking or of createTracking(registry)",
      );
    }
    this.#m = m;
    this.#start = performance.now();
  }

  /** Records the action and its duration (the first time only); returns the elapsed seconds. */
  end(): number {
    if (this.#seconds >= 0) return this.#seconds;
    this.#seconds = (performance.now() - this.#start) / 1000;
    const labels = { action_type: this.actionType };
    this.#m.userActionTotal.inc(labels);
    this.#m.userActionDurationSeconds.observe(labels, this.#seconds);
    return this.#seconds;
  }

  /** Same as {@linkcode UserActionTimerBase.end}. */
  [Symbol.dispose](): void {
    this.end();
  }
}

/**
 * The user-activity helpers, bound to a catalogue.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking, type UserTrackers } from "@securetrack/metrics/tracking";
 * const users: UserTrackers = createTracking(new Registry(), { workspaceMaxUsers: 100 });
 * users.setWorkspaceSize("user-1", 4096);
 * users.observeAnalysisComplexity("threat_model", 42);
 * ```
 */
export interface UserTrackers {
  /**
   * Counts one action (`user_action_total{action_type}`). Use a fixed set of
   * action types. Throws a `TypeError` for an empty or non-string type.
   */
  trackUserAction(actionType: string): void;
  /**
   * Sets a user's workspace size (`workspace_size_bytes{user_id}`). Throws a
   * `TypeError` for an empty or non-string user id and a `RangeError` for a
   * negative or non-finite size. Users past the cap (`workspaceMaxUsers`,
   * default 10,000) share the `__overflow__` series.
   */
  setWorkspaceSize(userId: string, bytes: number): void;
  /**
   * Removes a user's `workspace_size_bytes` series (the user was deleted or
   * went inactive), freeing its place under the cap. Returns whether it existed.
   */
  removeWorkspace(userId: string): boolean;
  /**
   * Observes one analysis' complexity score
   * (`analysis_complexity{analysis_type}`; scale 0–100, see
   * `ANALYSIS_COMPLEXITY_BUCKETS`). Throws a `TypeError` for an empty or
   * non-string type and a `RangeError` for a negative or non-finite score.
   */
  observeAnalysisComplexity(analysisType: string, score: number): void;
}

/** Builds the user-activity helpers for catalogue `m`. */
export function userTrackers(m: TrackingMetrics): UserTrackers {
  return {
    trackUserAction(actionType: string): void {
      m.userActionTotal.inc({
        action_type: labelValue("trackUserAction", "actionType", actionType),
      });
    },
    setWorkspaceSize(userId: string, bytes: number): void {
      const user = labelValue("setWorkspaceSize", "userId", userId);
      m.workspaceSizeBytes.set({ user_id: user }, nonNegative("setWorkspaceSize", "bytes", bytes));
    },
    removeWorkspace(userId: string): boolean {
      return m.workspaceSizeBytes.remove({
        user_id: labelValue("removeWorkspace", "userId", userId),
      });
    },
    observeAnalysisComplexity(analysisType: string, score: number): void {
      const helper = "observeAnalysisComplexity";
      const type = labelValue(helper, "analysisType", analysisType);
      m.analysisComplexity.observe({ analysis_type: type }, nonNegative(helper, "score", score));
    },
  };
}

/**
 * Builds the `UserActionTimer` class bound to catalogue `m`: it records into
 * `m` unless given other `metrics`.
 */
export function boundUserActionTimer(m: TrackingMetrics): typeof UserActionTimerBase {
  return class UserActionTimer extends UserActionTimerBase {
    constructor(actionType: string, options: UserActionTimerOptions = {}) {
      super(actionType, { ...options, metrics: options?.metrics ?? m });
    }
  };
}
