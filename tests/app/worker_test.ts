/**
 * `app/worker.ts` (the exporter under `deno serve --parallel`) is configured
 * as `deno task start` is: `workerConfig` against main.ts's `loadConfig` on
 * the same environments, good and bad (both runtimes); then the module
 * itself under `DENO_JOBS=2 deno serve --parallel` with its documented flags
 * (Deno only): the `*_FILE` settings read from a temporary directory, the
 * gateway forwarding to a fake upstream on loopback, and a bad setting ending
 * it with exit 2 and one line naming the variable.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, type ServerConfig } from "../../app/config.ts";
import {
  loadConfig,
  type LoadedConfig,
  WORKER_COMMAND,
  WORKER_VARIABLES,
  workerConfig,
} from "../../app/start.ts";
import { createFakeUpstream } from "../../bench/_gateway_upstream.ts";
import { parseText } from "../_support/parse.ts";
import { startServe } from "../cluster/_support.ts";
import {
  fetchText,
  isDeno,
  REPO_ROOT,
  serveOnLoopback,
  spawnDeno,
  waitFor,
  workerModuleFlags,
} from "./_support.ts";
import { ALICE, BOB, UPSTREAM_KEY, value } from "./_gateway.ts";

const METRICS_TOKEN = "worker-metrics-0123456789abcdefSECRET";
const INGEST_TOKEN = "worker-ingest-0123456789abcdefSECRET";
const SECRETS = [METRICS_TOKEN, INGEST_TOKEN, ALICE, BOB, UPSTREAM_KEY];

/** The files the unit cases name, as a `read` function (missing: Deno's NotFound). */
const FILES: Record<string, string> = {
  "/run/secrets/metrics_token": `  ${METRICS_TOKEN}\n`,
  "/run/secrets/ingest_tokens": `fastapi:${INGEST_TOKEN}\n`,
  "/run/secrets/upstream_key": `${UPSTREAM_KEY}\n`,
  "/run/secrets/client_keys": `alice:${ALICE}\nbob:${BOB}\n`,
  "/run/secrets/empty": "\n",
};
function read(path: string): string {
  if (path in FILES) return FILES[path];
  throw Object.assign(new Error(`no ${path}`), { name: "NotFound" });
}

/** What the worker serves with: everything but the settings that are `deno serve`'s. */
function served({ config, ingestTokens }: LoadedConfig) {
  const { port: _p, hostname: _h, workers: _w, ...rest } = config;
  return { ...rest, ingestTokens };
}

const UPSTREAM = "http://127.0.0.1:9/v1";

/** Environments that configure a server, with `deno serve`'s own settings among them. */
const GOOD: Record<string, string>[] = [
  {},
  { METRICS_AUTH_TOKEN: METRICS_TOKEN, DEMO: "1", NATIVE_HISTOGRAMS: "true" },
  // Empty and blank are unset, as in main.ts (the old worker failed on a blank INGEST_TOKENS).
  { METRICS_AUTH_TOKEN: "", METRICS_AUTH_TOKEN_FILE: "", DEMO: "yes", INGEST_TOKENS: "  " },
  { INGEST_TOKENS: `fastapi:${INGEST_TOKEN}, other:${METRICS_TOKEN}` },
  {
    METRICS_AUTH_TOKEN_FILE: "/run/secrets/metrics_token",
    INGEST_TOKENS_FILE: "/run/secrets/ingest_tokens",
  },
  {
    GATEWAY_UPSTREAM_URL: `${UPSTREAM}/`,
    GATEWAY_UPSTREAM_API_KEY_FILE: "/run/secrets/upstream_key",
    GATEWAY_KEYS_FILE: "/run/secrets/client_keys",
    GATEWAY_TIMEOUT_MS: "5000",
    GATEWAY_MAX_BODY_BYTES: "1024",
  },
  { GATEWAY_UPSTREAM_URL: UPSTREAM, GATEWAY_UPSTREAM_API_KEY: UPSTREAM_KEY, GATEWAY_KEYS: "" },
  { PORT: "9464", HOSTNAME: "::1", WORKERS: "3", DENO_JOBS: "2", DEMO: "1" },
];

