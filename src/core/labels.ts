/**
 * Name rules shared by every metric type: metric and label name validation,
 * done once, at construction.
 *
 * @module
 */

/** A label set: each declared label name mapped to its value. */
export type LabelValues<L extends string = string> = { readonly [K in L]: string | number };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws a `TypeError` unless `name` is a valid Prometheus metric name. */
export function validateMetricName(name: unknown): string {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    throw new TypeError(
      `Invalid metric name ${JSON.stringify(name)}: it must match [a-zA-Z_:][a-zA-Z0-9_:]*`,
    );
  }
  if (name.startsWith("__")) {
    throw new TypeError(`Invalid metric name "${name}": names starting with "__" are reserved`);
  }
  return name;
}

/**
 * Validates the label names of metric `metric` and returns a frozen copy.
 * `reserved` holds the names this metric type keeps for itself (`le` for
 * histograms, `quantile` for summaries).
 */
export function validateLabelNames(
  metric: string,
  names: readonly unknown[] | undefined,
  reserved: readonly string[] = [],
): readonly string[] {
  if (names === undefined) return Object.freeze([]);
  if (!Array.isArray(names)) {
    throw new TypeError(`Metric "${metric}": labelNames must be an array of strings`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== "string" || !LABEL_NAME.test(name)) {
      throw new TypeError(
        `Metric "${metric}": invalid label name ${
          JSON.stringify(name)
        }: it must match [a-zA-Z_][a-zA-Z0-9_]*`,
      );
    }
    if (name.startsWith("__")) {
      throw new TypeError(
        `Metric "${metric}": label name "${name}" is reserved (names starting with "__")`,
      );
    }
    if (reserved.includes(name)) {
      throw new TypeError(
        `Metric "${metric}": label name "${name}" is reserved for this metric type`,
      );
    }
    if (seen.has(name)) {
      throw new TypeError(`Metric "${metric}": label name "${name}" is declared twice`);
    }
    seen.add(name);
  }
  return Object.freeze([...names] as string[]);
}
