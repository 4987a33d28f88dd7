/**
 * Route templates for the `handler` label: a request is labelled with the
 * template it matches (`/users/:id`), never with its raw path, so the label's
 * values are bounded by the routes you declare.
 *
 * Templates are `URLPattern` pathnames, compiled once, when the table is
 * built, into a tree of path segments:
 *
 * - a literal segment (`users`) is an edge of the tree, compared in place
 *   (no segment is sliced out, and the path is never hashed);
 * - a template without pattern syntax is exact: its literal segments lead
 *   to the node it ends at;
 *   a whole-segment parameter (`:id`: one non-empty segment, no `/`) is the
 *   node's parameter edge; a final `/*` (anything, `/` included, possibly
 *   nothing) ends a template at its node;
 * - other segments made of literal text, `:name` and `*` (`x-:id`,
 *   `:name.csv`, a `*` before the last segment) are compiled into a
 *   regular expression with URLPattern's semantics, tested at the node
 *   their leading segments lead to;
 * - anything else (regexp groups `:id(\\d+)`, modifiers `?` `+` `*` after a
 *   part, groups `{}`, escapes) is matched by `URLPattern` itself, at the
 *   node of its leading literal segments, and only on paths that start with
 *   its literal prefix.
 *
 * Literal text is taken in URLPattern's canonical form (`/café` is
 * `/caf%C3%A9`), and paths are expected as a URL serializes them (what
 * `pathnameOf(request.url)` returns); on such paths the table answers what
 * `URLPattern` would (tests/http/routes_test.ts checks it on random templates
 * and paths). Order: an exact template wins; otherwise the first pattern
 * template that matches, in the order given. (Templates are numbered exact
 * ones first, then patterns, each in declared order; the tree keeps, per
 * node, the smallest number below it, and the walk stops where nothing can
 * beat the match it has.)
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
const WHOLE_PARAMETER = /^:[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A template tested as a whole, at the node its leading segments lead to. */
interface Candidate {
  /** Declared position among the pattern templates. */
  readonly index: number;
  readonly test: (pathname: string) => boolean;
}

/** A node of the segment tree: the templates whose leading segments lead here. */
interface Node {
  /** Literal segment edges (while building). */
  readonly literal: Map<string, Node>;
  /** The literal edge, when there is exactly one (set by `#seal`). */
  only: { segment: string; node: Node } | undefined;
  /**
   * The literal edges by segment length, when there are several (set by
   * `#seal`): an array index instead of a Map lookup, then a comparison
   * with the few edges of that length.
   */
  byLength: ({ segment: string; node: Node }[] | undefined)[] | undefined;
  /** The whole-segment parameter edge. */
  param: Node | undefined;
  /** Index of the first template that ends at this node. */
  end: number;
  /** Index of the first template that is this node followed by `/*`. */
  wildcard: number;
  /** Templates tested as a whole here, in declared order. */
  readonly whole: Candidate[];
  /** The smallest index of any template at or below this node, set by `#seal`. */
  min: number;
}

function node(): Node {
  return {
    literal: new Map(),
    only: undefined,
    byLength: undefined,
    param: undefined,
    end: Infinity,
    wildcard: Infinity,
    whole: [],
    min: Infinity,
  };
}

/**
 * Compiles a canonical URLPattern pathname (`new URLPattern({ pathname }).pathname`)
 * made only of literal text, `:name` and `*` into the source of an
 * unanchored regular expression with URLPattern's semantics (`:name` is
 * `[^/]+?`, `*` is `.*`); `undefined` for any other syntax, left to
 * URLPattern.
 *
 * @example
 * ```ts
 * import { compileTemplate } from "./routes.ts";
 * compileTemplate("/users/:id"); // "\\/users\\/[^/]+?"
 * compileTemplate("/items/:id(\\d+)"); // undefined
 * ```
 */
export function compileTemplate(canonical: string): string | undefined {
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
  return source;
}

/**
 * The leading segments of a canonical URLPattern pathname that every
 * matching path has, each followed by `/`, for a pattern `compileTemplate`
 * does not handle: each made of literal text only, and followed by a `/`
 * that is itself literal (not the prefix of a part a modifier may leave
 * out, as in `/api/:v?`, which matches `/api`).
 */
function fixedSegments(canonical: string): string[] {
  const segments = canonical.split("/");
  const fixed: string[] = [];
  for (let s = 1; s < segments.length - 1; s++) {
    if (SYNTAX.test(segments[s]) || /^[:*(){}?+\\]/.test(segments[s + 1])) break;
    fixed.push(segments[s]);
  }
  return fixed;
}

/**
 * The literal text a canonical URLPattern pathname starts with, which every
 * matching path starts with too: up to the first pattern syntax, without a
 * `/` right before it (that `/` may be the prefix of an optional part, as
 * in `/api/:v?`, which matches `/api`). A `URLPattern.test` costs about
 * 2-5 µs, a `startsWith` a few nanoseconds.
 */
function literalPrefix(canonical: string): string {
  const end = canonical.search(SYNTAX);
  if (end < 0) return canonical;
  return canonical.slice(0, end > 0 && canonical[end - 1] === "/" ? end - 1 : end);
}

