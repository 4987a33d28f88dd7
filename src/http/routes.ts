/**
 * Route templates for the `handler` label: a request is labelled with the
 * template it matches (`/users/:id`), never with its raw path, so the label's
 * values are bounded by the routes you declare.
 *
 * Templates are `URLPattern` pathnames, compiled once, when the table is
 * built, into a tree of path segments:
 *
 * - a literal segment (`users`) is an edge of the tree, found by its first
 *   character and compared in place, which also finds where the path's
 *   segment ends (no segment is sliced out, the path is never hashed, and
 *   its characters are read once, except where only a parameter takes the
 *   segment and its end is searched for);
 * - a template without pattern syntax is exact: its literal segments lead
 *   to the node it ends at;
 *   a whole-segment parameter (`:id`: one non-empty segment, no `/`) is the
 *   node's parameter edge; a final `/*` (anything, `/` included, possibly
 *   nothing) ends a template at its node;
 * - other segments made of literal text, `:name` and `*` (`x-:id`,
 *   `:name.csv`, a `*` before the last segment) are compiled into a
 *   matcher with URLPattern's semantics that takes time linear in the
 *   path's length (`compileMatcher`; not a backtracking regular
 *   expression), tested at the node their leading segments lead to;
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

/** A literal edge: a segment and the node it leads to. */
interface Edge {
  readonly segment: string;
  readonly node: Node;
}

/** No edges: what every first character without an edge dispatches to. */
const NO_EDGES: readonly Edge[] = [];

/**
 * "No template": larger than any template index, and a small integer, so
 * that V8 keeps every index field of a node a small integer (with
 * `Infinity` they were heap numbers).
 */
const NONE = 0x3fffffff;

/** A node of the segment tree: the templates whose leading segments lead here. */
class Node {
  /** Literal segment edges (while building). */
  readonly literal: Map<string, Node> = new Map();
  /**
   * The non-empty literal edges by the character code of their first
   * character (ASCII: a canonical segment is percent-encoded), set by
   * `#seal`. The path's characters are then read once, by the comparison
   * with the few edges that start the same way, which also finds where the
   * segment ends: no search for the next `/` unless only the parameter edge
   * can take the segment.
   */
  first: readonly (readonly Edge[])[] = [];
  /** The literal edge for an empty segment (`//`). */
  empty: Node | undefined = undefined;
  /** The whole-segment parameter edge. */
  param: Node | undefined = undefined;
  /** Index of the first template that ends at this node. */
  end = NONE;
  /** Index of the first template that is this node followed by `/*`. */
  wildcard = NONE;
  /** Templates tested as a whole here, in declared order. */
  readonly whole: Candidate[] = [];
  /** Whether `whole` has any (set by `#seal`): most nodes have none. */
  hasWhole = false;
  /** The smallest index of any template at or below this node, set by `#seal`. */
  min = NONE;
}

/** A part of a compiled template: literal text, `:name` (`PARAM`) or `*` (`STAR`). */
type Part = string | typeof PARAM | typeof STAR;
/** `:name`: one or more characters other than `/` (URLPattern's `[^/]+?`). */
const PARAM = 0;
/** `*`: any characters but line terminators, possibly none (URLPattern's `.*`). */
const STAR = 1;

/**
 * The parts of a canonical URLPattern pathname (`new URLPattern({ pathname }).pathname`)
 * made only of literal text, `:name` and `*`; `undefined` for any other
 * syntax, left to URLPattern.
 */
function templateParts(canonical: string): Part[] | undefined {
  if (NOT_COMPILED.test(canonical) || !canonical.startsWith("/")) return undefined;
  const parts: Part[] = [];
  let literal = "";
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
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(PARAM);
      i = partEnd = j;
    } else if (c === "*") {
      if (partEnd === i) return undefined; // `*` after a part is a modifier
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(STAR);
      i = partEnd = i + 1;
    } else {
      literal += c;
      i++;
    }
  }
  if (literal !== "") parts.push(literal);
  return parts;
}

