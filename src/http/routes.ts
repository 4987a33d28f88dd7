/**
 * Route templates for the `handler` label: a request is labelled with the
 * template it matches (`/users/:id`), never with its raw path, so the label's
 * values are bounded by the routes you declare.
 *
 * Templates are `URLPattern` pathnames, compiled once when the table is
 * built:
 *
 * - a template without pattern syntax is exact, looked up in a `Map`;
 * - `:name` (one non-empty segment: no `/`) and `*` (anything, `/`
 *   included, possibly nothing), among literal text, are compiled into
 *   regular expressions with URLPattern's semantics, stored in a tree of the
 *   templates' leading literal segments, so a path is tested only against
 *   the templates whose leading segments it has;
 * - anything else (regexp groups `:id(\\d+)`, modifiers `?` `+` `*` after a
 *   part, groups `{}`, escapes) is matched by `URLPattern` itself.
 *
 * Literal text is taken in URLPattern's canonical form (`/café` is
 * `/caf%C3%A9`), and paths are expected as a URL serializes them (what
 * `pathnameOf(request.url)` returns); on such paths the table answers what
 * `URLPattern` would (tests/http/routes_test.ts checks it on random templates
 * and paths). Order: an exact template wins; otherwise the first pattern
 * template that matches, in the order given.
 *
 * @module
 */

/** Label value for a request that matches no declared route. */
export const UNMATCHED_HANDLER = "none";

/** Pattern syntax: a template with none of these is exact. */
const SYNTAX = /[:*(){}?+\\]/;
/** What the compiler does not handle (left to URLPattern): groups, regexps, modifiers, escapes. */
const NOT_COMPILED = /[(){}?+\\]/;
const NAME_START = /[A-Za-z_$]/;
const NAME_PART = /[A-Za-z0-9_$]/;

/** One way of testing a path against some of the templates, in their declared order. */
type Step =
  /** Compiled templates: `^(?:t1()|t2()|…)$`; the empty group that matched says which. */
  | { regex: RegExp; templates: readonly string[] }
  /** One template matched by URLPattern. */
  | { pattern: URLPattern; template: string };

/** A node of the tree of leading literal segments. */
interface Node {
  readonly children: Map<string, Node>;
  /** Pattern templates whose leading literal segments end here: [declared index, regex source or pattern]. */
  readonly own: Candidate[];
  /** Matches the templates of this node and its ancestors, in declared order; set by `#seal`. */
  match: (pathname: string) => string | undefined;
}

interface Candidate {
  index: number;
  template: string;
  /** The regular-expression source of the template (no anchors), or its URLPattern. */
  source: string | URLPattern;
}

/**
 * Compiles a canonical URLPattern pathname (`new URLPattern({ pathname }).pathname`)
 * made only of literal text, `:name` and `*`: returns the source of an
 * unanchored regular expression with URLPattern's semantics (`:name` is
 * `[^/]+?`, `*` is `.*`) and the template's leading literal segments (each
 * followed by `/`); `undefined` for any other syntax, left to URLPattern.
 *
 * @example
 * ```ts
 * import { compileTemplate } from "./routes.ts";
 * compileTemplate("/users/:id"); // { source: "\\/users\\/[^/]+?", literal: ["users"] }
 * compileTemplate("/items/:id(\\d+)"); // undefined
 * ```
 */
export function compileTemplate(
  canonical: string,
): { source: string; literal: string[] } | undefined {
  if (NOT_COMPILED.test(canonical) || !canonical.startsWith("/")) return undefined;
  let source = "";
  let i = 0;
  let partEnd = -1; // index after the last `:name` or `*`, where a modifier would sit
  while (i < canonical.length) {
    const c = canonical[i];
    if (c === ":") {
      let j = i + 1;
      if (j >= canonical.length || !NAME_START.test(canonical[j])) return undefined;
      while (j < canonical.length && NAME_PART.test(canonical[j])) j++;
      // A non-ASCII character may continue the name (Unicode ID_Continue): not ours.
      if (j < canonical.length && canonical.charCodeAt(j) > 0x7f) return undefined;
      source += "[^/]+?";
      i = partEnd = j;
    } else if (c === "*") {
      if (partEnd === i) return undefined; // `*` after a part is a modifier
      source += ".*";
      i = partEnd = i + 1;
    } else {
      source += /[.$^|[\]/-]/.test(c) ? `\\${c}` : c;
      i++;
    }
  }
  const literal: string[] = [];
  const segments = canonical.split("/");
  // The last segment is never walked into: it is followed by no "/".
  for (let s = 1; s < segments.length - 1; s++) {
    if (/[:*]/.test(segments[s])) break;
    literal.push(segments[s]);
  }
  return { source, literal };
}

