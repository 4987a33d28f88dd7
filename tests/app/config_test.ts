import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig, type ServerConfig } from "../../app/config.ts";

const TOKEN = "tok-9f8e7d6c5b4a";

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

function parse(args: string[], vars: Record<string, string> = {}): ServerConfig {
  return parseConfig(args, envOf(vars));
}

/** The ConfigError `fn` throws (failing the test if it throws nothing or something else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    assert.equal(error.name, "ConfigError");
    assert.ok(!error.message.includes("\n"), `more than one line: ${error.message}`);
    return error;
  }
  assert.fail("no ConfigError thrown");
}

describe("parseConfig: workers", () => {
  it("WORKERS, else DENO_JOBS, overridden by --workers; absent by default", () => {
    assert.equal(parse([]).workers, undefined);
    assert.equal(parse([], { DENO_JOBS: "4" }).workers, 4);
    assert.equal(parse([], { WORKERS: "2", DENO_JOBS: "4" }).workers, 2);
    assert.equal(parse(["--workers", "3"], { WORKERS: "2" }).workers, 3);
    assert.equal(parse(["--workers=1"]).workers, 1);
  });

  it("rejects a count that is not 1-1024, naming the source", () => {
    for (
      const [args, env, source] of [
        [["--workers", "0"], {}, "--workers"],
        [["--workers=abc"], {}, "--workers"],
        [[], { WORKERS: "2000" }, "WORKERS"],
        [[], { DENO_JOBS: "-1" }, "DENO_JOBS"],
      ] as const
    ) {
      assert.throws(
        () => parse([...args], env),
        (e: unknown) => e instanceof ConfigError && e.message.includes(source),
      );
    }
  });
});

describe("parseConfig: environment", () => {
  it("defaults: port 8000, 0.0.0.0, no token, no demo", () => {
    assert.deepEqual(parse([]), {
      port: 8000,
      hostname: "0.0.0.0",
      authToken: undefined,
      demo: false,
      nativeHistograms: false,
      workers: undefined,
      ingestTokens: undefined,
      ingestTokensFile: undefined,
      help: false,
    });
  });

  it("reads PORT, HOSTNAME, METRICS_AUTH_TOKEN and DEMO", () => {
    assert.deepEqual(
      parse([], { PORT: "9100", HOSTNAME: "127.0.0.1", METRICS_AUTH_TOKEN: TOKEN, DEMO: "1" }),
      {
        port: 9100,
        hostname: "127.0.0.1",
        authToken: TOKEN,
        demo: true,
        nativeHistograms: false,
        workers: undefined,
        ingestTokens: undefined,
        ingestTokensFile: undefined,
        help: false,
      },
    );
    assert.equal(parse([], { DEMO: "true" }).demo, true);
    assert.equal(parse([], { DEMO: "0" }).demo, false);
  });

  it("NATIVE_HISTOGRAMS=1|true or --native-histograms (no value) turn native histograms on", () => {
    assert.equal(parse([], { NATIVE_HISTOGRAMS: "1" }).nativeHistograms, true);
    assert.equal(parse([], { NATIVE_HISTOGRAMS: "true" }).nativeHistograms, true);
    assert.equal(parse([], { NATIVE_HISTOGRAMS: "0" }).nativeHistograms, false);
    assert.equal(parse(["--native-histograms"]).nativeHistograms, true);
    assert.match(
      configError(() => parse(["--native-histograms=1"])).message,
      /--native-histograms takes no value/,
    );
  });

  it("an empty variable counts as unset", () => {
    const c = parse([], { PORT: "", HOSTNAME: "", METRICS_AUTH_TOKEN: "" });
    assert.equal(c.port, 8000);
    assert.equal(c.hostname, "0.0.0.0");
    assert.equal(c.authToken, undefined);
  });

  it("accepts the whole port range, 0 included", () => {
    assert.equal(parse([], { PORT: "0" }).port, 0);
    assert.equal(parse([], { PORT: "1" }).port, 1);
    assert.equal(parse([], { PORT: "65535" }).port, 65535);
  });
});

describe("parseConfig: flags", () => {
  it("flags override the environment", () => {
    const env = { PORT: "9100", HOSTNAME: "127.0.0.1", METRICS_AUTH_TOKEN: "from-env" };
    const c = parse(
      ["--port", "9200", "--hostname", "::1", "--metrics-auth-token", TOKEN, "--demo"],
      env,
    );
    assert.deepEqual(c, {
      port: 9200,
      hostname: "::1",
      authToken: TOKEN,
      demo: true,
      nativeHistograms: false,
      workers: undefined,
      ingestTokens: undefined,
      ingestTokensFile: undefined,
      help: false,
    });
  });

  it("`--port=1` and `--port 1` mean the same", () => {
    assert.equal(parse(["--port=1"]).port, 1);
    assert.equal(parse(["--port", "1"]).port, 1);
    assert.equal(parse(["--hostname=localhost"]).hostname, "localhost");
    assert.equal(parse(["--metrics-auth-token=a=b"]).authToken, "a=b");
  });

  it("the last of a repeated flag wins", () => {
    assert.equal(parse(["--port=1", "--port=2"]).port, 2);
  });

  it("--help", () => {
    assert.equal(parse(["--help"]).help, true);
  });

  it("an empty --metrics-auth-token turns auth off", () => {
    assert.equal(
      parse(["--metrics-auth-token="], { METRICS_AUTH_TOKEN: TOKEN }).authToken,
      undefined,
    );
  });
});

describe("parseConfig: errors", () => {
  it("an invalid PORT is a ConfigError naming PORT", () => {
    for (const bad of ["abc", "70000", "65536", "-1", "1.5", "1e3", "0x10", " 80", "80 ", "+80"]) {
      const e = configError(() => parse([], { PORT: bad }));
      assert.match(e.message, /\bPORT\b/, bad);
      assert.ok(e.message.includes(JSON.stringify(bad)), `${bad}: ${e.message}`);
    }
  });

  it("an invalid --port is a ConfigError naming --port", () => {
    for (const args of [["--port=abc"], ["--port", "70000"], ["--port", "-1"], ["--port="]]) {
      const e = configError(() => parse(args));
      assert.match(e.message, /--port\b/, args.join(" "));
    }
  });

  it("a valid --port does not rescue an invalid PORT", () => {
    // The environment is read first, and an invalid value there is still a mistake to report.
    const e = configError(() => parse(["--port=80"], { PORT: "abc" }));
    assert.match(e.message, /\bPORT\b/);
  });

  it("an unknown flag is a ConfigError naming it", () => {
    for (const arg of ["--verbose", "-p", "--PORT=1", "--tls=on"]) {
      const e = configError(() => parse([arg]));
      const name = arg.split("=")[0];
      assert.ok(e.message.includes(`"${name}"`), `${arg}: ${e.message}`);
    }
  });

  it("a stray word is a ConfigError giving its position, not its text", () => {
    // It could be a token whose flag was mistyped, so it is not echoed.
    const e = configError(() => parse(["--demo", "stray"]));
    assert.match(e.message, /#2/);
    assert.ok(!e.message.includes("stray"), e.message);
  });

  it("a flag without its value is a ConfigError", () => {
    for (const flag of ["--port", "--hostname", "--metrics-auth-token"]) {
      const e = configError(() => parse([flag]));
      assert.ok(e.message.includes(flag), e.message);
    }
    configError(() => parse(["--hostname="]));
    configError(() => parse(["--demo=yes"]));
    configError(() => parse(["--help=1"]));
  });

  it("the token never appears in a ConfigError message", () => {
    const cases: [string[], Record<string, string>][] = [
      [["--bogus"], { METRICS_AUTH_TOKEN: TOKEN }],
      [[], { METRICS_AUTH_TOKEN: TOKEN, PORT: "abc" }],
      [["--port=x"], { METRICS_AUTH_TOKEN: TOKEN }],
      [["--metrics-auth-token", TOKEN, "--bogus"], {}],
      [["--metrics-auth-token=" + TOKEN, "--port", "99999"], {}],
      [["--metrics-auth-token=" + TOKEN, "--demo=1"], {}],
      [["--metrics-auth-token=" + TOKEN, "--hostname"], {}],
      [["--metrics-auth-token=" + TOKEN, "--hostname="], {}],
      // Typos around the token flag must not echo the token either.
      [["--metrics-auth-tokn=" + TOKEN], {}],
      [["--metrics_auth_token=" + TOKEN], {}],
      [["--metrics-auth-token" + TOKEN], {}],
      [["--metrics-auth-token:" + TOKEN], {}],
      [["--port-" + TOKEN], {}],
      [["--metrics-auth-token=", TOKEN], {}],
      [[TOKEN], {}],
    ];
    for (const [args, env] of cases) {
      const e = configError(() => parse(args, env));
      assert.ok(!e.message.includes(TOKEN), `token in: ${e.message}`);
      assert.ok(!e.message.includes(TOKEN.slice(4)), `part of the token in: ${e.message}`);
    }
  });
});
