/**
 * One truth across workers: under `deno serve --parallel`, every worker
 * joins a cluster over the in-process `BroadcastChannel`, and from then on a
 * scrape answered by any worker reports the totals of all of them.
 *
 * How it works:
 * 1. Each worker announces itself with a small probe `SharedArrayBuffer`.
 *    A peer that receives it writes into it and answers. If the writer's
 *    mark is visible to the announcer, memory really is shared (Deno 2.8.1
 *    copied buffers posted on a channel instead; Bun has no such workers).
 * 2. Once sharing is confirmed, the worker moves each metric's storage into
 *    growable `SharedArrayBuffer`s (single writer per slot: itself) and posts
 *    a description of it, once per metric, to the others. Metrics registered
 *    later are shared as they come.
 * 3. Each worker attaches the others' storage to its own metrics of the same
 *    name and signature; `collect` then merges them (see `core/merge.ts`).
 *
 * Nothing is sent per increment or per scrape. The channel is unref'd, so it
 * never keeps a process alive, and `close()` leaves it.
 *
 * @module
 */

import { BroadcastChannel as NodeBroadcastChannel } from "node:worker_threads";
import { attachSegment, type Collector, shareCollector } from "../core/collector.ts";
import { setLocalWorker } from "../core/merge.ts";
import type { Registry } from "../core/registry.ts";
import { SHARED_MEMORY_AVAILABLE, type SharedSegment } from "../core/shared.ts";

/** Options for {@linkcode joinCluster}. */
export interface ClusterOptions {
  /**
   * The registries to share, each under a key that names it the same way in
   * every worker (e.g. `{ default: defaultRegistry, custom: customRegistry }`).
   */
  registries: Readonly<Record<string, Registry>>;
  /** Channel name (default `"securetrack-metrics"`); workers on the same name form one cluster. */
  channel?: string;
}

/** A worker's membership in a cluster. */
export interface Cluster {
  /** This worker's id (also its `worker` label value). */
  readonly worker: string;
  /** Whether this worker's metrics are in shared memory, merged with its peers'. */
  readonly shared: boolean;
  /** The peers whose storage is attached. */
  readonly peers: number;
  /** Resolves once sharing is confirmed with at least one peer. */
  readonly ready: Promise<void>;
  /** Leaves the channel (storage already shared stays shared). */
  close(): void;
}

interface Hello {
  t: "hello";
  w: string;
  probe: SharedArrayBuffer;
}
interface Ack {
  t: "ack";
  w: string;
  to: string;
}
/**
 * Shared segments, several to a message: Deno's in-process channel holds
 * 256 messages, and a worker that falls further behind (still starting, on
 * a busy core) loses the oldest. One message per metric (some 40 for the
 * exporter) times every peer answering every newcomer overflowed it often
 * enough at start that a worker never saw some of its peers.
 */
interface Segments {
  t: "seg";
  w: string;
  segs: { r: string; seg: SharedSegment }[];
}
type Message = Hello | Ack | Segments;

/**
 * Joins the cluster of workers in this process. Call it once per worker,
 * early (before serving); metrics created before or after are both covered.
 * Where memory cannot be shared it says so once (through the first
 * registry's `log`) and leaves every metric per worker.
 *
 * @example
 * ```ts
 * import { defaultRegistry } from "@securetrack/metrics";
 * import { joinCluster } from "@securetrack/metrics/cluster";
 * const cluster = joinCluster({ registries: { default: defaultRegistry } });
 * cluster.close();
 * ```
 */
export function joinCluster(options: ClusterOptions): Cluster {
  const first = Object.values(options.registries ?? {})[0];
  if (first === undefined) {
    throw new TypeError("joinCluster: registries must name at least one registry");
  }
  const log = first.log;
  const worker = crypto.randomUUID().slice(0, 8);
  let shared = false;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => resolveReady = resolve);
  const peers = new Set<string>();

  if (!SHARED_MEMORY_AVAILABLE) {
    log(
      "growable SharedArrayBuffer is not available: each worker reports its own metrics",
    );
    return { worker, shared: false, peers: 0, ready, close() {} };
  }
  setLocalWorker(worker);

  const channel = new NodeBroadcastChannel(options.channel ?? "securetrack-metrics");
  (channel as unknown as { unref?: () => void }).unref?.();
  const post = (m: Message) => channel.postMessage(m);
  const probe = new SharedArrayBuffer(8);
  const mine: { r: string; seg: SharedSegment }[] = [];
  /** Segments that arrived before the metric they belong to was registered here. */
  const pending = new Map<string, SharedSegment[]>();
  let warnedCopy = false;
  const greeted = new Set<string>();

  /** Shares `c` (if it can be) and returns what to post about it. */
  const shareMetric = (r: string, c: Collector): { r: string; seg: SharedSegment }[] => {
    const seg = shareCollector(c, worker);
    if (seg === undefined) return [];
    mine.push({ r, seg });
    const waiting = pending.get(`${r}\u0000${c.name}`);
    if (waiting) {
      pending.delete(`${r}\u0000${c.name}`);
      for (const s of waiting) attach(r, s);
    }
    return [{ r, seg }];
  };

  const startSharing = () => {
    if (shared) return;
    shared = true;
    const segs: { r: string; seg: SharedSegment }[] = [];
    for (const [r, registry] of Object.entries(options.registries)) {
      for (const c of registry.getAll()) segs.push(...shareMetric(r, c));
      registry.onRegister((c) => {
        const one = shareMetric(r, c);
        if (one.length > 0) post({ t: "seg", w: worker, segs: one });
      });
    }
    post({ t: "seg", w: worker, segs });
    resolveReady();
  };

  const attach = (r: string, seg: SharedSegment) => {
    const c = options.registries[r]?.get(seg.metric);
    if (c === undefined || !shared) {
      const key = `${r}\u0000${seg.metric}`;
      const list = pending.get(key) ?? [];
      if (!list.some((s) => s.id === seg.id)) list.push(seg);
      pending.set(key, list);
      return;
    }
    if (!attachSegment(c, seg)) {
      log(`worker ${seg.worker} defines "${seg.metric}" differently; not merged`);
      return;
    }
    peers.add(seg.worker);
  };

  channel.onmessage = (event: unknown) => {
    const m = ((event as { data?: Message }).data ?? event) as Message;
    if (m === null || typeof m !== "object" || m.w === worker) return;
    switch (m.t) {
      case "hello":
        // Mark the probe and answer; if already sharing, show the newcomer
        // everything this worker shares; if not, a worker that started alone
        // greets back once, so its own probe gets marked too.
        Atomics.add(new Int32Array(m.probe), 0, 1);
        post({ t: "ack", w: worker, to: m.w });
        if (shared) {
          post({ t: "seg", w: worker, segs: mine });
        } else if (!greeted.has(m.w)) {
          greeted.add(m.w);
          post({ t: "hello", w: worker, probe });
        }
        break;
      case "ack":
        if (m.to !== worker) break;
        if (Atomics.load(new Int32Array(probe), 0) > 0) {
          startSharing();
        } else if (!warnedCopy) {
          warnedCopy = true;
          log(
            "this runtime copies SharedArrayBuffers between workers instead of " +
              "sharing them: each worker reports its own metrics",
          );
        }
        break;
      case "seg":
        for (const { r, seg } of m.segs) attach(r, seg);
        break;
    }
  };
  post({ t: "hello", w: worker, probe });

  return {
    worker,
    get shared() {
      return shared;
    },
    get peers() {
      return peers.size;
    },
    ready,
    close() {
      channel.close();
    },
  };
}
