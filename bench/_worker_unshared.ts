/**
 * `app/worker.ts` without the cluster, for `cluster_rps.ts`'s
 * reference row: the same exporter under `deno serve --parallel`, each worker
 * keeping its own metrics, to tell the cost of two workers on this machine
 * from the cost of sharing their metrics.
 *
 * @module
 */

import { defaultRegistry } from "../src/mod.ts";
import { customRegistry } from "../src/tracking/mod.ts";
import { createExporter } from "../app/exporter.ts";

const exporter = createExporter({ registry: defaultRegistry, customRegistry, cluster: false });

/** The fetch handler `deno serve` calls. */
export default { fetch: exporter.fetch } satisfies Deno.ServeDefaultExport;