/** The position lists of `compileMatcher`'s matchers (see there). */
let positionsA = new Int32Array(256);
let positionsB = new Int32Array(256);

/** Whether `c` is a line terminator, which `.` (and so `*`) does not match. */
const lineTerminator = (c: number) => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;

/**
 * A test of whether a whole path matches a canonical URLPattern pathname
 * (`new URLPattern({ pathname }).pathname`) made only of literal text,
 * `:name` and `*`, with URLPattern's semantics (`:name` is `[^/]+?`, `*` is
 * `.*`), in time linear in the path's length times the template's parts;
 * `undefined` for any other syntax, left to URLPattern. The same template as
 * a regular expression takes a backtracking engine (V8's) polynomial time
 * (`/:a-:b-:c-:d.x` on a 200-character path of `-`: 240 ms), which a client
 * choosing the path could turn into a stalled server; this walks the parts
 * over the set of positions reached so far instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileMatcher } from "./routes.ts";
 * const test = compileMatcher("/files/:name-:version.tgz")!;
 * assert.equal(test("/files/left-pad-1.3.0.tgz"), true);
 * assert.equal(test("/files/left-pad.tgz/x"), false);
 * ```
 */
export function compileMatcher(canonical: string): ((path: string) => boolean) | undefined {
  const parts = templateParts(canonical);
  if (parts === undefined) return undefined;
  const first = parts[0];
  const last = parts[parts.length - 1];
  const variable = parts.filter((part) => typeof part !== "string");
  if (variable.length === 1) {
    // Literal text, one `:name` or `*`, literal text: the middle is what is
    // left between the two, checked in one pass.
    const head = typeof first === "string" ? first : "";
    const tail = parts.length > 1 && typeof last === "string" ? last : "";
    const param = variable[0] === PARAM;
    const least = head.length + tail.length + (param ? 1 : 0);
    return (path) => {
      if (path.length < least || !path.startsWith(head) || !path.endsWith(tail)) return false;
      const end = path.length - tail.length;
      for (let i = head.length; i < end; i++) {
        const c = path.charCodeAt(i);
        if (param ? c === 0x2f : lineTerminator(c)) return false;
      }
      return true;
    };
  }
  return (path) => {
    const n = path.length;
    // A template starts with "/", and most end with literal text: quick
    // refusals of most paths.
    if (typeof first === "string" && !path.startsWith(first)) return false;
    if (typeof last === "string" && !path.endsWith(last)) return false;
    // The positions the parts so far can end at, ascending, without
    // repeats: at most n + 1 of them. The two lists are shared by every
    // matcher (a match runs to its end without calling out), grown to the
    // longest path seen.
    if (n >= positionsA.length) {
      positionsA = new Int32Array(2 * n + 2);
      positionsB = new Int32Array(2 * n + 2);
    }
    let from = positionsA;
    let to = positionsB;
    from[0] = 0;
    let count = 1;
    for (let k = 0; k < parts.length; k++) {
      const part = parts[k];
      let out = 0;
      if (part === PARAM) {
        // q in (p, the end of p's segment], for each p.
        let done = 0; // positions below this are emitted already
        for (let i = 0; i < count; i++) {
          const p = from[i];
          let q = p + 1 > done ? p + 1 : done;
          while (q <= n && path.charCodeAt(q - 1) !== 0x2f) to[out++] = q++;
          done = q;
        }
      } else if (part === STAR) {
        // q in [p, the first line terminator at or after p], for each p.
        let done = 0;
        for (let i = 0; i < count; i++) {
          // A position below `done` reaches only what the one before it did:
          // up to the same line terminator.
          let q = from[i];
          if (q < done) continue;
          for (;;) {
            to[out++] = q;
            if (q >= n || lineTerminator(path.charCodeAt(q))) break;
            q++;
          }
          done = q + 1;
        }
      } else {
        const length = part.length;
        for (let i = 0; i < count; i++) {
          const p = from[i];
          if (p + length <= n && path.startsWith(part, p)) to[out++] = p + length;
        }
      }
      if (out === 0) return false;
      count = out;
      const swap = from;
      from = to;
      to = swap;
    }
    return from[count - 1] === n;
  };
}

