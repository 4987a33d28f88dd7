/**
 * prom-client's `collectDefaultMetrics`, with its metric names
 * (`process_*`, `nodejs_*`), so dashboards built for Node keep working on
 * Deno and Bun. What each runtime can read is read the way prom-client reads
 * it (`node:process`, `node:v8`, `node:perf_hooks`, Linux `/proc`); what it
 * cannot is left out rather than reported as zero.
 *
 * @module
 */

import process from "node:process";
import v8 from "node:v8";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import {
  maxFds,
  openFds,
  readProc,
  startTimeFromProc,
  virtualMemory,
} from "../collectors/process.ts";
import { Counter } from "./counter.ts";
import { Gauge } from "./gauge.ts";
import { Histogram } from "./histogram.ts";
import { register as globalRegister, type Registry } from "./registry.ts";

/** Options of {@linkcode collectDefaultMetrics}: prom-client's. */
export interface DefaultMetricsCollectorConfiguration {
  /** Registry to register the metrics in (default: the global `register`). */
  register?: Registry;
  /** Prefix of every metric name (default none). */
  prefix?: string;
  /** Constant labels added to every metric. */
  labels?: Record<string, string | number>;
  /** Sampling resolution of the event-loop delay monitor, in milliseconds (default 10). */
  eventLoopMonitoringPrecision?: number;
  /** Buckets of `nodejs_gc_duration_seconds` (default `[0.001, 0.01, 0.1, 1, 2, 5]`). */
  gcDurationBuckets?: number[];
  /** Accepted for prom-client programs; the default metrics record no exemplars (prom-client took them from OpenTelemetry). */
  enableExemplars?: boolean;
}

const KEYS = [
  "register",
  "prefix",
  "labels",
  "eventLoopMonitoringPrecision",
  "gcDurationBuckets",
  "enableExemplars",
];

