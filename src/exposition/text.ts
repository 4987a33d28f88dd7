/**
 * Prometheus text exposition format 0.0.4.
 *
 * @module
 */

import type { MetricFamily } from "../model/family.ts";
import { escapeHelp } from "../model/escape.ts";
import { formatValue, goFloat } from "./number.ts";

/** Content-Type of the Prometheus text format 0.0.4. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Builds, per series, the label text inside the braces (`a="x",b="y"`) from
 * the family's escaped label values. Shared by both serializers.
 */
export function seriesLabels(family: MetricFamily): string[] {
  const names = family.labelNames;
  const n = names.length;
  const out = new Array<string>(family.size);
  if (n === 0) return out.fill("");
  const keys = names.map((name, i) => (i === 0 ? "" : '",') + name + '="');
  const vals = family.labelValues;
  for (let s = 0, at = 0; s < family.size; s++) {
    let text = keys[0] + vals[at++];
    for (let i = 1; i < n; i++) text += keys[i] + vals[at++];
    out[s] = text + '"';
  }
  return out;
}

/**
 * Characters a rendering gathers in one string before it hands that part
 * on (`textParts`, `openMetricsParts`). Built by `+=` alone, a scrape of
 * 60,000 series was one string made of millions of concatenations (hundreds
 * of MB of heap at once) that had to be flattened and copied whole before
 * gzip saw a byte; in parts of 64 Ki characters, `metricsHandler` encodes
 * and compresses each as it comes.
 */
export const PART = 1 << 16;

/** Renders one sample line, `name{labels,extra} value`, leaving out empty braces. */
export function sampleLine(name: string, labels: string, extra: string, value: string): string {
  if (labels === "") return extra === "" ? `${name} ${value}\n` : `${name}{${extra}} ${value}\n`;
  return extra === "" ? `${name}{${labels}} ${value}\n` : `${name}{${labels},${extra}} ${value}\n`;
}

/**
 * Renders families as Prometheus text format 0.0.4.
 *
 * @example
 * ```ts
 * import { Counter, Registry, toText } from "@securetrack/metrics";
 * const registry = new Registry();
 * new Counter({ name: "a_total", help: "A", registry }).inc();
 * console.log(toText(await registry.collect()));
 * ```
 */
export function toText(families: readonly MetricFamily[]): string {
  return [...textParts(families)].join("");
}

/**
 * `toText` in parts of about `PART` characters each, in order: joined, they
 * are `toText`'s output.
 */
export function* textParts(families: readonly MetricFamily[]): Generator<string, void, undefined> {
  let out = "";
  for (const f of families) {
    const name = f.name;
    out += `# HELP ${name} ${escapeHelp(f.help, false)}\n# TYPE ${name} ${f.type}\n`;
    const labels = seriesLabels(f);
    const values = f.values;
    switch (f.type) {
      case "counter":
      case "gauge":
        for (let s = 0; s < f.size; s++) {
          out += sampleLine(name, labels[s], "", formatValue(values[s]));
          if (out.length >= PART) {
            yield out;
            out = "";
          }
        }
        break;
      case "histogram": {
        const les = [...f.bounds!.map((b) => `le="${goFloat(b)}"`), 'le="+Inf"'];
        const bucket = name + "_bucket";
        const stride = les.length;
        for (let s = 0; s < f.size; s++) {
          for (let j = 0; j < stride; j++) {
            out += sampleLine(bucket, labels[s], les[j], formatValue(values[s * stride + j]));
          }
          out += sampleLine(name + "_sum", labels[s], "", formatValue(f.sums![s]));
          out += sampleLine(name + "_count", labels[s], "", formatValue(f.counts![s]));
          if (out.length >= PART) {
            yield out;
            out = "";
          }
        }
        break;
      }
      case "summary": {
        const qs = f.quantiles!.map((q) => `quantile="${goFloat(q)}"`);
        const stride = qs.length;
        for (let s = 0; s < f.size; s++) {
          for (let j = 0; j < stride; j++) {
            out += sampleLine(name, labels[s], qs[j], formatValue(values[s * stride + j]));
          }
          out += sampleLine(name + "_sum", labels[s], "", formatValue(f.sums![s]));
          out += sampleLine(name + "_count", labels[s], "", formatValue(f.counts![s]));
          if (out.length >= PART) {
            yield out;
            out = "";
          }
        }
        break;
      }
    }
  }
  yield out;
}
