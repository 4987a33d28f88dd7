/**
 * Application-wide request tracking: `app_requests_total`,
 * `app_request_duration_seconds` and `app_errors_total`, recorded by the
 * server's middleware.
 *
 * @module
 */

import type { TrackingMetrics } from "./catalogue.ts";
import { labelValue, nonNegative } from "./_validate.ts";
import { methodLabel } from "../http/methods.ts";

/**
 * One handled request, for {@linkcode AppTrackers.trackAppRequest}.
 *
 * @example
 * ```ts
 * import { type AppRequest, trackAppRequest } from "@securetrack/metrics/tracking";
 * const request: AppRequest = { endpoint: "/api/users/:id", method: "GET", statusCode: 200, seconds: 0.004 };
 * trackAppRequest(request);
 * ```
 */
export interface AppRequest {
  /** The route template (`/api/users/:id`), not the raw path, so its values stay few. */
  endpoint: string;
  /** HTTP method; see {@linkcode AppTrackers.trackAppRequest} for how it is normalised. */
  method: string;
  /** HTTP status code sent, 100–599. */
  statusCode: number;
  /** Time spent handling the request, in seconds. */
  seconds: number;
}

/**
 * One application error, for {@linkcode AppTrackers.trackAppError}.
 *
 * @example
 * ```ts
 * import { type AppError, trackAppError } from "@securetrack/metrics/tracking";
 * const error: AppError = { endpoint: "/api/users/:id", errorType: "db_unavailable" };
 * trackAppError(error);
 * ```
 */
export interface AppError {
  /** The route template the error happened on. */
  endpoint: string;
  /** A fixed category or the error's class name (`TimeoutError`, `db_unavailable`). */
  errorType: string;
}

/**
 * The application-wide helpers, bound to a catalogue.
 *
 * @example
 * ```ts
 * import { Registry } from "@securetrack/metrics";
 * import { type AppTrackers, createTracking } from "@securetrack/metrics/tracking";
 * const app: AppTrackers = createTracking(new Registry());
 * app.trackAppRequest({ endpoint: "/health", method: "get", statusCode: 204, seconds: 0.001 });
 * ```
 */
export interface AppTrackers {
  /**
   * Records one handled request: `app_requests_total{endpoint,method,status_code}`
   * + 1 and `seconds` observed in `app_request_duration_seconds{endpoint,method}`.
   * The method is upper-cased, and any method other than the nine standard
   * ones (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH)
   * becomes `OTHER`, since clients can send arbitrary methods. Throws a
   * `TypeError` for an empty or non-string endpoint or method, a
   * `RangeError` for a status outside 100–599 or a negative or non-finite
   * duration.
   */
  trackAppRequest(request: AppRequest): void;
  /**
   * Counts one application error (`app_errors_total{endpoint,error_type}`).
   * Throws a `TypeError` for an empty or non-string endpoint or error type.
   */
  trackAppError(error: AppError): void;
}

/** Builds the application-wide helpers for catalogue `m`. */
export function appTrackers(m: TrackingMetrics): AppTrackers {
  return {
    trackAppRequest(request: AppRequest): void {
      const helper = "trackAppRequest";
      if (typeof request !== "object" || request === null) {
        throw new TypeError(`${helper}: expects { endpoint, method, statusCode, seconds }`);
      }
      const endpoint = labelValue(helper, "endpoint", request.endpoint);
      const method = methodLabel(labelValue(helper, "method", request.method));
      const status = request.statusCode;
      if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
        throw new RangeError(
          `${helper}: statusCode must be an integer from 100 to 599, got ${String(status)}`,
        );
      }
      const seconds = nonNegative(helper, "seconds", request.seconds);
      m.appRequestsTotal.inc({ endpoint, method, status_code: String(status) });
      m.appRequestDurationSeconds.observe({ endpoint, method }, seconds);
    },
    trackAppError(error: AppError): void {
      const helper = "trackAppError";
      if (typeof error !== "object" || error === null) {
        throw new TypeError(`${helper}: expects { endpoint, errorType }`);
      }
      m.appErrorsTotal.inc({
        endpoint: labelValue(helper, "endpoint", error.endpoint),
        error_type: labelValue(helper, "errorType", error.errorType),
      });
    },
  };
}