/** Environments main.ts refuses, each with what its one line must say. */
const BAD: [Record<string, string>, RegExp][] = [
  [{ GATEWAY_UPSTREAM_URL: UPSTREAM, GATEWAY_TIMEOUT_MS: "abc" }, /GATEWAY_TIMEOUT_MS/],
  [{ GATEWAY_UPSTREAM_URL: UPSTREAM, GATEWAY_MAX_BODY_BYTES: "0" }, /GATEWAY_MAX_BODY_BYTES/],
  [{ GATEWAY_UPSTREAM_URL: "ftp://127.0.0.1/v1" }, /GATEWAY_UPSTREAM_URL/],
  [{ GATEWAY_KEYS: `alice:${ALICE}` }, /GATEWAY_KEYS is set but the gateway has no upstream/],
  [
    { GATEWAY_UPSTREAM_URL: UPSTREAM, GATEWAY_KEYS: "x", GATEWAY_KEYS_FILE: "/run/secrets/k" },
    /GATEWAY_KEYS and GATEWAY_KEYS_FILE/,
  ],
  [{ INGEST_TOKENS: INGEST_TOKEN }, /INGEST_TOKENS/],
  [
    { INGEST_TOKENS: `fastapi:${INGEST_TOKEN}`, INGEST_TOKENS_FILE: "/run/secrets/ingest_tokens" },
    /ingestion tokens given twice/,
  ],
  [{ INGEST_TOKENS_FILE: "/run/secrets/empty" }, /\/run\/secrets\/empty: no name:token pair/],
  [
    { METRICS_AUTH_TOKEN: METRICS_TOKEN, METRICS_AUTH_TOKEN_FILE: "/run/secrets/metrics_token" },
    /METRICS_AUTH_TOKEN or METRICS_AUTH_TOKEN_FILE/,
  ],
  [{ METRICS_AUTH_TOKEN_FILE: "/run/secrets/none" }, /metrics token file \/run\/secrets\/none/],
  [
    { GATEWAY_UPSTREAM_URL: UPSTREAM, GATEWAY_UPSTREAM_API_KEY_FILE: "/run/secrets/empty" },
    /upstream key file \/run\/secrets\/empty must hold one key/,
  ],
];

/** The ConfigError message `load` throws. */
function failure(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    return error.message;
  }
  return assert.fail("no error");
}

