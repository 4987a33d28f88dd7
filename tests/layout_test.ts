// The package's layout: src/ is a set of layers (folders), each with one job,
// that import only downward, with no import cycle between files, and public
// entry points (deno.json "exports") that each name is exported from once.
//
// Imports are read by a small scanner, not by a regex over the raw text: it
// blanks comments (so JSDoc `@example` imports and commented-out imports do
// not count), and replaces each string literal by a numbered placeholder and
// the text of template literals by blanks (so "https://..." or a string that
// happens to contain `import "x"` cannot confuse it), telling regular
// expression literals from division by the token before them. The import and
// export forms are then matched on that masked text.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";

const root = decodeURIComponent(new URL("../", import.meta.url).pathname);
const srcDir = join(root, "src");

// ---------------------------------------------------------------- the table

/** Each layer (folder of src/, or the root entry file) and the layers it may import from. */
const LAYERS: Record<string, readonly string[]> = {
  "model": [],
  "exposition": ["model"],
  "core": ["model", "exposition"],
  "http": ["model", "exposition", "core"],
  "collectors": ["model", "core"],
  "cluster": ["model", "core"],
  "llm": [],
  "tracking": ["model", "core", "http", "llm"],
  "compat": ["model", "exposition", "core", "http", "collectors", "cluster"],
  "mod.ts": ["model", "exposition", "core", "http"],
};

// ---------------------------------------------------------------- the scanner

/** A source text with its comments blanked and its string literals set aside. */
interface Scanned {
  /** The text with each comment replaced by a space (newlines kept). */
  code: string;
  /** `code` with each string literal replaced by `"#<n>"`, template and regex literal text blanked. */
  masked: string;
  /** The values of the string literals, by `n`. */
  strings: string[];
}

const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "instanceof",
  "yield",
  "await",
]);

function unescape(inner: string): string {
  return inner.replace(
    /\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r?\n|[\s\S])/g,
    (_, e: string) => {
      if (e[0] === "u" || e[0] === "x") {
        return e.length > 1 ? String.fromCodePoint(parseInt(e.replace(/[ux{}]/g, ""), 16)) : e;
      }
      if (e === "\n" || e === "\r\n") return "";
      return ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v", 0: "\0" } as Record<
        string,
        string
      >)[e] ?? e;
    },
  );
}

/** Splits `src` into code, comments, strings, templates and regex literals; see {@linkcode Scanned}. */
function scan(src: string): Scanned {
  let code = "";
  let masked = "";
  const strings: string[] = [];
  /** Brace depth at which each open template `${` closes. */
  const templates: number[] = [];
  let depth = 0;
  let last = ""; // the last significant token: one punctuation char, or a word
  let i = 0;
  const n = src.length;
  const emit = (text: string, mask = text) => {
    code += text;
    masked += mask;
  };
  const blank = (text: string) => text.replace(/[^\n]/g, " ");

  /** Scans template text from `i` (after "`" or "}") to the closing "`" or a "${". */
  const templateText = () => {
    const start = i;
    while (i < n && src[i] !== "`" && !(src[i] === "$" && src[i + 1] === "{")) {
      i += src[i] === "\\" ? 2 : 1;
    }
    const text = src.slice(start, i);
    emit(text, blank(text));
    if (i >= n) return;
    if (src[i] === "`") {
      emit("`");
      i++;
      last = "`";
    } else {
      emit("${");
      i += 2;
      templates.push(depth);
      depth++;
      last = "{";
    }
  };

  while (i < n) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      while (i < n && src[i] !== "\n") i++;
      emit(" ");
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      const nl = src.slice(i, stop).replace(/[^\n]/g, "");
      emit(nl || " ");
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      emit(src.slice(i, j + 1), `"#${strings.length}"`);
      strings.push(unescape(src.slice(i + 1, j)));
      i = j + 1;
      last = '"';
    } else if (c === "`") {
      emit("`");
      i++;
      templateText();
    } else if (
      c === "/" &&
      (last === "" || /^[(,=:[!&|?{};+\-*%<>~^]$/.test(last) || last === "}" ||
        REGEX_AFTER_WORD.has(last))
    ) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== "\n" && (inClass || src[j] !== "/")) {
        if (src[j] === "\\") j++;
        else if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        j++;
      }
      j++;
      while (j < n && /[a-z]/i.test(src[j])) j++;
      const text = src.slice(i, j);
      emit(text, "/r/");
      i = j;
      last = "/r/";
    } else if (/[\w$]/.test(c)) {
      const word = /^[\w$]+/.exec(src.slice(i, i + 200))![0];
      emit(word);
      i += word.length;
      last = word;
    } else {
      if (c === "{") depth++;
      if (c === "}") {
        depth--;
        if (templates.length > 0 && templates.at(-1) === depth) {
          templates.pop();
          emit("}");
          i++;
          templateText();
          continue;
        }
      }
      emit(c);
      i++;
      if (!/\s/.test(c)) last = c;
    }
  }
  return { code, masked, strings };
}

