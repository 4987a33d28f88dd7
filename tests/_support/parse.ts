/**
 * A small, strict parser of the two text exposition formats, for tests: the
 * Prometheus text format 0.0.4 and OpenMetrics 1.0.0.
 *
 * It is written from the format rules (the Prometheus "Exposition formats"
 * page, the OpenMetrics 1.0 specification and its ABNF, condensed in
 * `/work/shared/docs/formats.md`), not from our serializer, so that a test
 * that parses our output back checks it against the formats and not against
 * itself. Where a rule is a SHOULD NOT that a correct writer never breaks
 * (OpenMetrics' `\x` escapes of ordinary characters), this parser rejects it,
 * because finding one in our output would mean an escaping bug.
 *
 * Besides the syntax it checks the structural rules a scraper relies on:
 * one group of lines per family, metadata before samples, at most one of each
 * metadata line, unique series, histogram buckets in increasing `le` ending
 * with `+Inf` equal to `_count`, cumulative bucket counts, summary quantiles in
 * increasing order within [0, 1], and (OpenMetrics) `# EOF` last, `# UNIT` a
 * suffix of the name, counter totals, histogram and summary `_sum` neither NaN
 * nor negative, summary quantile values not negative.
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  /** Sample name as written (`foo_total`, `foo_bucket`, ...). */
  name: string;
  /** Label names to unescaped values, `le` and `quantile` included. */
  labels: Record<string, string>;
  /** Label names in the order they were written. */
  labelOrder: string[];
  /** The value; `NaN`, `Infinity` and `-Infinity` for the special spellings. */
  value: number;
  /** Text: milliseconds; OpenMetrics: seconds. */
  timestamp?: number;
  /** OpenMetrics exemplar, if any. */
  exemplar?: { labels: Record<string, string>; value: number; timestamp?: number };
}

/** One metric family with its samples, in the order they were written. */
export interface Family {
  /** Family name (OpenMetrics: a counter's name without `_total`). */
  name: string;
  /** `counter`, `gauge`, `histogram`, `summary`, `untyped` (text) or `unknown` (OpenMetrics), ... */
  type: string;
  /** Unescaped HELP text, if a HELP line was given. */
  help?: string;
  /** OpenMetrics UNIT, if a UNIT line was given. */
  unit?: string;
  /** Samples of this family. */
  samples: Sample[];
}

/** Raised for any violation; the message names the line. */
export class ExpositionSyntaxError extends SyntaxError {
  /** 1-based line number, or 0 for whole-body problems. */
  readonly line: number;
  constructor(line: number, message: string) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.name = "ExpositionSyntaxError";
    this.line = line;
  }
}

type Format = "text" | "openmetrics";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TEXT_TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const OM_TYPES = new Set([
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "stateset",
  "info",
  "summary",
  "unknown",
]);

/** Sample-name suffixes each type uses, per format. `""` is the bare family name. */
const SUFFIXES: Record<Format, Record<string, readonly string[]>> = {
  text: {
    counter: [""],
    gauge: [""],
    untyped: [""],
    histogram: ["_bucket", "_sum", "_count"],
    summary: ["", "_sum", "_count"],
  },
  openmetrics: {
    counter: ["_total", "_created"],
    gauge: [""],
    unknown: [""],
    stateset: [""],
    info: ["_info"],
    histogram: ["_bucket", "_count", "_sum", "_created"],
    gaugehistogram: ["_bucket", "_gcount", "_gsum"],
    summary: ["", "_count", "_sum", "_created"],
  },
};

/** Parses Prometheus text format 0.0.4. Throws {@linkcode ExpositionSyntaxError}. */
export function parseText(body: string): Family[] {
  return parse(body, "text");
}

/** Parses OpenMetrics 1.0.0 (text). Throws {@linkcode ExpositionSyntaxError}. */
export function parseOpenMetrics(body: string): Family[] {
  return parse(body, "openmetrics");
}

