/**
 * Heap (plus external, i.e. typed-array backing stores) that a library adds
 * per labelled counter series: ours beside prom-client 15.1.3, in two shapes
 * of one counter with 2 labels, because our series index (a trie, one level
 * per label) costs more or less depending on which label comes first:
 *
 * - `low-first`: `model` (100 values) × `endpoint` (1,000 values), 100,000
 *   series: few, large trie nodes.
 * - `high-first`: `user_id` (100,000 values) × `kind` (2 values), 200,000
 *   series: the high-cardinality label first, so 100,000 tiny nodes of two
 *   entries each.
 *
 * The label value strings and the label objects are created first and stay
 * held by the caller, so only what the library itself keeps per series is
 * counted. Then: full GC, read `heapUsed + external`, create every series with
 * `inc(labels)`, full GC (several times), read again, divide by the number of
 * series.
 *
 * Each library and shape is measured in its own subprocess, so neither the
 * other's garbage nor its loaded code pollutes the reading. Ours is created
 * with `maxSeries` equal to the shape's series count (the default cap is
 * 10,000, past which new label sets fold into one overflow series and memory
 * stays flat).
 *
 * Run: `deno run --allow-run --allow-read bench/memory.ts [--json]`.
 * One side only: `deno run --v8-flags=--expose-gc bench/memory.ts --impl=ours`
 * (or `--impl=prom-client`; `--shape=low-first|high-first`, and
 * `--max-series=N` for ours).
 *
 * @module
 */

import { PROM_CLIENT } from "./_rows.ts";

/** One measured shape: two label names and how many values each takes. */
export interface MemoryShape {
  /** Short name, for `--shape=`. */
  id: "low-first" | "high-first";
  /** The two label names, in declaration order. */
  labelNames: readonly [string, string];
  /** Values of the first label. */
  first: number;
  /** Values of the second label. */
  second: number;
  /** Series created: every combination. */
  series: number;
  /** The shape as the README table names it. */
  description: string;
}

/** The shapes, low-cardinality label first (the original row) then high-cardinality first. */
export const SHAPES: readonly MemoryShape[] = [
  {
    id: "low-first",
    labelNames: ["model", "endpoint"],
    first: 100,
    second: 1000,
    series: 100 * 1000,
    description: "100,000 series, 2 labels: 100 `model` × 1,000 `endpoint` values",
  },
  {
    id: "high-first",
    labelNames: ["user_id", "kind"],
    first: 100_000,
    second: 2,
    series: 100_000 * 2,
    description: "200,000 series, 2 labels: 100,000 `user_id` × 2 `kind` values",
  },
];

/** What one subprocess reports. */
export interface MemoryResult {
  /** `"ours"` or `"prom-client"`. */
  impl: string;
  /** The shape's `id`. */
  shape: string;
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

function shapeOf(id: string): MemoryShape {
  const shape = SHAPES.find((s) => s.id === id);
  if (shape === undefined) {
    throw new Error(`unknown --shape=${id}: use ${SHAPES.map((s) => s.id).join(" or ")}`);
  }
  return shape;
}

/** The shape's distinct values of one label: `model-0`, `/v1/endpoint/0`, `user-0`, `read`. */
function valuesOf(name: string, count: number): string[] {
  if (name === "kind") return ["read", "write", "delete"].slice(0, count);
  const prefix = name === "endpoint" ? "/v1/endpoint/" : name === "user_id" ? "user-" : "model-";
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

async function measure(impl: string, shape: MemoryShape, maxSeries: number): Promise<MemoryResult> {
  const [a, b] = shape.labelNames;
  // Load the library and create the (empty) metric before the first reading:
  // code and per-metric state are not per-series costs.
  let inc: (labels: Record<string, string>) => void;
  let count: () => Promise<number>;
  if (impl === "ours") {
    const { Counter, Registry } = await import("../src/mod.ts");
    const registry = new Registry();
    const make = (name: string) =>
      new Counter({ name, help: "Memory per series", labelNames: [a, b], registry, maxSeries });
    const counter = make("mem_total");
    make("warm_total").inc({ [a]: "warm", [b]: "up" }); // compiles the path
    inc = (labels) => counter.inc(labels);
    count = () => Promise.resolve(counter.collect().size);
  } else if (impl === "prom-client") {
    const client = (await import(PROM_CLIENT)).default;
    const registers = [new client.Registry()];
    const make = (name: string) =>
      new client.Counter({ name, help: "Memory per series", labelNames: [a, b], registers });
    const counter = make("mem_total");
    make("warm_total").inc({ [a]: "warm", [b]: "up" }); // compiles the path
    inc = (labels) => counter.inc(labels);
    count = async () => (await counter.get()).values.length;
  } else {
    throw new Error(`unknown --impl=${impl}: use ours or prom-client`);
  }

  const firsts = valuesOf(a, shape.first);
  const seconds = valuesOf(b, shape.second);
  const labelSets: Record<string, string>[] = [];
  for (const x of firsts) {
    for (const y of seconds) labelSets.push({ [a]: x, [b]: y });
  }

  fullGc();
  const before = used();
  for (const labels of labelSets) inc(labels);
  fullGc();
  const after = used();
  if (labelSets.length !== shape.series) throw new Error("label sets went missing");
  // Checked after the reading: collecting allocates.
  const held = await count();
  if (held !== shape.series) throw new Error(`${impl} holds ${held} series, not ${shape.series}`);
  return {
    impl,
    shape: shape.id,
    series: shape.series,
    before,
    after,
    bytesPerSeries: (after - before) / shape.series,
    ...(impl === "ours" ? { maxSeries } : {}),
  };
}

/** Runs one side for one shape in a fresh `deno` subprocess and returns its result. */
export async function measureInSubprocess(
  impl: "ours" | "prom-client",
  shape: MemoryShape = SHAPES[0],
  maxSeries: number = shape.series,
): Promise<MemoryResult> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      `--impl=${impl}`,
      `--shape=${shape.id}`,
      `--max-series=${maxSeries}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`memory measurement of ${impl} (${shape.id}) failed:\n${err}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as MemoryResult;
}

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

if (import.meta.main) {
  const impl = arg("impl");
  if (impl !== undefined) {
    const shape = shapeOf(arg("shape") ?? SHAPES[0].id);
    const maxSeries = Number(arg("max-series") ?? shape.series);
    console.log(JSON.stringify(await measure(impl, shape, maxSeries)));
  } else {
    const results = [];
    for (const shape of SHAPES) {
      const ours = await measureInSubprocess("ours", shape);
      const promClient = await measureInSubprocess("prom-client", shape);
      results.push({
        shape: shape.id,
        ours,
        promClient,
        ratio: ours.bytesPerSeries / promClient.bytesPerSeries,
      });
    }
    if (Deno.args.includes("--json")) {
      console.log(JSON.stringify(results));
    } else {
      console.log(
        "counter series, label strings and objects held by the caller; heapUsed + external per series:",
      );
      for (const [i, r] of results.entries()) {
        console.log(`${SHAPES[i].description.replaceAll("`", "")}:`);
        console.log(`  ours:        ${r.ours.bytesPerSeries.toFixed(1)} bytes`);
        console.log(`  prom-client: ${r.promClient.bytesPerSeries.toFixed(1)} bytes`);
        console.log(`  ratio:       ${r.ratio.toFixed(2)} (target <= 0.5, and ours <= 100 bytes)`);
      }
    }
  }
}
