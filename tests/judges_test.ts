// The external judges this suite relies on, named in one place: under CI
// (`CI=true`, as .ci/run runs) each must be present, or this test fails
// naming what is missing and why, and every test that needs it fails too
// instead of being skipped. Outside CI a missing judge only skips.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { promtoolMissing } from "./_support/promtool.ts";
import { prometheusMissing } from "./e2e/_prometheus.ts";
import { pythonJudgeMissing } from "./_support/python_judge.ts";
import { IN_CI, probeTool, skipWithout } from "./_support/tools.ts";

const JUDGES: [string, string][] = [
  ["promtool (Debian package prometheus)", promtoolMissing],
  ["prometheus (Debian package prometheus)", prometheusMissing],
  ["prometheus_client for Python (Debian package python3-prometheus-client)", pythonJudgeMissing],
];

describe("external judges", () => {
  for (const [name, missing] of JUDGES) {
    it(`${name} is available${IN_CI ? " (required under CI)" : ""}`, {
      skip: skipWithout(missing),
    }, () => {
      assert.equal(missing, "", `${name} cannot run: ${missing}`);
    });
  }

  it("a probe names why a tool cannot run", () => {
    const reason = probeTool("securetrack-no-such-tool-xyz", ["--version"]);
    assert.match(reason, /securetrack-no-such-tool-xyz: ENOENT \(not on PATH\)/);
    assert.match(probeTool("sh", ["-c", "echo broken >&2; exit 3"]), /exit 3: broken$/);
    assert.equal(probeTool("sh", ["-c", "exit 0"]), "");
  });
});