/** `/proc/self/status` field `key` (kB) in bytes, if readable. */
function statusBytes(key: string): number | undefined {
  const kb = readProc("/proc/self/status")?.match(new RegExp(`^${key}:\\s*(\\d+) kB`, "m"))?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/**
 * Registers prom-client's default metrics: process CPU, memory, start time
 * and file descriptors, event-loop lag and delay statistics, active
 * resources, heap and heap spaces, GC durations and the `nodejs_version_info`
 * of the Node API the runtime provides. Throws prom-client's `Error` when
 * they are registered already in that registry.
 *
 * @example
 * ```ts
 * import { collectDefaultMetrics, Registry } from "@securetrack/metrics/prom-client";
 * const register = new Registry();
 * collectDefaultMetrics({ register, prefix: "app_" });
 * console.log(await register.metrics());
 * ```
 */
export function collectDefaultMetrics(config: DefaultMetricsCollectorConfiguration = {}): void {
  if (config === null || typeof config !== "object") {
    throw new TypeError("config must be null, undefined, or an object");
  }
  for (const key of Object.keys(config)) {
    if (!KEYS.includes(key)) {
      throw new TypeError(
        `collectDefaultMetrics: unknown option "${key}"; known options: ${KEYS.join(", ")}`,
      );
    }
  }
  const registers = [config.register ?? globalRegister];
  const prefix = config.prefix ?? "";
  const labels = { ...config.labels };
  const labelNames = Object.keys(labels);
  const gauge = (name: string, help: string, collect?: (g: Gauge) => void, extra: string[] = []) =>
    new Gauge({
      name: prefix + name,
      help,
      registers,
      labelNames: [...extra, ...labelNames],
      ...(collect && {
        collect() {
          collect(this as Gauge);
        },
      }),
    });
  const counter = (name: string, help: string, collect?: () => void) =>
    new Counter({ name: prefix + name, help, registers, labelNames, ...(collect && { collect }) });

  // CPU: one collect sets all three, from the deltas since the last scrape.
  let last = process.cpuUsage();
  const user = counter(
    "process_cpu_user_seconds_total",
    "Total user CPU time spent in seconds.",
    () => readCpu(),
  );
  const system = counter(
    "process_cpu_system_seconds_total",
    "Total system CPU time spent in seconds.",
  );
  const total = counter(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
  );
  function readCpu(): void {
    const now = process.cpuUsage();
    const u = Math.max(0, now.user - last.user) / 1e6;
    const s = Math.max(0, now.system - last.system) / 1e6;
    last = now;
    user.inc(labels, u);
    system.inc(labels, s);
    total.inc(labels, u + s);
  }
  readCpu();
  gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
    .set(labels, Math.round(startTimeFromProc() ?? performance.timeOrigin / 1000));
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.", (g) => {
    g.set(labels, process.memoryUsage().rss);
  });
  if (virtualMemory() !== undefined) {
    gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", (g) => {
      const v = virtualMemory();
      if (v !== undefined) g.set(labels, v);
    });
  }
  if (statusBytes("VmData") !== undefined) {
    gauge("process_heap_bytes", "Process heap size in bytes.", (g) => {
      const v = statusBytes("VmData");
      if (v !== undefined) g.set(labels, v);
    });
  }
  if (openFds() !== undefined) {
    gauge("process_open_fds", "Number of open file descriptors.", (g) => {
      const v = openFds();
      if (v !== undefined) g.set(labels, v);
    });
  }
  const max = maxFds();
  if (max !== undefined) {
    gauge("process_max_fds", "Maximum number of open file descriptors.").set(labels, max);
  }

  // Event loop: the lag of one setImmediate at each scrape (reported at the
  // next, as prom-client does), and the delay monitor's statistics.
  const lag = gauge("nodejs_eventloop_lag_seconds", "Lag of event loop in seconds.", (g) => {
    const start = performance.now();
    setImmediate(() => g.set(labels, (performance.now() - start) / 1000));
  });
  lag.set(labels, 0);
  const histogram = monitorEventLoopDelay({
    resolution: config.eventLoopMonitoringPrecision ?? 10,
  });
  histogram.enable();
  const stats: [string, string, () => number][] = [
    ["min", "The minimum recorded event loop delay.", () => histogram.min],
    ["max", "The maximum recorded event loop delay.", () => histogram.max],
    ["mean", "The mean of the recorded event loop delays.", () => histogram.mean],
    ["stddev", "The standard deviation of the recorded event loop delays.", () => histogram.stddev],
    [
      "p50",
      "The 50th percentile of the recorded event loop delays.",
      () => histogram.percentile(50),
    ],
    [
      "p90",
      "The 90th percentile of the recorded event loop delays.",
      () => histogram.percentile(90),
    ],
    [
      "p99",
      "The 99th percentile of the recorded event loop delays.",
      () => histogram.percentile(99),
    ],
  ];
  // The first statistic's collect reads them all, then starts a new period.
  const delayGauges: [Gauge, () => number][] = stats.map(([stat, help, read], i) => [
    gauge(`nodejs_eventloop_lag_${stat}_seconds`, help, i === 0 ? readDelays : undefined),
    read,
  ]);
  function readDelays(): void {
    for (const [g, read] of delayGauges) {
      const v = read() / 1e9;
      // Before the monitor's first sample its min is a huge sentinel: report nothing then.
      if (Number.isFinite(v) && v < 1e6) g.set(labels, v);
    }
    histogram.reset();
  }

  // Active resources (what keeps the event loop alive), by type. prom-client
  // also has nodejs_active_resources_total, a gauge whose `_total` suffix
  // promtool rejects; it is sum(nodejs_active_resources), so it is left out.
  const info = (process as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo;
  if (typeof info === "function") {
    const byType: Gauge = gauge(
      "nodejs_active_resources",
      "Number of active resources that are currently keeping the event loop alive, grouped by async resource type.",
      () => {
        const counts = new Map<string, number>();
        for (const t of info.call(process)) counts.set(t, (counts.get(t) ?? 0) + 1);
        byType.reset();
        for (const [type, n] of counts) byType.set({ type, ...labels }, n);
      },
      ["type"],
    );
  }

  // Heap.
  gauge(
    "nodejs_heap_size_total_bytes",
    "Process heap size from Node.js in bytes.",
    (g) => {
      const m = process.memoryUsage();
      g.set(labels, m.heapTotal);
      heapUsed.set(labels, m.heapUsed);
      external.set(labels, m.external);
    },
  );
  const heapUsed = gauge(
    "nodejs_heap_size_used_bytes",
    "Process heap size used from Node.js in bytes.",
  );
  const external = gauge("nodejs_external_memory_bytes", "Node.js external memory size in bytes.");
  const spaces: Gauge[] = ["total", "used", "available"].map((kind, i) =>
    gauge(
      `nodejs_heap_space_size_${kind}_bytes`,
      `Process heap space size ${kind} from Node.js in bytes.`,
      i === 0 ? readSpaces : undefined,
      ["space"],
    )
  );
  function readSpaces(): void {
    for (const s of v8.getHeapSpaceStatistics()) {
      const space = s.space_name.slice(0, s.space_name.indexOf("_space"));
      spaces[0].set({ space, ...labels }, s.space_size);
      spaces[1].set({ space, ...labels }, s.space_used_size);
      spaces[2].set({ space, ...labels }, s.space_available_size);
    }
  }

  // Version of the Node API the runtime provides.
  const version = process.version;
  const [major, minor, patch] = version.slice(1).split(".").map(Number);
  gauge("nodejs_version_info", "Node.js version info.", undefined, [
    "version",
    "major",
    "minor",
    "patch",
  ]).set({ version, major, minor, patch, ...labels }, 1);

  // GC durations, where the runtime reports GC performance entries.
  const gc = new Histogram({
    name: prefix + "nodejs_gc_duration_seconds",
    help: "Garbage collection duration by kind, one of major, minor, incremental or weakcb.",
    registers,
    labelNames: ["kind", ...labelNames],
    buckets: config.gcDurationBuckets ?? [0.001, 0.01, 0.1, 1, 2, 5],
  });
  const KINDS: Record<number, string> = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" };
  try {
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as { detail?: { kind?: number } }).detail;
        const kind = KINDS[detail?.kind ?? 0] ?? "unknown";
        gc.observe({ kind, ...labels }, entry.duration / 1000);
      }
    });
    observer.observe({ entryTypes: ["gc"] });
  } catch {
    // No GC entries here: the histogram stays empty.
  }
}