/**
 * Whether `pathname` holds `segment` at `start` (the caller checked the
 * length). A loop over character codes: segments are short, and
 * `startsWith` with a position cost more per call here.
 */
function sameAt(pathname: string, start: number, segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    if (pathname.charCodeAt(start + i) !== segment.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The smallest index below `at` of a template matching `pathname`, or
 * `best` when none is smaller. `start` is where the segment after `at`'s
 * begins, -1 when the path ends at `at`.
 */
function visit(at: Node, pathname: string, start: number, best: number): number {
  // A loop down the tree; a call of its own only where both a literal edge
  // and the parameter edge may hold a better match.
  for (;;) {
    if (at.min >= best) return best;
    const whole = at.whole;
    for (let i = 0; i < whole.length && whole[i].index < best; i++) {
      if (whole[i].test(pathname)) {
        best = whole[i].index;
        break;
      }
    }
    if (start < 0) return at.end < best ? at.end : best;
    if (at.wildcard < best) best = at.wildcard;
    const slash = pathname.indexOf("/", start);
    const end = slash < 0 ? pathname.length : slash;
    const next = slash < 0 ? -1 : slash + 1;
    let literal: Node | undefined;
    const only = at.only;
    if (only !== undefined) {
      if (end - start === only.segment.length && sameAt(pathname, start, only.segment)) {
        literal = only.node;
      }
    } else if (at.byLength !== undefined) {
      const edges = at.byLength[end - start];
      if (edges !== undefined) {
        for (let i = 0; i < edges.length; i++) {
          if (sameAt(pathname, start, edges[i].segment)) {
            literal = edges[i].node;
            break;
          }
        }
      }
    }
    const param = end > start ? at.param : undefined;
    if (literal !== undefined) {
      if (param !== undefined && param.min < best) best = visit(literal, pathname, next, best);
      else {
        at = literal;
        start = next;
        continue;
      }
    }
    if (param === undefined) return best;
    at = param;
    start = next;
  }
}

/**
 * Matches request paths against route templates written as `URLPattern`
 * pathnames (see the module documentation for what is compiled and how).
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
  readonly #root: Node = node();
  /**
   * Templates by index: exact ones first, then the patterns, each in
   * declared order, so the smallest index that matches is the answer.
   */
  readonly #templates: string[] = [];

  /** Builds the table; throws a `TypeError` naming a template that is not a valid pathname pattern. */
  constructor(templates: readonly string[] = []) {
    if (!Array.isArray(templates)) {
      throw new TypeError(`routes must be an array of pathname templates, got ${typeof templates}`);
    }
    const exact: [string, URLPattern][] = [];
    const patterns: [string, URLPattern][] = [];
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
      (SYNTAX.test(template) ? patterns : exact).push([template, pattern]);
    }
    for (const [template, pattern] of [...exact, ...patterns]) {
      this.#add(this.#templates.push(template) - 1, pattern);
    }
    RouteTable.#seal(this.#root);
  }

  #add(index: number, pattern: URLPattern): void {
    const canonical = pattern.pathname;
    let at = this.#root;
    const source = compileTemplate(canonical);
    if (source === undefined) {
      for (const segment of fixedSegments(canonical)) at = RouteTable.#literal(at, segment);
      const prefix = literalPrefix(canonical);
      at.whole.push({
        index,
        test: (pathname) => pathname.startsWith(prefix) && pattern.test({ pathname }),
      });
      return;
    }
    const segments = canonical.slice(1).split("/");
    for (let s = 0; s < segments.length; s++) {
      const segment = segments[s];
      if (segment === "*" && s === segments.length - 1) {
        if (at.wildcard === Infinity) at.wildcard = index;
        return;
      }
      if (!/[:*]/.test(segment)) at = RouteTable.#literal(at, segment);
      else if (WHOLE_PARAMETER.test(segment)) at = at.param ??= node();
      else {
        // Parts within a segment, or a `*` before the end: the whole
        // template as one regular expression, from here.
        const regex = new RegExp(`^${source}$`);
        at.whole.push({ index, test: (pathname) => regex.test(pathname) });
        return;
      }
    }
    if (at.end === Infinity) at.end = index;
  }

  static #literal(at: Node, segment: string): Node {
    let next = at.literal.get(segment);
    if (next === undefined) at.literal.set(segment, next = node());
    return next;
  }

  /** Sets `dispatch` and `min` below `at`; returns `at.min`. */
  static #seal(at: Node): number {
    let min = Math.min(at.end, at.wildcard, at.whole[0]?.index ?? Infinity);
    for (const [segment, next] of at.literal) {
      if (at.literal.size === 1) at.only = { segment, node: next };
      else {
        const byLength = at.byLength ??= [];
        while (byLength.length <= segment.length) byLength.push(undefined);
        (byLength[segment.length] ??= []).push({ segment, node: next });
      }
      min = Math.min(min, RouteTable.#seal(next));
    }
    if (at.param !== undefined) min = Math.min(min, RouteTable.#seal(at.param));
    return at.min = min;
  }

  /** The template `pathname` matches, or `"none"`. */
  match(pathname: string): string {
    if (this.#root.min === Infinity) return UNMATCHED_HANDLER;
    const index = visit(this.#root, pathname, 1, Infinity);
    return index === Infinity ? UNMATCHED_HANDLER : this.#templates[index];
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
