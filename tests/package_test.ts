// The package as JSR would see it: zero runtime dependencies and a clean
// `deno publish --dry-run`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";

const root = decodeURIComponent(new URL("../", import.meta.url).pathname);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("package", () => {
  it("src/ and main.ts import nothing but relative modules and runtime built-ins", () => {
    const offenders: string[] = [];
    for (const file of [...files(join(root, "src")), join(root, "main.ts")]) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^\s*(?:import|export)[^;]*?from\s+["']([^"']+)["']/gm)) {
        const spec = m[1];
        if (spec.startsWith(".") || spec.startsWith("node:")) continue;
        offenders.push(`${file.slice(root.length)}: ${spec}`);
      }
      for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) {
        if (!m[1].startsWith(".")) offenders.push(`${file.slice(root.length)}: import(${m[1]})`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it(
    "deno publish --dry-run succeeds and ships both entry points, not the tests",
    { skip: typeof Deno === "undefined" && "needs the deno binary (runs under Deno)" },
    () => {
      const run = spawnSync(process.execPath, ["publish", "--dry-run", "--allow-dirty"], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      const out = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.status, 0, out);
      assert.match(out, /Dry run complete/);
      assert.match(out, /src\/mod\.ts/);
      assert.match(out, /src\/tracking\/mod\.ts/);
      assert.doesNotMatch(out, /\/tests\//);
    },
  );
});
