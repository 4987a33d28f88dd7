/**
 * Test helpers for the tracking tests: scrape reading through the strict
 * exposition parser of `tests/_support/parse.ts`, and the change sets of a
 * scrape. (The fake chat-completions API is in `tests/llm/_support.ts`.)
 *
 * @module
 */

import type { Registry } from "../../src/core/registry.ts";
import { parseText, type Sample, sampleMap, seriesKey } from "../_support/parse.ts";

/** A parsed scrape: every sample by series key. */
export type Scrape = Map<string, Sample>;

/** Scrapes `registry` (text format) through the strict parser. */
export async function scrape(registry: Registry): Promise<Scrape> {
  return sampleMap(parseText(await registry.metrics()));
}

/** The value of one sample of a scrape; 0 when the series is absent. */
export function valueOf(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return s.get(seriesKey(name, labels))?.value ?? 0;
}

/** Whether a scrape has the series at all. */
export function has(s: Scrape, name: string, labels: Record<string, string> = {}): boolean {
  return s.has(seriesKey(name, labels));
}

/** How much a sample moved between two scrapes (an absent series counts as 0). */
export function delta(
  before: Scrape,
  after: Scrape,
  name: string,
  labels: Record<string, string> = {},
): number {
  return valueOf(after, name, labels) - valueOf(before, name, labels);
}

/**
 * Every sample whose value changed between two scrapes, as
 * `seriesKey → delta`, for asserting that a call moved exactly the series it
 * should and nothing else. The `_sum` and `_bucket` samples of duration
 * histograms are left out (which bucket a measured time lands in is not
 * known in advance; `_count` stays), and so are summary quantiles (not
 * deltas).
 */
export function changes(before: Scrape, after: Scrape): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, sample] of after) {
    if ("quantile" in sample.labels) continue;
    if (sample.name.endsWith("_seconds_sum") || sample.name.endsWith("_seconds_bucket")) continue;
    const d = sample.value - (before.get(key)?.value ?? 0);
    if (d !== 0) out.set(key, d);
  }
  return out;
}

/** Builds the expected-changes map of {@linkcode changes} from readable entries. */
export function expected(
  entries: readonly [name: string, labels: Record<string, string>, delta: number][],
): Map<string, number> {
  return new Map(entries.map(([name, labels, d]) => [seriesKey(name, labels), d]));
}
