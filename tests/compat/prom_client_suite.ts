/**
 * Runs prom-client's own unit tests against the drop-in (`src/compat/`):
 * copies the `test/` folder of a prom-client checkout into a temporary
 * folder, points its `require("../index")` and `require("../lib/...")` at
 * our entry point (nothing else in the tests changes), runs each suite with
 * `bun test` (which reads Jest's `describe`/`it`/`expect`, fake timers and
 * snapshots) and prints, per suite, how many tests pass and the name of each
 * one that fails.
 *
 * Not part of the test suite (it needs a prom-client checkout and Bun from
 * npm). Run it by hand:
 *
 * ```sh
 * git clone --depth 1 https://github.com/siimon/prom-client /tmp/prom-client
 * deno run -A tests/compat/prom_client_suite.ts /tmp/prom-client
 * ```
 *
 * The checkout's own code is never copied into this repository; the copy of
 * its tests is deleted afterwards.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";

const SUITES = [
  "counter",
  "gauge",
  "histogram",
  "summary",
  "register",
  "bucketGenerators",
  "validation",
  "exemplars",
];

const checkout = process.argv[2] ?? Deno.args[0];
if (checkout === undefined || !existsSync(join(checkout, "test", "counterTest.js"))) {
  console.error("usage: deno run -A tests/compat/prom_client_suite.ts <prom-client checkout>");
  Deno.exit(2);
}
const entry = resolve(new URL("../../src/compat/mod.ts", import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), "prom-client-suite-"));
try {
  cpSync(join(checkout, "test"), join(dir, "test"), { recursive: true });
  for (const name of readdirSync(join(dir, "test"))) {
    if (!name.endsWith("Test.js")) continue;
    const path = join(dir, "test", name);
    // Only the library's import changes: `../index` and `../lib/<file>` both
    // become our entry point (prom-client's internal files have no
    // counterpart there, so a test using one fails, and is counted so).
    const text = readFileSync(path, "utf8").replace(
      /require\((['"])\.\.\/(?:index|lib\/([\w/]+))\1\)/g,
      (_m, _q, lib: string | undefined) =>
        lib === "registry"
          ? `require(${JSON.stringify(entry)}).Registry`
          : `require(${JSON.stringify(entry)})`,
    );
    writeFileSync(path, text);
  }
  let pass = 0;
  let total = 0;
  for (const suite of SUITES) {
    const run = spawnSync("npx", ["-y", "bun@1.4.4", "test", `./test/${suite}Test.js`], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", CI: "" },
      timeout: 300_000,
    });
    const out = `${run.stdout}\n${run.stderr}`;
    // Bun lists each failure twice (as it runs, and again in its summary).
    const names = (word: string) => [
      ...new Set([...out.matchAll(new RegExp(`^\\(${word}\\) (.*?)(?: \\[[\\d.]+m?s\\])?$`, "gm"))]
        .map((m) => m[1])),
    ];
    const passed = names("pass");
    const failed = names("fail");
    pass += passed.length;
    total += passed.length + failed.length;
    console.log(`${suite}: ${passed.length} of ${passed.length + failed.length} pass`);
    for (const f of failed) console.log(`  fail: ${f}`);
    if (passed.length + failed.length === 0) console.log(out.slice(-2000));
  }
  console.log(`total: ${pass} of ${total} pass`);
} finally {
  if (process.env.KEEP_SUITE_DIR === "1") console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