/**
 * A key identifying a series regardless of label order: the sample name and
 * the sorted label pairs.
 */
export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([name, ...pairs.flat()]);
}

/** Every sample of every family, keyed by {@linkcode seriesKey}. */
export function sampleMap(families: readonly Family[]): Map<string, Sample> {
  const out = new Map<string, Sample>();
  for (const f of families) for (const s of f.samples) out.set(seriesKey(s.name, s.labels), s);
  return out;
}

/** The family named `name`, or a thrown error listing the names there are. */
export function family(families: readonly Family[], name: string): Family {
  const f = families.find((x) => x.name === name);
  if (f === undefined) {
    throw new Error(`no family "${name}" (have: ${families.map((x) => x.name).join(", ")})`);
  }
  return f;
}

function parse(body: string, format: Format): Family[] {
  // A CR is content in both formats: the text format splits lines at LF
  // only, and OpenMetrics' ABNF counts %x0D as an ordinary character in HELP
  // and label strings (its prose forbids CR in line endings, but says the
  // ABNF wins where they disagree). So a HELP ending in CR, written before
  // the LF, is read back as part of the HELP.
  if (body.charCodeAt(0) === 0xfeff) throw new ExpositionSyntaxError(1, "byte order mark");
  const lines = body.split("\n");
  if (body !== "" && lines[lines.length - 1] !== "") {
    throw new ExpositionSyntaxError(lines.length, "the last line does not end with a newline");
  }
  lines.pop();
  const families: Family[] = [];
  const byName = new Map<string, Family>();
  // Per family, whether it has had samples (metadata must come first).
  const sampled = new Set<Family>();
  // Families that had a TYPE line (an explicit "untyped" counts too).
  const typed = new Set<Family>();
  let current: Family | undefined;
  let sawEof = false;

  const startFamily = (no: number, name: string): Family => {
    if (byName.has(name)) {
      throw new ExpositionSyntaxError(no, `family "${name}" appears in two places`);
    }
    const f: Family = { name, type: format === "text" ? "untyped" : "unknown", samples: [] };
    families.push(f);
    byName.set(name, f);
    current = f;
    return f;
  };

  for (let i = 0; i < lines.length; i++) {
    const no = i + 1;
    const line = lines[i];
    if (sawEof) throw new ExpositionSyntaxError(no, "content after # EOF");
    if (line === "") {
      if (format === "openmetrics") throw new ExpositionSyntaxError(no, "empty line");
      continue;
    }
    if (line.startsWith("#")) {
      if (format === "openmetrics" && line === "# EOF") {
        sawEof = true;
        continue;
      }
      const meta = parseMetadata(no, line, format);
      if (meta === undefined) continue; // a plain comment (text format only)
      let f = byName.get(meta.name);
      if (f === undefined) f = startFamily(no, meta.name);
      else if (f !== current) {
        throw new ExpositionSyntaxError(no, `metadata for "${meta.name}" away from its family`);
      }
      if (sampled.has(f)) {
        throw new ExpositionSyntaxError(no, `# ${meta.kind} for "${meta.name}" after its samples`);
      }
      if (meta.kind === "TYPE") {
        if (typed.has(f)) {
          throw new ExpositionSyntaxError(no, `second # TYPE for "${meta.name}"`);
        }
        const types = format === "text" ? TEXT_TYPES : OM_TYPES;
        if (!types.has(meta.value)) {
          throw new ExpositionSyntaxError(no, `unknown type "${meta.value}"`);
        }
        typed.add(f);
        f.type = meta.value;
      } else if (meta.kind === "HELP") {
        if (f.help !== undefined) {
          throw new ExpositionSyntaxError(no, `second # HELP for "${meta.name}"`);
        }
        f.help = meta.value;
      } else {
        if (f.unit !== undefined) {
          throw new ExpositionSyntaxError(no, `second # UNIT for "${meta.name}"`);
        }
        if (meta.value !== "" && !meta.name.endsWith("_" + meta.value)) {
          throw new ExpositionSyntaxError(
            no,
            `unit "${meta.value}" is not a suffix of "${meta.name}"`,
          );
        }
        f.unit = meta.value;
      }
      continue;
    }
    const sample = parseSample(no, line, format);
    let f = current !== undefined && belongsTo(current, sample.name, format) ? current : undefined;
    if (f === undefined) {
      for (const other of byName.values()) {
        if (belongsTo(other, sample.name, format)) {
          throw new ExpositionSyntaxError(
            no,
            `sample "${sample.name}" of family "${other.name}" away from its family`,
          );
        }
      }
      if (byName.has(sample.name)) {
        throw new ExpositionSyntaxError(
          no,
          `sample "${sample.name}" does not fit the ${byName.get(sample.name)!.type} family of ` +
            "that name",
        );
      }
      f = startFamily(no, sample.name);
    }
    sampled.add(f);
    f.samples.push(sample);
  }
  if (format === "openmetrics" && !sawEof) {
    throw new ExpositionSyntaxError(0, "no # EOF line at the end");
  }
  for (const f of families) checkFamily(f, format);
  return families;
}

