/**
 * The gateway's settings through `parseConfig` (environment and flags, the
 * exporter's conventions), its key files, the client-key parser and the
 * constant-time check.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../../app/config.ts";
import { gatewayStartLine, loadGatewayFiles } from "../../app/gateway/settings.ts";
import { clientKeyAuth, parseClientKeys } from "../../app/keys.ts";

const TOKEN_A = "tok-a-0123456789abcdef";
const TOKEN_B = "tok-b-0123456789abcdef";

function parse(args: string[], vars: Record<string, string> = {}) {
  return parseConfig(args, (name) => vars[name]);
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    assert.ok(!error.message.includes("\n"), error.message);
    return error.message;
  }
  assert.fail("no ConfigError");
}

describe("gateway settings", () => {
  it("off without an upstream: no gateway key in the configuration at all", () => {
    assert.equal("gateway" in parse([]), false);
  });

  it("env, overridden by flags; defaults", () => {
    const env = {
      GATEWAY_UPSTREAM_URL: "http://127.0.0.1:11434/v1/",
      GATEWAY_UPSTREAM_API_KEY: "sk-up",
      GATEWAY_KEYS: `alice:${TOKEN_A}, bob:${TOKEN_B}`,
    };
    const g = parse([], env).gateway!;
    assert.equal(g.upstream, "http://127.0.0.1:11434/v1");
    assert.equal(g.upstreamKey, "sk-up");
    assert.deepEqual(g.keys, [{ name: "alice", token: TOKEN_A }, { name: "bob", token: TOKEN_B }]);
    assert.equal(g.timeoutMs, 120_000);
    assert.equal(g.maxBodyBytes, 4 * 1024 * 1024);
    const f = parse([
      "--gateway-upstream=https://api.openai.com/v1",
      "--gateway-timeout-ms",
      "5000",
      "--gateway-max-body-bytes=100",
    ], { ...env, GATEWAY_TIMEOUT_MS: "9" }).gateway!;
    assert.equal(f.upstream, "https://api.openai.com/v1");
    assert.equal(f.timeoutMs, 5000);
    assert.equal(f.maxBodyBytes, 100);
  });

  it("clear errors, naming the setting and never a secret", () => {
    const up = { GATEWAY_UPSTREAM_URL: "http://127.0.0.1:1/v1" };
    assert.match(
      configError(() => parse([], { GATEWAY_KEYS: `a:${TOKEN_A}` })),
      /^GATEWAY_KEYS is set but the gateway has no upstream/,
    );
    assert.match(
      configError(() => parse(["--gateway-upstream", "ftp://x"])),
      /invalid --gateway-upstream: expected an http\(s\) URL/,
    );
    const cred = configError(() => parse([], { GATEWAY_UPSTREAM_URL: "https://u:sk-pw@x/v1" }));
    assert.match(cred, /credentials in the URL/);
    assert.ok(!cred.includes("sk-pw"));
    assert.match(
      configError(() => parse([], { ...up, GATEWAY_TIMEOUT_MS: "0" })),
      /invalid GATEWAY_TIMEOUT_MS "0"/,
    );
    assert.match(
      configError(() =>
        parse([], { ...up, GATEWAY_UPSTREAM_API_KEY: "k", GATEWAY_UPSTREAM_API_KEY_FILE: "/f" })
      ),
      /GATEWAY_UPSTREAM_API_KEY and GATEWAY_UPSTREAM_API_KEY_FILE: set one, not both/,
    );
    const short = configError(() => parse([], { ...up, GATEWAY_KEYS: "alice:short-secret" }));
    assert.match(short, /GATEWAY_KEYS: entry 1 \(alice\): the token must be 16-256 characters/);
    assert.ok(!short.includes("short-secret"));
    assert.match(configError(() => parse(["--gateway-keys-file="], up)), /needs a non-empty/);
  });

  it("key files: read, checked, errors naming the file but not its content", () => {
    const dir = mkdtempSync(join(tmpdir(), "gateway-keys-"));
    try {
      const keys = join(dir, "keys");
      const upstreamKey = join(dir, "upstream");
      writeFileSync(keys, `# clients\nalice:${TOKEN_A}\n\nbob:${TOKEN_B}\n`);
      writeFileSync(upstreamKey, "sk-from-file\n");
      const settings = parse([
        "--gateway-upstream",
        "http://127.0.0.1:1/v1",
        "--gateway-keys-file",
        keys,
        "--gateway-upstream-key-file",
        upstreamKey,
      ]).gateway!;
      const read = (path: string) => readFileSync(path, "utf8");
      const loaded = loadGatewayFiles(settings, read);
      assert.equal(loaded.upstreamKey, "sk-from-file");
      assert.deepEqual(loaded.keys.map((k) => k.name), ["alice", "bob"]);
      assert.match(
        gatewayStartLine(loaded),
        /forwarding to http:\/\/127\.0\.0\.1:1\/v1 for 2 client keys$/,
      );

      writeFileSync(keys, `alice:${TOKEN_A}\nalice:${TOKEN_B}\n`);
      const twice = configError(() => loadGatewayFiles(settings, read));
      assert.match(twice, new RegExp(`^${keys}: entry 2: name alice twice$`));
      const missing = configError(() =>
        loadGatewayFiles({ ...settings, keysFile: join(dir, "none") }, read)
      );
      assert.match(missing, /cannot read the client keys file .*none: (NotFound|ENOENT)$/);
      const denied = configError(() =>
        loadGatewayFiles(settings, () => {
          throw Object.assign(new Error("Requires read access"), { name: "NotCapable" });
        })
      );
      assert.match(
        denied,
        /not permitted; deno task start and deno serve app\/worker\.ts read only under \/run\/secrets/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("without client keys the start line warns", () => {
    const g = parse([], { GATEWAY_UPSTREAM_URL: "http://127.0.0.1:1/v1" }).gateway!;
    assert.match(gatewayStartLine(g), /WITHOUT client keys: anyone who reaches this port/);
  });
});

describe("gateway client keys", () => {
  it("parses name:token lists; rejects bad names, short tokens, repeats", () => {
    assert.deepEqual(parseClientKeys(`a.b-c_1:${TOKEN_A}`, "X"), [{
      name: "a.b-c_1",
      token: TOKEN_A,
    }]);
    assert.throws(() => parseClientKeys("novalue", "X"), /X: entry 1 is not name:token/);
    assert.throws(() => parseClientKeys(`bad name:${TOKEN_A}`, "X"), /the name must be/);
    assert.throws(() => parseClientKeys(`a:${"t".repeat(257)}`, "X"), /16-256 characters/);
    assert.throws(
      () => parseClientKeys(`a:${TOKEN_A},b:${TOKEN_A}`, "X"),
      /entry 2 \(b\): the same token as another entry/,
    );
  });

  it("the check names the key presented, and nothing for anything else", () => {
    const check = clientKeyAuth([{ name: "a", token: TOKEN_A }, { name: "b", token: TOKEN_B }]);
    assert.equal(check(`Bearer ${TOKEN_A}`), "a");
    assert.equal(check(`bearer  ${TOKEN_B} `), "b");
    const long = "x".repeat(300);
    for (
      const h of [
        null,
        "",
        TOKEN_A,
        `Bearer ${TOKEN_A}x`,
        `Bearer ${TOKEN_A.slice(0, -1)}`,
        `Basic ${TOKEN_A}`,
        "Bearer ",
        `Bearer ${long}`,
      ]
    ) {
      assert.equal(check(h), undefined, String(h));
    }
    // A key of the longest length allowed still matches, and only itself.
    const longest = "k".repeat(256);
    const edge = clientKeyAuth([{ name: "edge", token: longest }]);
    assert.equal(edge(`Bearer ${longest}`), "edge");
    assert.equal(edge(`Bearer ${longest.slice(0, 255)}j`), undefined);
  });
});
