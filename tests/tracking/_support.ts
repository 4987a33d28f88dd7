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

/** One histogram series of a scrape: cumulative bucket counts by bound, sum and count. */
export interface HistogramSeries {
  /** `le` bound (`Infinity` for `+Inf`) to cumulative count, in increasing order of bound. */
  buckets: [le: number, count: number][];
  sum: number;
  count: number;
}

/** The histogram series `name{labels}` of a scrape (no buckets, sum 0 and count 0 if absent). */
export function histogramOf(
  s: Scrape,
  name: string,
  labels: Record<string, string> = {},
): HistogramSeries {
  const want = seriesKey("", labels);
  const buckets: [number, number][] = [];
  for (const sample of s.values()) {
    if (sample.name !== `${name}_bucket`) continue;
    const { le, ...rest } = sample.labels;
    if (seriesKey("", rest) !== want) continue;
    buckets.push([le === "+Inf" ? Infinity : Number(le), sample.value]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  return {
    buckets,
    sum: valueOf(s, `${name}_sum`, labels),
    count: valueOf(s, `${name}_count`, labels),
  };
}

/**
 * Asserts that a duration histogram holds `slow` observations of at least
 * `slowSeconds` each and `fast` ones of under 0.1 s, in seconds: `_count` is
 * `slow + fast`; `_sum` is at least `slow * slowSeconds` and at most 5 s per
 * observation (the slow calls take `slowSeconds` on an idle machine, the
 * fast ones well under 10 ms: a loaded machine stays far inside both
 * bounds); every bucket bound in [0.1, slowSeconds) counts exactly the fast
 * ones (there must be one), every bound below counts at most those, and
 * every bound of 5 s or more counts all. Milliseconds recorded as seconds
 * (or the reverse) fail every one of these.
 */
export function assertSeconds(
  h: HistogramSeries,
  expected: { slow: number; slowSeconds: number; fast?: number },
  what: string,
): void {
  const { slow, slowSeconds } = expected;
  const fast = expected.fast ?? 0;
  const n = slow + fast;
  const show = `${what}: ${JSON.stringify(h)}`;
  if (h.count !== n) throw new Error(`${show}: _count ${h.count}, expected ${n}`);
  if (!(h.sum >= slow * slowSeconds && h.sum <= 5 * n)) {
    throw new Error(`${show}: _sum ${h.sum} not in [${slow * slowSeconds}, ${5 * n}] seconds`);
  }
  let between = 0;
  for (const [le, count] of h.buckets) {
    if (le >= 0.1 && le < slowSeconds) {
      between++;
      if (count !== fast) {
        throw new Error(`${show}: bucket le=${le} has ${count}, expected ${fast}`);
      }
    } else if (le < 0.1 && count > fast) {
      throw new Error(`${show}: bucket le=${le} has ${count}, at most ${fast} expected`);
    } else if (le >= 5 && count !== n) {
      throw new Error(`${show}: bucket le=${le} has ${count}, expected ${n}`);
    }
  }
  if (between === 0) throw new Error(`${show}: no bucket bound in [0.1, ${slowSeconds}) s`);
  if (h.buckets.at(-1)?.[0] !== Infinity) throw new Error(`${show}: no +Inf bucket`);
}

/**
 * Waits until `performance.now()` (the clock the tracking helpers time with)
 * has advanced by at least `ms`: a timer alone may fire a fraction of a
 * millisecond early by that clock.
 */
export async function sleepAtLeast(ms: number): Promise<void> {
  const end = performance.now() + ms;
  for (let left = ms; left > 0; left = end - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
  }
}
