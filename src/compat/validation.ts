/**
 * prom-client's name and label checks (its `lib/validation`), with its
 * results and errors.
 *
 * @module
 */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Whether `name` is a valid metric name (prom-client's check: it returns a
 * boolean, it does not throw).
 *
 * @example
 * ```ts
 * import { validateMetricName } from "@securetrack/metrics/prom-client";
 * console.log(validateMetricName("http_requests_total"), validateMetricName("no spaces")); // true false
 * ```
 */
export function validateMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/**
 * The label names of `names` that are not valid.
 *
 * @example
 * ```ts
 * import { validateLabelName } from "@securetrack/metrics/prom-client";
 * console.log(validateLabelName(["ok", "not ok"])); // ["not ok"]
 * ```
 */
export function validateLabelName(names: readonly string[] = []): string[] {
  return names.filter((name) => typeof name !== "string" || !LABEL_NAME.test(name));
}

/** `util.inspect` of an array of label names, as prom-client's messages print it. */
function inspectNames(names: readonly string[]): string {
  return names.length === 0 ? "[]" : `[ ${names.map((n) => `'${n}'`).join(", ")} ]`;
}

/**
 * Throws prom-client's `Error` when `labels` has a label not in
 * `savedLabels`.
 *
 * @example
 * ```ts
 * import { validateLabel } from "@securetrack/metrics/prom-client";
 * validateLabel(["method"], { method: "GET" }); // fine
 * ```
 */
export function validateLabel(savedLabels: readonly string[], labels: object): void {
  for (const label in labels) {
    if (!savedLabels.includes(label)) {
      throw new Error(
        `Added label "${label}" is not included in initial labelset: ${inspectNames(savedLabels)}`,
      );
    }
  }
}