function belongsTo(f: Family, sampleName: string, format: Format): boolean {
  const suffixes = SUFFIXES[format][f.type] ?? [""];
  return suffixes.some((s) => sampleName === f.name + s);
}

function parseMetadata(
  no: number,
  line: string,
  format: Format,
): { kind: "TYPE" | "HELP" | "UNIT"; name: string; value: string } | undefined {
  if (format === "text") {
    // "# HELP name text" and "# TYPE name type"; any other "#" line is a comment.
    const m = /^#[ \t]+(HELP|TYPE)[ \t]+/.exec(line);
    if (m === null) return undefined;
    const rest = line.slice(m[0].length);
    const name = METRIC_NAME.exec(rest)?.[0];
    if (name === undefined) throw new ExpositionSyntaxError(no, `bad metric name in # ${m[1]}`);
    const after = rest.slice(name.length);
    if (m[1] === "TYPE") {
      const t = /^[ \t]+(\S+)[ \t]*$/.exec(after);
      if (t === null) throw new ExpositionSyntaxError(no, "malformed # TYPE line");
      return { kind: "TYPE", name, value: t[1] };
    }
    if (after === "") return { kind: "HELP", name, value: "" };
    const sep = /^[ \t]+/.exec(after);
    if (sep === null) throw new ExpositionSyntaxError(no, "malformed # HELP line");
    return { kind: "HELP", name, value: unescape(no, after.slice(sep[0].length), "text-help") };
  }
  // OpenMetrics: exactly "# KIND name value", single spaces; no other "#" lines.
  const m = /^# (HELP|TYPE|UNIT) /.exec(line);
  if (m === null) throw new ExpositionSyntaxError(no, `"#" line that is not metadata: ${line}`);
  const rest = line.slice(m[0].length);
  const name = METRIC_NAME.exec(rest)?.[0];
  if (name === undefined) throw new ExpositionSyntaxError(no, `bad metric name in # ${m[1]}`);
  const after = rest.slice(name.length);
  if (!after.startsWith(" ")) throw new ExpositionSyntaxError(no, `malformed # ${m[1]} line`);
  const value = after.slice(1);
  if (m[1] === "HELP") return { kind: "HELP", name, value: unescape(no, value, "om") };
  if (m[1] === "UNIT") {
    if (!/^[a-zA-Z0-9_:]*$/.test(value)) throw new ExpositionSyntaxError(no, "bad unit");
    return { kind: "UNIT", name, value };
  }
  return { kind: "TYPE", name, value };
}

/**
 * Unescapes a HELP text or label value. Text HELP knows `\\` and `\n`; text
 * label values also `\"`; OpenMetrics knows all three everywhere, and a raw
 * `"` is not an ordinary character there (so it cannot appear unescaped).
 */
