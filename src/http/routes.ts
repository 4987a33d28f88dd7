/**
 * Route templates for the `handler` label: a request is labelled with the
 * template it matches (`/users/:id`), never with its raw path, so the label's
 * values are bounded by the routes you declare.
 *
 * @module
 */

/** Label value for a request that matches no declared route. */
export const UNMATCHED_HANDLER = "none";

/**
 * Matches request paths against route templates written as `URLPattern`
 * pathnames. Templates without pattern syntax are looked up in a `Map`, so
 * the common case costs one hash lookup; the others are tried in order.
 *
 * @example
 * ```ts
 * import { RouteTable } from "./routes.ts";
 * const routes = new RouteTable(["/metrics", "/users/:id"]);
 * routes.match("/users/42"); // "/users/:id"
 * routes.match("/wp-admin"); // "none"
 * ```
 */
export class RouteTable {
  readonly #exact = new Map<string, string>();
  readonly #patterns: { template: string; pattern: URLPattern }[] = [];

  /** Builds the table; throws a `TypeError` naming a template that is not a valid pathname pattern. */
  constructor(templates: readonly string[] = []) {
    for (const template of templates) {
      if (typeof template !== "string" || !template.startsWith("/")) {
        throw new TypeError(
          `Route ${JSON.stringify(template)} must be a pathname starting with "/"`,
        );
      }
      if (/[:*(){}?+\\]/.test(template)) {
        let pattern: URLPattern;
        try {
          pattern = new URLPattern({ pathname: template });
        } catch (error) {
          throw new TypeError(
            `Route "${template}" is not a valid URLPattern pathname: ${(error as Error).message}`,
          );
        }
        this.#patterns.push({ template, pattern });
      } else {
        this.#exact.set(template, template);
      }
    }
  }

  /** The template `pathname` matches, or `"none"`. */
  match(pathname: string): string {
    const exact = this.#exact.get(pathname);
    if (exact !== undefined) return exact;
    for (const { template, pattern } of this.#patterns) {
      if (pattern.test({ pathname })) return template;
    }
    return UNMATCHED_HANDLER;
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
