/**
 * `createTracking`: the catalogue and every helper, bound to one registry.
 *
 * @module
 */

import type { Registry } from "../core/registry.ts";
import { createMetrics, type TrackingMetrics, type TrackingOptions } from "./catalogue.ts";
import { type AppTrackers, appTrackers } from "./app.ts";
import {
  boundFeatureMetrics,
  type FeatureMetricsBase,
  type FeatureTrackers,
  featureTrackers,
} from "./feature.ts";
import {
  boundLLMService,
  type LLMServiceConstructor,
  type LLMTrackers,
  llmTrackers,
} from "./llm.ts";
import { type SessionTrackers, sessionTrackers } from "./session.ts";
import {
  boundUserActionTimer,
  type UserActionTimerBase,
  type UserTrackers,
  userTrackers,
} from "./user.ts";

/**
 * The catalogue of one registry and every tracking helper bound to it, as
 * returned by {@linkcode createTracking}. The module-level exports of
 * `@securetrack/metrics/tracking` are these members for `customRegistry`.
 * The functions are plain closures, so they can be destructured.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking, type Tracking } from "@securetrack/metrics/tracking";
 * const { trackUserLogin, metrics }: Tracking = createTracking(new Registry());
 * trackUserLogin();
 * assert.deepEqual(metrics.userLoginsTotal.get(), 1);
 * ```
 */
export interface Tracking
  extends LLMTrackers, FeatureTrackers, SessionTrackers, UserTrackers, AppTrackers {
  /** The registry the catalogue lives in. */
  readonly registry: Registry;
  /** The 20 metrics, for reading values or binding children directly. */
  readonly metrics: TrackingMetrics;
  /** `LLMService`, recording into this registry unless given other `metrics`. */
  readonly LLMService: LLMServiceConstructor;
  /** `FeatureMetrics`, recording into this registry unless given other `metrics`. */
  readonly FeatureMetrics: typeof FeatureMetricsBase;
  /** `UserActionTimer`, recording into this registry unless given other `metrics`. */
  readonly UserActionTimer: typeof UserActionTimerBase;
}

/** Binds every helper to catalogue `metrics` of `registry`. */
export function bindTracking(registry: Registry, metrics: TrackingMetrics): Tracking {
  return Object.freeze({
    registry,
    metrics,
    LLMService: boundLLMService(metrics),
    FeatureMetrics: boundFeatureMetrics(metrics),
    UserActionTimer: boundUserActionTimer(metrics),
    ...llmTrackers(metrics),
    ...featureTrackers(metrics),
    ...sessionTrackers(metrics),
    ...userTrackers(metrics),
    ...appTrackers(metrics),
  });
}

/**
 * Registers the 20 catalogue metrics in `registry` and returns them with
 * every helper bound to it: for tests, or for several applications in one
 * process. Calling it again for the same registry returns helpers that share
 * the same series. Throws a `TypeError` if a catalogue name is taken by a
 * different metric, or if the catalogue is already registered there with
 * other caps; a `RangeError` for a cap that is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking } from "@securetrack/metrics/tracking";
 *
 * const registry = new Registry();
 * const tracking = createTracking(registry, { workspaceMaxUsers: 1000 });
 * tracking.trackSessionStart();
 * tracking.trackUserLogin();
 * using _f = new tracking.FeatureMetrics("threat_analysis");
 * assert.deepEqual(tracking.metrics.userLoginsTotal.get(), 1);
 * console.log(await registry.metrics());
 * ```
 */
export function createTracking(registry: Registry, options: TrackingOptions = {}): Tracking {
  return bindTracking(registry, createMetrics(registry, options));
}
