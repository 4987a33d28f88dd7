/**
 * Route matching benchmarks of `src/http/routes.ts`: `RouteTable.match` on
 * a table of 50 pattern templates (the shapes of a JSON API: nested
 * resources, `:name` parameters, a few `*` wildcards and mid-segment
 * parameters), and on the same table with two of them in a syntax only
 * `URLPattern` handles (a regexp group, an optional group), beside the same
 * table matched the way it was before the compiled matcher (an exact `Map`,
 * then each template's `URLPattern.test` in order), on the same paths in the
 * same run. Hits: one path per template, in a shuffled order. Misses: paths
 * a scanner sends, and paths that share a template's leading segments and
 * fail late.
 *
 * What measuring response sizes costs is measured on a real server, by
 * `http_sizes.ts` (in process, the differences were below what the garbage
 * collector moved single benchmarks by). `http_report.ts` turns the results
 * of this file into the README's table. Run:
 * `deno bench bench/http_router.bench.ts`.
 *
 * @module
 */

import { pathnameOf, RouteTable } from "../src/http/routes.ts";
import { HTTP_BENCH, HTTP_OPS } from "./_http_rows.ts";

// ---------------------------------------------------------------- the table

const RESOURCES = ["users", "orders", "products", "invoices", "teams", "projects"];

/** 50 pattern templates, in the order an application would declare them. */
const TEMPLATES: readonly string[] = [
  ...RESOURCES.flatMap((r) => [
    `/api/v1/${r}/:id`,
    `/api/v1/${r}/:id/history`,
    `/api/v1/${r}/:id/comments/:comment`,
    `/api/v2/${r}/:id`,
    `/api/v2/${r}/:id/attachments/*`,
  ]),
  "/api/v1/search/:index/:query",
  "/api/v1/export/:format.csv",
  "/api/v1/files/*",
  "/api/v2/:resource/:id/meta",
  "/auth/:provider/callback",
  "/auth/:provider/login",
  "/assets/*",
  "/docs/:page",
  "/docs/:section/:page",
  "/blog/:year/:slug",
  "/u/:username",
  "/u/:username/followers",
  "/api/v1/items/:id",
  "/api/v1/tags/:tag",
  "/health/:check",
  "/feeds/:name.xml",
  "/ws/:room",
  "/r/:code",
  "/api/v3/*",
  "/:lang/about",
];
if (TEMPLATES.length !== 50 || new Set(TEMPLATES).size !== 50) {
  throw new Error(`the table must hold 50 distinct templates, holds ${TEMPLATES.length}`);
}

/** The same table with two templates only URLPattern handles in place of their compiled forms. */
const MIXED: readonly string[] = TEMPLATES.map((t) =>
  t === "/api/v1/items/:id"
    ? "/api/v1/items/:id(\\d+)" // a regexp group
    : t === "/api/v1/tags/:tag"
    ? "/api/v1/tags{/:tag}?" // an optional group
    : t
);

/** A path matching `template`. */
function instance(template: string, k: number): string {
  return template
    .replace("{/:tag}?", "/t" + k)
    .replace(/:id\(\\d\+\)/, String(1000 + k))
    .replace("/items/:id", `/items/${1000 + k}`)
    .replace(/:[A-Za-z_]+/g, (name) => `${name.slice(1, 3)}${k}`)
    .replace("*", `a/b${k}/c.png`);
}

/** Seeded shuffle (mulberry32), so every run sees the same order. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** One path per template, shuffled. */
const HITS: readonly string[] = shuffled(TEMPLATES.map((t, k) => instance(t, k)), 7);

