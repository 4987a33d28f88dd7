/**
 * A small YAML reader for the operator files (prometheus.yml, rules, Grafana
 * provisioning), so their tests need no npm package. It reads the block style
 * those files use: nested mappings and sequences (compact `- key: value`
 * included), plain, single- and double-quoted scalars, `|` and `>` block
 * scalars with `-` chomping, flow sequences of scalars (`["a", "b"]`, `[]`)
 * and `{}`, and comments. Anything else (anchors, tags, multi-line flow
 * collections) is a SyntaxError naming the line, so a file that outgrows it
 * fails loudly instead of being misread. Scalars stay strings.
 *
 * @module
 */

/** A parsed YAML value: strings, arrays, objects, or `null` for an empty value. */
export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };

const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#\-[{][^:#]*?|-[^\s:#][^:#]*?)\s*:(?:\s+|$)/;

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** Removes a trailing ` # comment` that is outside quotes. */
function stripComment(text: string): string {
  let quote = "";
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if (quote === '"') {
      if (c === "\\") k++;
      else if (c === '"') quote = "";
    } else if (quote === "'") {
      if (c === "'") quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === "#" && (k === 0 || text[k - 1] === " " || text[k - 1] === "\t")) {
      return text.slice(0, k).trimEnd();
    }
  }
  return text.trimEnd();
}

function isBlank(line: string): boolean {
  return /^\s*(#.*)?$/.test(line);
}

function isSeqItem(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

function unquoteKey(key: string): string {
  return key.startsWith('"') || key.startsWith("'") ? scalar(key, 0) as string : key.trim();
}

function scalar(text: string, line: number): YamlValue {
  const t = text.trim();
  if (t.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/.test(t)) {
      throw new SyntaxError(`YAML line ${line}: unterminated double-quoted scalar ${t}`);
    }
    return JSON.parse(t.replace(/\\\//g, "/")) as string;
  }
  if (t.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(t)) {
      throw new SyntaxError(`YAML line ${line}: unterminated single-quoted scalar ${t}`);
    }
    return t.slice(1, -1).replaceAll("''", "'");
  }
  if (t === "{}") return {};
  if (t.startsWith("[")) {
    if (!t.endsWith("]")) throw new SyntaxError(`YAML line ${line}: unsupported flow value ${t}`);
    const inner = t.slice(1, -1).trim();
    if (inner === "") return [];
    const items: YamlValue[] = [];
    const re = /\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,"'[\]{}]+)\s*(,|$)/y;
    let m: RegExpExecArray | null;
    while (re.lastIndex < inner.length && (m = re.exec(inner)) !== null) {
      items.push(scalar(m[1], line));
    }
    if (re.lastIndex < inner.length) {
      throw new SyntaxError(`YAML line ${line}: unsupported flow sequence ${t}`);
    }
    return items;
  }
  if (/^[&*!{]/.test(t)) throw new SyntaxError(`YAML line ${line}: unsupported syntax ${t}`);
  if (t === "" || t === "~" || t === "null") return null;
  return t;
}

/** Parses `source`; throws a SyntaxError naming the line on anything it does not read. */
export function parseYaml(source: string): YamlValue {
  const lines = source.replaceAll("\r\n", "\n").split("\n");
  let i = 0;

  const skipBlank = () => {
    while (i < lines.length && isBlank(lines[i])) i++;
  };

  const blockScalar = (header: string, parentIndent: number): string => {
    const style = header[0];
    const chomp = header[1] ?? "";
    const body: string[] = [];
    let blockIndent = -1;
    while (i < lines.length) {
      const line = lines[i];
      if (line.trim() === "") {
        body.push("");
        i++;
        continue;
      }
      const ind = indentOf(line);
      if (ind <= parentIndent) break;
      if (blockIndent < 0) blockIndent = ind;
      if (ind < blockIndent) {
        throw new SyntaxError(`YAML line ${i + 1}: block scalar line indented less than its first`);
      }
      body.push(line.slice(blockIndent));
      i++;
    }
    while (body.length > 0 && body[body.length - 1] === "") body.pop();
    let text: string;
    if (style === "|") {
      text = body.join("\n");
    } else {
      text = "";
      for (let k = 0; k < body.length; k++) {
        const l = body[k];
        if (l === "") text += "\n";
        else if (k > 0 && body[k - 1] !== "") text += " " + l;
        else text += l;
      }
    }
    if (chomp === "-" || text === "") return text;
    return text + "\n";
  };

  const value = (rest: string, parentIndent: number, lineNo: number): YamlValue => {
    if (/^[|>][-+]?$/.test(rest)) return blockScalar(rest, parentIndent);
    return scalar(rest, lineNo);
  };

  const node = (minIndent: number): YamlValue => {
    skipBlank();
    if (i >= lines.length) return null;
    const ind = indentOf(lines[i]);
    if (ind < minIndent) return null;
    const text = stripComment(lines[i].slice(ind));
    return isSeqItem(text) ? sequence(ind) : mapping(ind);
  };

  const sequence = (ind: number): YamlValue[] => {
    const out: YamlValue[] = [];
    for (;;) {
      skipBlank();
      if (i >= lines.length) break;
      const li = indentOf(lines[i]);
      const text = stripComment(lines[i].slice(li));
      if (li !== ind || !isSeqItem(text)) {
        if (li > ind) throw new SyntaxError(`YAML line ${i + 1}: unexpected indentation`);
        break;
      }
      const rest = text.slice(1).trimStart();
      if (rest === "") {
        i++;
        out.push(node(ind + 1));
      } else if (KEY.test(rest)) {
        // "- key: value" opens a mapping indented to where "key" starts.
        const keyIndent = li + (text.length - rest.length);
        lines[i] = " ".repeat(keyIndent) + lines[i].slice(keyIndent);
        out.push(mapping(keyIndent));
      } else {
        i++;
        out.push(value(rest, ind, i));
      }
    }
    return out;
  };

  const mapping = (ind: number): { [key: string]: YamlValue } => {
    const out: { [key: string]: YamlValue } = {};
    for (;;) {
      skipBlank();
      if (i >= lines.length) break;
      const li = indentOf(lines[i]);
      if (li < ind) break;
      if (li > ind) throw new SyntaxError(`YAML line ${i + 1}: unexpected indentation`);
      const text = stripComment(lines[i].slice(li));
      if (isSeqItem(text)) break;
      const m = KEY.exec(text);
      if (m === null) {
        throw new SyntaxError(`YAML line ${i + 1}: expected "key: value", got ${text}`);
      }
      const key = unquoteKey(m[1]);
      if (Object.hasOwn(out, key)) {
        throw new SyntaxError(`YAML line ${i + 1}: duplicate key ${key}`);
      }
      const rest = text.slice(m[0].length);
      i++;
      if (rest !== "") {
        out[key] = value(rest, ind, i);
        continue;
      }
      skipBlank();
      if (i < lines.length) {
        const ni = indentOf(lines[i]);
        const nt = stripComment(lines[i].slice(ni));
        // A sequence may sit at its key's own indentation.
        if (ni > ind || (ni === ind && isSeqItem(nt))) {
          out[key] = node(ni);
          continue;
        }
      }
      out[key] = null;
    }
    return out;
  };

  const root = node(0);
  skipBlank();
  if (i < lines.length) throw new SyntaxError(`YAML line ${i + 1}: unexpected content`);
  return root;
}