function unescape(no: number, s: string, mode: "text-help" | "text-label" | "om"): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' && mode === "om") {
      throw new ExpositionSyntaxError(no, "unescaped double quote");
    }
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === "\\") out += "\\";
    else if (n === "n") out += "\n";
    else if (n === '"' && mode !== "text-help") out += '"';
    else {
      throw new ExpositionSyntaxError(
        no,
        `invalid escape sequence "\\${n ?? ""}" in ${mode === "text-help" ? "HELP" : "string"}`,
      );
    }
  }
  return out;
}

/** Go's `strconv.ParseFloat` for decimal input, and OpenMetrics' `number`. */
function parseNumber(no: number, s: string, format: Format, what: string): number {
  const lower = s.toLowerCase();
  if (lower === "nan") return NaN;
  if (/^[+-]?(inf|infinity)$/.test(lower)) return lower.startsWith("-") ? -Infinity : Infinity;
  const real = format === "text"
    ? /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
    : /^[+-]?(\d+(\.\d*)?|\d*\.\d+)([eE][+-]?\d+)?$/; // ABNF literals ignore case
  if (!real.test(s)) throw new ExpositionSyntaxError(no, `bad ${what} "${s}"`);
  const v = Number(s);
  if (!Number.isFinite(v)) throw new ExpositionSyntaxError(no, `${what} "${s}" overflows float64`);
  return v;
}

function parseLabels(
  no: number,
  line: string,
  at: number,
  format: Format,
): { labels: Record<string, string>; order: string[]; end: number } {
  // `line[at]` is "{".
  const labels: Record<string, string> = {};
  const order: string[] = [];
  const blanks = format === "text" ? /^[ \t]*/ : /^/;
  const skip = (): void => {
    at += blanks.exec(line.slice(at))![0].length;
  };
  at++;
  skip();
  if (line[at] === "}") return { labels, order, end: at + 1 };
  for (;;) {
    const name = LABEL_NAME.exec(line.slice(at))?.[0];
    if (name === undefined) throw new ExpositionSyntaxError(no, `bad label name at column ${at}`);
    if (name === "__proto__" || Object.hasOwn(labels, name)) {
      throw new ExpositionSyntaxError(no, `label "${name}" given twice`);
    }
    at += name.length;
    skip();
    if (line[at] !== "=") throw new ExpositionSyntaxError(no, `expected "=" after ${name}`);
    at++;
    skip();
    if (line[at] !== '"') throw new ExpositionSyntaxError(no, `expected '"' for ${name}`);
    at++;
    let end = at;
    while (end < line.length && line[end] !== '"') end += line[end] === "\\" ? 2 : 1;
    if (end >= line.length) throw new ExpositionSyntaxError(no, `unterminated value of ${name}`);
    labels[name] = unescape(no, line.slice(at, end), format === "text" ? "text-label" : "om");
    order.push(name);
    at = end + 1;
    skip();
    if (line[at] === "}") return { labels, order, end: at + 1 };
    if (line[at] !== ",") throw new ExpositionSyntaxError(no, `expected "," or "}" after ${name}`);
    at++;
    skip();
    // The text format allows a trailing comma; OpenMetrics does not.
    if (format === "text" && line[at] === "}") return { labels, order, end: at + 1 };
  }
}