describe("workerConfig: the worker's settings are main.ts's", () => {
  it("the same environment gives the same settings as loadConfig (files read alike)", () => {
    for (const env of GOOD) {
      const main = loadConfig([], (name) => env[name], read);
      const worker = workerConfig([], (name) => env[name], read);
      assert.deepEqual(served(worker), served(main), JSON.stringify(env));
      // The address and the workers are deno serve's: the defaults stand.
      const { port, hostname, workers } = worker.config;
      assert.deepEqual(
        { port, hostname, workers },
        {
          port: 8000,
          hostname: "0.0.0.0",
          workers: undefined,
        } satisfies Partial<ServerConfig>,
      );
    }
    // And they are what they should be, files read.
    const files = workerConfig([], (name) => GOOD[4][name], read);
    assert.equal(files.config.authToken, METRICS_TOKEN);
    assert.deepEqual(files.ingestTokens, [{ name: "fastapi", token: INGEST_TOKEN }]);
    const gateway = workerConfig([], (name) => GOOD[5][name], read).config.gateway;
    assert.equal(gateway?.upstream, UPSTREAM);
    assert.equal(gateway?.upstreamKey, UPSTREAM_KEY);
    assert.deepEqual(gateway?.keys.map((k) => k.name), ["alice", "bob"]);
    assert.deepEqual([gateway?.timeoutMs, gateway?.maxBodyBytes], [5000, 1024]);
    assert.equal(workerConfig([], (name) => GOOD[2][name], read).ingestTokens, undefined);
  });

  it("a bad setting: the same one-line ConfigError as main.ts's, naming it, no secret", () => {
    for (const [env, expected] of BAD) {
      const main = failure(() => loadConfig([], (name) => env[name], read));
      const worker = failure(() => workerConfig([], (name) => env[name], read));
      assert.equal(worker, main);
      assert.match(worker, expected);
      assert.ok(!worker.includes("\n"), worker);
      for (const secret of SECRETS) assert.ok(!worker.includes(secret), worker);
    }
  });

  it("reads exactly WORKER_VARIABLES: never PORT, HOSTNAME, WORKERS or DENO_JOBS", () => {
    const asked = new Set<string>();
    workerConfig([], (name) => void asked.add(name), read);
    assert.deepEqual([...asked].sort(), [...WORKER_VARIABLES].sort());
    for (const v of ["PORT", "HOSTNAME", "WORKERS", "DENO_JOBS"]) assert.ok(!asked.has(v), v);
    // So values main.ts would refuse there are deno serve's business, not the worker's.
    const serves: Record<string, string> = { PORT: "not-a-port", WORKERS: "0", DEMO: "1" };
    assert.throws(() => loadConfig([], (name) => serves[name], read), /invalid PORT/);
    assert.equal(workerConfig([], (name) => serves[name], read).config.demo, true);
  });

  it("arguments and variables it may not read: one line, the token not echoed", () => {
    const args = failure(() =>
      workerConfig(["--metrics-auth-token", METRICS_TOKEN], () => undefined, read)
    );
    assert.match(args, /^app\/worker.ts takes no arguments \(2 given\)/);
    assert.ok(!args.includes(METRICS_TOKEN));
    assert.equal(
      failure(() => workerConfig([], () => undefined, read, ["PORT", "GATEWAY_KEYS", "DEMO"])),
      `missing --allow-env=DEMO,GATEWAY_KEYS (to read its settings): run it as ` +
        `\`${WORKER_COMMAND}\``,
    );
  });

  it("WORKER_COMMAND is what the module doc and the README show, and grants what it reads", () => {
    const words = WORKER_COMMAND.split(" ");
    assert.deepEqual(words.slice(0, 3), ["deno", "serve", "--parallel"]);
    assert.equal(words.at(-1), "app/worker.ts");
    assert.deepEqual(workerModuleFlags(), words.slice(3, -1));
    const allowEnv = words.find((w) => w.startsWith("--allow-env="))!.slice(12).split(",");
    assert.deepEqual(
      allowEnv.sort(),
      [...WORKER_VARIABLES, "LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL"].sort(),
    );
    assert.ok(words.includes("--allow-read=/run/secrets"));
    // The README shows the module doc's block as it is.
    const source = readFileSync(`${REPO_ROOT}app/worker.ts`, "utf8");
    const block = /```sh\n([\s\S]*?) \* ```/.exec(source)![1].replace(/^ \* /gm, "");
    const readme = readFileSync(`${REPO_ROOT}README.md`, "utf8");
    assert.ok(readme.includes("```sh\n" + block + "```"), `README lacks:\n${block}`);
  });
});

// ---------------------------------------------------------------------------
// The module under deno serve --parallel, as a subprocess.

const skip = !isDeno && "deno serve is Deno's; run these under deno test";
const JOBS = 2;

/** The documented flags, with `dir` readable besides /run/secrets (the secrets live there). */
function flagsReading(dir: string | undefined): string[] {
  const flags = workerModuleFlags().filter((f) => !f.startsWith("--allow-read"));
  return [...flags, `--allow-read=${["/run/secrets", dir].filter(Boolean).join(",")}`];
}

/** A temporary directory with `files`; removed by `body`'s end. */
async function withFiles(
  files: Record<string, string>,
  body: (path: (name: string) => string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "securetrack-worker-"));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    await body((name) => join(dir, name));
  } finally {
    rmSync(dir, { recursive: true });
  }
}

/** How many workers a scrape of /metrics holds (their `deno_version_info{worker}`). */
function workersSeen(text: string): number {
  const info = parseText(text).find((f) => f.name === "deno_version_info");
  return new Set(info?.samples.map((x) => x.labels.worker)).size;
}

/** Fails if `text` holds a secret. */
function noSecret(text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), "a secret in the output");
}

