/**
 * The registry the module-level tracking helpers record into, and its
 * catalogue. Private: `mod.ts` re-exports `customRegistry`.
 *
 * @module
 */

import { Registry } from "../core/registry.ts";
import { createMetrics, type TrackingMetrics } from "./catalogue.ts";

/**
 * The registry of the SecureTrack catalogue, served at `/custom_metrics`
 * (apart from `defaultRegistry`, served at `/metrics`). The module-level
 * helpers record into it; all 20 metrics are registered on import.
 *
 * @example
 * ```ts
 * import { customRegistry, trackUserLogin } from "@securetrack/metrics/tracking";
 * trackUserLogin();
 * console.log(await customRegistry.metrics());
 * ```
 */
export const customRegistry: Registry = new Registry();

/** The catalogue in {@linkcode customRegistry}. */
export const customMetrics: TrackingMetrics = createMetrics(customRegistry);
