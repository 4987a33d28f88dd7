/**
 * Number formatting for exposition.
 *
 * Sample values use the shortest string that round-trips (JavaScript's own
 * `String(number)`), with `NaN`, `+Inf` and `-Inf` spelled as Prometheus
 * spells them. Bucket bounds (`le`) and quantile ranks (`quantile`) are label
 * values, so their spelling is part of the series identity: they are written
 * exactly as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes them (as
 * client_golang does), `1e-05`, `0.1`, `1e+06`, and in OpenMetrics in the
 * canonical form with a forced decimal point (`1.0`).
 *
 * @module
 */

/** Formats a sample value: shortest round-trip, `NaN`, `+Inf`, `-Inf`. */
export function formatValue(v: number): string {
  if (v !== v) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  // String(-0) is "0", which would not read back as -0 (Go writes "-0").
  if (v === 0 && 1 / v < 0) return "-0";
  return String(v);
}

/**
 * Formats `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest
 * round-trip digits, in exponent form when the decimal exponent is below -4
 * or 6 and above (JavaScript switches only at -7 and 21), with at least two
 * exponent digits: `1e-05`, `1e+06`, `1.5e+07`.
 */
export function goFloat(v: number): string {
  if (v !== v) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const e = v.toExponential(); // shortest round-trip digits, e.g. "1.5e-7"
  const at = e.indexOf("e");
  const exp = Number(e.slice(at + 1));
  if (exp < -4 || exp >= 6) {
    const digits = e.slice(at + 2);
    return e.slice(0, at + 2) + (digits.length < 2 ? "0" + digits : digits);
  }
  return String(v);
}

/** Formats `v` in OpenMetrics' canonical form for `le` and `quantile`: Go's form, plus `.0` on integers. */
export function openMetricsFloat(v: number): string {
  const s = goFloat(v);
  if (v !== v || v === Infinity || v === -Infinity) return s;
  return s.includes(".") || s.includes("e") ? s : s + ".0";
}
