import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  compileMatcher,
  pathnameOf,
  RouteTable,
  UNMATCHED_HANDLER,
} from "../../src/http/routes.ts";
import { int, mulberry32, pick, type Random } from "../_support/random.ts";

describe("RouteTable", () => {
  it("labels an unmatched path 'none', as the instrumentator does", () => {
    assert.equal(UNMATCHED_HANDLER, "none");
    assert.equal(new RouteTable().match("/anything"), "none");
    assert.equal(new RouteTable(["/metrics"]).match("/wp-admin"), "none");
  });

  it("exact templates match only that pathname", () => {
    const t = new RouteTable(["/metrics", "/", "/api/v1/items"]);
    assert.equal(t.match("/metrics"), "/metrics");
    assert.equal(t.match("/"), "/");
    assert.equal(t.match("/api/v1/items"), "/api/v1/items");
    for (
      const p of [
        "/metrics/",
        "/Metrics",
        "/metricsx",
        "//",
        "/api/v1",
        "/api/v1/items/1",
      ]
    ) {
      assert.equal(t.match(p), "none", p);
    }
  });

  it("a named parameter matches one non-empty segment and labels with the template", () => {
    const t = new RouteTable(["/users/:id", "/users/:id/posts/:post"]);
    assert.equal(t.match("/users/42"), "/users/:id");
    assert.equal(t.match("/users/a%20b"), "/users/:id");
    assert.equal(t.match("/users/42/posts/7"), "/users/:id/posts/:post");
    for (
      const p of [
        "/users",
        "/users/",
        "/users/42/posts",
        "/users/42/x/7",
        "/userss/1",
      ]
    ) {
      assert.equal(t.match(p), "none", p);
    }
  });

  it("wildcards and regexp groups work as URLPattern defines them", () => {
    const t = new RouteTable([
      "/static/*",
      "/items/:id(\\d+)",
      "/api{/v1}?/ping",
    ]);
    assert.equal(t.match("/static/a/b/c.css"), "/static/*");
    assert.equal(t.match("/items/123"), "/items/:id(\\d+)");
    assert.equal(t.match("/items/abc"), "none");
    assert.equal(t.match("/api/v1/ping"), "/api{/v1}?/ping");
    assert.equal(t.match("/api/ping"), "/api{/v1}?/ping");
    assert.equal(t.match("/api/v2/ping"), "none");
  });

  it("an exact template wins over a pattern; patterns are tried in declaration order", () => {
    const t = new RouteTable([
      "/users/:id",
      "/users/me",
      "/files/:name",
      "/files/*",
    ]);
    assert.equal(t.match("/users/me"), "/users/me");
    assert.equal(t.match("/users/you"), "/users/:id");
    assert.equal(t.match("/files/a"), "/files/:name");
    assert.equal(t.match("/files/a/b"), "/files/*");
  });

  it("literal segments that share first characters, prefixes or are empty are told apart", () => {
    const t = new RouteTable([
      "/a",
      "/ab",
      "/abc/:id",
      "/abd/x",
      "/a//b",
      "/a/",
      "/b/:id/ab",
      "/b/:id/a",
      "/b/:id/",
      "/:any/abc",
    ]);
    const cases: [string, string][] = [
      ["/a", "/a"],
      ["/ab", "/ab"],
      ["/abc", "none"],
      ["/abc/1", "/abc/:id"],
      ["/abc/", "none"],
      ["/abd/x", "/abd/x"],
      ["/abd/xy", "none"],
      ["/abe/x", "none"],
      ["/a/", "/a/"],
      ["/a//b", "/a//b"],
      ["/a//c", "none"],
      ["//b", "none"],
      ["/b/7/ab", "/b/:id/ab"],
      ["/b/7/a", "/b/:id/a"],
      ["/b/7/", "/b/:id/"],
      ["/b/7/abc", "none"],
      ["/b//ab", "none"],
      ["/ab/abc", "/:any/abc"],
      ["/a/abc", "/:any/abc"],
      ["/%C3%A9/abc", "/:any/abc"],
      ["/é/abc", "/:any/abc"],
    ];
    for (const [path, template] of cases) {
      assert.equal(t.match(path), template, path);
      assert.equal(
        new URLPattern({ pathname: template }).test({ pathname: path }) ||
          template === "none",
        true,
        `${path} ~ ${template}`,
      );
    }
  });

  it("matchUrl matches the path of an absolute URL, without query or fragment", () => {
    const t = new RouteTable(["/users/:id", "/"]);
    assert.equal(t.matchUrl("http://localhost:8000/users/42?tab=posts#top"), "/users/:id");
    assert.equal(t.matchUrl(new Request("http://[::1]/users/a%20b").url), "/users/:id");
    assert.equal(t.matchUrl("http://localhost"), "/");
    assert.equal(t.matchUrl("http://localhost/users"), "none");
  });

  it("an invalid template is a TypeError naming it", () => {
    for (const bad of ["users", "", "/users/:", "/(", "/a/:id(["]) {
      assert.throws(
        () => new RouteTable([bad]),
        (e: unknown) =>
          e instanceof TypeError &&
          e.message.includes(JSON.stringify(bad).slice(1, -1)),
        bad,
      );
    }
    assert.throws(() => new RouteTable([42 as unknown as string]), TypeError);
    assert.throws(
      () => new RouteTable([undefined as unknown as string]),
      TypeError,
    );
  });
});

