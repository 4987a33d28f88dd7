// The ingestion API's settings: INGEST_TOKENS / INGEST_TOKENS_FILE /
// --ingest-tokens-file (name:token pairs parsed as the gateway's keys, whose
// parser and constant-time check tests/app/gateway tests), and that no token
// ever reaches an error message.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../app/config.ts";
import { ingestTokens } from "../../app/ingest.ts";

const A = "tokA-0123456789abcdef";
const B = "tokB-fedcba9876543210";

function parse(args: string[], vars: Record<string, string> = {}) {
  return parseConfig(args, (name) => vars[name]);
}

function throwsWithout(fn: () => unknown, secrets: string[], pattern: RegExp): void {
  let message = "";
  try {
    fn();
  } catch (error) {
    message = (error as Error).message;
  }
  assert.match(message, pattern);
  for (const secret of secrets) assert.ok(!message.includes(secret), message);
}

describe("ingestion settings", () => {
  it("off by default; INGEST_TOKENS parsed at once", () => {
    assert.equal(parse([]).ingestTokens, undefined);
    assert.equal(parse([], { INGEST_TOKENS: " " }).ingestTokens, undefined);
    assert.deepEqual(parse([], { INGEST_TOKENS: `fastapi:${A}` }).ingestTokens, [
      { name: "fastapi", token: A },
    ]);
  });

  it("a bad INGEST_TOKENS is a ConfigError without the token", () => {
    throwsWithout(
      () => parse([], { INGEST_TOKENS: `fastapi:${A},fastapi:${B}` }),
      [A, B],
      /INGEST_TOKENS: entry 2: name fastapi twice/,
    );
    assert.throws(() => parse([], { INGEST_TOKENS: "short:abc" }), ConfigError);
    throwsWithout(
      () => parse([], { INGEST_TOKENS: "#,#" }),
      [],
      /INGEST_TOKENS: no name:token pair/,
    );
  });

  it("a tokens file from INGEST_TOKENS_FILE or --ingest-tokens-file, not both sources", () => {
    assert.equal(parse([], { INGEST_TOKENS_FILE: "/a" }).ingestTokensFile, "/a");
    assert.equal(
      parse(["--ingest-tokens-file", "/b"], { INGEST_TOKENS_FILE: "/a" }).ingestTokensFile,
      "/b",
    );
    assert.throws(() => parse(["--ingest-tokens-file="]), ConfigError);
    throwsWithout(
      () => parse(["--ingest-tokens-file=/b"], { INGEST_TOKENS: `a:${A}` }),
      [A],
      /not both/,
    );
  });

  it("ingestTokens reads the file, and says which file and what to grant when it cannot", () => {
    const env = { ingestTokens: undefined, ingestTokensFile: "/etc/tokens" };
    const read = (text: string) => (path: string) => {
      if (path !== "/etc/tokens") throw new Error(path);
      return text;
    };
    assert.deepEqual(ingestTokens(env, read(`# ours\nfastapi:${A}\nbeacon:${B}\n`)), [
      { name: "fastapi", token: A },
      { name: "beacon", token: B },
    ]);
    assert.equal(
      ingestTokens({ ingestTokens: undefined, ingestTokensFile: undefined }, read("")),
      undefined,
    );
    const denied = () => {
      const error = new Error("Requires read access to /etc/tokens");
      error.name = "NotCapable";
      throw error;
    };
    assert.throws(
      () => ingestTokens(env, denied),
      (e: Error) =>
        e instanceof ConfigError &&
        /\/etc\/tokens: not permitted; deno task start and deno serve app\/worker\.ts read only under \/run\/secrets, else run with --allow-read=\/etc\/tokens/
          .test(e.message),
    );
    assert.throws(
      () => ingestTokens(env, read(`fastapi:${A}\nfastapi:${B}`)),
      (e: Error) =>
        e instanceof ConfigError && /tokens file \/etc\/tokens: entry 2/.test(e.message) &&
        !e.message.includes(A) && !e.message.includes(B),
    );
  });
});
