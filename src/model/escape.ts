/**
 * Escaping for both exposition formats. It sits below the core and the
 * serializers alike: the core escapes a series' label values once, when the
 * series is created, so a scrape only concatenates.
 *
 * @module
 */

const NEEDS_ESCAPE = /[\\"\n]/;

/**
 * Escapes a label value for both exposition formats (`\` → `\\`, `"` → `\"`,
 * newline → `\n`) and replaces lone surrogates, which cannot be encoded as
 * UTF-8, with U+FFFD. Returns the value itself when nothing needs changing, so
 * the common case allocates nothing.
 */
export function escapeLabelValue(value: string): string {
  if (!value.isWellFormed()) value = value.toWellFormed();
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : "\\" + c);
}

/**
 * Escapes HELP text: `\` and newline in both formats, and `"` as well in
 * OpenMetrics.
 */
export function escapeHelp(help: string, openMetrics: boolean): string {
  if (!help.isWellFormed()) help = help.toWellFormed();
  return openMetrics
    ? help.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : "\\" + c)
    : help.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}