// ------------------------------------------------------------ the compiled matcher

/** Pieces of random templates: literal text (some that canonicalization rewrites), parts, and syntax the compiler leaves to URLPattern. */
const LITERALS = [
  "a",
  "b",
  "users",
  "v1",
  "x-y",
  "a.b",
  "~",
  "%41",
  "%7e",
  ".",
  "..",
  "%2e",
  "é",
  " ",
  "$",
  "@",
  "'",
  ";",
  "=",
  ",",
  "!",
  "&",
];
const PARTS = [":id", ":a", ":_b2", "*"];
const FALLBACK = [
  ":id(\\d+)",
  ":id?",
  ":id+",
  "*?",
  "{/x}?",
  "{a}",
  "\\.",
  ":id(a|b)",
];

function randomTemplate(rand: Random): string {
  let t = "";
  const segments = 1 + int(rand, 4);
  for (let s = 0; s < segments; s++) {
    t += "/";
    const pieces = int(rand, 4); // an empty segment now and then
    for (let p = 0; p < pieces; p++) {
      const r = rand();
      t += r < 0.55 ? pick(rand, LITERALS) : r < 0.93 ? pick(rand, PARTS) : pick(rand, FALLBACK);
    }
  }
  return t;
}

/** A path a request could have, as a URL serializes it: often an instance of one of `templates`. */
function randomPath(rand: Random, templates: readonly string[]): string {
  const segment = () => {
    let s = "";
    for (let n = int(rand, 4); n > 0; n--) {
      s += rand() < 0.7 ? pick(rand, LITERALS) : pick(rand, ["1", "42", "é/x", "%2F"]);
    }
    return s;
  };
  let raw: string;
  if (templates.length > 0 && rand() < 0.7) {
    raw = pick(rand, templates)
      .replace(
        /:[A-Za-z_$][\w$]*(\([^)]*\))?[?+]?/g,
        () => rand() < 0.9 ? segment() || "z" : "",
      )
      .replace(
        /\*[?+]?/g,
        () => rand() < 0.5 ? segment() : `${segment()}/${segment()}`,
      )
      .replace(/[{}\\]/g, "");
    if (rand() < 0.2) raw += pick(rand, ["/", "x", "/x"]);
  } else {
    raw = "";
    for (let n = 1 + int(rand, 4); n > 0; n--) raw += "/" + segment();
  }
  // Prefixed, not resolved: "//x" is a path here, not an authority.
  return new URL(`http://h${raw}`).pathname;
}

