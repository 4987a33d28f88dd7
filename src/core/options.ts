/**
 * Option-object checks shared by every constructor and wrapper that takes
 * options: an unknown key is a mistake (prom-client's `registers: [r]`
 * silently left a metric in the default registry), so it throws a
 * `TypeError` naming the key and the closest known one.
 *
 * @module
 */

/** Known misspellings and other libraries' names for our options. */
const ALIASES: Readonly<Record<string, string>> = {
  registers: "registry",
  labels: "labelNames",
  percentile: "percentiles",
  quantiles: "percentiles",
  bucket: "buckets",
};

/** Edit distance between `a` and `b` (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = row;
  }
  return prev[b.length];
}

/** The known key `key` most likely stands for, if any is close enough. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const alias = ALIASES[key];
  if (alias !== undefined && known.includes(alias)) return alias;
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Throws a `TypeError` for the first own enumerable key of `options` that is
 * not in `known`, naming `owner` (`Counter "jobs_total"`, `instrument`), the
 * key and, when one is close, the known key it most likely meant.
 */
export function checkOptionKeys(owner: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const guess = closestKey(key, known);
    throw new TypeError(
      `${owner}: unknown option "${key}"${
        guess === undefined ? "" : ` (did you mean "${guess}"?)`
      }; ` +
        `known options: ${known.join(", ")}`,
    );
  }
}
