/**
 * Sessions and registration: `app_active_sessions`, `user_logins_total`,
 * `user_registrations_total` and `user_auth_failures_total`.
 *
 * @module
 */

import type { TrackingMetrics } from "./catalogue.ts";
import { labelValue } from "./_validate.ts";

/**
 * The session and registration helpers, bound to a catalogue.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { createTracking, type SessionTrackers } from "@securetrack/metrics/tracking";
 * const sessions: SessionTrackers = createTracking(new Registry());
 * sessions.trackSessionStart();
 * sessions.trackSessionEnd();
 * ```
 */
export interface SessionTrackers {
  /** Adds one active session (`app_active_sessions` + 1). */
  trackSessionStart(): void;
  /**
   * Ends one active session (`app_active_sessions` - 1). Never goes below
   * zero: an end without a matching start (a session that began before a
   * restart, a logout sent twice) is ignored.
   */
  trackSessionEnd(): void;
  /** Counts one login (`user_logins_total`). */
  trackUserLogin(): void;
  /** Counts one registration (`user_registrations_total`). */
  trackUserRegistration(): void;
  /**
   * Counts one authentication failure under `reason`
   * (`user_auth_failures_total{reason}`). Use a fixed set of reasons
   * (`invalid_password`, `unknown_user`, `expired_token`), not an exception
   * message. Throws a `TypeError` for an empty or non-string reason.
   */
  trackAuthFailure(reason: string): void;
}

/** Builds the session helpers for catalogue `m`. */
export function sessionTrackers(m: TrackingMetrics): SessionTrackers {
  const sessions = m.appActiveSessions;
  return {
    trackSessionStart(): void {
      sessions.inc();
    },
    trackSessionEnd(): void {
      // get() is the total over all workers (each worker's own slot may be
      // negative when logins and logouts land on different workers), so an
      // end without a matching start is dropped instead of going below zero.
      // Within a worker nothing runs between the read and the write; across
      // workers two ends racing for the last session could both pass.
      if (sessions.get() >= 1) sessions.dec();
    },
    trackUserLogin(): void {
      m.userLoginsTotal.inc();
    },
    trackUserRegistration(): void {
      m.userRegistrationsTotal.inc();
    },
    trackAuthFailure(reason: string): void {
      m.userAuthFailuresTotal.inc({ reason: labelValue("trackAuthFailure", "reason", reason) });
    },
  };
}