/** What the table must answer, from URLPattern alone: exact templates first, then patterns in order. */
function reference(
  patterns: readonly (readonly [string, URLPattern])[],
  pathname: string,
): string {
  const exact = patterns.find(([t, p]) => !/[:*(){}?+\\]/.test(t) && p.test({ pathname }));
  if (exact !== undefined) return exact[0];
  return patterns.find(([, p]) => p.test({ pathname }))?.[0] ??
    UNMATCHED_HANDLER;
}

/** The URLPattern of `template`, or `undefined` when it is not a valid pathname pattern. */
function patternOf(template: string): URLPattern | undefined {
  try {
    return new URLPattern({ pathname: template });
  } catch {
    return undefined;
  }
}

describe("RouteTable: the compiled matcher against URLPattern", () => {
  it("compiles literal text, :name and *, and leaves other syntax to URLPattern", () => {
    const compiled = (t: string) => compileMatcher(new URLPattern({ pathname: t }).pathname);
    const users = compiled("/users/:id")!;
    assert.deepEqual(["/users/42", "/users/", "/users/4/2"].map(users), [true, false, false]);
    const files = compiled("/static/*")!;
    assert.deepEqual(["/static/", "/static/a/b", "/stati"].map(files), [true, true, false]);
    const mixed = compiled("/api/v1/:a/x-:b")!;
    assert.deepEqual(
      ["/api/v1/q/x-1", "/api/v1/q/x-", "/api/v1//x-1", "/api/v1/q/x-1/"].map(mixed),
      [true, false, false, false],
    );
    // `*` does not cross a line terminator, as `.` does not (also where an
    // earlier position of the same run was reached first).
    for (const [t, path] of [["/*a*b", "/aa\nb"], ["/*a*b", "/a\u2028ab"], ["/x*", "/x\r"]]) {
      const regex = new RegExp(`^${t.replaceAll("*", ".*").replaceAll("/", "\\/")}$`);
      assert.equal(compiled(t)!(path), regex.test(path), `${t} on ${JSON.stringify(path)}`);
    }
    for (
      const t of [
        "/items/:id(\\d+)",
        "/users/:id?",
        "/files/:path+",
        "/a/**",
        "/api{/v1}?",
        "/.:ext",
      ]
    ) {
      assert.equal(compiled(t), undefined, t);
    }
  });

  it("each compiled template matches exactly the paths its URLPattern matches (2,000 random templates)", () => {
    const seed = 20261127;
    const rand = mulberry32(seed);
    let compiledCount = 0;
    for (let n = 0; n < 2000; n++) {
      const template = randomTemplate(rand);
      const pattern = patternOf(template);
      if (pattern === undefined) continue;
      const matcher = compileMatcher(pattern.pathname);
      if (matcher === undefined) continue;
      compiledCount++;
      for (let k = 0; k < 20; k++) {
        const path = randomPath(rand, [template]);
        const where: string = `seed ${seed}: template ${JSON.stringify(template)} (canonical ` +
          `${JSON.stringify(pattern.pathname)}), path ${JSON.stringify(path)}`;
        const expected: boolean = pattern.test({ pathname: path });
        assert.equal(matcher(path), expected, where);
      }
    }
    assert.ok(
      compiledCount > 500,
      `only ${compiledCount} random templates compiled`,
    );
  });

  it("compiled templates take linear time: a path chosen against a backtracking engine is answered at once", async () => {
    // On these, V8's regular expressions (what the table ran before) take
    // O(n^4) steps: about 240 ms for 200 characters, hours for 20,000. The
    // match runs in a worker so that a regression fails here (deadline
    // 60 s; linear time is milliseconds) instead of hanging the suite.
    const cases = [
      ["/:a-:b-:c-:d.x", "/" + "-".repeat(20_000) + "y"],
      ["/a*b*c*d*e", "/a" + "bcd".repeat(7_000) + "x"],
      ["/files/:name-:version.tgz", "/files/" + "-".repeat(20_000) + ".tgz/"],
    ];
    const source = `
      import { RouteTable } from ${
      JSON.stringify(new URL("../../src/http/routes.ts", import.meta.url).href)
    };
      self.onmessage = (e) => {
        const [template, path] = e.data;
        self.postMessage(new RouteTable([template]).match(path));
      };`;
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    try {
      for (const [template, path] of cases) {
        const worker = new Worker(url, { type: "module" });
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          const answer = await new Promise((resolve, reject) => {
            worker.onmessage = (e) => resolve(e.data);
            worker.onerror = (e) => reject(new Error(String(e.message)));
            timer = setTimeout(
              () =>
                reject(new Error(`${template} on ${path.length} characters: no answer in 60 s`)),
              60_000,
            );
            worker.postMessage([template, path]);
          });
          assert.equal(answer, UNMATCHED_HANDLER, template);
        } finally {
          clearTimeout(timer);
          worker.terminate();
        }
      }
    } finally {
      URL.revokeObjectURL(url);
    }
  });

  it("tables of random templates answer what URLPattern answers, first match in declared order", () => {
    const seed = 4711;
    const rand = mulberry32(seed);
    for (let n = 0; n < 300; n++) {
      const size = 1 + int(rand, n % 10 === 0 ? 50 : 8);
      const patterns: [string, URLPattern][] = [];
      while (patterns.length < size) {
        const t = randomTemplate(rand);
        const p = patternOf(t);
        if (p !== undefined) patterns.push([t, p]);
      }
      const templates = patterns.map(([t]) => t);
      const table = new RouteTable(templates);
      for (let k = 0; k < 30; k++) {
        const path = randomPath(rand, templates);
        const expected = reference(patterns, path);
        const where = `seed ${seed}, table ${n}: ${JSON.stringify(templates)}, path ${
          JSON.stringify(path)
        }`;
        assert.equal(table.match(path), expected, where);
        // matchUrl reads the path in place in a whole URL, with a query or
        // fragment after it (which may hold "/"), and cuts it out only for
        // templates tested as a whole.
        // (Chosen by position, not by `rand`, so the tables and paths stay
        // those of the seed.)
        if (!/[?#]/.test(path)) {
          const url = ["http://h", "https://[::1]:8443", "ws://u:p@h:1"][k % 3] + path +
            ["", "?", "?a=/users/1", "#/x", "?q#f/g"][(n + k) % 5];
          assert.equal(table.matchUrl(url), expected, `${where}, url ${JSON.stringify(url)}`);
        }
      }
    }
  });

  it("literal text is matched in its canonical form, as URLPattern does", () => {
    const t = new RouteTable([
      "/café",
      "/a b/:id",
      "/x/./y/:id",
      "/docs/../about",
    ]);
    assert.equal(t.match("/caf%C3%A9"), "/café");
    assert.equal(t.match("/a%20b/1"), "/a b/:id");
    assert.equal(t.match("/x/y/1"), "/x/./y/:id");
    assert.equal(t.match("/about"), "/docs/../about");
    // Two templates with one canonical form: the first declared labels the request.
    const pairs = [["/x/./y/*", "/x/y/*", "/x/y/1"], ["/u/./v/:id", "/u/v/:id", "/u/v/1"], [
      "/e/./x",
      "/e/x",
      "/e/x",
    ]];
    for (const [a, b, path] of pairs) {
      assert.equal(new RouteTable([a, b]).match(path), a, path);
      assert.equal(new RouteTable([b, a]).match(path), b, path);
    }
  });

  it("a table of 50 templates, deep and shallow, mixed with URLPattern-only ones, keeps declared order", () => {
    const templates: string[] = [];
    for (let i = 0; i < 12; i++) {
      templates.push(
        `/api/v1/r${i}/:id`,
        `/api/v1/r${i}/:id/sub/*`,
        `/r${i}/:a-:b`,
      );
    }
    templates.push("/api/v1/:kind/:id(\\d+)", "/api/*", "/:lang/about", "/*");
    const table = new RouteTable(templates);
    assert.equal(table.match("/api/v1/r3/7"), "/api/v1/r3/:id");
    assert.equal(table.match("/api/v1/r3/7/sub/a/b"), "/api/v1/r3/:id/sub/*");
    assert.equal(table.match("/api/v1/other/7"), "/api/v1/:kind/:id(\\d+)");
    assert.equal(table.match("/api/v1/other/x"), "/api/*");
    assert.equal(table.match("/r5/x-y"), "/r5/:a-:b");
    assert.equal(table.match("/en/about"), "/:lang/about");
    assert.equal(table.match("/wp-admin/x"), "/*");
    // "/*" first: it wins over everything but exact templates.
    const first = new RouteTable(["/*", "/users/:id", "/users/me"]);
    assert.equal(first.match("/users/1"), "/*");
    assert.equal(first.match("/users/me"), "/users/me");
  });

  it("routes that are not an array are a TypeError", () => {
    assert.throws(
      () => new RouteTable("/users/:id" as unknown as string[]),
      TypeError,
    );
  });
});