describe("deno serve --parallel app/worker.ts", { skip }, () => {
  it("METRICS_AUTH_TOKEN_FILE and INGEST_TOKENS_FILE: the metrics need the token, ingestion takes the file's", async () => {
    await withFiles({
      metrics_token: `${METRICS_TOKEN}\n`,
      ingest_tokens: `fastapi:${INGEST_TOKEN}\n`,
    }, async (path) => {
      const server = await startServe("app/worker.ts", flagsReading(path("")), JOBS, {
        METRICS_AUTH_TOKEN_FILE: path("metrics_token"),
        INGEST_TOKENS_FILE: path("ingest_tokens"),
        // Blank is unset, as for main.ts: no "given twice" (the old worker failed on it).
        METRICS_AUTH_TOKEN: "",
        INGEST_TOKENS: "  ",
      });
      try {
        const auth = (token: string) => ({ authorization: `Bearer ${token}` });
        for (const endpoint of ["/metrics", "/custom_metrics"]) {
          assert.equal((await fetchText(server.origin + endpoint)).status, 401, endpoint);
          const scraped = await fetchText(server.origin + endpoint, {
            headers: auth(METRICS_TOKEN),
          });
          assert.equal(scraped.status, 200, endpoint);
        }
        const post = (token: string) =>
          fetch(`${server.origin}/api/v1/events`, {
            method: "POST",
            headers: { ...auth(token), "content-type": "application/json" },
            body: JSON.stringify([{ kind: "login" }, { kind: "login" }]),
          });
        const accepted = await post(INGEST_TOKEN);
        assert.equal(accepted.status, 200);
        assert.equal((await accepted.json()).accepted, 2);
        const refused = await post(METRICS_TOKEN);
        assert.equal(refused.status, 401);
        await refused.body?.cancel();
        assert.match(server.stderr(), /metrics endpoints require a bearer token\n/);
        assert.match(server.stderr(), /event ingestion at POST \/api\/v1\/events for fastapi\n/);
        // The configured client: 1 on /metrics, not 1 per worker, once a scrape
        // holds every worker (the cluster's own count of them).
        let text = "";
        await waitFor("every worker on /metrics", async () => {
          text = (await fetchText(`${server.origin}/metrics`, { headers: auth(METRICS_TOKEN) }))
            .body;
          return value(parseText(text), "ingest_clients", { client: "fastapi" }) !== undefined &&
            workersSeen(text) === JOBS;
        });
        assert.equal(value(parseText(text), "ingest_clients", { client: "fastapi" }), 1);
        noSecret(text);
        noSecret(server.stdout() + server.stderr());
      } finally {
        await server.kill();
      }
    });
  });

  it("GATEWAY_*: forwards to the upstream with the file's key, for the file's clients, and meters", async () => {
    const fake = createFakeUpstream(UPSTREAM_KEY);
    const upstream = await serveOnLoopback(fake.handler);
    try {
      await withFiles({
        upstream_key: `${UPSTREAM_KEY}\n`,
        client_keys: `alice:${ALICE}\n`,
      }, async (path) => {
        const server = await startServe("app/worker.ts", flagsReading(path("")), JOBS, {
          GATEWAY_UPSTREAM_URL: `${upstream.origin}/v1`,
          GATEWAY_UPSTREAM_API_KEY_FILE: path("upstream_key"),
          GATEWAY_KEYS_FILE: path("client_keys"),
          GATEWAY_TIMEOUT_MS: "30000",
          GATEWAY_MAX_BODY_BYTES: "2048",
        });
        try {
          const call = (key: string, content = "a b") =>
            fetch(`${server.origin}/v1/chat/completions`, {
              method: "POST",
              headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
              body: JSON.stringify({
                model: "fake-worker",
                messages: [{ role: "user", content }],
                max_tokens: 3,
              }),
            });
          const res = await call(ALICE);
          assert.equal(res.status, 200);
          assert.equal((await res.json()).choices[0].message.content, "w0 w1 w2 ");
          assert.deepEqual(fake.log.authorizations, [`Bearer ${UPSTREAM_KEY}`]);
          const stranger = await call(BOB);
          assert.equal(stranger.status, 401);
          await stranger.body?.cancel();
          // GATEWAY_MAX_BODY_BYTES=2048 holds (the default is 4 MiB).
          const big = await call(ALICE, "x".repeat(4096));
          assert.equal(big.status, 413);
          await big.body?.cancel();
          assert.equal(fake.log.bodies.length, 1, "only the first call reached the upstream");
          // Metered: whichever worker answers, once the two have met.
          await waitFor("the call in /custom_metrics", async () => {
            const m = parseText((await fetchText(`${server.origin}/custom_metrics`)).body);
            return value(m, "llm_gateway_tokens_total", {
              model: "fake-worker-2026-01-01",
              type: "prompt",
              client: "alice",
            }) === 2;
          });
          assert.match(
            server.stderr(),
            new RegExp(
              `LLM gateway on /v1/chat/completions.* forwarding to ${upstream.origin}/v1 ` +
                `for 1 client key\\n`,
            ),
          );
          noSecret(server.stdout() + server.stderr());
        } finally {
          await server.kill();
        }
      });
    } finally {
      await upstream.close();
    }
  });

  /**
   * Runs the worker with `env` until it exits; fails (killing it) if it
   * listens instead. Returns its exit and output.
   */
  async function runToExit(flags: string[], env: Record<string, string>) {
    const child = spawnDeno(
      ["serve", "--parallel", "--port", "0", "--host", "127.0.0.1", ...flags, "app/worker.ts"],
      { DENO_JOBS: String(JOBS), ...env },
    );
    const listening = () => /Listening on/.test(child.stdout() + child.stderr());
    try {
      await waitFor("deno serve to exit", () => !child.running() || listening(), 60_000);
    } finally {
      if (child.running()) child.signal("SIGKILL");
    }
    const { code, signal } = await child.exited;
    assert.ok(!listening(), `it served; stderr:\n${child.stderr()}`);
    return { code, signal, stdout: child.stdout(), stderr: child.stderr() };
  }

  /** Its stderr's lines without Deno's `[serve-worker-N ] ` prefix, blank ones dropped. */
  function lines(stderr: string): string[] {
    return stderr.split("\n").map((l) => l.replace(/^\[serve-worker-\d+ *\] /, ""))
      .filter((l) => l.trim() !== "");
  }

  it("an invalid setting: exit 2 before listening, one line naming the variable", async () => {
    const run = await runToExit(flagsReading(undefined), {
      GATEWAY_UPSTREAM_URL: "http://127.0.0.1:9/v1",
      GATEWAY_UPSTREAM_API_KEY: UPSTREAM_KEY,
      GATEWAY_TIMEOUT_MS: "abc",
    });
    assert.deepEqual({ code: run.code, signal: run.signal }, { code: 2, signal: null }, run.stderr);
    // Each worker that got there first says it (usually one): the same line.
    assert.deepEqual(
      [...new Set(lines(run.stderr))],
      ['securetrack-metrics: invalid GATEWAY_TIMEOUT_MS "abc": expected 1-3600000'],
      run.stderr,
    );
    noSecret(run.stdout + run.stderr);
  });

  it("a secret file it may not read: exit 2, one line naming the file and the --allow-read", async () => {
    await withFiles({ metrics_token: METRICS_TOKEN }, async (path) => {
      const file = path("metrics_token");
      const run = await runToExit(flagsReading(undefined), { METRICS_AUTH_TOKEN_FILE: file });
      assert.equal(run.code, 2, run.stderr);
      const [line, ...more] = [...new Set(lines(run.stderr))];
      assert.deepEqual(more, [], run.stderr);
      assert.match(
        line,
        new RegExp(
          `^securetrack-metrics: cannot read the metrics token file ${file}: not permitted; ` +
            // The worker's own command is named, not only deno task start's.
            `deno task start and deno serve app/worker\\.ts read only under /run/secrets, ` +
            `else run with --allow-read=${file}$`,
        ),
      );
      noSecret(run.stdout + run.stderr);
    });
  });
});
