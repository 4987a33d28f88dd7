/**
 * The metrics token from a file (`METRICS_AUTH_TOKEN_FILE`): how a Docker or
 * Kubernetes secret reaches the exporter without the token in the
 * environment or on the command line. Parsing and loading as units (both
 * runtimes), then main.ts itself with the start task's permissions (Deno).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadAuthTokenFile, parseConfig } from "../../app/config.ts";
import {
  fetchText,
  isDeno,
  REPO_ROOT,
  spawnDeno,
  startTaskFlags,
  waitForListening,
} from "./_support.ts";

const TOKEN = "token-file-test-9f86d081884c7d65";
const parse = (args: string[], env: Record<string, string>) =>
  parseConfig(args, (name) => env[name]);

describe("METRICS_AUTH_TOKEN_FILE", () => {
  it("names a file; the flag overrides it; not together with METRICS_AUTH_TOKEN", () => {
    const c = parse([], { METRICS_AUTH_TOKEN_FILE: "/run/secrets/metrics_token" });
    assert.equal(c.authTokenFile, "/run/secrets/metrics_token");
    assert.equal(c.authToken, undefined);
    const flagged = parse(["--metrics-auth-token", TOKEN], { METRICS_AUTH_TOKEN_FILE: "/x" });
    assert.deepEqual([flagged.authToken, flagged.authTokenFile], [TOKEN, undefined]);
    assert.throws(
      () => parse([], { METRICS_AUTH_TOKEN: TOKEN, METRICS_AUTH_TOKEN_FILE: "/x" }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /METRICS_AUTH_TOKEN or METRICS_AUTH_TOKEN_FILE/.test(e.message) &&
        !e.message.includes(TOKEN),
    );
    assert.equal(parse([], { METRICS_AUTH_TOKEN_FILE: "" }).authTokenFile, undefined);
  });

  it("loads one token, trimmed; names the file, never the token, when it cannot", () => {
    const config = parse([], { METRICS_AUTH_TOKEN_FILE: "/run/secrets/t" });
    assert.equal(loadAuthTokenFile(config, () => `  ${TOKEN}\n`).authToken, TOKEN);
    const none = parse([], {});
    assert.equal(loadAuthTokenFile(none, () => assert.fail("read without a file")), none);
    const fails = (read: () => string, message: RegExp) =>
      assert.throws(
        () => loadAuthTokenFile(config, read),
        (e: unknown) =>
          e instanceof ConfigError && message.test(e.message) && !e.message.includes(TOKEN),
      );
    fails(() => "\n", /metrics token file \/run\/secrets\/t must hold one token/);
    fails(() => `${TOKEN} ${TOKEN}`, /must hold one token/);
    const denied = Object.assign(new Error("no"), { name: "NotCapable" });
    fails(
      () => {
        throw denied;
      },
      /cannot read the metrics token file \/run\/secrets\/t: not permitted.*--allow-read=\/run\/secrets\/t/,
    );
    const missing = Object.assign(new Error("no"), { name: "NotFound" });
    fails(() => {
      throw missing;
    }, /cannot read the metrics token file \/run\/secrets\/t: NotFound$/);
  });
});

describe("main.ts with METRICS_AUTH_TOKEN_FILE", {
  skip: !isDeno && "main.ts is the Deno entry point",
}, () => {
  it("outside /run/secrets without --allow-read: exit 2 naming the permission", async () => {
    const dir = mkdtempSync(join(tmpdir(), "securetrack-token-"));
    try {
      const file = join(dir, "token");
      writeFileSync(file, TOKEN);
      const flags = startTaskFlags(readFileSync(`${REPO_ROOT}deno.json`, "utf8"));
      const child = spawnDeno(["run", ...flags, "main.ts", "--port", "0"], {
        HOSTNAME: "127.0.0.1",
        METRICS_AUTH_TOKEN_FILE: file,
      });
      const exit = await child.exited;
      assert.equal(exit.code, 2, child.stderr());
      assert.match(child.stderr(), new RegExp(`--allow-read=${file}`));
      assert.ok(!child.stderr().includes(TOKEN));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with read access to the file: metrics need that token, /healthz does not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "securetrack-token-"));
    try {
      const file = join(dir, "token");
      writeFileSync(file, `${TOKEN}\n`);
      const flags = startTaskFlags(readFileSync(`${REPO_ROOT}deno.json`, "utf8"))
        .map((f) => f.startsWith("--allow-read=") ? `${f},${file}` : f);
      const child = spawnDeno(["run", ...flags, "main.ts", "--port", "0", "--workers", "1"], {
        HOSTNAME: "127.0.0.1",
        METRICS_AUTH_TOKEN_FILE: file,
      });
      const main = await waitForListening(
        child,
        /listening on (http:\/\/127\.0\.0\.1:\d+)\//,
        "main.ts",
      );
      try {
        assert.equal((await fetchText(main.origin + "/metrics")).status, 401);
        const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
        assert.equal((await fetchText(main.origin + "/metrics", auth)).status, 200);
        assert.equal((await fetchText(main.origin + "/custom_metrics", auth)).status, 200);
        assert.equal((await fetchText(main.origin + "/healthz")).status, 200);
        assert.ok(!main.stderr().includes(TOKEN));
      } finally {
        await main.kill();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
