/**
 * OpenMetrics text format 1.0.0.
 *
 * @module
 */

import type { Exemplar, MetricFamily } from "../model/family.ts";
import { escapeHelp, escapeLabelValue } from "../model/escape.ts";
import { formatValue, openMetricsFloat } from "./number.ts";
import { PART, sampleLine as line, seriesLabels } from "./text.ts";

/** Content-Type of OpenMetrics 1.0.0. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** Options for {@linkcode toOpenMetrics}. */
export interface OpenMetricsOptions {
  /** Emit `_created` samples for counters, histograms and summaries (default `true`). */
  created?: boolean;
}

/**
 * `line` (a sample line ending in a newline) with exemplar `e`, if any,
 * written before the newline: ` # {labels} value timestamp`.
 */
function withExemplar(line: string, e: Exemplar | undefined): string {
  if (e === undefined) return line;
  let labels = "";
  for (const name in e.labels) {
    labels += `${labels === "" ? "" : ","}${name}="${escapeLabelValue(e.labels[name])}"`;
  }
  return `${line.slice(0, -1)} # {${labels}} ${formatValue(e.value)} ${formatValue(e.timestamp)}\n`;
}

/**
 * Renders families as OpenMetrics 1.0.0, ending with `# EOF`. A counter's
 * family name drops the `_total` suffix and its sample carries it, as the
 * format requires. Exemplars follow a counter's `_total` and a histogram's
 * `_bucket` samples.
 *
 * @example
 * ```ts
 * import { Counter, Registry, toOpenMetrics } from "@securetrack/metrics";
 * const registry = new Registry();
 * new Counter({ name: "a_total", help: "A", registry }).inc();
 * console.log(toOpenMetrics(await registry.collect()));
 * ```
 */
export function toOpenMetrics(
  families: readonly MetricFamily[],
  options: OpenMetricsOptions = {},
): string {
  return [...openMetricsParts(families, options)].join("");
}

/**
 * `toOpenMetrics` in parts of about `PART` characters each (see
 * `textParts`): what `metricsHandler` compresses part by part.
 */
export function* openMetricsParts(
  families: readonly MetricFamily[],
  options: OpenMetricsOptions = {},
): Generator<string, void, undefined> {
  const withCreated = options.created ?? true;
  let out = "";
  for (const f of families) {
    const family = f.type === "counter" && f.name.endsWith("_total") ? f.name.slice(0, -6) : f.name;
    out += `# TYPE ${family} ${f.type}\n`;
    if (f.unit !== "") out += `# UNIT ${family} ${f.unit}\n`;
    out += `# HELP ${family} ${escapeHelp(f.help, true)}\n`;
    const labels = seriesLabels(f);
    const values = f.values;
    const created = withCreated ? f.created : undefined;
    const createdName = family + "_created";
    const exemplars = f.exemplars;
    switch (f.type) {
      case "counter": {
        const total = family + "_total";
        for (let s = 0; s < f.size; s++) {
          const sample = line(total, labels[s], "", formatValue(values[s]));
          out += exemplars === undefined ? sample : withExemplar(sample, exemplars[s]);
          if (created) out += line(createdName, labels[s], "", formatValue(created[s]));
          if (out.length >= PART) {
            yield out;
            out = "";
          }
        }
        break;
      }
      case "gauge":
        for (let s = 0; s < f.size; s++) {
          out += line(family, labels[s], "", formatValue(values[s]));
          if (out.length >= PART) {
            yield out;
            out = "";
          }
        }
        break;
      case "histogram": {
        const les = [...f.bounds!.map((b) => `le="${openMetricsFloat(b)}"`), 'le="+Inf"'];
        const bucket = family + "_bucket";
        const stride = les.length;
        // OpenMetrics: a histogram with negative bucket thresholds must not
        // carry a sum (it would no longer be a counter), and _count goes with
        // _sum. The same holds for a series whose sum is negative (negative
        // observations in non-negative buckets) or NaN (+Inf and -Inf observed).
        const withSum = f.bounds!.length === 0 || f.bounds![0] >= 0;
        for (let s = 0; s < f.size; s++) {
          for (let j = 0; j < stride; j++) {
            const sample = line(bucket, labels[s], les[j], formatValue(values[s * stride + j]));
            out += exemplars === undefined
              ? sample
              : withExemplar(sample, exemplars[s * stride + j]);
          }
          if (withSum && f.sums![s] >= 0) {
            out += line(family + "_count", labels[s], "", formatValue(f.counts![s]));
            out += line(family + "_sum", labels[s], "", formatValue(f.sums![s]));
          }
          if (created) out += line(createdName, labels[s], "", formatValue(created[s]));
          if (out.length >= PART) {
            yield out;
            out = "";
          }
        }
        break;
      }
      case "summary": {
        // OpenMetrics: quantile values must not be negative, and a summary's
        // sum is a counter (not negative, not NaN): a series that observed
        // negative values leaves out its negative quantiles and its sum
        // (text 0.0.4 carries them all).
        const qs = f.quantiles!.map((q) => `quantile="${openMetricsFloat(q)}"`);
        const stride = qs.length;
        for (let s = 0; s < f.size; s++) {
          for (let j = 0; j < stride; j++) {
            const v = values[s * stride + j];
            if (!(v < 0)) out += line(family, labels[s], qs[j], formatValue(v));
          }
          out += line(family + "_count", labels[s], "", formatValue(f.counts![s]));
          if (f.sums![s] >= 0) out += line(family + "_sum", labels[s], "", formatValue(f.sums![s]));
          if (created) out += line(createdName, labels[s], "", formatValue(created[s]));
          if (out.length >= PART) {
            yield out;
            out = "";
          }
        }
        break;
      }
    }
  }
  yield out + "# EOF\n";
}