/** Scanner paths, and paths that fail late (a template's leading segments, then a wrong tail). */
const MISSES: readonly string[] = shuffled([
  ...[
    "/wp-admin/setup-config.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/index.php",
    "/cgi-bin/luci",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/actuator/health",
    "/solr/admin/info/system",
    "/boaform/admin/formLogin",
    "/owa/auth/logon.aspx",
    "/xmlrpc.php",
    "/HNAP1",
    "/config.json",
    "/server-status",
    "/login.action",
    "/api",
    "/api/v1",
    "/favicon.ico",
    "/robots.txt",
    "/sitemap.xml",
    "/index.html",
    "/admin",
    "/console",
    "/manager/html",
    "/debug/default/view",
  ],
  ...RESOURCES.flatMap((r) => [`/api/v1/${r}`, `/api/v1/${r}/1/unknown/x`]),
  "/api/v1/search/only-index",
  "/api/v1/export/report.pdf",
  "/api/v2/users/1/attachments",
  "/auth/github/logout",
  "/docs/a/b/c",
  "/blog/2026",
  "/u/ada/following",
  "/api/v1/items/1/2",
  "/feeds/news.json",
  "/r/abc/def",
  "/en/contact",
  "/api/v4/x",
  "/static/app.js",
], 11);

/** The table as it was matched before the compiled matcher: a Map, then URLPattern in order. */
class URLPatternTable {
  readonly #exact = new Map<string, string>();
  readonly #patterns: { template: string; pattern: URLPattern }[] = [];
  constructor(templates: readonly string[]) {
    for (const template of templates) {
      if (/[:*(){}?+\\]/.test(template)) {
        this.#patterns.push({ template, pattern: new URLPattern({ pathname: template }) });
      } else this.#exact.set(template, template);
    }
  }
  match(pathname: string): string {
    const exact = this.#exact.get(pathname);
    if (exact !== undefined) return exact;
    for (const { template, pattern } of this.#patterns) {
      if (pattern.test({ pathname })) return template;
    }
    return "none";
  }
}

const TABLES = {
  compiled: { ours: new RouteTable(TEMPLATES), peer: new URLPatternTable(TEMPLATES) },
  mixed: { ours: new RouteTable(MIXED), peer: new URLPatternTable(MIXED) },
};
for (const { ours, peer } of Object.values(TABLES)) {
  for (const path of [...HITS, ...MISSES]) {
    const a = ours.match(path);
    const b = peer.match(path);
    if (a !== b) throw new Error(`${path}: compiled "${a}", URLPattern "${b}"`);
    if ((a === "none") !== MISSES.includes(path)) throw new Error(`${path}: unexpected "${a}"`);
  }
}

/** Keeps results observable, so no match can be optimised away. */
let sink = 0;

/** Matches each of `paths` `rounds` times. */
function matchAll(
  table: { match(p: string): string },
  paths: readonly string[],
  rounds: number,
): void {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < paths.length; i++) sink += table.match(paths[i]).length;
  }
}

/**
 * Matches the path of each of `urls` as `instrument()` does: ours with
 * `matchUrl`, which reads the path in place in the URL; the previous
 * table, which had to hash a path for its exact-template `Map`, on the path
 * cut out with `pathnameOf`.
 */
function matchUrls(
  table: { match(p: string): string; matchUrl?(url: string): string },
  urls: readonly string[],
  rounds: number,
): void {
  if (table.matchUrl !== undefined) {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < urls.length; i++) sink += table.matchUrl(urls[i]).length;
    }
    return;
  }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < urls.length; i++) sink += table.match(pathnameOf(urls[i])).length;
  }
}

const GROUPS = [
  [HTTP_BENCH.hits, TABLES.compiled, HITS, matchAll],
  [HTTP_BENCH.misses, TABLES.compiled, MISSES, matchAll],
  [HTTP_BENCH.mixedHits, TABLES.mixed, HITS, matchAll],
  [HTTP_BENCH.mixedMisses, TABLES.mixed, MISSES, matchAll],
  [
    HTTP_BENCH.requestHits,
    TABLES.compiled,
    HITS.map((p) => `http://127.0.0.1:8000${p}?q=1`),
    matchUrls,
  ],
] as const;
for (const [group, { ours, peer }, paths, run] of GROUPS) {
  Deno.bench({
    name: HTTP_BENCH.ours,
    group,
    baseline: true,
    fn: () => run(ours, paths, HTTP_OPS.routeRounds),
  });
  // One pass: a URLPattern match costs about a thousand times more.
  Deno.bench({ name: HTTP_BENCH.urlpattern, group, fn: () => run(peer, paths, 1) });
}

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