/**
 * The leading segments of a canonical URLPattern pathname that every
 * matching path has, each followed by `/`, for a pattern `compileMatcher`
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
 * The index after `segment` in `pathname` when `pathname` holds it, from
 * its second character, at `start` (whose first character the caller
 * compared), as a whole segment (followed by `/` or the end); -1 when not.
 * A loop over character codes: segments are short, and `startsWith` with a
 * position cost more per call here.
 */
function segmentAt(pathname: string, start: number, segment: string): number {
  const end = start + segment.length;
  if (end > pathname.length || (end < pathname.length && pathname.charCodeAt(end) !== 0x2f)) {
    return -1;
  }
  for (let i = 1; i < segment.length; i++) {
    if (pathname.charCodeAt(start + i) !== segment.charCodeAt(i)) return -1;
  }
  return end;
}

/**
 * The smallest index below `at` of a template matching `pathname`, or
 * `best` when none is smaller. `start` is where the segment after `at`'s
 * begins, -1 when the path ends at `at`.
 */
function visit(at: Node, pathname: string, start: number, best: number): number {
  // A loop down the tree; a call of its own only where both a literal edge
  // and the parameter edge may hold a better match.
  const length = pathname.length;
  for (;;) {
    if (at.min >= best) return best;
    if (at.hasWhole) {
      const whole = at.whole;
      for (let i = 0; i < whole.length && whole[i].index < best; i++) {
        if (whole[i].test(pathname)) {
          best = whole[i].index;
          break;
        }
      }
    }
    if (start < 0) return at.end < best ? at.end : best;
    if (at.wildcard < best) best = at.wildcard;
    const c = start < length ? pathname.charCodeAt(start) : 0x2f;
    if (c === 0x2f) {
      // An empty segment: only a literal empty edge takes it.
      if (at.empty === undefined) return best;
      at = at.empty;
      start = start < length ? start + 1 : -1;
      continue;
    }
    const edges = c < at.first.length ? at.first[c] : undefined;
    let literal: Node | undefined;
    let end = -1;
    if (edges !== undefined) {
      for (let i = 0; i < edges.length; i++) {
        end = segmentAt(pathname, start, edges[i].segment);
        if (end >= 0) {
          literal = edges[i].node;
          break;
        }
      }
    }
    const param = at.param;
    if (literal !== undefined) {
      const next = end < length ? end + 1 : -1;
      if (param !== undefined && param.min < best) {
        best = visit(literal, pathname, next, best);
      } else {
        at = literal;
        start = next;
        continue;
      }
      at = param;
      start = next;
      continue;
    }
    if (param === undefined) return best;
    const slash = pathname.indexOf("/", start);
    at = param;
    start = slash < 0 ? -1 : slash + 1;
  }
}

/**
 * Matches request paths against route templates written as `URLPattern`
 * pathnames (`/users/:id`, `/static/*`), compiled once into a tree of path
 * segments, and answers the template a path matches: the `handler` label
 * `instrument({ routes })` records, or a key to dispatch on in an app
 * without a router. An exact template wins; otherwise the first template
 * that matches, in the order given; `"none"` (`UNMATCHED_HANDLER`) when
 * none does.
 *
 * Semantics are `URLPattern`'s, on paths as a URL serializes them:
 * `:name` is one non-empty segment, `*` anything (`/` included, possibly
 * nothing), literal text is compared in its canonical (percent-encoded)
 * form. Templates made of literal segments, whole-segment `:name` and a
 * final `/*` are walked segment by segment without allocating (about
 * 50-100 ns per match in a table of 50, hits and misses alike; see the
 * README's benchmarks); mixed segments (`:name.csv`) are tested as a whole
 * in time linear in the path's length; regexp groups, modifiers and `{}` groups fall back to
 * `URLPattern` itself, tried only on paths that start with the template's
 * literal prefix.
 *
 * The constructor throws a `TypeError` naming the first template that is
 * not a string starting with `/` or not a valid `URLPattern` pathname.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RouteTable } from "./routes.ts";
 * const routes = new RouteTable(["/metrics", "/users/:id", "/static/*"]);
 * assert.equal(routes.match("/users/42"), "/users/:id");
 * assert.equal(routes.match("/static/css/site.css"), "/static/*");
 * assert.equal(routes.match("/wp-admin"), "none");
 * assert.equal(routes.matchUrl("http://localhost:8000/users/7?tab=posts"), "/users/:id");
 * ```
 */
