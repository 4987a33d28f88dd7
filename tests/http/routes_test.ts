import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pathnameOf, RouteTable, UNMATCHED_HANDLER } from "../../src/http/routes.ts";

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
    for (const p of ["/metrics/", "/Metrics", "/metricsx", "//", "/api/v1", "/api/v1/items/1"]) {
      assert.equal(t.match(p), "none", p);
    }
  });

  it("a named parameter matches one non-empty segment and labels with the template", () => {
    const t = new RouteTable(["/users/:id", "/users/:id/posts/:post"]);
    assert.equal(t.match("/users/42"), "/users/:id");
    assert.equal(t.match("/users/a%20b"), "/users/:id");
    assert.equal(t.match("/users/42/posts/7"), "/users/:id/posts/:post");
    for (const p of ["/users", "/users/", "/users/42/posts", "/users/42/x/7", "/userss/1"]) {
      assert.equal(t.match(p), "none", p);
    }
  });

  it("wildcards and regexp groups work as URLPattern defines them", () => {
    const t = new RouteTable(["/static/*", "/items/:id(\\d+)", "/api{/v1}?/ping"]);
    assert.equal(t.match("/static/a/b/c.css"), "/static/*");
    assert.equal(t.match("/items/123"), "/items/:id(\\d+)");
    assert.equal(t.match("/items/abc"), "none");
    assert.equal(t.match("/api/v1/ping"), "/api{/v1}?/ping");
    assert.equal(t.match("/api/ping"), "/api{/v1}?/ping");
    assert.equal(t.match("/api/v2/ping"), "none");
  });

  it("an exact template wins over a pattern; patterns are tried in declaration order", () => {
    const t = new RouteTable(["/users/:id", "/users/me", "/files/:name", "/files/*"]);
    assert.equal(t.match("/users/me"), "/users/me");
    assert.equal(t.match("/users/you"), "/users/:id");
    assert.equal(t.match("/files/a"), "/files/:name");
    assert.equal(t.match("/files/a/b"), "/files/*");
  });

  it("an invalid template is a TypeError naming it", () => {
    for (const bad of ["users", "", "/users/:", "/(", "/a/:id(["]) {
      assert.throws(
        () => new RouteTable([bad]),
        (e: unknown) =>
          e instanceof TypeError && e.message.includes(JSON.stringify(bad).slice(1, -1)),
        bad,
      );
    }
    assert.throws(() => new RouteTable([42 as unknown as string]), TypeError);
    assert.throws(() => new RouteTable([undefined as unknown as string]), TypeError);
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
