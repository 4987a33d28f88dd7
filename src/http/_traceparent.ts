/**
 * The trace id of a request, from its W3C Trace Context `traceparent`
 * header, for the exemplars of the HTTP metrics. Private to `src/http/`.
 *
 * @module
 */

/**
 * `version-traceid-parentid-flags`, lower-case hex; a later version may add
 * fields after a dash (W3C Trace Context, "Versioning of traceparent").
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-|$)/;
const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_PARENT = "0000000000000000";

/**
 * The trace id (32 lower-case hex digits) of a `traceparent` header value,
 * or `undefined` when it is absent or not valid: version `ff`, an all-zero
 * trace or parent id, or version `00` with anything after the flags.
 */
export function traceIdOf(traceparent: string | null | undefined): string | undefined {
  if (traceparent == null || traceparent.length < 55) return undefined;
  const m = TRACEPARENT.exec(traceparent);
  if (m === null) return undefined;
  const [, version, trace, parent] = m;
  if (version === "ff" || trace === ZERO_TRACE || parent === ZERO_PARENT) return undefined;
  if (version === "00" && traceparent.length !== 55) return undefined;
  return trace;
}