function parseSample(no: number, line: string, format: Format): Sample {
  const name = METRIC_NAME.exec(line)?.[0];
  if (name === undefined) throw new ExpositionSyntaxError(no, `bad metric name: ${line}`);
  let at = name.length;
  if (format === "text") {
    const blanks = /^[ \t]*/.exec(line.slice(at))![0].length;
    if (line[at + blanks] === "{") at += blanks;
  }
  let labels: Record<string, string> = {};
  let labelOrder: string[] = [];
  if (line[at] === "{") {
    const parsed = parseLabels(no, line, at, format);
    labels = parsed.labels;
    labelOrder = parsed.order;
    at = parsed.end;
  }
  const rest = line.slice(at);
  if (format === "text") {
    const m = /^[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$/.exec(rest);
    if (m === null) throw new ExpositionSyntaxError(no, `malformed sample: ${line}`);
    const sample: Sample = {
      name,
      labels,
      labelOrder,
      value: parseNumber(no, m[1], format, "value"),
    };
    if (m[2] !== undefined) {
      if (!/^-?\d+$/.test(m[2])) throw new ExpositionSyntaxError(no, `bad timestamp "${m[2]}"`);
      sample.timestamp = Number(m[2]);
    }
    return sample;
  }
  const m = /^ (\S+)(?: ([^ #]\S*))?( # .*)?$/.exec(rest);
  if (m === null) throw new ExpositionSyntaxError(no, `malformed sample: ${line}`);
  const sample: Sample = {
    name,
    labels,
    labelOrder,
    value: parseNumber(no, m[1], format, "value"),
  };
  if (m[2] !== undefined) sample.timestamp = parseNumber(no, m[2], format, "timestamp");
  if (m[3] !== undefined) {
    const ex = m[3].slice(3);
    if (ex[0] !== "{") throw new ExpositionSyntaxError(no, "exemplar without a label set");
    const parsed = parseLabels(no, ex, 0, format);
    const em = /^ (\S+)(?: (\S+))?$/.exec(ex.slice(parsed.end));
    if (em === null) throw new ExpositionSyntaxError(no, "malformed exemplar");
    let chars = 0;
    for (const [k, v] of Object.entries(parsed.labels)) chars += [...k].length + [...v].length;
    if (chars > 128) throw new ExpositionSyntaxError(no, "exemplar labels over 128 characters");
    sample.exemplar = {
      labels: parsed.labels,
      value: parseNumber(no, em[1], format, "exemplar value"),
    };
    if (em[2] !== undefined) {
      sample.exemplar.timestamp = parseNumber(no, em[2], format, "exemplar timestamp");
    }
  }
  return sample;
}

/** The label set of a sample without `le`/`quantile`: the identity of its metric (series). */
function metricKey(s: Sample, drop: string): string {
  const { [drop]: _dropped, ...rest } = s.labels;
  return seriesKey("", rest);
}

function checkFamily(f: Family, format: Format): void {
  const where = `family "${f.name}"`;
  const fail = (msg: string): never => {
    throw new ExpositionSyntaxError(0, `${where}: ${msg}`);
  };
  const seen = new Set<string>();
  for (const s of f.samples) {
    const key = seriesKey(s.name, s.labels) + (s.timestamp === undefined ? "" : ` @${s.timestamp}`);
    if (seen.has(key)) fail(`sample ${key} appears twice`);
    seen.add(key);
  }
  // The samples of one metric (label set) stay together: no interleaving.
  const drop = f.type === "histogram" || f.type === "gaugehistogram" ? "le" : "quantile";
  const groups = new Map<string, Sample[]>();
  let last: string | undefined;
  for (const s of f.samples) {
    const k = metricKey(s, f.type === "summary" || f.type.endsWith("histogram") ? drop : "");
    if (k !== last && groups.has(k)) fail(`samples of metric ${k} are interleaved`);
    last = k;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(s);
  }
  if (format === "openmetrics" && f.type === "counter") {
    for (const s of f.samples) {
      if (s.name.endsWith("_total") && !(s.value >= 0)) fail(`counter total ${s.value}`);
    }
  }
  // Exemplars: only on a counter's _total and a histogram's _bucket samples.
  for (const s of f.samples) {
    if (s.exemplar === undefined) continue;
    const allowed = (f.type === "counter" && s.name === f.name + "_total") ||
      ((f.type === "histogram" || f.type === "gaugehistogram") && s.name === f.name + "_bucket");
    if (!allowed) fail(`exemplar on ${s.name} (only counter _total and histogram _bucket)`);
  }
  if (f.type === "histogram" || f.type === "gaugehistogram") {
    const countSuffix = f.type === "histogram" ? "_count" : "_gcount";
    for (const [k, samples] of groups) {
      const buckets = samples.filter((s) => s.name === f.name + "_bucket");
      if (samples.some((s) => s.name !== f.name + "_bucket" && "le" in s.labels)) {
        fail(`metric ${k}: "le" on a non-bucket sample`);
      }
      if (buckets.length === 0) fail(`metric ${k} has no buckets`);
      let prevLe = -Infinity;
      let prevValue = 0;
      for (const b of buckets) {
        if (!("le" in b.labels)) fail(`metric ${k}: bucket without "le"`);
        const le = parseNumber(0, b.labels.le, format, "le");
        if (le !== le) fail(`metric ${k}: le is NaN`);
        if (!(le > prevLe)) fail(`metric ${k}: le ${b.labels.le} out of order`);
        if (!(b.value >= prevValue)) fail(`metric ${k}: bucket counts not cumulative`);
        const ev = b.exemplar?.value;
        if (ev !== undefined && !(ev <= le && ev > prevLe)) {
          fail(`metric ${k}: exemplar value ${ev} outside bucket (${prevLe}, ${le}]`);
        }
        prevLe = le;
        prevValue = b.value;
      }
      if (prevLe !== Infinity) fail(`metric ${k}: no le="+Inf" bucket last`);
      const count = samples.find((s) => s.name === f.name + countSuffix);
      if (count !== undefined && !Object.is(count.value, prevValue)) {
        fail(`metric ${k}: ${countSuffix} ${count.value} differs from +Inf bucket ${prevValue}`);
      }
      if (format === "openmetrics") {
        const sum = samples.some((s) => s.name === f.name + "_sum");
        if (sum !== (count !== undefined)) fail(`metric ${k}: _sum and _count come together`);
        const sumSample = samples.find((s) => s.name === f.name + "_sum");
        if (sumSample !== undefined && !(sumSample.value >= 0)) {
          fail(`metric ${k}: _sum ${sumSample.value} (a counter: neither NaN nor negative)`);
        }
        const negative = buckets.some((b) => parseNumber(0, b.labels.le, format, "le") < 0);
        if (f.type === "histogram" && negative && sum) {
          fail(`metric ${k}: negative thresholds and a _sum`);
        }
        for (const b of buckets) {
          if (!Number.isInteger(b.value)) fail(`metric ${k}: bucket value ${b.value}`);
        }
      }
    }
  }
  if (f.type === "summary") {
    for (const [k, samples] of groups) {
      let prev = -Infinity;
      for (const s of samples) {
        if (s.name !== f.name) {
          if ("quantile" in s.labels) fail(`metric ${k}: "quantile" on ${s.name}`);
          continue;
        }
        if (!("quantile" in s.labels)) fail(`metric ${k}: quantile sample without "quantile"`);
        const q = parseNumber(0, s.labels.quantile, format, "quantile");
        if (!(q >= 0 && q <= 1)) fail(`metric ${k}: quantile ${s.labels.quantile} not in [0, 1]`);
        if (!(q > prev)) fail(`metric ${k}: quantile ${s.labels.quantile} out of order`);
        if (format === "openmetrics" && s.value < 0) {
          fail(`metric ${k}: quantile value ${s.value} (must not be negative)`);
        }
        prev = q;
      }
      if (format === "openmetrics") {
        const count = samples.find((s) => s.name === f.name + "_count");
        if (count !== undefined && !(Number.isInteger(count.value) && count.value >= 0)) {
          fail(`metric ${k}: _count ${count.value}`);
        }
        const sum = samples.find((s) => s.name === f.name + "_sum");
        if (sum !== undefined && !(sum.value >= 0)) {
          fail(`metric ${k}: _sum ${sum.value} (a counter: neither NaN nor negative)`);
        }
      }
    }
  }
}
