/**
 * A second, independent judge of our expositions: the parsers of Prometheus'
 * official Python client (Debian's `python3-prometheus-client`), run on the
 * exact bytes we produce. Its output is turned into the {@linkcode Family}
 * shape of `parse.ts`, so the same checks run against either parser.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import process from "node:process";
import type { Family, Sample } from "./parse.ts";

const SCRIPT = decodeURIComponent(new URL("./python_judge.py", import.meta.url).pathname);

/** Debian's interpreter first: a pyenv or venv `python3` may not see Debian's packages. */
const CANDIDATES = ["/usr/bin/python3", "python3"];

function findPython(): { python?: string; reason: string } {
  const reasons: string[] = [];
  for (const python of CANDIDATES) {
    const r = spawnSync(python, ["-c", "import prometheus_client"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    if (r.error === undefined && r.status === 0) return { python, reason: "" };
    reasons.push(
      `${python}: ${
        r.error !== undefined
          ? `${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`
          : (r.stderr ?? "").trim().split("\n").pop()
      }`,
    );
  }
  return { reason: reasons.join("; ") };
}

const found = findPython();

/** Why the judge cannot run here (`""` when it can). */
export const pythonJudgeMissing: string = found.python === undefined
  ? `prometheus_client for Python not found (${found.reason}); Debian package python3-prometheus-client`
  : "";

/** What the Python parser made of an exposition, or its error. */
export type PythonVerdict = { ok: true; families: Family[] } | { ok: false; error: string };

/** Parses `exposition` with prometheus_client's text (0.0.4) or OpenMetrics parser. */
export function pythonParse(exposition: string, format: "text" | "openmetrics"): PythonVerdict {
  if (found.python === undefined) throw new Error(pythonJudgeMissing);
  const r = spawnSync(found.python, [SCRIPT, format], {
    input: exposition,
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PYTHONIOENCODING: "utf-8" },
  });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) return { ok: false, error: (r.stderr ?? "").trim() };
  const raw = JSON.parse(r.stdout) as {
    name: string;
    type: string;
    help: string;
    unit?: string;
    samples: {
      name: string;
      labels: Record<string, string>;
      value: string;
      timestamp?: string;
      exemplar?: { labels: Record<string, string>; value: string; timestamp?: string };
    }[];
  }[];
  const families = raw.map((f): Family => {
    const samples = f.samples.map((s): Sample => ({
      name: s.name,
      labels: s.labels,
      labelOrder: Object.keys(s.labels),
      value: Number(s.value),
      ...(s.timestamp === undefined ? {} : { timestamp: Number(s.timestamp) }),
      ...(s.exemplar === undefined ? {} : {
        exemplar: {
          labels: s.exemplar.labels,
          value: Number(s.exemplar.value),
          ...(s.exemplar.timestamp === undefined
            ? {}
            : { timestamp: Number(s.exemplar.timestamp) }),
        },
      }),
    }));
    // The text parser names a counter family without `_total`; our TYPE line
    // names it as registered, which is what parse.ts reports.
    const name = format === "text" && f.type === "counter" && samples.length > 0 &&
        samples.every((s) => s.name === `${f.name}_total`)
      ? `${f.name}_total`
      : f.name;
    return {
      name,
      type: f.type,
      help: f.help,
      ...(f.unit ? { unit: f.unit } : {}),
      samples,
    };
  });
  return { ok: true, families };
}
