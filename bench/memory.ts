/**
 * Heap (plus external, i.e. typed-array backing stores) that a library adds
 * per labelled counter series: ours beside prom-client 15.1.3.
 *
 * Shape: 100,000 series of one counter with 2 labels, `model` (100 values)
 * × `endpoint` (1,000 values). The label value strings and the 100,000 label
 * objects are created first and stay held by the caller, so only what the
 * library itself keeps per series is counted. Then: full GC, read
 * `heapUsed + external`, create every series with `inc(labels)`, full GC
 * (several times), read again, divide by 100,000.
 *
 * Each library is measured in its own subprocess, so neither the other's
 * garbage nor its loaded code pollutes the reading. Ours is created with
 * `maxSeries: 100_000` (the default cap is 10,000, past which new label sets
 * fold into one overflow series and memory stays flat).
 *
 * Run: `deno run --allow-run --allow-read bench/memory.ts [--json]`.
 * One side only: `deno run --v8-flags=--expose-gc bench/memory.ts --impl=ours`
 * (or `--impl=prom-client`, and `--max-series=N` for ours).
 *
 * @module
 */

import { PROM_CLIENT } from "./_rows.ts";

/** Values of the first label. */
export const MODELS = 100;
/** Values of the second label. */
export const ENDPOINTS = 1000;
/** Series created: every combination. */
export const SERIES: number = MODELS * ENDPOINTS;

/** What one subprocess reports. */
export interface MemoryResult {
  /** `"ours"` or `"prom-client"`. */
  impl: string;
  /** Series created. */
  series: number;
  /** `heapUsed + external` before creating the series, in bytes. */
  before: number;
  /** `heapUsed + external` after, in bytes. */
  after: number;
  /** `(after - before) / series`. */
  bytesPerSeries: number;
  /** Ours only: the `maxSeries` the counter was created with. */
  maxSeries?: number;
}

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
  // Several passes: weak references and finalisation need more than one.
  for (let i = 0; i < 6; i++) gc();
}

function used(): number {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

async function measure(impl: string, maxSeries: number): Promise<MemoryResult> {
  // Load the library and create the (empty) metric before the first reading:
  // code and per-metric state are not per-series costs.
  let inc: (labels: { model: string; endpoint: string }) => void;
  let count: () => Promise<number>;
  if (impl === "ours") {
    const { Counter, Registry } = await import("../src/mod.ts");
    const registry = new Registry();
    const make = (name: string) =>
      new Counter({
        name,
        help: "Memory per series",
        labelNames: ["model", "endpoint"],
        registry,
        maxSeries,
      });
    const counter = make("mem_total");
    make("warm_total").inc({ model: "warm", endpoint: "up" }); // compiles the path
    inc = (labels) => counter.inc(labels);
    count = () => Promise.resolve(counter.collect().size);
  } else if (impl === "prom-client") {
    const client = (await import(PROM_CLIENT)).default;
    const registers = [new client.Registry()];
    const make = (name: string) =>
      new client.Counter({
        name,
        help: "Memory per series",
        labelNames: ["model", "endpoint"],
        registers,
      });
    const counter = make("mem_total");
    make("warm_total").inc({ model: "warm", endpoint: "up" }); // compiles the path
    inc = (labels) => counter.inc(labels);
    count = async () => (await counter.get()).values.length;
  } else {
    throw new Error(`unknown --impl=${impl}: use ours or prom-client`);
  }

  const models = Array.from({ length: MODELS }, (_, i) => `model-${i}`);
  const endpoints = Array.from({ length: ENDPOINTS }, (_, i) => `/v1/endpoint/${i}`);
  const labelSets: { model: string; endpoint: string }[] = [];
  for (const model of models) {
    for (const endpoint of endpoints) labelSets.push({ model, endpoint });
  }

  fullGc();
  const before = used();
  for (const labels of labelSets) inc(labels);
  fullGc();
  const after = used();
  if (labelSets.length !== SERIES) throw new Error("label sets went missing");
  // Checked after the reading: collecting allocates.
  const held = await count();
  if (held !== SERIES) throw new Error(`${impl} holds ${held} series, not ${SERIES}`);
  return {
    impl,
    series: SERIES,
    before,
    after,
    bytesPerSeries: (after - before) / SERIES,
    ...(impl === "ours" ? { maxSeries } : {}),
  };
}

/** Runs one side in a fresh `deno` subprocess and returns its result. */
export async function measureInSubprocess(
  impl: "ours" | "prom-client",
  maxSeries: number = SERIES,
): Promise<MemoryResult> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      `--impl=${impl}`,
      `--max-series=${maxSeries}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`memory measurement of ${impl} failed:\n${err}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as MemoryResult;
}

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

if (import.meta.main) {
  const impl = arg("impl");
  if (impl !== undefined) {
    const maxSeries = Number(arg("max-series") ?? SERIES);
    console.log(JSON.stringify(await measure(impl, maxSeries)));
  } else {
    const oursResult = await measureInSubprocess("ours");
    const peerResult = await measureInSubprocess("prom-client");
    const ratio = oursResult.bytesPerSeries / peerResult.bytesPerSeries;
    if (Deno.args.includes("--json")) {
      console.log(JSON.stringify({ ours: oursResult, promClient: peerResult, ratio }));
    } else {
      console.log(
        `${
          SERIES.toLocaleString("en")
        } counter series, 2 labels (${MODELS} × ${ENDPOINTS} values), ` +
          `label strings and objects held by the caller; heapUsed + external per series:`,
      );
      console.log(`  ours:        ${oursResult.bytesPerSeries.toFixed(1)} bytes`);
      console.log(`  prom-client: ${peerResult.bytesPerSeries.toFixed(1)} bytes`);
      console.log(`  ratio:       ${ratio.toFixed(2)} (target <= 0.5)`);
    }
  }
}