/** One import or re-export of a module. */
interface ImportRef {
  specifier: string;
  kind: "import" | "export" | "side-effect" | "dynamic";
  /** `import type`, `export type`, all names `type X`, or `typeof import("x")`. */
  typeOnly: boolean;
}

/** Whether an import/export clause is a brace list of `type X` names only. */
function allTypes(clause: string): boolean {
  const braces = /^\s*\{([^}]*)\}\s*$/.exec(clause);
  const names = (braces?.[1] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  return names.length > 0 && names.every((s) => /^type\s/.test(s));
}

/** The static imports, re-exports, side-effect and dynamic imports (string specifiers) of `src`. */
function parseImports(src: string): ImportRef[] {
  const { masked, strings } = scan(src);
  const found: { at: number; ref: ImportRef }[] = [];
  const s = (k: string) => strings[Number(k)];
  for (
    const m of masked.matchAll(
      /(?<![\w$.])import\b\s*(type\s+)?([\w$\s{},*]*?)\s*\bfrom\s*"#(\d+)"/g,
    )
  ) {
    found.push({
      at: m.index,
      ref: { specifier: s(m[3]), kind: "import", typeOnly: !!m[1] || allTypes(m[2]) },
    });
  }
  for (
    const m of masked.matchAll(
      /(?<![\w$.])export\b\s*(type\s+)?(\*(?:\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*"#(\d+)"/g,
    )
  ) {
    found.push({
      at: m.index,
      ref: { specifier: s(m[3]), kind: "export", typeOnly: !!m[1] || allTypes(m[2]) },
    });
  }
  for (const m of masked.matchAll(/(?<![\w$.])import\s*"#(\d+)"/g)) {
    found.push({ at: m.index, ref: { specifier: s(m[1]), kind: "side-effect", typeOnly: false } });
  }
  for (
    const m of masked.matchAll(/(\btypeof\s+)?(?<![\w$.])import\s*\(\s*"#(\d+)"\s*[,)]/g)
  ) {
    found.push({ at: m.index, ref: { specifier: s(m[2]), kind: "dynamic", typeOnly: !!m[1] } });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.ref);
}

/**
 * The names `src` exports, by its own declarations and export lists; each
 * `export * from "x"` is handed to `star` (which returns that module's names).
 */
function parseExportNames(
  src: string,
  star: (specifier: string) => Iterable<string> = () => [],
): Set<string> {
  const { masked, strings } = scan(src);
  const names = new Set<string>();
  for (const m of masked.matchAll(/(?<![\w$.])export\b\s*(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of m[1].split(",")) {
      const parts = item.trim().replace(/^type\s+/, "").split(/\s+as\s+/);
      const name = parts.at(-1)!.trim();
      if (name !== "") names.add(name);
    }
  }
  for (const m of masked.matchAll(/(?<![\w$.])export\s*\*\s*as\s+([\w$]+)/g)) names.add(m[1]);
  for (const m of masked.matchAll(/(?<![\w$.])export\s*\*\s*from\s*"#(\d+)"/g)) {
    for (const name of star(strings[Number(m[1])])) if (name !== "default") names.add(name);
  }
  for (const _ of masked.matchAll(/(?<![\w$.])export\s+default\b/g)) names.add("default");
  for (
    const m of masked.matchAll(
      /(?<![\w$.])export\s+(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(?:const\s+enum|class|function\s*\*?|const|let|var|enum|interface|type|namespace)\s+([\w$]+)/g,
    )
  ) {
    names.add(m[1]);
  }
  return names;
}

// ---------------------------------------------------------------- the tree

const rel = (file: string) => relative(srcDir, file).split(sep).join("/");

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** deno.json, read as JSONC (comments and trailing commas allowed). */
function readJsonc(path: string): Record<string, unknown> {
  const { masked, strings } = scan(readFileSync(path, "utf8"));
  const json = masked.replace(/,(\s*[}\]])/g, "$1").replace(
    /"#(\d+)"/g,
    (_, k: string) => JSON.stringify(strings[Number(k)]),
  );
  return JSON.parse(json);
}

const denoJson = readJsonc(join(root, "deno.json"));
const rawExports = denoJson.exports ?? {};
/** Entry point name (".", "./http", ...) to its absolute file. */
const entries: [string, string][] = Object.entries(
  typeof rawExports === "string" ? { ".": rawExports } : rawExports as Record<string, string>,
).map(([name, target]) => [name, resolve(root, target)]);

const files = tsFiles(srcDir);
const fileSet = new Set(files);

interface Edge {
  from: string;
  to: string;
  ref: ImportRef;
}

const edges: Edge[] = [];
const unresolved: string[] = [];
const importsOf = new Map<string, ImportRef[]>();
for (const file of files) {
  const refs = parseImports(readFileSync(file, "utf8"));
  importsOf.set(file, refs);
  for (const ref of refs) {
    if (!ref.specifier.startsWith("./") && !ref.specifier.startsWith("../")) continue;
    const to = resolve(dirname(file), ref.specifier);
    if (fileSet.has(to)) edges.push({ from: file, to, ref });
    else unresolved.push(`${rel(file)}: ${ref.specifier}`);
  }
}

/** Strongly connected components of the file graph (Tarjan), each sorted. */
function stronglyConnected(nodes: string[], next: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      out.push(scc.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return out;
}

/** The elementary cycles inside one component (at most `limit`), each closed: [a, b, a]. */
function cyclesIn(scc: string[], next: Map<string, string[]>, limit: number): string[][] {
  const members = new Set(scc);
  const cycles: string[][] = [];
  scc.forEach((start, k) => {
    const allowed = new Set(scc.slice(k)); // cycles through `start` over later members only
    const path = [start];
    const walk = (v: string) => {
      for (const w of next.get(v) ?? []) {
        if (cycles.length >= limit || !members.has(w) || !allowed.has(w)) continue;
        if (w === start) cycles.push([...path, start]);
        else if (!path.includes(w)) {
          path.push(w);
          walk(w);
          path.pop();
        }
      }
    };
    walk(start);
  });
  return cycles;
}

function layerOf(file: string): string {
  const path = rel(file);
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
}

/** Names of an entry file's exports by parsing, following `export * from` (relative only). */
function parsedNames(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file) || !existsSync(file)) return new Set();
  seen.add(file);
  return parseExportNames(readFileSync(file, "utf8"), (spec) => {
    if (!spec.startsWith(".")) return [];
    return parsedNames(resolve(dirname(file), spec), seen);
  });
}

/**
 * The prom-client drop-in. Its users change one import line, so it exports
 * prom-client's own names (`Counter`, `Registry`, `linearBuckets`, ...), the
 * very names the native API uses. What it exports under them are distinct
 * classes and functions (prom-client's signatures and errors, built on the
 * core), not a second path to the native ones, so the rule "one entry point
 * per public name" is kept for what each name is: such a name may also be
 * exported by another entry point only with a different value. A compat name
 * that re-exported the native value would still be flagged.
 */
const COMPAT_ENTRY = "./prom-client";

/** The names `./prom-client` shares with another entry point under a value of its own. */
async function compatOwnNames(): Promise<Set<string>> {
  const own = new Set<string>();
  const file = entries.find(([entry]) => entry === COMPAT_ENTRY)?.[1];
  if (file === undefined || !existsSync(file)) return own;
  const compat = await import(pathToFileURL(file).href);
  for (const [entry, other] of entries) {
    if (entry === COMPAT_ENTRY || !existsSync(other)) continue;
    const module = await import(pathToFileURL(other).href);
    for (const name of Object.keys(compat)) {
      if (name in module && module[name] !== compat[name]) own.add(name);
    }
  }
  return own;
}

function duplicates(
  namesByEntry: Map<string, Set<string>>,
  compatOwn: ReadonlySet<string> = new Set(),
): string[] {
  const owners = new Map<string, string[]>();
  for (const [entry, names] of namesByEntry) {
    for (const name of names) {
      if (entry === COMPAT_ENTRY && compatOwn.has(name)) continue;
      owners.set(name, [...owners.get(name) ?? [], entry]);
    }
  }
  return [...owners].filter(([, e]) => e.length > 1).map(([name, e]) => `${name}: ${e.join(", ")}`)
    .sort();
}

/** Fails with `title` and one line per item, unless `items` is empty. */
function assertNone(items: string[], title: string): void {
  if (items.length > 0) assert.fail(`${title}\n  ${items.join("\n  ")}`);
}

// ---------------------------------------------------------------- the tests

describe("import parser", () => {
  it("reads a multi-line import list, type-only imports and re-exports", () => {
    const src = [
      "import {",
      "  a,",
      "  type B,",
      '} from "./a.ts";',
      'import type { C } from "./c.ts";',
      'import { type D, type E } from "./d.ts";',
      'import F, * as g from "./f.ts";',
      'export * from "./star.ts";',
      'export * as ns from "./ns.ts";',
      'export { h as i, type J } from "./h.ts";',
      "export type { K } from './k.ts';",
      'import "./side.ts";',
      'const m = await import("./dyn.ts");',
      'type T = typeof import("./t.ts");',
    ].join("\n");
    assert.deepEqual(parseImports(src).map((r) => [r.specifier, r.kind, r.typeOnly]), [
      ["./a.ts", "import", false],
      ["./c.ts", "import", true],
      ["./d.ts", "import", true],
      ["./f.ts", "import", false],
      ["./star.ts", "export", false],
      ["./ns.ts", "export", false],
      ["./h.ts", "export", false],
      ["./k.ts", "export", true],
      ["./side.ts", "side-effect", false],
      ["./dyn.ts", "dynamic", false],
      ["./t.ts", "dynamic", true],
    ]);
  });

  it("ignores commented-out imports, JSDoc examples, strings, templates and regexes", () => {
    const src = [
      '// import { gone } from "./gone.ts";',
      '/* import "./block.ts"; */',
      "/**",
      " * @example",
      " * ```ts",
      ' * import { Counter } from "@securetrack/metrics";',
      " * ```",
      " */",
      'const url = "https://example.com/x"; import { kept } from "./kept.ts";',
      "const s = 'import \"./in-string.ts\"';",
      'const t = `import "./in-template.ts" ${"x" + `y`} // not a comment`;',
      'const r = /\\/\\/"/g; export { after } from "./after.ts";',
      "const q = a / b; // import './after-division.ts'",
      'import { last } from "./last.ts"; // "./trailing.ts"',
    ].join("\n");
    assert.deepEqual(parseImports(src).map((r) => r.specifier), [
      "./kept.ts",
      "./after.ts",
      "./last.ts",
    ]);
  });

  it("keeps code around comments and strings intact", () => {
    const { code, strings } = scan('a("//x"); /* c */ b(`${1}//y`); // z\nc();');
    assert.equal(code, 'a("//x");   b(`${1}//y`);  \nc();');
    assert.deepEqual(strings, ["//x"]);
  });

  it("collects exported names, following export * from", () => {
    const src = [
      "export { a, b as c, type D } from './x.ts';",
      "export type { E, F as G } from './y.ts';",
      "export interface H {}",
      "export type I = string;",
      "export class J {}",
      "export async function k() {}",
      "export const l = 1;",
      "export enum M { X }",
      "export * from './star.ts';",
      "export * as n from './ns.ts';",
      "/** @example export const notThis = 1; */",
      "const o = 1;",
      "export { o };",
    ].join("\n");
    const names = parseExportNames(src, (spec) => spec === "./star.ts" ? ["p", "default"] : []);
    assert.deepEqual(
      [...names].sort(),
      ["D", "E", "G", "H", "I", "J", "a", "c", "k", "l", "M", "n", "o", "p"].sort(),
    );
  });
});

describe("package layout", () => {
  it("every relative import in src/ resolves to a .ts file under src/", () => {
    assertNone(unresolved, "Imports that resolve to no file under src/ (file: specifier):");
  });

  it("has no import cycle among the files of src/", () => {
    const next = new Map<string, string[]>();
    for (const e of edges) {
      const out = next.get(e.from) ?? [];
      if (!out.includes(e.to)) out.push(e.to);
      next.set(e.from, out.sort());
    }
    const typeOnly = (a: string, b: string) =>
      edges.filter((e) => e.from === a && e.to === b).every((e) => e.ref.typeOnly);
    const cycles: string[] = [];
    for (const scc of stronglyConnected(files, next)) {
      const selfLoop = scc.length === 1 && (next.get(scc[0]) ?? []).includes(scc[0]);
      if (scc.length < 2 && !selfLoop) continue;
      const found = cyclesIn(scc, next, 50);
      for (const cycle of found) {
        const types = cycle.slice(1).every((to, k) => typeOnly(cycle[k], to));
        cycles.push(cycle.map(rel).join(" -> ") + (types ? " (type-only imports)" : ""));
      }
      if (found.length >= 50) cycles.push(`... and more among ${scc.map(rel).join(", ")}`);
    }
    assertNone(cycles, "Import cycles among the files of src/:");
  });

  it("layers import only the layers below them", () => {
    const offenders: string[] = [];
    const unknown = new Set<string>();
    for (const e of edges) {
      const from = layerOf(e.from);
      const to = layerOf(e.to);
      if (!(from in LAYERS)) unknown.add(from);
      if (!(to in LAYERS)) unknown.add(to);
      if (from === to || !(from in LAYERS)) continue;
      if (!LAYERS[from].includes(to)) {
        offenders.push(`${rel(e.from)}: ${e.ref.specifier} (${from} may not import ${to})`);
      }
    }
    const problems = [
      ...[...unknown].sort().map((l) =>
        `src/${l} is not in the layer table: add it to LAYERS in tests/layout_test.ts, ` +
        "with the layers it may import from"
      ),
      ...offenders,
    ];
    assertNone(
      problems,
      "Imports against the layer order (file: specifier, paths under src/; allowed: " +
        Object.entries(LAYERS).map(([l, d]) => `${l} -> ${d.join("/") || "nothing"}`).join(
          "; ",
        ) + "):",
    );
  });

  it("every public name has exactly one entry point (values by import, types by parsing)", async () => {
    const namesByEntry = new Map<string, Set<string>>();
    for (const [entry, file] of entries) {
      if (!existsSync(file)) continue; // reported by the exports test
      const names = parsedNames(file);
      const module = await import(pathToFileURL(file).href);
      for (const name of Object.keys(module)) if (name !== "default") names.add(name);
      names.delete("default");
      namesByEntry.set(entry, names);
    }
    const dups = duplicates(namesByEntry, await compatOwnNames());
    assertNone(dups, "Names exported by more than one entry point:");
  });

  it(
    "every public name has exactly one entry point (deno doc), and the parser agrees with deno doc",
    { skip: typeof Deno === "undefined" && "needs the deno binary (runs under Deno)" },
    async () => {
      const present = entries.filter(([, file]) => existsSync(file));
      const run = spawnSync(
        process.execPath,
        ["doc", "--json", ...present.map(([, file]) => file)],
        { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
      );
      assert.equal(run.status, 0, run.stderr);
      const doc = JSON.parse(run.stdout) as {
        nodes: Record<
          string,
          { symbols?: { name: string; declarations: { declarationKind: string }[] }[] }
        >;
      };
      const namesByEntry = new Map<string, Set<string>>();
      const missed: string[] = [];
      for (const [entry, file] of present) {
        const node = doc.nodes[pathToFileURL(file).href];
        const names = new Set(
          (node?.symbols ?? [])
            .filter((s) => s.declarations.some((d) => d.declarationKind === "export"))
            .map((s) => s.name)
            .filter((name) => name !== "default"),
        );
        namesByEntry.set(entry, names);
        const parsed = parsedNames(file);
        for (const name of names) if (!parsed.has(name)) missed.push(`${entry}: ${name}`);
      }
      const dups = duplicates(namesByEntry, await compatOwnNames());
      assertNone(
        [
          ...dups,
          ...missed.map((m) => `${m} (deno doc sees it; the parser in this test missed it)`),
        ],
        "Names exported by more than one entry point (deno doc):",
      );
    },
  );

  it("_-prefixed files stay private to their folder", () => {
    const problems: string[] = [];
    const entryFiles = new Set(entries.map(([, file]) => file));
    for (const file of entryFiles) {
      if (!existsSync(file)) continue;
      for (const ref of parseImports(readFileSync(file, "utf8"))) {
        if (ref.kind === "export" && basename(ref.specifier).startsWith("_")) {
          problems.push(`entry point ${relative(root, file)} re-exports ${ref.specifier}`);
        }
      }
    }
    // Every .ts file of the repository but the tests, which may import anything.
    const sources = readdirSync(root).sort().filter((name) =>
      name !== "tests" && name !== "node_modules" && !name.startsWith(".")
    ).flatMap((name) => {
      const path = join(root, name);
      return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith(".ts") ? [path] : [];
    });
    for (const file of sources) {
      const refs = importsOf.get(file) ?? parseImports(readFileSync(file, "utf8"));
      for (const ref of refs) {
        if (!ref.specifier.startsWith(".")) continue;
        const target = resolve(dirname(file), ref.specifier);
        if (basename(target).startsWith("_") && dirname(target) !== dirname(file)) {
          problems.push(
            `${relative(root, file)}: ${ref.specifier} (private to ${
              relative(root, dirname(target))
            }/)`,
          );
        }
      }
    }
    assertNone(problems, "Private (_-prefixed) files used from outside:");
  });

  it('deno.json "exports" are the only mod.ts faces: every target exists, every src/*/mod.ts is listed', () => {
    const problems: string[] = [];
    const targets = new Set(entries.map(([, file]) => file));
    for (const [entry, file] of entries) {
      if (!existsSync(file)) {
        problems.push(`exports["${entry}"] -> ${relative(root, file)}: no such file`);
      }
    }
    for (const name of readdirSync(srcDir).sort()) {
      const mod = join(srcDir, name, "mod.ts");
      if (existsSync(mod) && !targets.has(mod)) {
        problems.push(
          `src/${name}/mod.ts is not in deno.json "exports" (add "./${name}", or fold it)`,
        );
      }
    }
    assertNone(problems, 'deno.json "exports" and src/*/mod.ts disagree:');
  });
});
