/**
 * Run by `fallback_test.ts` as a child process (under `deno run` or `bun`):
 * joins a cluster alone, counts, prints its state as JSON and then simply
 * ends, without closing the channel. It must exit by itself: the cluster's
 * channel is unref'd and nothing else may keep the process alive.
 *
 * @module
 */

import { Counter, Registry } from "../../src/mod.ts";
import { joinCluster } from "../../src/cluster/mod.ts";

const registry = new Registry();
const counter = new Counter({ name: "child_total", help: "c", registry });
const cluster = joinCluster({
  registries: { default: registry },
  channel: `securetrack-metrics-child-${crypto.randomUUID()}`,
});
counter.inc(3);
setTimeout(async () => {
  const value = /^child_total (\S+)$/m.exec(await registry.metrics())?.[1];
  console.log(JSON.stringify({ shared: cluster.shared, peers: cluster.peers, value }));
}, 200);