/**
 * Matches request paths against route templates written as `URLPattern`
 * pathnames (see the module documentation for what is compiled).
 *
 * @example
 * ```ts
 * import { RouteTable } from "./routes.ts";
 * const routes = new RouteTable(["/metrics", "/users/:id", "/static/*"]);
 * routes.match("/users/42"); // "/users/:id"
 * routes.match("/static/css/site.css"); // "/static/*"
 * routes.match("/wp-admin"); // "none"
 * ```
 */
export class RouteTable {
  readonly #exact = new Map<string, string>();
  readonly #root: Node = RouteTable.#node();
  readonly #hasPatterns: boolean;

  /** Builds the table; throws a `TypeError` naming a template that is not a valid pathname pattern. */
  constructor(templates: readonly string[] = []) {
    if (!Array.isArray(templates)) {
      throw new TypeError(`routes must be an array of pathname templates, got ${typeof templates}`);
    }
    let count = 0;
    for (const template of templates) {
      if (typeof template !== "string" || !template.startsWith("/")) {
        throw new TypeError(
          `Route ${JSON.stringify(template)} must be a pathname starting with "/"`,
        );
      }
      let pattern: URLPattern;
      try {
        pattern = new URLPattern({ pathname: template });
      } catch (error) {
        throw new TypeError(
          `Route "${template}" is not a valid URLPattern pathname: ${(error as Error).message}`,
        );
      }
      if (!SYNTAX.test(template)) {
        // Keyed by the canonical form, which is what a request's path holds.
        const key = pattern.pathname;
        if (!this.#exact.has(key)) this.#exact.set(key, template);
        continue;
      }
      const compiled = compileTemplate(pattern.pathname);
      let node = this.#root;
      for (const segment of compiled?.literal ?? []) {
        let child = node.children.get(segment);
        if (child === undefined) node.children.set(segment, child = RouteTable.#node());
        node = child;
      }
      node.own.push({ index: count++, template, source: compiled?.source ?? pattern });
    }
    this.#hasPatterns = count > 0;
    RouteTable.#seal(this.#root, []);
  }

  static #node(): Node {
    return { children: new Map(), own: [], match: () => undefined };
  }

  /** Sets each node's `match` over its own and its ancestors' templates, in declared order. */
  static #seal(node: Node, inherited: readonly Candidate[]): void {
    const candidates = [...inherited, ...node.own].sort((a, b) => a.index - b.index);
    node.match = RouteTable.#matcher(candidates);
    for (const child of node.children.values()) RouteTable.#seal(child, candidates);
  }

  static #matcher(candidates: readonly Candidate[]): (pathname: string) => string | undefined {
    const steps: Step[] = [];
    let run: Candidate[] = [];
    const flush = () => {
      if (run.length === 0) return;
      const body = run.map((c) => `${c.source as string}()`).join("|");
      steps.push({ regex: new RegExp(`^(?:${body})$`), templates: run.map((c) => c.template) });
      run = [];
    };
    for (const c of candidates) {
      if (typeof c.source === "string") {
        run.push(c);
      } else {
        flush();
        steps.push({ pattern: c.source, template: c.template });
      }
    }
    flush();
    if (steps.length === 0) return () => undefined;
    if (steps.length === 1 && "regex" in steps[0]) {
      const { regex, templates } = steps[0];
      if (templates.length === 1) {
        const [template] = templates;
        return (pathname) => regex.test(pathname) ? template : undefined;
      }
      return (pathname) => {
        const m = regex.exec(pathname);
        return m === null ? undefined : templates[m.indexOf("", 1) - 1];
      };
    }
    return (pathname) => {
      for (const step of steps) {
        if ("pattern" in step) {
          if (step.pattern.test({ pathname })) return step.template;
          continue;
        }
        const m = step.regex.exec(pathname);
        if (m !== null) return step.templates[m.indexOf("", 1) - 1];
      }
      return undefined;
    };
  }

  /** The template `pathname` matches, or `"none"`. */
  match(pathname: string): string {
    const exact = this.#exact.get(pathname);
    if (exact !== undefined) return exact;
    if (!this.#hasPatterns) return UNMATCHED_HANDLER;
    // Walk the leading segments as far as the tree goes.
    let node = this.#root;
    let start = 1;
    while (node.children.size > 0) {
      const end = pathname.indexOf("/", start);
      if (end < 0) break;
      const child = node.children.get(pathname.slice(start, end));
      if (child === undefined) break;
      node = child;
      start = end + 1;
    }
    return node.match(pathname) ?? UNMATCHED_HANDLER;
  }
}

/** The pathname of an absolute URL string, without parsing the whole URL. */
export function pathnameOf(url: string): string {
  const scheme = url.indexOf("://");
  const authority = scheme < 0 ? 0 : scheme + 3;
  const start = url.indexOf("/", authority);
  if (start < 0) return "/";
  // The authority ends at the first "/", "?" or "#": in "http://h?next=/a"
  // the "/" belongs to the query and the path is empty.
  for (let i = authority; i < start; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x3f || c === 0x23) return "/";
  }
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query >= 0) end = query;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return url.slice(start, end);
}