describe("pathnameOf", () => {
  it("returns the pathname without query or fragment", () => {
    assert.equal(pathnameOf("http://h/a/b?x=1"), "/a/b");
    assert.equal(pathnameOf("http://h/a/b#frag"), "/a/b");
    assert.equal(pathnameOf("http://h/a?x=1#frag"), "/a");
    assert.equal(pathnameOf("http://h/a#frag?x=1"), "/a");
    assert.equal(pathnameOf("http://h/a?x=/y#/z"), "/a");
    assert.equal(pathnameOf("http://h/"), "/");
  });

  it("a URL with no path has pathname '/'", () => {
    assert.equal(pathnameOf("http://h"), "/");
    assert.equal(pathnameOf("http://h:8000"), "/");
    assert.equal(pathnameOf("http://h?x=1"), "/");
    assert.equal(pathnameOf("http://h#frag"), "/");
  });

  it("a slash in the query or fragment of a path-less URL is not the path", () => {
    assert.equal(pathnameOf("http://h?next=/admin"), "/");
    assert.equal(pathnameOf("http://h:8000#/route"), "/");
  });

  it("IPv6 hosts, ports and userinfo do not confuse it", () => {
    assert.equal(pathnameOf("http://[::1]:8000/metrics"), "/metrics");
    assert.equal(pathnameOf("http://[2001:db8::1]/a?b"), "/a");
    assert.equal(pathnameOf("http://[::1]"), "/");
    assert.equal(pathnameOf("http://user:pw@h:1/x"), "/x");
  });

  it("agrees with URL.pathname on every Request URL", () => {
    // A Request's url is already normalized, which is what the wrapper sees.
    const inputs = [
      "http://h",
      "http://h?q=/x",
      "http://h#/x",
      "http://[::1]:9/a/b?c#d",
      "https://example.com:8443/a/../b/./c",
      "http://h/a b/%7e?x y",
      "http://h/users/42/",
      "http://h//double//slash",
      "http://h/é/ü?ä",
      "http://h/a;b=c/d",
      "http://user:p%40ss@h/x",
    ];
    for (const input of inputs) {
      const url = new Request(input).url;
      assert.equal(pathnameOf(url), new URL(input).pathname, input);
    }
  });

  it("agrees with URL.pathname on already normalized absolute URLs", () => {
    const inputs = [
      "http://h/",
      "http://h/?a=/b",
      "http://h/x#y/z",
      "ws://h:1/socket",
      "file:///etc/hosts",
      "http://[fe80::1%25eth0]/p",
    ];
    for (const input of inputs) {
      let expected: string;
      try {
        expected = new URL(input).pathname;
      } catch {
        continue; // not every runtime accepts zone ids
      }
      assert.equal(pathnameOf(input), expected, input);
    }
  });
});
