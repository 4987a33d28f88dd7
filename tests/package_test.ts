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
  // app/ and main.ts are not published, but they ship in the repository and
  // run with `deno task start`: no dependency there either.
  it("src/, app/ and main.ts import nothing but relative modules and runtime built-ins", () => {
    const offenders: string[] = [];
    const sources = [
      ...files(join(root, "src")),
      ...files(join(root, "app")),
      join(root, "main.ts"),
    ];
    assert.ok(sources.some((f) => f.startsWith(join(root, "app"))), "no app/ files found");
    for (const file of sources) {
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
    "deno publish --dry-run succeeds and ships the library only: src/, README.md, LICENSE, deno.json",
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
      // The listed files: "   file:///.../path (1.2KB)", one a line.
      const listed = [...out.matchAll(/^\s*(file:\/\/\S+) \(/gm)].map((m) =>
        decodeURIComponent(new URL(m[1]).pathname).slice(root.length)
      );
      assert.ok(listed.includes("src/mod.ts"), `src/mod.ts not listed in:\n${out}`);
      assert.ok(listed.includes("src/tracking/mod.ts"), `src/tracking/mod.ts not listed`);
      const outside = listed.filter((f) =>
        !f.startsWith("src/") && !["README.md", "LICENSE", "deno.json"].includes(f)
      );
      assert.deepEqual(outside, [], "published files outside src/ (the app, main.ts, ...)");
    },
  );
});