export class RouteTable {
  readonly #root: Node = new Node();
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
    const matcher = compileMatcher(canonical);
    if (matcher === undefined) {
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
        if (at.wildcard === NONE) at.wildcard = index;
        return;
      }
      if (!/[:*]/.test(segment)) at = RouteTable.#literal(at, segment);
      else if (WHOLE_PARAMETER.test(segment)) at = at.param ??= new Node();
      else {
        // Parts within a segment, or a `*` before the end: the whole
        // template, tested by its linear matcher from here.
        at.whole.push({ index, test: matcher });
        return;
      }
    }
    if (at.end === NONE) at.end = index;
  }

  static #literal(at: Node, segment: string): Node {
    let next = at.literal.get(segment);
    if (next === undefined) at.literal.set(segment, next = new Node());
    return next;
  }

  /** Sets the edge dispatch (`first`, `empty`) and `min` below `at`; returns `at.min`. */
  static #seal(at: Node): number {
    let min = Math.min(at.end, at.wildcard, at.whole[0]?.index ?? NONE);
    at.hasWhole = at.whole.length > 0;
    const first: Edge[][] = [];
    for (const [segment, next] of at.literal) {
      if (segment === "") at.empty = next;
      else {
        const c = segment.charCodeAt(0);
        while (first.length <= c) first.push(NO_EDGES as Edge[]);
        if (first[c] === NO_EDGES) first[c] = [];
        first[c].push({ segment, node: next });
      }
      min = Math.min(min, RouteTable.#seal(next));
    }
    at.first = first;
    if (at.param !== undefined) min = Math.min(min, RouteTable.#seal(at.param));
    return at.min = min;
  }

  /**
   * The template `pathname` (a URL's path, as `URL.pathname` gives it)
   * matches, or `"none"`.
   *
   * @param pathname The path to match, starting with `/`.
   * @returns The first matching template, as it was given; `"none"` when no template matches.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RouteTable } from "./routes.ts";
   * const routes = new RouteTable(["/users/:id", "/users/me"]);
   * assert.equal(routes.match("/users/me"), "/users/me"); // an exact template wins
   * assert.equal(routes.match("/users/42"), "/users/:id");
   * ```
   */
  match(pathname: string): string {
    if (this.#root.min === NONE) return UNMATCHED_HANDLER;
    const index = visit(this.#root, pathname, 1, NONE);
    return index === NONE ? UNMATCHED_HANDLER : this.#templates[index];
  }

  /**
   * The template the path of `url` matches, or `"none"`: `match` on the
   * path cut out of an absolute URL string (`request.url`) without parsing
   * the whole URL; the query and fragment are left out.
   *
   * @param url An absolute URL string, as `Request.url` holds it.
   * @returns The first template its path matches; `"none"` when no template matches.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RouteTable } from "./routes.ts";
   * const routes = new RouteTable(["/users/:id"]);
   * const request = new Request("http://localhost/users/42?tab=posts");
   * assert.equal(routes.matchUrl(request.url), "/users/:id");
   * ```
   */
  matchUrl(url: string): string {
    return this.match(pathnameOf(url));
  }
}

/** The pathname of an absolute URL string, without parsing the whole URL. */
export function pathnameOf(url: string): string {
  // "http://" and "https://" without a search for "://".
  let authority: number;
  if (url.startsWith("http://")) authority = 7;
  else if (url.startsWith("https://")) authority = 8;
  else {
    const scheme = url.indexOf("://");
    authority = scheme < 0 ? 0 : scheme + 3;
  }
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
