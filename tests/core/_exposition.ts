/**
 * Test helpers: an independent parser for Prometheus text format 0.0.4
 * sample lines, so tests check values through the real output rather than
 * through the implementation's own accessors.
 *
 * @module
 */

/** One parsed sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const v = Number(text);
  if (text === "" || Number.isNaN(v)) throw new Error(`unparseable sample value ${text}`);
  return v;
}

/** Parses every sample line of a text-format body (comments and blank lines skipped). */
export function parseSamples(body: string): Sample[] {
  const out: Sample[] = [];
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    let i = 0;
    while (i < line.length && line[i] !== "{" && line[i] !== " ") i++;
    const name = line.slice(0, i);
    const labels: Record<string, string> = {};
    if (line[i] === "{") {
      i++;
      while (line[i] !== "}") {
        const eq = line.indexOf("=", i);
        const key = line.slice(i, eq);
        if (line[eq + 1] !== '"') throw new Error(`bad label in ${line}`);
        let j = eq + 2;
        let value = "";
        while (line[j] !== '"') {
          if (line[j] === "\\") {
            const c = line[j + 1];
            if (c === "n") value += "\n";
            else if (c === "\\" || c === '"') value += c;
            else throw new Error(`bad escape \\${c} in ${line}`);
            j += 2;
          } else {
            value += line[j++];
          }
        }
        if (key in labels) throw new Error(`label ${key} repeated in ${line}`);
        labels[key] = value;
        i = j + 1;
        if (line[i] === ",") i++;
      }
      i++;
    }
    if (line[i] !== " ") throw new Error(`no value separator in ${line}`);
    out.push({ name, labels, value: parseValue(line.slice(i + 1)) });
  }
  return out;
}

/** The samples named `name`. */
export function samplesNamed(samples: readonly Sample[], name: string): Sample[] {
  return samples.filter((s) => s.name === name);
}

/**
 * The value of the one sample named `name` whose labels are exactly `labels`;
 * throws if there is none or more than one.
 */
export function valueOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  const hits = samples.filter((s) =>
    s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want
  );
  if (hits.length !== 1) {
    throw new Error(`expected one sample ${name}${want}, found ${hits.length}`);
  }
  return hits[0].value;
}
