import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/core/registry.ts";
import { bearerAuth } from "../../app/auth.ts";
import { createApp } from "../../app/app.ts";
import { fetchText, serveOnLoopback } from "./_support.ts";

const TOKEN = "s3cr3t-token_0123456789";

describe("bearerAuth", () => {
  const check = bearerAuth(TOKEN);

  it("accepts the right token, the scheme in any case", async () => {
    assert.equal(await check(`Bearer ${TOKEN}`), true);
    assert.equal(await check(`bearer ${TOKEN}`), true);
    assert.equal(await check(`BEARER ${TOKEN}`), true);
    assert.equal(await check(`Bearer   ${TOKEN}`), true);
    assert.equal(await check(`Bearer ${TOKEN} `), true);
  });

  it("rejects wrong, partial, longer, missing and malformed credentials", async () => {
    const bad = [
      null,
      "",
      "Bearer",
      "Bearer ",
      TOKEN,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Bearer x${TOKEN}`,
      `Bearer ${TOKEN.toUpperCase()}`,
      `Basic ${btoa(`user:${TOKEN}`)}`,
      `Token ${TOKEN}`,
      `Bearer${TOKEN}`,
      `Bearer ${TOKEN} ${TOKEN}`,
      `xBearer ${TOKEN}`,
    ];
    for (const header of bad) assert.equal(await check(header), false, String(header));
  });

  it("a token that is a prefix of another does not open it", async () => {
    const long = bearerAuth(TOKEN + "extra");
    assert.equal(await long(`Bearer ${TOKEN}`), false);
    assert.equal(await long(`Bearer ${TOKEN}extra`), true);
  });
});

describe("exporter auth on a real server", () => {
  async function withServer(
    authToken: string | undefined,
    body: (origin: string) => Promise<void>,
  ) {
    const registry = new Registry();
    const customRegistry = new Registry();
    const server = await serveOnLoopback(createApp({ registry, customRegistry, authToken }));
    try {
      await body(server.origin);
    } finally {
      await server.close();
    }
  }

  it("with a token: the right token gets 200 on both metrics endpoints", async () => {
    await withServer(TOKEN, async (origin) => {
      for (const path of ["/metrics", "/custom_metrics"]) {
        const res = await fetchText(origin + path, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        });
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      }
    });
  });

  it("with a token: wrong, missing or malformed credentials get 401 with WWW-Authenticate: Bearer", async () => {
    await withServer(TOKEN, async (origin) => {
      const headers: (Record<string, string> | undefined)[] = [
        undefined,
        { Authorization: "Bearer wrong" },
        { Authorization: `Basic ${btoa(`u:${TOKEN}`)}` },
        { Authorization: TOKEN },
        { Authorization: `Bearer ${TOKEN}x` },
      ];
      for (const path of ["/metrics", "/custom_metrics"]) {
        for (const h of headers) {
          const res = await fetchText(origin + path, { headers: h });
          const what = `${path} ${JSON.stringify(h)}`;
          assert.equal(res.status, 401, what);
          assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer\b/, what);
          assert.ok(!res.body.includes(TOKEN), what);
          assert.ok(!res.body.includes("# TYPE"), `${what}: metrics leaked`);
        }
      }
    });
  });

  it("with a token: /healthz, / and a 404 stay open", async () => {
    await withServer(TOKEN, async (origin) => {
      const health = await fetchText(origin + "/healthz");
      assert.equal(health.status, 200);
      assert.equal(JSON.parse(health.body).status, "ok");
      assert.equal((await fetchText(origin + "/")).status, 200);
      assert.equal((await fetchText(origin + "/nope")).status, 404);
    });
  });

  it("the 401s are counted in the HTTP metrics", async () => {
    await withServer(TOKEN, async (origin) => {
      await fetchText(origin + "/metrics");
      await fetchText(origin + "/metrics", { headers: { Authorization: "Bearer no" } });
      const res = await fetchText(origin + "/metrics", {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      assert.match(
        res.body,
        /^http_requests_total\{method="GET",status="4xx",handler="\/metrics"\} 2$/m,
      );
    });
  });

  it("without a token: everything is open, and an Authorization header is ignored", async () => {
    await withServer(undefined, async (origin) => {
      for (const path of ["/metrics", "/custom_metrics", "/healthz", "/"]) {
        assert.equal((await fetchText(origin + path)).status, 200, path);
        const withHeader = await fetchText(origin + path, {
          headers: { Authorization: "Bearer x" },
        });
        assert.equal(withHeader.status, 200, path);
      }
    });
  });

  it("an empty token means no auth", async () => {
    await withServer("", async (origin) => {
      assert.equal((await fetchText(origin + "/metrics")).status, 200);
    });
  });
});
